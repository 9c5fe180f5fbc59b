"""Colours, from the Okabe–Ito palette (readable with the common colour-vision deficiencies;
Okabe & Ito, "Color Universal Design", 2008)."""

BACKGROUND = (245, 245, 240)
ROAD = (190, 190, 190)
MARKING = (255, 255, 255)
STOP_LINE = (40, 40, 40)
OUTLINE = (30, 30, 30)
EGO = (0, 114, 178)  # blue
BACKGROUND_VEHICLE = (120, 120, 120)  # grey
VULNERABLE = (230, 159, 0)  # orange
OBSTACLE = (70, 70, 70)
SENSOR = (86, 180, 233)  # sky blue
PLAN = (204, 121, 167)  # reddish purple: an agent's planned path
COLLISION = (200, 0, 0)  # a collision mark: the one strong red on the frame
BRAKING = (200, 0, 0)  # brake lights
SIGNAL = {
    0: (0, 158, 115),
    1: (240, 228, 66),
    2: (213, 94, 0),
    3: (40, 40, 40),
}  # green, yellow, vermillion, dark
PANEL = (255, 255, 255)
TEXT = (20, 20, 20)
TIMELINE = (220, 220, 215)
CURSOR = (0, 0, 0)
EVENT = {  # markers on the timeline
    "collision": COLLISION,
    "offroad": (213, 94, 0),
    "lane_departure": (230, 159, 0),
    "red_light": (213, 94, 0),
    "speed_limit": (240, 228, 66),
    "goal_reached": (0, 158, 115),
    "agent_fault": (0, 0, 0),
    "action_clipped": (86, 180, 233),
    "manoeuvre": (150, 150, 150),
    "conflict": (240, 228, 66),
    "daa_alert": (230, 159, 0),
    "loss_of_well_clear": (213, 94, 0),
    "loss_of_separation": (213, 94, 0),
    "nmac": (204, 121, 167),
    "geofence_breach": (213, 94, 0),
    "low_altitude": (213, 94, 0),
}
VERDICT = {
    "pass": (0, 158, 115),
    "fail": (213, 94, 0),
    "error": (204, 121, 167),
    "invalid": (204, 121, 167),
}
