"""Metrics in every geometry they claim (issue #16), each against an expected value computed
here from the published definition, not from the code under test: leads that are not on a
road (a pedestrian on a path, a vehicle placed by x/y, a train at a level crossing, beyond the
end of a road, on a curve), contact ticks and float-noise gaps, aircraft passing overhead, and
3-D clearance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.registry import METRICS, RunData
from sim.core.log import RunLog
from sim.runner.run import run_loaded
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

CONTACT_M = 1e-3  # the stated contact tolerance of the road lead measures


# ---------------------------------------------------------------- plain-Python reference
def sweep_reference(a: shapely.Polygon, b: shapely.Polygon) -> float:
    """How far ``a`` moves along +x before touching ``b``, by casting rays with shapely:
    from a's vertices forward onto b's outline and from b's vertices backward onto a's."""
    if a.intersects(b):
        return 0.0
    best = math.inf
    for src, dst, sign in ((a, b, 1.0), (b, a, -1.0)):
        for px, py in src.exterior.coords[:-1]:
            ray = shapely.LineString([(px, py), (px + sign * 1e6, py)])
            for hx, _ in shapely.get_coordinates(ray.intersection(dst.exterior)):
                best = min(best, sign * (hx - px))
    return best


def lead_reference(
    x, y, h, v, valid, length, width, ego, to_road=lambda px, py: (px, py), road_heading=0.0
):
    """TTC, DRAC and THW series of ``ego`` by the definition in ``pground metrics``: every
    other entity in the ego's road frame (``to_road`` maps x, y to station and offset; the
    road runs at ``road_heading``) as its oriented box; the gap is how far the ego's box
    moves along the road before touching it; the lead is the nearest one ahead (centre
    Δs > 0); Δv from the speeds along the road."""
    ttc, drac, thw = [], [], []
    for k in range(len(x)):
        se, te = to_road(x[k][ego], y[k][ego])
        pe = h[k][ego] - road_heading
        me = _box([0.0], [te], [pe], [length[ego]], [width[ego]], 0)
        best = None
        for o in range(len(x[k])):
            if o == ego or not valid[k][o]:
                continue
            so, to = to_road(x[k][o], y[k][o])
            po = h[k][o] - road_heading
            if so - se <= 0:
                continue
            gap = sweep_reference(me, _box([so - se], [to], [po], [length[o]], [width[o]], 0))
            if math.isfinite(gap) and (best is None or gap < best[0]):
                best = (gap, v[k][o] * math.cos(po))
        if best is None:
            ttc.append(math.inf)
            thw.append(math.inf)
            continue
        gap, u_lead = best
        closing = v[k][ego] * math.cos(pe) - u_lead
        if gap < CONTACT_M:
            ttc.append(0.0)
        else:
            ttc.append(gap / closing if closing > 0 else math.inf)
            if closing > 0:
                drac.append(closing**2 / (2 * gap))
        if v[k][ego] > 0.5:
            thw.append(max(gap, 0.0) / v[k][ego])
    return ttc, drac, thw


def _box(x, y, h, length, width, i) -> shapely.Polygon:
    """The oriented box of entity ``i`` at (x[i], y[i]) turned by h[i] (shapely)."""
    box = shapely.box(-length[i] / 2, -width[i] / 2, length[i] / 2, width[i] / 2)
    box = shapely.affinity.rotate(box, h[i], origin=(0, 0), use_radians=True)
    return shapely.affinity.translate(box, x[i], y[i])


def _road_log(out) -> tuple:
    a = out.result.log.arrays["road"]
    info = out.result.log.meta["domains"]["road"]
    return (
        a["x_m"].tolist(),
        a["y_m"].tolist(),
        a["heading_rad"].tolist(),
        a["speed_mps"].tolist(),
        a["valid"].tolist(),
        info["length_m"],
        info["width_m"],
    )


def _check_lead_metrics(out, ego=0, **frame):
    ttc, drac, thw = lead_reference(*_road_log(out), ego, **frame)
    m = out.metrics
    assert m["min_ttc_s"].value == pytest.approx(min(ttc), abs=1e-9)
    assert m["max_drac_mps2"].value == pytest.approx(max(drac, default=0.0), rel=1e-9)
    assert m["min_time_headway_s"].value == pytest.approx(min(thw, default=math.inf), abs=1e-9)
    return ttc, drac, thw


# ---------------------------------------------------------------- road: leads off the road
def test_a_crossing_pedestrian_on_a_path_is_the_lead_and_the_crash_has_ttc_0():
    """alks_crossing_pedestrian, constant speed: collision at 10.65 s at 16.7 m/s. The
    pedestrian walks a path (no road); the straight road runs along +x from the origin, so
    s = x, t = y. TTC is ≈ 0.40 s when it steps into the car's width and 0 at contact;
    DRAC peaks at ≈ 167 m/s² (was inf, 0 and inf)."""
    out = run_loaded(
        load_scenario(SCENARIOS / "road" / "alks_crossing_pedestrian.yaml"),
        agent="constant-speed",
    )
    assert any(e.kind == "collision" for e in out.result.events)
    ttc, _, _ = _check_lead_metrics(out)
    first = next(t for t in ttc if math.isfinite(t))
    assert first == pytest.approx(0.40, abs=0.01)
    assert out.metrics["min_ttc_s"].value == 0.0
    assert out.metrics["max_drac_mps2"].value == pytest.approx(166.7, abs=0.1)
    assert out.metrics["max_drac_mps2"].details["contact"] is True
    assert out.metrics["min_time_headway_s"].value == 0.0


def test_a_pedestrian_the_acc_brakes_for_gives_its_real_ttc():
    """The shipped ACC stops for the pedestrian: TTC ≈ 1.5 s (was inf)."""
    out = run_loaded(load_scenario(SCENARIOS / "road" / "alks_crossing_pedestrian.yaml"))
    assert out.verdict == "pass"
    _check_lead_metrics(out)
    assert out.metrics["min_ttc_s"].value == pytest.approx(1.5, abs=0.05)


def _ccrs(write_yaml, placed_by_xy: bool) -> str:
    target = (
        "{id: gvt, domain: road, kind: car, x: 110.05555555555556, y: 0, heading: 0,"
        " behaviour: {type: static}}"
        if placed_by_xy
        else "{id: gvt, domain: road, kind: car, road: track, s: 110.05555555555556,"
        " behaviour: {type: static}}"
    )
    return write_yaml(f"""schema_version: 1
id: ccrs
name: ccrs
description: CCRs at 50 km/h, target placed {"by x/y" if placed_by_xy else "on the road"}
dt: 0.05
duration: 8
control_period: 0.1
map: {{road: {{roads: [{{id: track, geometry: [{{line: 400 m}}], lanes: 1}}]}}}}
entities:
  - {{id: vut, domain: road, road: track, s: 50 m, speed: 50 km/h, agent: constant-speed}}
  - {target}
""")


@pytest.mark.parametrize("placed_by_xy", [False, True], ids=["on-road", "by-xy"])
def test_ccrs_rear_end_crash_whatever_the_target_placement(write_yaml, placed_by_xy):
    """Closed form: at v = 50 km/h from a gap of v·4 s, the gap at t is v·(4 − t), so
    TTC = 4 − t, contact exactly at 4.00 s (the logged gap is float noise, 1e-13 m: contact).
    The last gap above 1 mm is v·0.05 s at 3.95 s: DRAC = v²/(2·v·0.05) = v/0.1 = 138.9 m/s²
    (was 7.5e14 from the noise gap, and inf/0 for the x/y placement). The 2-D TTC samples
    the contact tick: 0 (was 0.1)."""
    out = run_loaded(load_scenario(_ccrs(write_yaml, placed_by_xy)))
    v = 50 / 3.6
    ttc, _, _ = _check_lead_metrics(out)
    t = out.result.log.time_s
    before = t < 4.0 - 1e-9
    assert np.allclose(np.array(ttc)[before], 4.0 - t[before], atol=1e-9)
    assert out.metrics["min_ttc_s"].value == 0.0
    assert out.metrics["max_drac_mps2"].value == pytest.approx(v / 0.1, rel=1e-9)
    assert out.metrics["max_drac_mps2"].details == {"contact": True, "first_contact_s": 4.0}
    assert out.metrics["min_ttc_2d_s"].value == 0.0
    assert out.metrics["min_time_headway_s"].value == 0.0


def test_an_obstacle_placed_by_xy_on_a_curve_is_found_by_its_arc_station(write_yaml):
    """A left-hand arc of radius 200 m from the origin heading east (centre (0, 200)); a
    stopped car placed by x/y at polar angle φ = 0.5 rad on the lane centre: its station is
    R·φ = 100 m along the arc. With the ego on the road at s_e, the gap is R·φ − s_e − 4.5 m
    and TTC = gap / v (both aligned with the road; chords approximate the arc to 1 cm)."""
    r, phi = 200.0, 0.5
    ox, oy = r * math.sin(phi), r - r * math.cos(phi)
    path = write_yaml(f"""schema_version: 1
id: curve
name: curve
description: obstacle on a curve, placed by x/y
dt: 0.05
duration: 2
map: {{road: {{roads: [{{id: bend, geometry: [{{arc: 300 m, radius: 200 m}}], lanes: 1}}]}}}}
entities:
  - {{id: ego, domain: road, road: bend, s: 20 m, speed: 15 m/s, agent: constant-speed}}
  - {{id: car, domain: road, kind: car, x: {ox!r}, y: {oy!r}, heading: {phi!r},
     behaviour: {{type: static}}}}
""")
    out = run_loaded(load_scenario(path))
    a = out.result.log.arrays["road"]
    s_e, v_e = a["s_m"][:, 0], a["speed_mps"][:, 0]
    gap = r * phi - s_e - 4.5
    assert out.metrics["min_ttc_s"].value == pytest.approx(np.min(gap / v_e), abs=0.01 / 15)
    assert out.metrics["min_time_headway_s"].value == pytest.approx(
        np.min(gap / v_e), abs=0.01 / 15
    )


# ---------------------------------------------------------------- hand-built worlds
def _log(domains: dict, dt: float = 0.1) -> RunData:
    """A run from per-domain (T, N) arrays and metadata; ``domains`` maps a name to
    (arrays, meta)."""
    arrays = {d: a for d, (a, _) in domains.items()}
    meta = {"domains": {d: m for d, (_, m) in domains.items()}}
    n_ticks = next(iter(arrays.values()))["x_m"].shape[0]
    return RunData(RunLog(arrays, np.arange(n_ticks) * dt, dt, meta), ())


def _road(x, y, h, v, *, road, s, t, kinds, controlled, length, width, ref):
    z = np.zeros_like(x)
    arrays = {
        "x_m": x,
        "y_m": y,
        "heading_rad": h,
        "speed_mps": v,
        "s_m": s,
        "t_m": t,
        "road": road.astype(np.int32),
        "valid": np.ones(x.shape, bool),
        "accel_mps2": z,
        "yaw_rate_radps": z,
        "offroad": np.zeros(x.shape, bool),
        "speed_limit_mps": np.full(x.shape, 30.0),
    }
    meta = {
        "ids": [f"e{i}" for i in range(x.shape[1])],
        "kinds": kinds,
        "controlled": controlled,
        "length_m": length,
        "width_m": width,
        "goals": [None] * x.shape[1],
        "map": {"roads": [ref]},
    }
    return arrays, meta


def _straight(length: float, angle: float = 0.0, x0: float = 0.0, y0: float = 0.0) -> dict:
    c, s = math.cos(angle), math.sin(angle)
    return {
        "id": "r",
        "closed": False,
        "length_m": length,
        "reference": {
            "x_m": [x0, x0 + length * c],
            "y_m": [y0, y0 + length * s],
            "s_m": [0.0, length],
            "heading_rad": [angle, angle],
        },
    }


@pytest.mark.parametrize(("offset", "gap"), [(2.5, math.inf), (2.3, 0.1278), (1.6, 0.0)])
def test_a_car_alongside_at_an_angle_is_measured_by_its_box_not_its_bounding_box(offset, gap):
    """Mid cut-in: a car 4.3 m ahead (centres) at 8 m/s, 0.3 rad to the road, its centre
    ``offset`` to the left; the ego at 10 m/s. Its bounding extent along the road is
    (4.5·cos 0.3 + 1.8·sin 0.3)/2 = 2.415 m, so a bounding-box gap would be
    4.3 − 2.415 − 2.25 = −0.365 m: "contact" though nothing touches. By the boxes: at 2.5 m
    it is entirely left of the ego's lane band (no lead); at 2.3 m its rear edge reaches
    into the band and the ego's front-left corner would meet it after 0.128 m (TTC = that
    / (10 − 8·cos 0.3)); at 1.6 m the boxes overlap: contact, TTC 0."""
    psi, ds = 0.3, 4.3
    x, y, h = [0.0, ds], [0.0, offset], [0.0, psi]
    me = _box(x, y, h, [4.5, 4.5], [1.8, 1.8], 0)
    assert sweep_reference(me, _box(x, y, h, [4.5, 4.5], [1.8, 1.8], 1)) == pytest.approx(
        gap, abs=1e-4
    )
    run = _log(
        {
            "road": _road(
                np.array([x]), np.array([y]), np.array([h]), np.array([[10.0, 8.0]]),
                road=np.array([[0, 0]]), s=np.array([x]), t=np.array([y]),
                kinds=["car", "car"], controlled=[True, False], length=[4.5, 4.5],
                width=[1.8, 1.8], ref=_straight(100.0),
            )
        }
    )  # fmt: skip
    closing = 10.0 - 8.0 * math.cos(psi)
    assert METRICS["min_ttc_s"].fn(run).value == pytest.approx(gap / closing, abs=1e-3)


def test_a_lead_beyond_the_end_of_an_open_road_is_on_its_extension():
    """A 100 m road; the ego at x = 60 (on it) at 10 m/s; a stopped car off the network at
    x = 130 on the road's line: gap 130 − 60 − 4.5 = 65.5 m, TTC 6.55 s."""
    x = np.array([[60.0, 130.0]])
    zero = np.zeros_like(x)
    run = _log(
        {
            "road": _road(
                x, zero, zero, np.array([[10.0, 0.0]]),
                road=np.array([[0, -1]]), s=np.array([[60.0, 0.0]]), t=zero,
                kinds=["car", "car"], controlled=[True, False],
                length=[4.5, 4.5], width=[1.8, 1.8], ref=_straight(100.0),
            )
        }
    )  # fmt: skip
    assert METRICS["min_ttc_s"].fn(run).value == pytest.approx(6.55)


def test_a_train_on_a_level_crossing_is_a_road_vehicles_lead():
    """Mixed world: the car at x = 50 at 10 m/s; a 50 m × 3 m train across the road at
    x = 100 (heading north, 5 m/s). Across the road the train reaches W/2 = 1.5 m along it
    and L/2 = 25 m across it: gap = 100 − 50 − 1.5 − 2.25 = 46.25 m; its speed along the
    road is 0, so TTC = 4.625 s and DRAC = 10²/(2·46.25)."""
    zero = np.zeros((1, 1))
    road = _road(
        np.array([[50.0]]), zero, zero, np.array([[10.0]]),
        road=np.array([[0]]), s=np.array([[50.0]]), t=zero, kinds=["car"],
        controlled=[True], length=[4.5], width=[1.8], ref=_straight(300.0),
    )  # fmt: skip
    rail = (
        {
            "x_m": np.array([[100.0]]),
            "y_m": np.array([[0.0]]),
            "heading_rad": np.array([[math.pi / 2]]),
            "speed_mps": np.array([[5.0]]),
            "valid": np.ones((1, 1), bool),
        },
        {
            "ids": ["train"],
            "kinds": ["rb425"],
            "controlled": [False],
            "length_m": [50.0],
            "width_m": [3.0],
            "goals": [None],
            "map": {},
        },
    )
    run = _log({"road": road, "rail": rail})
    assert METRICS["min_ttc_s"].fn(run).value == pytest.approx(46.25 / 10.0)
    assert METRICS["max_drac_mps2"].fn(run).value == pytest.approx(100 / (2 * 46.25))


@settings(max_examples=150, deadline=None)
@given(
    st.floats(-4.4, 80),  # gap between centres less the lengths (< 0: alongside)
    st.floats(0, 35),  # ego speed
    st.floats(0, 35),  # lead speed
    st.floats(-2.5, 2.5),  # lead lateral offset
    st.floats(-0.3, 0.3),  # lead heading relative to the road
    st.floats(-math.pi, math.pi),  # world rotation
    st.floats(-500, 500),
    st.floats(-500, 500),
)
def test_lead_measures_do_not_depend_on_placement_or_on_the_world_frame(
    gap, v_e, v_l, off, psi, rot, x0, y0
):
    """The same scene three ways: lead on the road by (s, t), lead off the network by
    (x, y), and the whole world rotated and shifted: identical TTC, DRAC and THW, equal to
    the plain reference (including vehicles alongside at an angle, and contact)."""
    c, s_ = math.cos(rot), math.sin(rot)
    s_e, s_l = 100.0, 100.0 + 4.5 + gap

    def world(s, t):
        return x0 + s * c - t * s_, y0 + s * s_ + t * c

    (xe, ye), (xl, yl) = world(s_e, 0.0), world(s_l, off)
    x, y = np.array([[xe, xl]]), np.array([[ye, yl]])
    h = np.array([[rot, rot + psi]])
    v = np.array([[v_e, v_l]])
    common = dict(
        kinds=["car", "car"], controlled=[True, False], length=[4.5, 4.5], width=[1.8, 1.8],
        ref=_straight(1000.0, rot, x0, y0), s=np.array([[s_e, s_l]]), t=np.array([[0.0, off]]),
    )  # fmt: skip
    on = _log({"road": _road(x, y, h, v, road=np.array([[0, 0]]), **common)})
    off_net = _log({"road": _road(x, y, h, v, road=np.array([[0, -1]]), **common)})
    ttc, drac, thw = lead_reference(
        [[s_e, s_l]],
        [[0.0, off]],
        [[0.0, psi]],
        v.tolist(),
        [[True, True]],
        [4.5, 4.5],
        [1.8, 1.8],
        0,
    )  # fmt: skip  (the road frame is a world frame too: the reference works in it)
    for run in (on, off_net):
        assert METRICS["min_ttc_s"].fn(run).value == pytest.approx(ttc[0], rel=1e-9, abs=1e-9)
        assert METRICS["max_drac_mps2"].fn(run).value == pytest.approx(
            max(drac, default=0.0), rel=1e-9, abs=1e-9
        )
        assert METRICS["min_time_headway_s"].fn(run).value == pytest.approx(
            thw[0] if thw else math.inf, rel=1e-9, abs=1e-9
        )


# ---------------------------------------------------------------- air: overhead passes
def _air_reference(out) -> tuple[float, float, float]:
    """Over every tick and pair (ownship, other): smallest horizontal distance, smallest
    |Δh| while horizontally inside R, and the prism clearance √(d_plan² + d_z²) with the
    boxes measured by shapely and the vertical gap from the published heights."""
    a = out.result.log.arrays["air"]
    info = out.result.log.meta["domains"]["air"]
    r = info["map"]["separation_m"][0]
    heights = {"turboprop": 7.65, "general_aviation": 2.72}  # the runtime's published table
    hh = [heights[k] for k in info["kinds"]]
    min_h = min_v = clear = math.inf
    for k in range(a["x_m"].shape[0]):
        boxes = [
            _box(
                a["x_m"][k], a["y_m"][k], a["heading_rad"][k], info["length_m"], info["width_m"], i
            )
            for i in range(2)
        ]
        dh = math.hypot(a["x_m"][k, 1] - a["x_m"][k, 0], a["y_m"][k, 1] - a["y_m"][k, 0])
        dz = abs(a["alt_m"][k, 1] - a["alt_m"][k, 0])
        min_h = min(min_h, dh)
        if dh < r:
            min_v = min(min_v, dz)
        gap_z = max(0.0, dz - 0.5 * (hh[0] + hh[1]))
        clear = min(clear, math.hypot(boxes[0].distance(boxes[1]), gap_z))
    return min_h, min_v, clear


@pytest.mark.parametrize("dz_ft", [400, 600, 1200])
def test_an_aircraft_passing_overhead_has_finite_separations_and_a_3d_clearance(dz_ft):
    """head_on with the intruder dz above the ownship's reciprocal track (plan-only): the
    horizontal miss is ≈ 0 and the vertical separation is dz, whatever dz (they were inf
    beyond 450 ft + margin, where the monitor's neighbour list drops the pair); the
    clearance is dz less half the two heights, not 0 (a plan-view distance)."""
    lo = load_scenario(SCENARIOS / "air" / "head_on.yaml", {"dz": f"{dz_ft} ft"})
    out = run_loaded(lo, agent="plan-only")
    min_h, min_v, clear = _air_reference(out)
    m = out.metrics
    assert m["min_horizontal_separation_m"].value == pytest.approx(min_h, abs=1e-6)
    assert m["min_horizontal_separation_m"].value < 1.0
    assert m["min_vertical_separation_m"].value == pytest.approx(min_v, abs=1e-9)
    assert m["min_vertical_separation_m"].value == pytest.approx(dz_ft * 0.3048, abs=1e-6)
    assert m["min_distance_m"].value == pytest.approx(clear, abs=1e-6)
    assert m["min_distance_m"].value == pytest.approx(dz_ft * 0.3048 - (7.65 + 2.72) / 2)
