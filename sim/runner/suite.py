"""Suites: a YAML file listing scenario files (paths or globs, relative to the suite file),
each optionally with fixed parameter values, or a folder of scenario files. Runs serially.

    name: road
    description: every shipped road scenario
    scenarios:
      - ../road/*.yaml
      - path: ../road/ncap_ccrb.yaml
        name: ncap-ccrb-6mps2-12m
        set: {target_decel: 6 m/s^2, headway: 12 m}
"""

from __future__ import annotations

import glob
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim.errors import ProvingGroundError, ScenarioError
from sim.scenario.model import StrictModel
from sim.scenario.yamlio import format_loc, line_of, load_with_lines

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")


class SuiteEntryModel(StrictModel):
    path: str
    name: str | None = None
    set: dict[str, float | str] = Field(default_factory=dict)


class SuiteModel(StrictModel):
    schema_version: int = 1
    name: str
    description: str = ""
    scenarios: list[str | SuiteEntryModel] = Field(min_length=1)


@dataclass(frozen=True)
class SuiteEntry:
    name: str
    path: Path
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    entries: list[SuiteEntry]


@dataclass
class SuiteRow:
    name: str
    path: str
    verdict: str  # pass | fail | error | invalid
    status: str | None = None
    agent: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    note: str = ""
    folder: str | None = None


def is_suite_file(path: Path) -> bool:
    """True for a folder, or a file whose top level has a 'scenarios' key."""
    if path.is_dir():
        return True
    try:
        data, _ = load_with_lines(path)
    except ScenarioError:
        return False
    return isinstance(data, dict) and "scenarios" in data


def load_suite(path: str | Path) -> Suite:
    """Load a suite file or folder; raise :class:`ScenarioError` with one line per problem."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in SCENARIO_SUFFIXES)
        if not files:
            raise ScenarioError(f"{path}: no scenario files (*.yaml, *.yml, *.json) in folder")
        return Suite(
            path.name, f"all scenarios in {path}", [SuiteEntry(p.stem, p, {}) for p in files]
        )
    data, lines = load_with_lines(path)
    try:
        model = SuiteModel.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            ln = line_of(lines, loc)
            msg = err["msg"] if err["type"] != "extra_forbidden" else f"unknown field '{loc[-1]}'"
            problems.append(f"{path}{f':{ln}' if ln else ''}: {format_loc(loc)}: {msg}")
        raise ScenarioError(problems[0], problems) from None
    entries: list[SuiteEntry] = []
    problems = []
    for i, item in enumerate(model.scenarios):
        spec = item if isinstance(item, SuiteEntryModel) else SuiteEntryModel(path=item)
        pattern = str(path.parent / spec.path)
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        matches = [m for m in matches if Path(m).suffix in SCENARIO_SUFFIXES]
        if not matches or not all(Path(m).is_file() for m in matches):
            ln = line_of(lines, ("scenarios", i))
            problems.append(
                f"{path}{f':{ln}' if ln else ''}: scenarios[{i}]: no scenario file "
                f"matches '{spec.path}' (paths are relative to the suite file)"
            )
            continue
        for m in matches:
            name = spec.name if (spec.name and len(matches) == 1) else Path(m).stem
            entries.append(SuiteEntry(name, Path(m), dict(spec.set)))
    if problems:
        raise ScenarioError(problems[0], problems)
    names = [e.name for e in entries]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(
            f"{path}: run names repeat ({', '.join(dup)}); give each entry "
            "with 'set' its own 'name'"
        )
    return Suite(model.name, model.description, entries)


def run_suite(
    suite: Suite,
    *,
    agent: str | None = None,
    entity: str | None = None,
    out: Path | None = None,
    force: bool = False,
    console: Console | None = None,
    progress: bool = True,
) -> list[SuiteRow]:
    """Run every entry serially; a bad file or a failing agent becomes a row, not a crash."""
    from sim.runner.run import run_loaded, write_run_folder
    from sim.scenario.load import load_scenario

    console = console or Console(stderr=True)
    rows: list[SuiteRow] = []
    live = progress and console.is_terminal
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not live,
    )
    with bar:
        task = bar.add_task(f"suite {suite.name}", total=len(suite.entries))
        for k, entry in enumerate(suite.entries, 1):
            bar.update(task, description=f"{entry.name}")
            row = SuiteRow(entry.name, str(entry.path), "error")
            try:
                loaded = load_scenario(entry.path, entry.overrides)
                outcome = run_loaded(loaded, agent=agent, entity=entity)
                row.verdict, row.status = outcome.verdict, outcome.result.status
                row.agent = next(iter(outcome.agents.values()))
                row.metrics = {n: v.value for n, v in outcome.metrics.items() if v.valid}
                failed = [c.metric for c in outcome.criteria if not c.passed]
                row.note = (
                    outcome.result.reason
                    if outcome.verdict == "error"
                    else ("failed: " + ", ".join(failed) if failed else "")
                )
                if out is not None:
                    folder = write_run_folder(outcome, out / entry.name, force=force)
                    row.folder = str(folder.relative_to(out))
            except ScenarioError as exc:
                row.verdict, row.note = "invalid", exc.problems[0]
            except ProvingGroundError as exc:
                row.verdict, row.note = "error", str(exc)
            rows.append(row)
            bar.advance(task)
            if not live and progress:
                console.print(f"[{k}/{len(suite.entries)}] {entry.name}: {row.verdict}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        doc = {
            "suite": suite.name,
            "description": suite.description,
            "runs": [
                {
                    **row.__dict__,
                    "metrics": {
                        k: (v if math.isfinite(v) else str(v)) for k, v in row.metrics.items()
                    },
                }
                for row in rows
            ],
        }
        (out / "summary.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return rows
