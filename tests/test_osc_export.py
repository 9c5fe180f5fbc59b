"""Scenarios out as OpenSCENARIO 1.1 + OpenDRIVE: the files validate against the ASAM
schemas (as the scenariogeneration package ships them) and a re-import runs to the same log
digest; what cannot be written is named field by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.formats.convert import convert
from sim.formats.export import export_xosc
from sim.runner.run import run_loaded
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS, pground

xmlschema = pytest.importorskip("xmlschema")
scenariogeneration = pytest.importorskip("scenariogeneration")
SCHEMAS = Path(scenariogeneration.__file__).resolve().parent.parent / "schemas"
OSC = Path(__file__).resolve().parents[2] / "shared/standards/osc-alks/logical_scenarios"
TEMPLATES = sorted((OSC / "concrete_scenarios").glob("*_template.xosc"))
FAST = ("alks_cut_in", "alks_crossing_pedestrian")
WRITABLE = [
    "alks_cut_in", "alks_crossing_pedestrian", "alks_cut_out", "alks_lane_keep_curve",
    "alks_lead_brake", "alks_stationary_full", "alks_stationary_partial", "ncap_ccrb",
    "ncap_ccrm", "ncap_ccrs",
]  # fmt: skip


@pytest.fixture(scope="module")
def schemas():
    return (
        xmlschema.XMLSchema(str(SCHEMAS / "OpenSCENARIO_1_1.xsd")),
        xmlschema.XMLSchema(str(SCHEMAS / "opendrive_17_core.xsd")),
    )


def round_trip(source: Path, tmp_path: Path, schemas) -> None:
    lo = load_scenario(source)
    out = tmp_path / f"{source.stem}.xosc"
    written = export_xosc(lo.scenario, out)
    assert [p.suffix for p in written] == [".xodr", ".xosc", ".yaml"]
    osc, odr = schemas
    assert not [e.reason for e in osc.iter_errors(str(out))]
    assert not [e.reason for e in odr.iter_errors(str(out.with_suffix(".xodr")))]
    a, b = run_loaded(lo), run_loaded(load_scenario(out))
    assert a.result.log.digest() == b.result.log.digest()
    # and on to our YAML again: YAML -> xosc/xodr -> YAML runs the same
    back = tmp_path / f"{source.stem}.back.yaml"
    convert(out, back)
    assert run_loaded(load_scenario(back)).result.log.digest() == a.result.log.digest()
    assert a.verdict == b.verdict
    assert [(c.expected, c.actual) for c in a.criteria] == [
        (c.expected, c.actual) for c in b.criteria
    ]


@pytest.mark.parametrize(
    "name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in WRITABLE]
)
def test_shipped_road_scenarios_round_trip(name, tmp_path, schemas):
    round_trip(SCENARIOS / "road" / f"{name}.yaml", tmp_path, schemas)


@pytest.mark.slow
@pytest.mark.skipif(not TEMPLATES, reason="../shared/standards/osc-alks absent")
def test_imported_alks_templates_round_trip(tmp_path, schemas):
    """Each of the 15 templates, imported, written back and imported again: same run
    (reversed carriageways, lane offsets, trajectories, stop triggers included)."""
    for path in TEMPLATES:
        round_trip(path, tmp_path, schemas)


def test_what_cannot_be_written_is_named(tmp_path):
    lo = load_scenario(SCENARIOS / "road" / "fault_radar_dropout_cut_in.yaml")
    with pytest.raises(ScenarioError) as exc:
        export_xosc(lo.scenario, tmp_path / "x.xosc")
    assert any(p.startswith("sensors: cannot be written") for p in exc.value.problems)
    assert any(p.startswith("faults: cannot be written") for p in exc.value.problems)
    assert not list(tmp_path.iterdir())
    r = pground("convert", SCENARIOS / "road" / "highway_traffic.yaml", "-o", tmp_path / "h.xosc")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "map.road.traffic: cannot be written to OpenSCENARIO" in r.stderr
    assert not list(tmp_path.iterdir())


def test_a_run_folder_converts_to_what_was_run(tmp_path, schemas):
    """`pground convert RUN -o x.xosc` writes the run's resolved scenario (its parameters
    as run): the re-import runs to the run's own log digest."""
    run = tmp_path / "run"
    src = SCENARIOS / "road" / "alks_lead_brake.yaml"
    r = pground("run", src, "--set", "lead_decel=4 m/s^2", "--out", run)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "brake.xosc"
    r = pground("convert", run, "-o", out)
    assert r.returncode == 0, r.stderr
    import json

    manifest = json.loads((run / "manifest.json").read_text())
    again = run_loaded(load_scenario(out))
    assert again.result.log.digest() == manifest["log_sha256"]
