"""OpenDRIVE import: the six OSC-ALKS roads against closed forms and the files' own records,
clothoids against Fresnel integrals, and every unsupported record as a file:line error."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from scipy.special import fresnel

from sim.domains.road.network import RoadNetwork, clothoid_points
from sim.domains.road.schema import RoadMap
from sim.errors import ScenarioError
from sim.formats.opendrive import load_opendrive

ROADS = (
    Path(__file__).resolve().parents[2]
    / "shared/standards/osc-alks/logical_scenarios/concrete_scenarios/road_networks"
)
needs_alks = pytest.mark.skipif(not ROADS.is_dir(), reason="../shared/standards/osc-alks absent")
MM_PER_KM = 1e-6  # the accuracy: 1 mm per km of road


def alks(name: str):
    return load_opendrive(ROADS / f"alks_road_{name}.xodr")


def road_index(net: RoadNetwork, rid: str) -> np.ndarray:
    return np.array([net.ids.index(rid)])


def at(net: RoadNetwork, rid: str, s: np.ndarray, t: float = 0.0):
    r = np.full(s.shape, net.ids.index(rid))
    return net.pose(r, s, np.full(s.shape, t))


@needs_alks
@pytest.mark.parametrize(
    "name",
    ["straight", "left_radius_250m", "right_radius_250m", "left_radius_1000m",
     "right_radius_1000m", "different_curvatures"],
)  # fmt: skip
def test_alks_lane_layout(name):
    """Both carriageways: lanes -5/-4/-3 and 5/4/3 are our lanes 0/1/2 (rightmost first in
    the direction of travel), 3.5 m wide, lane 0's centre 2 + 0.75 + 2.5 x 3.5 = 11.5 m from
    the reference line; markings as the file's roadMarks (solid edges, broken between)."""
    imp = alks(name)
    assert [r.id for r in imp.map.roads] == ["0.right", "0.left"]
    for r, t0, rev in zip(imp.map.roads, (-11.5, 11.5), (False, True), strict=True):
        assert (r.lanes, r.lane_width, r.reference_offset, r.reverse) == (3, 3.5, t0, rev)
        assert r.markings == ["solid", "dashed", "dashed", "solid"]
    assert [imp.lane("0", k) for k in (-5, -4, -3, 5, 4, 3)] == [
        ("0.right", 0), ("0.right", 1), ("0.right", 2), ("0.left", 0), ("0.left", 1),
        ("0.left", 2),
    ]  # fmt: skip
    with pytest.raises(KeyError):
        imp.lane("0", -6)  # the hard shoulder is not driven on
    assert not imp.warnings


@needs_alks
@pytest.mark.parametrize(
    "name, k, length",
    [("straight", 0.0, 10000.0), ("left_radius_250m", 0.004, 1500.0),
     ("right_radius_250m", -0.004, 1500.0), ("left_radius_1000m", 0.001, 6000.0),
     ("right_radius_1000m", -0.001, 6000.0)],
)  # fmt: skip
def test_alks_roads_closed_form(name, k, length):
    """Every lane centre of both carriageways against the circle (or line) through the
    origin with heading 0: a point at reference station u and lateral offset t is
    C + (1/k - t)(sin ku, -cos ku), C = (0, 1/k). Within 1 mm per km of road, everywhere."""
    imp = alks(name)
    net = RoadNetwork.build(imp.map)
    for rid in ("0.right", "0.left"):
        spec = imp.map.roads[net.ids.index(rid)]
        t0 = spec.reference_offset
        scale = 1.0 - k * t0  # lane 0's length per metre of reference line
        assert net.length[net.ids.index(rid)] == pytest.approx(
            length * scale, abs=MM_PER_KM * length
        )
        s = np.linspace(0.0, length * scale, 997)
        u = s / scale if not spec.reverse else length - s / scale
        for lane in range(3):
            t_ours = lane * 3.5
            t = t0 + (-t_ours if spec.reverse else t_ours)  # from the reference, + left
            x, y, h, kap = at(net, rid, s, t_ours)
            if k == 0:
                ex, ey = u, np.full_like(u, t)
            else:
                ex = (1 / k - t) * np.sin(k * u)
                ey = 1 / k - (1 / k - t) * np.cos(k * u)
            err = np.hypot(x - ex, y - ey)
            assert err.max() <= MM_PER_KM * length + 1e-9, (rid, lane, err.max())
            heading = k * u + (math.pi if spec.reverse else 0.0)
            dh = np.abs(np.angle(np.exp(1j * (h - heading))))
            assert dh.max() < 1e-3
            # the curvature of lane 0's centre: k / (1 - k t0), signed by the travel direction
            expect = k / scale * (-1 if spec.reverse else 1)
            assert np.allclose(kap, expect, rtol=1e-9, atol=1e-12)
        # the ends: lane 0's centre where the reference line's end puts it
        end = at(net, rid, np.array([net.length[net.ids.index(rid)]]))
        u_end = 0.0 if spec.reverse else length
        if k == 0:
            ex, ey = u_end, t0
        else:
            ex = (1 / k - t0) * math.sin(k * u_end)
            ey = 1 / k - (1 / k - t0) * math.cos(k * u_end)
        assert math.hypot(end[0][0] - ex, end[1][0] - ey) < 1e-9


@needs_alks
def test_alks_clothoid_sequence_against_the_files_records():
    """The curvature road chains 34 lines, spirals and arcs (R 250-2000 m). Each record
    states its start (x, y, hdg), computed by the file's author: our reference line passes
    through all of them, and lane 0's centre lies 11.5 m to their right, at the station
    ``station()`` gives, within 1 mm per km."""
    path = ROADS / "alks_road_different_curvatures.xodr"
    imp = load_opendrive(path)
    records = etree.parse(str(path)).getroot().findall("road/planView/geometry")
    u = np.array([float(g.get("s")) for g in records] + [5100.0])
    fx = np.array([float(g.get("x")) for g in records])
    fy = np.array([float(g.get("y")) for g in records])
    fh = np.array([float(g.get("hdg")) for g in records])
    # the bare reference line (no offset): its vertices at the records' stations
    bare = imp.map.model_dump()
    bare["roads"] = [dict(bare["roads"][0], reference_offset=0.0)]
    net0 = RoadNetwork.build(RoadMap.model_validate(bare))
    x, y, h, _ = at(net0, "0.right", u[:-1])
    assert np.hypot(x - fx, y - fy).max() <= MM_PER_KM * 5100
    assert np.abs(np.angle(np.exp(1j * (h - fh)))).max() < 1e-5  # κ x station drift
    # lane 0's centre, 11.5 m right of each record's start, at the converted station
    net = RoadNetwork.build(imp.map)
    s = np.array([imp.station("0", -5, ui) for ui in u[:-1]])
    x, y, _, _ = at(net, "0.right", s)
    ex, ey = fx + 11.5 * np.sin(fh), fy - 11.5 * np.cos(fh)
    assert np.hypot(x - ex, y - ey).max() <= MM_PER_KM * 5100
    # curvature mid-arc: 1 / (R + 11.5) on left turns, 1 / (R - 11.5) on right turns
    for g, s0, s1 in zip(records, u[:-1], u[1:], strict=True):
        arc = g.find("arc")
        if arc is None:
            continue
        kref = float(arc.get("curvature"))
        mid = np.array([imp.station("0", -5, 0.5 * (s0 + s1))])
        _, _, _, kap = at(net, "0.right", mid)
        assert kap[0] == pytest.approx(kref / (1 + 11.5 * kref), rel=1e-9)


@given(
    k1=st.floats(1e-4, 0.05) | st.floats(-0.05, -1e-4),
    length=st.floats(1.0, 400.0),
    psi=st.floats(-math.pi, math.pi),
)
@settings(max_examples=60, deadline=None)
def test_clothoid_matches_fresnel_integrals(k1, length, psi):
    """A clothoid from curvature 0 to k1 over L has heading u²/(2A²) (A² = L/|k1|), so its
    points are A√π (C(z), ±S(z)) with z = u/(A√π): scipy's Fresnel integrals, rotated."""
    u = np.linspace(0.0, length, 41)
    x, y, th = clothoid_points(0.0, 0.0, psi, 0.0, k1, length, u)
    a = math.sqrt(length / abs(k1))
    s_int, c_int = fresnel(u / (a * math.sqrt(math.pi)))
    lx, ly = a * math.sqrt(math.pi) * c_int, math.copysign(1, k1) * a * math.sqrt(math.pi) * s_int
    ex = lx * math.cos(psi) - ly * math.sin(psi)
    ey = lx * math.sin(psi) + ly * math.cos(psi)
    assert np.hypot(x - ex, y - ey).max() < 1e-9 * max(1.0, length)
    assert np.allclose(th, psi + 0.5 * k1 * u**2 / length, atol=1e-12)


def test_clothoid_segment_in_our_road_format():
    """A clothoid in a YAML road: its end is the Fresnel point, its chords stay within the
    road's chord tolerance of the curve, and it needs its curvature pair."""
    spec = RoadMap.model_validate(
        {"roads": [{"id": "r", "geometry": [{"clothoid": "200 m", "curvature": [0, 0.01]}]}]}
    )
    net = RoadNetwork.build(spec)
    a = math.sqrt(200 / 0.01)
    s_int, c_int = fresnel(200 / (a * math.sqrt(math.pi)))
    end = net.V[net.v1[0]]
    scale = a * math.sqrt(math.pi)
    assert math.hypot(end[0] - scale * c_int, end[1] - scale * s_int) < 1e-9
    mids = 0.5 * (net.V[:-1] + net.V[1:])  # chord midpoints against the curve's midpoints
    n = len(net.V) - 1
    u = (np.arange(n) + 0.5) * 200.0 / n
    x, y, _ = clothoid_points(0.0, 0.0, 0.0, 0.0, 0.01, 200.0, np.concatenate([[0.0], u]))
    d = np.hypot(mids[:, 0] - x[1:], mids[:, 1] - y[1:])
    assert 0.005 < d.max() <= 0.01 * 1.01
    for bad in ({"clothoid": 100}, {"line": 100, "curvature": [0, 0.1]},
                {"clothoid": 100, "curvature": [0, float("nan")]}):  # fmt: skip
        with pytest.raises(ValueError):
            RoadMap.model_validate({"roads": [{"id": "r", "geometry": [bad]}]})


@needs_alks
def test_other_carriageway_runs_against_the_reference_line():
    """0.left starts where the reference line ends, heading back; a car driving it by
    itself stays in its lane for the whole curved road."""
    imp = alks("left_radius_250m")
    net = RoadNetwork.build(imp.map)
    x, y, h, _ = at(net, "0.left", np.array([0.0]))
    k, length = 0.004, 1500.0
    t = 11.5 - 0.0  # lane 0 of the left side: 11.5 m left of the reference line
    assert math.hypot(x[0] - (1 / k - t) * math.sin(k * length),
                      y[0] - (1 / k - (1 / k - t) * math.cos(k * length))) < 1e-9  # fmt: skip
    assert abs(math.remainder(h[0] - (k * length + math.pi), 2 * math.pi)) < 1e-3


# ---------------------------------------------------------------- errors
HEAD = '<?xml version="1.0"?>\n<OpenDRIVE>\n  <header revMajor="1" revMinor="6"/>\n'


def lane(lid, ltype="driving", width="3.5", extra=""):
    return (f'<lane id="{lid}" type="{ltype}"><width sOffset="0" a="{width}" b="0" c="0" '
            f'd="0"/>{extra}</lane>')  # fmt: skip


def road(geometry="<line/>", right=None, attrs="", more=""):
    right = right or lane(-1) + lane(-2)
    return (
        f'  <road id="7" length="100" junction="-1" {attrs}>\n'
        f'    <planView><geometry s="0" x="0" y="0" hdg="0" length="100">{geometry}'
        f"</geometry></planView>\n"
        f'    <lanes><laneSection s="0"><center><lane id="0" type="none"/></center>\n'
        f"      <right>{right}</right></laneSection></lanes>\n{more}"
        f"  </road>\n"
    )


def xodr(tmp_path, body, name="bad.xodr"):
    p = tmp_path / name
    p.write_text(HEAD + body + "</OpenDRIVE>\n", encoding="utf-8")
    return p


def problems(path):
    with pytest.raises(ScenarioError) as exc:
        load_opendrive(path)
    return exc.value.problems


def test_minimal_road_imports(tmp_path):
    imp = load_opendrive(xodr(tmp_path, road()))
    assert [(r.id, r.lanes, r.reference_offset) for r in imp.map.roads] == [("7.right", 2, -5.25)]
    assert imp.lane("7", -2) == ("7.right", 0)


@pytest.mark.parametrize(
    "body, line, needle",
    [
        (
            road('<paramPoly3 aU="0" bU="1" cU="0" dU="0" aV="0" bV="0" cV="0" dV="0"/>'),
            5,
            "<paramPoly3> geometry type not supported",
        ),
        (road(attrs='rule="XHT"'), 4, "rule='XHT'"),
        (road().replace('junction="-1"', 'junction="3"'), 4, "junctions are not supported"),
        (road(right=lane(-1) + lane(-2, "border") + lane(-3)), 7, "must be adjacent"),
        (road(right=lane(-1) + lane(-2, width="3.0")), 7, "different widths"),
        (road(right=lane(-1).replace('b="0"', 'b="0.01"')), 7, "varies along the road"),
        (road(right=lane(-1, "onRamp")), 7, "lane type 'onRamp' is not supported"),
        (
            road(
                more='    <elevationProfile><elevation s="0" a="1" b="0.02" c="0" d="0"/>'
                "</elevationProfile>\n"
            ),
            8,
            "not flat",
        ),
        (road().replace('length="100">', 'length="-5">'), 5, "must be positive"),
        (road().replace('x="0" y="0"', 'x="nan" y="0"'), 5, "x='nan' is not finite"),
        ('  <junction id="1"/>\n' + road(), 4, "<junction> junction records are not supported"),
    ],
)
def test_unsupported_records_name_file_line_and_element(tmp_path, body, line, needle):
    path = xodr(tmp_path, body)
    lines = problems(path)
    assert any(p.startswith(f"{path}:{line}:") and needle in p for p in lines), lines


def test_gap_between_geometry_records(tmp_path):
    body = (
        road()
        .replace(
            "</geometry></planView>",
            '</geometry><geometry s="100" x="100" y="2" hdg="0" length="50"><line/></geometry>'
            "</planView>",
        )
        .replace('length="100" junction', 'length="150" junction')
    )
    lines = problems(xodr(tmp_path, body))
    assert any(":5: <geometry> does not continue the record before" in p for p in lines), lines


def test_malformed_and_hostile_xml(tmp_path):
    broken = tmp_path / "broken.xodr"
    broken.write_text(HEAD + "  <road id='1'>\n  </rode>\n</OpenDRIVE>\n", encoding="utf-8")
    (p,) = problems(broken)
    assert p.startswith(f"{broken}:5: not well-formed XML")
    bomb = tmp_path / "bomb.xodr"
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb.write_text(
        f'<?xml version="1.0"?><!DOCTYPE OpenDRIVE [<!ENTITY l0 "lol">{lol}]>\n'
        "<OpenDRIVE><road id='&l9;'/></OpenDRIVE>\n",
        encoding="utf-8",
    )
    t = time.perf_counter()
    (p,) = problems(bomb)
    assert time.perf_counter() - t < 1.0 and "entit" in p and p.startswith(f"{bomb}:")
    ext = tmp_path / "ext.xodr"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    ext.write_text(
        f'<?xml version="1.0"?><!DOCTYPE OpenDRIVE [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        "<OpenDRIVE><road id='&x;'/></OpenDRIVE>\n",
        encoding="utf-8",
    )
    (p,) = problems(ext)
    assert "TOP SECRET" not in p
    other = tmp_path / "other.xodr"
    other.write_text("<OpenSCENARIO/>", encoding="utf-8")
    assert "root element of an OpenDRIVE file" in problems(other)[0]


@needs_alks
def test_convert_cli_writes_a_map_a_scenario_can_drive(tmp_path):
    """`pground convert road.xodr -o map.yaml`: the map, pasted into a scenario, runs; an
    ACC car follows a lead through both 250 m curves without leaving its lane."""
    out = tmp_path / "map.yaml"
    src = ROADS / "alks_road_different_curvatures.xodr"
    cmd = [sys.executable, "-m", "sim", "convert", str(src), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "0.right: -3 -> lane 2, -4 -> lane 1, -5 -> lane 0" in text
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
    scenario = tmp_path / "curves.yaml"
    body = text[text.index("\nmap:") + 1 :]
    scenario.write_text(
        "schema_version: 1\nid: odr-curves\nname: curves\ndescription: imported road\n"
        "dt: 0.05 s\nduration: 80 s\nseed: 1\n" + body + "entities:\n"
        "  - {id: ego, domain: road, road: 0.right, lane: 1, s: 420 m, speed: 25 m/s,\n"
        "     agent: acc, agent_params: {set_speed: 25}}\n"
        "  - {id: lead, domain: road, road: 0.right, lane: 1, s: 480 m, speed: 20 m/s,\n"
        "     behaviour: {type: idm, lane_changes: false}}\n"
        "  - {id: oncoming, domain: road, road: 0.left, lane: 0, s: 3500 m, speed: 25 m/s,\n"
        "     behaviour: {type: idm, lane_changes: false}}\n"
        "criteria:\n  - {metric: collisions, op: '==', value: 0}\n"
        "  - {metric: lane_departures, op: '==', value: 0}\n",
        encoding="utf-8",
    )
    r = subprocess.run([sys.executable, "-m", "sim", "run", str(scenario), "--no-save"],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: PASS" in r.stdout


def test_convert_cli_errors_are_one_line(tmp_path):
    bad = xodr(tmp_path, road(right=lane(-1, "onRamp")))
    r = subprocess.run([sys.executable, "-m", "sim", "convert", str(bad), "-o",
                        str(tmp_path / "m.yaml")], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}:7: <lane> lane type 'onRamp'" in r.stderr
    assert not (tmp_path / "m.yaml").exists()
