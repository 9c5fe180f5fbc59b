# A rail agent in awk for the Proving Ground agent protocol (docs/agent-protocol.md).
#
# Drives to the line speed and brakes for the end of movement authority and the next
# stop with a constant-deceleration curve at 60 % of the service brake. It picks the few
# numbers it needs out of each NDJSON line with match(): enough for an example.
#
#   pground run scenarios/rail/red_signal_approach.yaml \
#       --agent "cmd:awk -W interactive -f agents/examples/rail_driver.awk"
# (mawk needs -W interactive to answer line by line; with gawk drop it.)

function num(s, key,    r) {
    # the number after "key": in s ("" when absent or null)
    if (!match(s, "\"" key "\":-?[0-9.eE+-]+")) return ""
    r = substr(s, RSTART, RLENGTH)
    sub(/^"[^"]*":/, "", r)
    return r + 0
}

BEGIN {
    printf "{\"type\":\"hello\",\"protocol\":1,\"name\":\"rail-driver-awk\",\"version\":\"1.0\"}\n"
    fflush()
    decel = 0.5
}

/"type":"reset"/ {
    decel = 0.6 * num($0, "service_decel_mps2")
    printf "{\"type\":\"ready\"}\n"
    fflush()
    next
}

/"type":"step"/ {
    seq = num($0, "seq")
    own = $0
    sub(/.*"own":/, "", own)        # the train's own state comes first after "own":
    v = num(own, "speed_mps")
    limit = num(own, "speed_limit_mps")
    target = num($0, "eoa_m")
    stop = $0
    if (match(stop, /"next_stop":\{[^}]*\}/)) {
        stop = substr(stop, RSTART, RLENGTH)
        d = num(stop, "distance_m")
        if (d != "" && d >= -1 && stop !~ /"arrived_s":[0-9]/ && (target == "" || d < target))
            target = d
    }
    if (limit == "") limit = 20
    demand = (v < limit - 1) ? 1 : ((v > limit) ? -0.5 : 0)
    if (target != "") {
        room = target - 3 - v * 2            # 3 m short, 2 s of reaction
        if (room <= 0 || v * v / (2 * decel) >= room) demand = (v > 0.05) ? -1 : 0
        if (target < 3 && v < 0.05) demand = 0
    }
    printf "{\"type\":\"action\",\"seq\":%d,\"action\":{\"demand\":%.6f}}\n", seq, demand
    fflush()
    next
}

/"type":"close"/ { exit 0 }
