"""``pground convert``: standard formats to Proving Ground YAML."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sim.errors import UsageError
from sim.formats.opendrive import RoadImport, load_opendrive

if TYPE_CHECKING:
    from sim.formats.openscenario import XoscImport


def map_yaml(imp: RoadImport) -> str:
    """The imported map as a commented ``map:`` section of a scenario file."""
    lines = [
        f"# Road map converted from {Path(imp.path).name} (ASAM OpenDRIVE) by pground convert.",
        "# Put the 'map:' section into a scenario. OpenDRIVE lanes -> our (road, lane):",
    ]
    by_road: dict[str, list[str]] = {}
    for (_, lid), side in sorted(imp.sides.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        by_road.setdefault(side.road_id, []).append(f"{lid} -> lane {side.lane_ids.index(lid)}")
    for rid, pairs in by_road.items():
        lines.append(f"#   {rid}: " + ", ".join(pairs))
    lines.append(
        "# Stations run along lane 0's centre in the direction of travel (OpenDRIVE's s runs"
    )
    lines.append("# along the reference line): on curves they differ by reference_offset x turn.")
    body = yaml.safe_dump(
        {"map": {"road": imp.yaml_map()}}, sort_keys=False, default_flow_style=None, width=100
    )
    return "\n".join(lines) + "\n" + body


def scenario_yaml(imp: XoscImport) -> str:
    """A translated OpenSCENARIO file as a scenario file of ours."""
    files = ", ".join(p.name for p in imp.files)
    head = (
        f"# Converted by pground convert from ASAM OpenSCENARIO ({files}).\n"
        "# The OpenSCENARIO parameters are resolved; rerun the conversion with --set to\n"
        "# change them. Stations run along lane 0's centre (see the map's roads).\n"
    )
    data = dict(imp.data)
    data["parameters"] = {
        k: (str(v).lower() if isinstance(v, bool) else v) for k, v in imp.parameters.items()
    }
    order = ["schema_version", "id", "name", "description", "tags", "dt", "duration", "seed",
             "control_period", "parameters", "entities", "criteria", "map"]  # fmt: skip
    data = {k: data[k] for k in order if k in data}
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def _scenario_of(source: Path) -> Any:
    """The scenario of a scenario file, a counterexample or a run folder (its resolved
    scenario, as run)."""
    import json

    from sim.scenario.load import load_resolved, load_scenario

    if source.is_dir():
        manifest = source / "manifest.json"
        if not manifest.is_file():
            raise UsageError(f"{source}: not a run folder (no manifest.json)")
        resolved = json.loads(manifest.read_text())["scenario"]["resolved"]
        return load_resolved(resolved, f"{manifest}: scenario.resolved")
    return load_scenario(source).scenario


def convert(
    source: Path,
    target: Path,
    overrides: dict[str, Any] | None = None,
    entity: str | None = None,
) -> tuple[list[str], str]:
    """Convert ``source`` to ``target`` by their suffixes; returns warnings and a summary."""
    kind = source.suffix.lower()
    if target.suffix.lower() == ".xosc":
        from sim.formats.export import export_xosc

        scenario = _scenario_of(source)
        written = export_xosc(scenario, target)
        return [], "with " + ", ".join(p.name for p in written[:-1] if p != target) + (
            f" and {written[-1].name}"
        )
    if kind == ".xosc":
        from sim.formats.openscenario import load_xosc

        imp = load_xosc(source, overrides, ego=entity)
        text = scenario_yaml(imp)
        summary = f"{len(imp.data['entities'])} entities on {len(imp.road.map.roads)} roads"
        warnings = imp.warnings
    elif kind == ".xodr":
        imp = load_opendrive(source)
        text = map_yaml(imp)
        summary = f"{len(imp.map.roads)} one-way roads from {len(imp.pieces)} OpenDRIVE roads"
        warnings = imp.warnings
    else:
        raise UsageError(f"{source}: cannot convert '{kind or source.name}' files (.xosc or .xodr)")
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError(f"{target}: write to a .yaml file (or .xosc from a scenario)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return warnings, summary
