"""The ``pground`` command.

Exit codes: 0 pass, 1 criteria failed, 2 bad input or usage, 3 internal or agent error.
User errors are printed as one line each on stderr, never as a traceback
(set PGROUND_DEBUG=1 to see the traceback of an internal error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.errors import ProvingGroundError, ScenarioError, UsageError

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_ERROR = 0, 1, 2, 3
KEY_METRICS = (
    "collisions",
    "min_ttc_s",
    "min_time_headway_s",
    "min_distance_m",
    "max_decel_mps2",
    "lane_departures",
    "red_lights_passed",
    "route_completion",
)
VERDICT_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "invalid": "magenta"}


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def _kv(items: Sequence[str], flag: str) -> dict[str, Any]:
    from sim.scenario.load import parse_overrides

    try:
        return parse_overrides(list(items))
    except ScenarioError as exc:
        raise UsageError(str(exc).replace("--set", flag)) from None


# ---------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.run import run_loaded, write_run_folder
    from sim.scenario.load import load_scenario

    loaded = load_scenario(args.file, _kv(args.set, "--set"))
    outcome = run_loaded(
        loaded,
        agent=args.agent,
        entity=args.entity,
        seed=args.seed,
        agent_params=_kv(args.agent_param, "--agent-param"),
    )
    folder = None
    if not args.no_save:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = Path(args.out) if args.out else Path("runs") / f"{loaded.scenario.id}-{stamp}"
        folder = write_run_folder(outcome, target, force=args.force, argv=sys.argv)
    if args.json:
        from sim.runner.run import metrics_document

        doc = metrics_document(outcome)
        doc["run_folder"] = str(folder) if folder else None
        print(json.dumps(doc, indent=2, sort_keys=True))
        return outcome.exit_code
    _print_run(outcome, folder, out)
    return outcome.exit_code


def _print_run(outcome: Any, folder: Path | None, out: Console) -> None:
    sc = outcome.loaded.scenario
    r = outcome.result
    style = VERDICT_STYLE[outcome.verdict]
    agents = ", ".join(f"{eid}={spec}" for eid, spec in outcome.agents.items())
    out.print(f"[bold]{sc.id}[/bold] — {sc.name}")
    out.print(f"agent: {agents}   seed: {outcome.seed}")
    out.print(
        f"verdict: [bold {style}]{outcome.verdict.upper()}[/]   "
        f"({r.status}: {r.reason}; {r.ticks * sc.dt:.2f} s simulated)"
    )
    if outcome.criteria:
        t = Table(title="criteria", title_justify="left")
        for col in ("requirement", "metric", "expected", "actual", "margin", "result"):
            t.add_column(col)
        for c in outcome.criteria:
            t.add_row(
                c.requirement or "-",
                c.metric,
                f"{c.op} {_fmt(c.expected)}",
                _fmt(c.actual),
                _fmt(c.margin),
                "[green]pass[/]" if c.passed else f"[red]fail[/] {c.note}".strip(),
            )
        out.print(t)
    shown = [k for k in KEY_METRICS if k in outcome.metrics and outcome.metrics[k].valid]
    out.print("metrics: " + "  ".join(f"{k}={_fmt(outcome.metrics[k].value)}" for k in shown))
    evs = [e for e in r.events if e.kind != "manoeuvre"]
    if evs:
        out.print(f"events ({len(evs)}):")
        for e in evs[:10]:
            out.print(
                f"  {e.time_s:7.2f} s  {e.kind:<15} {', '.join(e.entities)}  {_brief(e.details)}"
            )
        if len(evs) > 10:
            out.print(f"  … {len(evs) - 10} more in events.jsonl")
    if folder is not None:
        out.print(f"run folder: {folder}")


def _brief(details: dict[str, Any]) -> str:
    parts = []
    for k, v in details.items():
        if isinstance(v, float):
            parts.append(f"{k}={v:.3g}")
        elif isinstance(v, str | int):
            parts.append(f"{k}={v}")
        elif isinstance(v, list) and len(v) <= 3:
            parts.append(f"{k}={[_fmt(x) for x in v]}")
    return " ".join(parts)[:120]


# ---------------------------------------------------------------------------- suite
def cmd_suite(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.suite import load_suite, run_suite

    suite = load_suite(args.suite)
    folder = Path(args.out) if args.out else None
    if folder is not None and folder.exists() and any(folder.iterdir()) and not args.force:
        raise UsageError(f"{folder} exists; choose another --out or add --force")
    rows = run_suite(
        suite,
        agent=args.agent,
        entity=args.entity,
        out=folder,
        force=args.force,
        console=out,
        progress=not args.no_progress,
    )
    t = Table(title=f"suite {suite.name} ({len(rows)} runs)", title_justify="left")
    for col in (
        "scenario",
        "agent",
        "verdict",
        "ended",
        *("collisions", "min_ttc_s", "min_time_headway_s"),
        "note",
    ):
        t.add_column(col)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
        style = VERDICT_STYLE.get(row.verdict, "")
        m = row.metrics
        t.add_row(
            row.name,
            row.agent or "-",
            f"[{style}]{row.verdict}[/]",
            row.status or "-",
            *(_fmt(m.get(k)) for k in ("collisions", "min_ttc_s", "min_time_headway_s")),
            row.note[:70],
        )
    out.print(t)
    out.print("  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    if folder is not None:
        out.print(f"results: {folder / 'summary.json'}")
    if counts.get("invalid"):
        return EXIT_INPUT
    if counts.get("error"):
        return EXIT_ERROR
    return EXIT_FAIL if counts.get("fail") else EXIT_PASS


# ---------------------------------------------------------------------------- validate
def cmd_validate(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.suite import is_suite_file, load_suite
    from sim.scenario.load import load_scenario

    bad = 0
    for f in args.files:
        try:
            if is_suite_file(Path(f)):
                suite = load_suite(f)
                problems = []
                for entry in suite.entries:
                    try:
                        load_scenario(entry.path, entry.overrides)
                    except ScenarioError as exc:
                        problems.extend(exc.problems)
                if problems:
                    raise ScenarioError(problems[0], problems)
                out.print(f"[green]ok[/]  {f}  (suite, {len(suite.entries)} runs)")
            else:
                lo = load_scenario(f)
                out.print(f"[green]ok[/]  {f}  ({lo.scenario.id})")
        except ScenarioError as exc:
            bad += 1
            for p in exc.problems:
                print(p, file=sys.stderr)
    if len(args.files) > 1:
        out.print(f"{len(args.files) - bad} valid, {bad} invalid")
    return EXIT_INPUT if bad else EXIT_PASS


# ---------------------------------------------------------------------------- schema etc.
def cmd_schema(args: argparse.Namespace, out: Console) -> int:
    from sim.domains import known_domains
    from sim.scenario.model import scenario_model

    domains = tuple(sorted(args.domain)) if args.domain else tuple(known_domains())
    schema = scenario_model(domains).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Proving Ground scenario"
    print(json.dumps(schema, indent=2))
    return EXIT_PASS


def cmd_agents(args: argparse.Namespace, out: Console) -> int:
    from agents.loading import available_agents, load_agent

    t = Table(title="agents (entry point group proving_ground.agents)", title_justify="left")
    for col in ("name", "target", "version", "status", "description"):
        t.add_column(col)
    for spec in available_agents():
        try:
            agent = load_agent(spec.name)
            doc = (type(agent).__doc__ or "").strip().splitlines()
            t.add_row(
                spec.name,
                spec.target,
                str(getattr(agent, "version", "?")),
                "ok",
                doc[0] if doc else "",
            )
        except ProvingGroundError as exc:
            t.add_row(spec.name, spec.target, "-", "[red]cannot load[/]", str(exc)[:80])
    out.print(t)
    out.print("Any importable class works too: --agent package.module:Class")
    return EXIT_PASS


def cmd_metrics(args: argparse.Namespace, out: Console) -> int:
    from metrics.registry import METRICS

    if args.name:
        spec = METRICS.get(args.name)
        if spec is None:
            from sim.errors import suggest

            raise UsageError(f"no metric '{args.name}'.{suggest(args.name, METRICS)}")
        out.print(
            f"[bold]{spec.name}[/bold]@v{spec.version} [{spec.unit}] "
            f"domains: {', '.join(spec.domains) or 'any'}"
        )
        out.print(spec.doc)
        out.print(f"source: {spec.source}")
        return EXIT_PASS
    t = Table(title="metrics", title_justify="left")
    for col in ("name", "unit", "domains", "definition"):
        t.add_column(col)
    for name in sorted(METRICS):
        s = METRICS[name]
        t.add_row(f"{name}@v{s.version}", s.unit, ", ".join(s.domains) or "any", s.summary)
    out.print(t)
    return EXIT_PASS


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pground",
        description="Proving Ground: discrete-time testing of autonomous controllers "
        "(road, rail, air, water). Exit codes: 0 pass, 1 fail, 2 bad input, 3 error.",
    )
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("proving-ground")
    except PackageNotFoundError:
        ver = "unknown"
    p.add_argument("--version", action="version", version=f"pground {ver}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Any, summary: str, description: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=summary, description=description)
        sp.set_defaults(func=func)
        return sp

    def agent_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--agent",
            metavar="SPEC",
            help="agent for the entity under test: 'module:Class' or an entry-point "
            "name (see `pground agents`); default: the scenario's",
        )
        sp.add_argument(
            "--entity",
            metavar="ID",
            help="which controlled entity --agent drives (default: the first)",
        )

    r = command(
        "run",
        cmd_run,
        "run one scenario",
        "Run one scenario file, print the verdict, criteria, key metrics and events, "
        "and write a run folder (manifest.json, log.npz, events.jsonl, metrics.json).",
    )
    r.add_argument("file", help="scenario file (.yaml or .json)")
    agent_opts(r)
    r.add_argument(
        "--agent-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="keyword argument for the --agent constructor (repeatable)",
    )
    r.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a scenario parameter, e.g. --set ego_speed='40 km/h'",
    )
    r.add_argument("--seed", type=int, help="override the scenario's seed")
    r.add_argument("--out", metavar="DIR", help="run folder (default: runs/<id>-<time>)")
    r.add_argument("--force", action="store_true", help="replace an existing run folder")
    r.add_argument("--no-save", action="store_true", help="write no run folder")
    r.add_argument("--json", action="store_true", help="print metrics.json to stdout")

    s = command(
        "suite",
        cmd_suite,
        "run a suite of scenarios",
        "Run every scenario of a suite file (or of a folder) and print a table of "
        "verdicts. Exit 0 when all pass, 1 if any fails, 2 if a file is invalid, "
        "3 on errors.",
    )
    s.add_argument("suite", help="suite file (.yaml) or a folder of scenario files")
    agent_opts(s)
    s.add_argument(
        "--out", metavar="DIR", help="write one run folder per run and summary.json here"
    )
    s.add_argument("--force", action="store_true", help="write into an existing --out")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")

    v = command(
        "validate",
        cmd_validate,
        "check scenario and suite files",
        "Validate files; one line per problem on stderr. Exit 0 when all are valid, "
        "2 when any is not.",
    )
    v.add_argument("files", nargs="+", help="scenario or suite files")

    sc = command(
        "schema",
        cmd_schema,
        "print the JSON Schema of scenario files",
        "Print the JSON Schema (draft 2020-12) of the scenario format, for editors "
        "and other tools.",
    )
    sc.add_argument("--domain", action="append", help="only these domains (repeatable)")

    command(
        "agents",
        cmd_agents,
        "list the agents that can be loaded",
        "List agents registered in the proving_ground.agents entry point group, loading "
        "each to check it.",
    )

    m = command(
        "metrics",
        cmd_metrics,
        "list metrics with their definitions",
        "List every metric (name@version, unit, domains, definition), or show one "
        "metric's formula and source.",
    )
    m.add_argument("name", nargs="?", help="one metric to explain")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)  # logs and pipes: do not wrap at 80
    try:
        return int(args.func(args, out))
    except ScenarioError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_INPUT
    except ProvingGroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal error: say so in one line, trace on request
        if os.environ.get("PGROUND_DEBUG"):
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (set PGROUND_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
