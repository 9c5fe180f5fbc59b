"""The ``pground`` command.

Exit codes: 0 pass, 1 criteria failed, 2 bad input or usage, 3 internal or agent error.
User errors are printed as one line each on stderr, never as a traceback
(set PGROUND_DEBUG=1 to see the traceback of an internal error).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.errors import (
    CLASS_LABELS,
    CLASSES,
    VERDICTS,
    ProvingGroundError,
    ScenarioError,
    UsageError,
)

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
    "nmac_count",
    "lowc_count",
    "los_count",
    "min_horizontal_separation_m",
    "geofence_breaches",
    "max_cross_track_error_m",
    "spads",
    "protection_interventions",
    "station_stop_error_m",
    "min_separation_margin_m",
    "colreg_findings",
    "groundings",
    "min_cpa_m",
)
#: Campaign table columns: the first four of these that any run of the campaign has.
TABLE_METRICS = (
    "collisions",
    "min_ttc_s",
    "min_time_headway_s",
    "nmac_count",
    "lowc_count",
    "min_horizontal_separation_m",
    "geofence_breaches",
    "spads",
    "protection_interventions",
    "colreg_findings",
    "groundings",
    "min_separation_margin_m",  # rail: trains' own separation, not a distance of cars
    "min_cpa_m",  # water: closest point of approach
    "min_distance_m",
)
VERDICT_STYLE = {
    "pass": "green",
    "fail": "red",
    "not_preventable": "yellow",
    "error": "magenta",
    "invalid": "magenta",
}
assert set(VERDICT_STYLE) == set(CLASSES) >= set(VERDICTS)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "n/a"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        # three significant digits, but whole numbers from 100 on: 1290 m, not 1.29e+03
        return f"{v:.0f}" if 100 <= abs(v) < 1e12 else f"{v:.3g}"
    return str(v)


def _agent_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """RemoteOptions (as a dict) from the --agent-* flags; None when none is given."""
    from sim.errors import UnitError
    from sim.units import parse_quantity

    opts: dict[str, Any] = {}
    for flag, key in (("agent_timeout", "timeout_s"), ("agent_startup_timeout", "startup_s")):
        value = getattr(args, flag, None)
        if value is None:
            continue
        text = value.strip()
        if text and text[-1].isdigit():
            text += " s"
        try:
            seconds = parse_quantity(text, "time")
        except UnitError as exc:
            raise UsageError(f"--{flag.replace('_', '-')} {value!r}: {exc}") from None
        if not seconds > 0:
            raise UsageError(f"--{flag.replace('_', '-')} {value!r}: must be positive")
        opts[key] = seconds
    for flag, key in (("agent_cpu_limit", "cpu_s"), ("agent_memory_limit", "memory_mb")):
        value = getattr(args, flag, None)
        if value is not None:
            if value < 1:
                raise UsageError(f"--{flag.replace('_', '-')} {value}: must be positive")
            opts[key] = value
    if getattr(args, "agent_deny_network", False):
        opts["deny_network"] = True
    return opts or None


def _kv(items: Sequence[str], flag: str) -> dict[str, Any]:
    from sim.scenario.load import parse_overrides

    try:
        return parse_overrides(list(items))
    except ScenarioError as exc:
        raise UsageError(str(exc).replace("--set", flag)) from None


def _warn(lines: Any) -> None:
    """Problems that do not stop a run (file:line: field: ...), on stderr."""
    for w in lines:
        print(f"warning: {w}", file=sys.stderr)


# ---------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.run import check_run_folder, run_loaded, write_run_folder
    from sim.scenario.load import load_scenario

    loaded = load_scenario(
        args.file, _kv(args.set, "--set"), entity=args.entity, criteria=args.criteria
    )
    _warn(loaded.warnings)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = Path(args.out) if args.out else Path("runs") / f"{loaded.scenario.id}-{stamp}"
    # an --out that cannot take the run is refused now, not after the run (a default
    # folder name that is taken gets a -N suffix instead)
    replace = False if args.no_save or not args.out else check_run_folder(target, args.force)
    live = None
    if args.view:
        from sim.viewer.app import LiveView, require_display

        require_display()  # before the run, not after it

        live = LiveView(realtime=args.realtime, title=f"{loaded.scenario.id} (live)")
    outcome = run_loaded(
        loaded,
        agent=args.agent,
        entity=args.entity,
        seed=args.seed,
        agent_params=_kv(args.agent_param, "--agent-param"),
        observer=live,
        agent_options=_agent_options(args),
        allow_file_agents=args.allow_file_agents,
    )
    folder = None
    if not args.no_save:
        folder = write_run_folder(outcome, target, argv=sys.argv, replace=replace)
        if folder != target and args.out:
            _warn([f"{target} appeared during the run (not made by pground); saved in {folder}"])
    if args.json:
        from sim.runner.run import metrics_document

        doc = metrics_document(outcome)
        doc["run_folder"] = str(folder) if folder else None
        print(json.dumps(doc, indent=2, sort_keys=True))
        return outcome.exit_code
    _print_run(outcome, folder, out)
    if live is not None:
        from sim.viewer.render import Scene

        r = outcome.result
        live.finish(
            Scene(
                r.log.meta,
                r.log.arrays,
                r.log.dt,
                r.events,
                f"{loaded.scenario.id} — {loaded.scenario.name}",
                outcome.verdict,
                r.log.n_rows,
            )
        )
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
    if outcome.invalid_reason:
        out.print(f"invalid: {outcome.invalid_reason}")
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
    shown = [
        k
        for k in KEY_METRICS
        if k in outcome.metrics
        and outcome.metrics[k].valid
        and not (k == "min_distance_m" and outcome.metrics[k].value == float("inf"))
    ]  # a distance of inf only says there was nothing else: not worth a column
    out.print("metrics: " + "  ".join(f"{k}={_fmt(outcome.metrics[k].value)}" for k in shown))
    evs = _events_to_show(r.events, 10)
    if evs:
        out.print(f"events ({len(r.events)}):")
        for e in evs:
            out.print(
                f"  {e.time_s:7.2f} s  {e.kind:<15} {', '.join(e.entities)}  {_brief(e.details)}"
            )
        if len(r.events) > len(evs):
            out.print(f"  … {len(r.events) - len(evs)} more in events.jsonl")
    if folder is not None:
        out.print(f"run folder: {folder}")


def _events_to_show(events: list[Any], limit: int) -> list[Any]:
    """At most ``limit`` events in time order: the scripted stimuli (manoeuvres: the cut-in,
    the lead's braking) always, then the first of the rest."""
    stimuli = [i for i, e in enumerate(events) if e.kind == "manoeuvre"][:limit]
    rest = [i for i, e in enumerate(events) if e.kind != "manoeuvre"][: limit - len(stimuli)]
    return [events[i] for i in sorted(stimuli + rest)]


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
def _check_agents(args: argparse.Namespace, specs: list[str | None]) -> None:
    """Load each agent given on the command line once, before any job: a misspelt agent is
    one line now, not thousands of 'error' rows and a report later."""
    from agents.loading import load_agent

    for spec in filter(None, specs):
        agent = load_agent(spec, None, _agent_options(args) if spec.startswith("cmd:") else None)
        close = getattr(agent, "close", None)
        if callable(close):
            close()


def cmd_suite(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.campaign import run_campaign
    from sim.runner.suite import load_suite

    for flag, value, low in (
        ("--sample", args.sample, 1),
        ("--workers", args.workers, 1),
        ("--job-timeout", args.job_timeout, 1e-9),
    ):
        if value is not None and value < low:
            raise UsageError(f"{flag} {value}: must be positive")
    suite = load_suite(args.suite)
    if Path(args.suite).suffix.lower() == ".xosc":
        out.print(f"{args.suite}: {suite.description}", soft_wrap=True)
    _check_agents(args, [args.agent, args.reference])
    if args.sample is not None:
        suite = suite.sample(args.sample, args.sample_seed)
    suite = suite.with_agent(args.agent, args.entity)
    if args.reference:
        suite = suite.with_reference(args.reference)
    if args.dry_run:
        out.print(f"suite {suite.name}: {len(suite.entries)} runs")
        for job in suite.entries[:10]:
            params = " ".join(f"{k}={_fmt(v)}" for k, v in job.overrides.items())
            out.print(f"  {job.name}  seed={job.seed}  {params}")
        if len(suite.entries) > 10:
            out.print(f"  … {len(suite.entries) - 10} more")
        return EXIT_PASS
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = Path(args.out) if args.out else Path("campaigns") / f"{suite.name}-{stamp}"
    summary = run_campaign(
        suite, folder, resume=args.resume, force=args.force, **_campaign_options(args, out)
    )
    _print_campaign(folder, summary, out)
    if not summary.interrupted:
        from metrics.report import write

        if args.convergence:
            _convergence(folder, args.convergence, out, args.allow_file_agents)
        paths = write(folder)
        out.print(f"report: {paths['html']}  (also report.json, junit.xml)")
    return summary.exit_code


def _campaign_options(args: argparse.Namespace, out: Console) -> dict[str, Any]:
    """run_campaign's options from the flags `suite` and `search` share."""
    return {
        "executor": args.executor,
        "workers": args.workers,
        "scheduler": getattr(args, "scheduler", None),
        "keep_logs": args.keep_logs,
        "job_timeout": args.job_timeout,
        "console": out,
        "progress": not args.no_progress,
        "argv": sys.argv,
        "agent_options": _agent_options(args),
        "allow_file_agents": args.allow_file_agents,
    }


def _search(args: argparse.Namespace, folder: Path, campaign: Callable[..., Any]) -> Any:
    from sim.runner.search import run_search

    return run_search(
        args.suite,
        folder,
        method=args.method,
        budget=args.budget,
        wave=args.wave,
        seed=args.seed,
        family=args.family,
        criterion=args.criterion,
        agent=args.agent,
        entity=args.entity,
        reference=args.reference,
        objective=args.objective,
        campaign=campaign,
        resume=args.resume,
        force=args.force,
    )


def cmd_search(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.campaign import run_campaign
    from sim.runner.search import check_search_args

    check_search_args(args.method, args.budget, args.objective, args.reference)
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be positive")
    if args.wave is not None and args.wave < 2:
        raise UsageError(f"--wave {args.wave}: must be at least 2")
    _check_agents(args, [args.agent, args.reference])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = Path(args.out) if args.out else Path("searches") / f"{Path(args.suite).stem}-{stamp}"

    def campaign(suite: Any, *, resume: bool, force: bool) -> Any:
        options = _campaign_options(args, out)
        return run_campaign(suite, folder, resume=resume, force=force, **options)

    session: Any = contextlib.nullcontext()
    if args.executor == "dask":
        from sim.runner.campaign import dask_session

        session = dask_session(args.workers, args.scheduler)  # one cluster for every wave
    with session:
        result = _search(args, folder, campaign)
    _print_search(result, out)
    if result.summary is not None and result.summary.interrupted:
        out.print(f"interrupted: run the same command with --resume --out {folder}")
        return result.summary.exit_code
    from metrics.report import write

    paths = write(folder)  # digest.json then covers search.json and the counterexamples
    out.print(f"report: {paths['html']}  (also report.json, junit.xml)")
    return EXIT_FAIL if result.failures else EXIT_PASS


def cmd_estimate(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.campaign import run_campaign
    from sim.runner.estimate import check_estimate_args, run_estimate

    target = None if args.target_rel_error == 0 else args.target_rel_error
    check_estimate_args(
        args.method, args.budget, target, args.confidence, args.wave, args.level_size
    )
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be positive")
    if args.max_rate is not None and not 0 < args.max_rate < 1:
        raise UsageError(f"--max-rate {args.max_rate}: must be between 0 and 1")
    _check_agents(args, [args.agent, args.reference])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = Path(args.out) if args.out else Path("estimates") / f"{Path(args.suite).stem}-{stamp}"

    def campaign(suite: Any, *, resume: bool, force: bool) -> Any:
        options = {**_campaign_options(args, out), "progress": False}
        return run_campaign(suite, folder, resume=resume, force=force, **options)

    session: Any = contextlib.nullcontext()
    if args.executor == "dask":
        from sim.runner.campaign import dask_session

        session = dask_session(args.workers, args.scheduler)  # one cluster for every wave
    with session, _estimate_progress(out, args.budget, not args.no_progress) as tick:

        def counted(suite: Any, *, resume: bool, force: bool) -> Any:
            summary = campaign(suite, resume=resume, force=force)
            tick(sum(1 for j in suite.entries if j.role == "sut"))
            return summary

        result = run_estimate(
            args.suite,
            folder,
            method=args.method,
            budget=args.budget,
            target=target,
            confidence=args.confidence,
            wave=args.wave,
            level_size=args.level_size,
            seed=args.seed,
            family=args.family,
            agent=args.agent,
            entity=args.entity,
            reference=args.reference,
            campaign=counted,
            resume=args.resume,
            force=args.force,
        )
    if result.interrupted:
        out.print(f"interrupted: run the same command with --resume --out {folder}")
        return result.summary.exit_code if result.summary else EXIT_ERROR
    doc = json.loads((folder / "estimate.json").read_text())["result"]
    _print_estimate(result, doc, out)
    from metrics.report import write

    paths = write(folder)  # digest.json then covers estimate.json
    out.print(f"report: {paths['html']}  (also report.json, junit.xml)")
    high = doc["events"]["fail"].get("high")
    if args.max_rate is not None:
        if high is None or high > args.max_rate:
            out.print(
                f"[red]the failure rate is not shown to be below {args.max_rate:g}[/] "
                f"(upper {doc['confidence'] * 100:g} % bound {_fmt(high)})"
            )
            return EXIT_FAIL
        out.print(f"[green]the failure rate is below {args.max_rate:g}[/] at the stated confidence")
    return EXIT_PASS


@contextlib.contextmanager
def _estimate_progress(out: Console, budget: int, enabled: bool) -> Any:
    """One line per wave on stderr: runs so far of the budget, rate, elapsed."""
    t0 = time.monotonic()

    def tick(n: int) -> None:
        if enabled:
            dt = time.monotonic() - t0
            print(
                f"  [{n}/{budget} runs at most]  {n / max(dt, 1e-9):.1f} runs/s  {dt:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    yield tick


def _print_estimate(result: Any, doc: dict[str, Any], out: Console) -> None:
    t = Table(
        title=f"estimate {result.out} ({result.method}, seed {result.seed}): "
        f"P over the operating distribution of {result.dist.family}",
        title_justify="left",
    )
    for col in (
        "event",
        "P",
        f"{doc['confidence'] * 100:g} % interval",
        "rel. error",
        "MC runs for it",
        "speed-up",
    ):
        t.add_column(col)
    for name, e in doc["events"].items():
        t.add_row(
            name,
            _fmt(e.get("p")),
            f"{_fmt(e.get('low'))} – {_fmt(e.get('high'))}",
            _fmt(e.get("rel_error")),
            _fmt(e.get("equivalent_mc_runs")),
            _fmt(e.get("speedup")),
        )
    out.print(t)
    out.print(
        f"{doc['runs']} runs of the system"
        + (f", {doc['reference_runs']} of the reference" if doc["reference_runs"] else "")
        + f"; interval: {doc['interval']}"
        + (
            f"; constraints keep {doc['domain_share'] * 100:.2f} % of the distribution"
            if doc["domain_share"] < 1
            else ""
        )
    )
    for w in doc["warnings"]:
        out.print(f"[yellow]warning[/]: {w}")
    out.print(f"every run and weight: {result.out / 'estimate.json'}")


def _print_search(result: Any, out: Console) -> None:
    from metrics.report import param_text

    units = result.space.suite.units.get(result.space.family, {})
    ran = [c for c in result.candidates if c.job is not None]
    t = Table(
        title=f"search {result.out} ({result.method}, seed {result.seed}): lowest robustness",
        title_justify="left",
    )
    refs = any(c.reference_verdict for c in result.candidates)
    for col in ("run", "wave", "parameters", "robustness", "verdict", *(["reference"] * refs)):
        t.add_column(col)
    fails = {id(c) for c in result.failures}
    # what the search steered by first: failures that count, then the rest by robustness
    best = sorted(
        ran, key=lambda c: (c.verdict == "fail" and id(c) not in fails, c.robustness, c.index)
    )[:10]
    for c in best:
        params = " ".join(f"{k}={param_text(v, units.get(k))}" for k, v in sorted(c.params.items()))
        style = VERDICT_STYLE.get(c.verdict or "", "")
        t.add_row(
            c.job.name,
            str(c.wave),
            params,
            _fmt(c.robustness),
            f"[{style}]{c.verdict}[/]",
            *([c.reference_verdict or "-"] * refs),
        )
    out.print(t)
    first = result.first_failure
    excluded = len(result.candidates) - len(ran)
    kind = " preventable" if result.objective == "preventable" else ""
    out.print(
        f"{len(ran)} runs, {len(result.failures)}{kind} failures"
        + (f" (first at run {first})" if first else "")
        + (f"; {excluded} candidates excluded by the constraints" if excluded else "")
    )
    for p in result.counterexamples[:3]:
        out.print(f"counterexample: {p}  (pground run {p})")
    if len(result.counterexamples) > 3:
        out.print(f"… {len(result.counterexamples) - 3} more in {result.out / 'counterexamples'}")
    out.print(f"every candidate: {result.out / 'search.json'}  (pground results {result.out})")


def cmd_report(args: argparse.Namespace, out: Console) -> int:
    from metrics.report import write

    folder = Path(args.campaign)
    if not (folder / "results.sqlite").exists() and not (folder / "log.npz").exists():
        raise UsageError(
            f"{folder}: neither a campaign folder (results.sqlite) nor a run folder (log.npz)"
        )
    if args.convergence:
        _convergence(folder, args.convergence, out, args.allow_file_agents)
    paths = write(folder)
    out.print(
        f"wrote {paths['html']}, {paths['json'].name}, {paths['junit'].name}, "
        f"{paths['digest'].name}"
    )
    if args.sign:
        from sim.runner.verify import sign

        out.print(f"signed the root digest: {sign(folder, Path(args.sign))}")
    return EXIT_PASS


ALLOW_FILE_AGENTS: dict[str, Any] = {
    "action": "store_true",
    "help": "let scenario files (and stored campaigns) run the agents they name even when "
    "those are cmd: programs or not Agent classes; without it a file can name only installed "
    "agents and Agent classes, and never executes code",
}
KEEP_LOGS: dict[str, Any] = {
    "choices": ("failures", "all", "none"),
    "default": "failures",
    "help": "which runs keep a run folder (default: failures)",
}
CONVERGENCE: dict[str, Any] = {
    "type": int,
    "metavar": "K",
    "help": "re-run the failed runs and the passing runs nearest the pass/fail boundary "
    "(K in all) at dt/2 and dt/4; the report flags runs whose verdict changes "
    "(step-size sensitive)",
}


def _convergence(folder: Path, k: int, out: Console, allow_file_agents: bool = False) -> None:
    from sim.runner.convergence import convergence

    if not (folder / "results.sqlite").exists():
        raise UsageError(f"{folder}: --convergence needs a campaign folder")
    out.print(f"convergence: re-running up to {k} runs at dt/2 and dt/4 …")
    doc = convergence(folder, k, allow_file_agents=allow_file_agents)
    flagged = doc["sensitive"]
    out.print(
        f"convergence: {len(doc['runs'])} runs re-run; "
        + (f"[yellow]step-size sensitive: {', '.join(flagged)}[/]" if flagged else "verdicts hold")
    )


def cmd_verify(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.verify import verify

    res = verify(
        Path(args.campaign),
        rerun=args.rerun,
        recompute=args.recompute,
        allow_file_agents=args.allow_file_agents,
        key=Path(args.key) if args.key else None,
        seed=args.seed,
    )
    for note in res.notes:
        out.print(note)
    for p in res.problems:
        out.print(f"[red]problem[/]: {p}")
    out.print(
        f"{res.checked_files} files checked, {res.reran} runs re-run, {res.recomputed} logs "
        "recomputed: "
        + ("[green]all verified[/]" if res.ok else f"[red]{len(res.problems)} problems[/]")
    )
    return EXIT_PASS if res.ok else EXIT_FAIL


def cmd_diff(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.verify import diff, diff_html

    d = diff(Path(args.a), Path(args.b), force=args.force)
    if args.html:
        Path(args.html).write_text(diff_html(d))
    code = EXIT_FAIL if d["regressions"] else EXIT_PASS
    if args.json:
        print(json.dumps(d, indent=2, sort_keys=True))
        return code
    for side in ("a", "b"):
        x = d[side]
        out.print(
            f"{side.upper()}: {x['folder']}  suite {x['suite']}  agent {x['agent']} "
            f"{', '.join(x['agent_versions'])}  sha256 "
            f"{', '.join(s[:12] for s in x['agent_sha256']) or '-'}  root "
            f"{(x['root_digest'] or '-')[:12]}  {x['date']}"
        )
    if not d["same_suite"]:
        out.print("[yellow]different suites (--force): only the runs they share are compared[/]")
    out.print(f"{d['common']} runs in both; {d['only_a']} only in A, {d['only_b']} only in B")
    cls = ("pass", "fail", "not_preventable", "error", "invalid")
    out.print("A: " + "  ".join(f"{k} {d['counts_a'].get(k, 0)}" for k in cls))
    out.print("B: " + "  ".join(f"{k} {d['counts_b'].get(k, 0)}" for k in cls))
    if d["changes"]:
        t = Table(title="class changes (regressions first)", title_justify="left")
        for col in ("run", "family", "A", "B"):
            t.add_column(col)
        for c in d["changes"]:
            style = "red" if c["regression"] else "green"
            t.add_row(c["name"], c["family"], c["before"], f"[{style}]{c['after']}[/]")
        out.print(t)
    else:
        out.print("no run changed class")
    for m, v in d["metric_deltas"].items():
        out.print(
            f"{m}: B − A mean {v['mean']:+.3g} {v['unit']} over the runs in both (min "
            f"{v['min']:+.3g}, max {v['max']:+.3g}, {v['n']} changed)"
        )
    if args.html:
        out.print(f"side by side: {args.html}")
    if d["regressions"]:
        out.print(f"[red]{d['regressions']} regression(s): runs newly failing or in error[/]")
    return code


def cmd_selftest(args: argparse.Namespace, out: Console) -> int:
    from sim.selftest import run

    doc = run()
    if args.out:
        Path(args.out).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(doc, indent=1, sort_keys=True))
        return EXIT_PASS if doc["passed"] else EXIT_FAIL
    t = Table(title="model verification against closed forms", title_justify="left")
    for col in ("check", "expected", "simulator", "tolerance", "unit", "result"):
        t.add_column(col)
    for c in doc["checks"]:
        t.add_row(
            c["name"],
            f"{c['expected']:.10g}",
            f"{c['actual']:.10g}",
            f"{c['tolerance']:.3g}",
            c["unit"],
            "[green]pass[/]" if c["passed"] else "[red]FAIL[/]",
        )
    out.print(t)
    out.print(", ".join(f"{k} {v}" for k, v in doc["versions"].items()))
    return EXIT_PASS if doc["passed"] else EXIT_FAIL


def cmd_keygen(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.verify import keygen

    priv, pub = keygen(Path(args.private_key))
    out.print(
        f"wrote {priv} (private: keep it secret) and {pub} (public: give it to whoever verifies)"
    )
    return EXIT_PASS


def _params_text(params: Any, units: dict[str, str] | None = None) -> str:
    """A run's set parameters as ``name=value`` pairs (the varied ones of a sweep), in the
    units the suite file wrote them in, as the report shows them."""
    from metrics.report import param_text

    if isinstance(params, str):
        params = json.loads(params or "{}")
    units = units or {}
    return " ".join(f"{k}={param_text(v, units.get(k))}" for k, v in sorted(params.items()))


def _print_campaign(folder: Path, summary: Any, out: Console) -> None:
    from sim.runner.classes import classify
    from sim.runner.store import ResultsStore

    store = ResultsStore(folder / "results.sqlite")
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        rows = classify(list(store.rows()), manifest.get("reference"))  # the report's classes
    finally:
        store.close()
    t = Table(title=f"campaign {folder} ({summary.total} runs)", title_justify="left")
    if summary.total <= 40:
        present = {k for r in rows for k in (r["metrics"] or {})}
        shown = [k for k in TABLE_METRICS if k in present][:4]
        units = manifest.get("parameter_units") or {}
        params = [_params_text(row["params"], units.get(row["family"])) for row in rows]
        varied = ["parameters"] if any(params) else []
        for col in ("run", *varied, "class", "ended", *shown, "note"):
            t.add_column(col)
        for row, text in zip(rows, params, strict=True):
            m = row["metrics"] or {}
            style = VERDICT_STYLE.get(row["class"], "")
            note = row["error"] or (row["reason"] if row["verdict"] != "pass" else "")
            t.add_row(
                row["name"],
                *([text] if varied else []),
                f"[{style}]{CLASS_LABELS[row['class']]}[/]",
                row["status"] or "-",
                *(_fmt(m.get(k)) for k in shown),
                (note or "")[:80],
            )
    else:
        for col in ("family", "runs", *(CLASS_LABELS[k] for k in CLASSES)):
            t.add_column(col)
        for fam, c in sorted(summary.families.items()):
            t.add_row(fam, str(sum(c.values())), *(str(c.get(k, 0)) for k in CLASSES))
    out.print(t)
    bad = [r for r in rows if r["class"] != "pass"][:10]
    if bad and summary.total > 40:
        out.print("first runs that did not pass:")
        for r in bad:
            why = (r["error"] or r["reason"] or "")[:90]
            out.print(f"  {r['name']}: {CLASS_LABELS[r['class']]} {why}")
    counts = "  ".join(f"{CLASS_LABELS[k]}: {v}" for k, v in summary.counts.items())
    missing = summary.total - sum(summary.counts.values())
    if summary.reference:
        ref = ", ".join(f"{k} {v}" for k, v in sorted(summary.reference.items()))
        out.print(
            f"reference agent runs: {ref}; a failure the reference failed too (by colliding) "
            "is not preventable"
        )
    out.print(
        f"{counts}{f'  not run: {missing}' if missing else ''}   "
        f"({summary.ran} run now, {summary.skipped} from before, {summary.seconds:.1f} s)"
    )
    if summary.interrupted:
        out.print(f"interrupted: run the same command with --resume --out {folder}")
    out.print(f"results: {folder / 'results.sqlite'}  (pground results {folder})")


def _search_columns(folder: Path) -> dict[str, dict[str, Any]]:
    """A search folder's columns per job id (from search.json): wave, robustness, the
    reference's verdict and the parameters in the suite's units; {} for a campaign."""
    path = folder / "search.json"
    if not path.exists():
        return _estimate_columns(folder)
    from metrics.report import param_text

    doc = json.loads(path.read_text())
    units = doc.get("units") or {}
    out = {}
    for c in doc.get("candidates") or []:
        if c.get("job_id"):
            shown = " ".join(
                f"{k}={param_text(v, units.get(k))}" for k, v in sorted(c["params"].items())
            )
            out[c["job_id"]] = {
                "search.wave": c["wave"],
                "search.robustness": c["robustness"],
                "search.reference_verdict": c["reference_verdict"],
                "search.params": shown,
            }
    return out


def _estimate_columns(folder: Path) -> dict[str, dict[str, Any]]:
    """An estimate folder's columns per job id (from estimate.json): the stage (mc, ce-k,
    is, ss-k), the log likelihood-ratio weight (is), the subset chain, the robustness."""
    path = folder / "estimate.json"
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    return {
        p["job_id"]: {
            "estimate.stage": p.get("stage"),
            "estimate.log_weight": p.get("log_weight"),
            "estimate.chain": p.get("chain"),
            "estimate.robustness": p.get("g"),
        }
        for p in doc.get("points") or []
        if p.get("job_id")
    }


def cmd_results(args: argparse.Namespace, out: Console) -> int:
    import csv
    import io

    from sim.runner.store import ResultsStore

    path = Path(args.campaign) / "results.sqlite"
    if not path.exists():
        raise UsageError(f"{args.campaign}: no results.sqlite (not a campaign folder)")
    store = ResultsStore(path)
    try:
        rows = list(store.rows(verdict=args.verdict, family=args.family))
    finally:
        store.close()
    keys = sorted({k for r in rows for k in (r["metrics"] or {})})
    search = _search_columns(Path(args.campaign))
    flat = [
        {
            **{
                k: r[k]
                for k in (
                    "name",
                    "family",
                    "verdict",
                    "status",
                    "seed",
                    "agent",
                    "duration_s",
                    "error",
                    "run_dir",
                    "log_sha256",
                )
            },
            **{f"param.{k}": v for k, v in (r["params"] or {}).items()},
            **{f"metric.{k}": (r["metrics"] or {}).get(k) for k in keys},
            **{
                f"margin.{c.get('requirement') or c.get('metric')}": c.get("margin")
                for c in r["criteria"] or []
            },
            **search.get(r["job_id"], {}),
        }
        for r in rows
    ]
    if args.format == "table":
        t = Table(title=f"{len(rows)} runs", title_justify="left")
        for col in ("name", "verdict", "params", "collisions", "min_ttc_s", "note"):
            t.add_column(col)
        for r in rows:
            m = r["metrics"] or {}
            params = " ".join(f"{k}={_fmt(v)}" for k, v in (r["params"] or {}).items())
            t.add_row(
                r["name"],
                r["verdict"],
                params[:60],
                _fmt(m.get("collisions")),
                _fmt(m.get("min_ttc_s")),
                (r["error"] or "")[:60],
            )
        out.print(t)
        return EXIT_PASS
    if args.format == "parquet":
        if not args.output:
            raise UsageError("--format parquet needs --output FILE")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError(
                "--format parquet needs pyarrow: pip install 'proving-ground[parquet]'"
            ) from None
        cols = sorted({k for r in flat for k in r})
        pq.write_table(pa.table({c: [_cell(r.get(c)) for r in flat] for c in cols}), args.output)
        out.print(f"wrote {len(flat)} rows to {args.output}")
        return EXIT_PASS
    buf = io.StringIO()
    if args.format == "json":
        json.dump(rows, buf, indent=2, sort_keys=True)
        buf.write("\n")
    else:
        cols = sorted({k for r in flat for k in r}, key=lambda c: (c.count("."), c))
        w = csv.DictWriter(buf, fieldnames=cols)
        w.writeheader()
        w.writerows(flat)
    if args.output:
        Path(args.output).write_text(buf.getvalue())
        out.print(f"wrote {len(rows)} rows to {args.output}")
    else:
        sys.stdout.write(buf.getvalue())
    return EXIT_PASS


def _cell(v: Any) -> Any:
    """One type per Parquet column: numbers as float, the rest as text ("inf" is a number)."""
    if v is None:
        return None
    if isinstance(v, bool | int | float):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 1280x720") from None
    if not (160 <= w <= 7680 and 120 <= h <= 4320):
        raise UsageError(f"--size {text}: between 160x120 and 7680x4320")
    return w, h


def cmd_view(args: argparse.Namespace, out: Console) -> int:
    from sim.viewer.render import Scene

    scene = Scene.from_run_folder(Path(args.run))
    size = _size(args.size)
    if args.frames or args.gif or args.mp4:
        from sim.viewer.app import export_frames, export_gif, export_mp4

        window = {"size": size, "t_from": args.t_from, "t_to": args.t_to, "fit": args.fit}
        if args.frames:
            paths = export_frames(scene, Path(args.frames), every=args.every, **window)
            out.print(f"wrote {len(paths)} frames to {args.frames}")
        if args.gif:
            n = export_gif(scene, Path(args.gif), fps=args.fps, **window)
            out.print(f"wrote {args.gif} ({n} frames at {args.fps:g} fps)")
        if args.mp4:
            n = export_mp4(scene, Path(args.mp4), fps=max(args.fps, 1.0), **window)
            out.print(f"wrote {args.mp4} ({n} frames)")
        return EXIT_PASS
    from sim.viewer.app import replay, require_display

    require_display()
    replay(scene, size, fit=args.fit)
    return EXIT_PASS


# ---------------------------------------------------------------------------- validate
def _validate_targets(names: list[str]) -> list[str]:
    """The files to validate: a folder stands for each scenario or suite file in it (each
    checked as what it is), except stored reference outcomes, which are data."""
    from sim.runner import outcomes
    from sim.runner.suite import SCENARIO_SUFFIXES

    out: list[str] = []
    for name in names:
        path = Path(name)
        if not path.is_dir():
            out.append(name)
            continue
        files = sorted(p for p in path.iterdir() if p.suffix in SCENARIO_SUFFIXES)
        files = [p for p in files if not outcomes.is_outcomes_file(p)]
        out += [str(p) for p in files] or [name]  # an empty folder: its own error
    return out


def cmd_validate(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.campaign import Progress
    from sim.runner.suite import is_suite_file, load_suite
    from sim.scenario.load import load_scenario
    from sim.scenario.yamlio import canonical_json

    bad = 0
    targets = _validate_targets(args.files)
    for f in targets:
        try:
            if is_suite_file(Path(f)):
                suite = load_suite(f)
                problems, warnings = [], {}
                # a point is its file and parameters (repetitions differ only in the seed)
                points = {
                    (str(e.path), canonical_json(e.overrides)): e for e in suite.entries
                }.values()
                err = Console(stderr=True)
                bar = Progress(
                    err,
                    len(points),
                    live=err.is_terminal,
                    enabled=len(points) > 500,
                    unit="points",
                )
                with bar:
                    for entry in points:
                        try:
                            lo = load_scenario(entry.path, entry.overrides)
                            warnings.update(dict.fromkeys(lo.warnings))
                            bar.update("ok")
                        except ScenarioError as exc:
                            problems.extend(exc.problems)
                            bar.update("invalid")
                _warn(warnings)
                if problems:
                    problems = list(dict.fromkeys(problems))  # one line per problem, not point
                    raise ScenarioError(problems[0], problems)
                out.print(f"[green]ok[/]  {f}  (suite, {len(suite.entries)} runs)")
            else:
                lo = load_scenario(f)
                _warn(lo.warnings)
                out.print(f"[green]ok[/]  {f}  ({lo.scenario.id})")
        except ScenarioError as exc:
            bad += 1
            for p in exc.problems:
                print(p, file=sys.stderr)
    if len(targets) > 1:
        out.print(f"{len(targets) - bad} valid, {bad} invalid")
    return EXIT_INPUT if bad else EXIT_PASS


# ---------------------------------------------------------------------------- outcomes
def cmd_reference_outcomes(args: argparse.Namespace, out: Console) -> int:
    from sim.runner.outcomes import compute, dumps
    from sim.runner.suite import reference_points

    entries = reference_points(args.suite)
    if not entries:
        raise UsageError(f"{args.suite}: no entry has 'avoidable_by'; nothing to compute")
    for spec, file, jobs in entries:
        target = Path(args.suite).parent / spec.outcomes
        out.print(f"{file.name}: running '{spec.agent}' on {len(jobs)} points ...")

        def tick(i: int, n: int) -> None:
            if not args.no_progress and (i == n or i % max(1, n // 10) == 0):
                out.print(f"  {i}/{n}")

        doc = compute(
            file,
            [(j.overrides, j.seed) for j in jobs],
            spec.agent,
            workers=args.workers,
            progress=tick,
        )
        kept = sum(o["verdict"] == "pass" for o in doc["outcomes"].values())
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(dumps(doc))
        tmp.replace(target)
        out.print(f"  {kept} of {len(jobs)} passed by '{spec.agent}'; wrote {target}")
    return EXIT_PASS


# ---------------------------------------------------------------------------- convert
def cmd_convert(args: argparse.Namespace, out: Console) -> int:
    from sim.formats.convert import convert

    target = Path(args.out)
    # an OpenSCENARIO export also writes its road and its criteria beside it
    written = [target]
    if target.suffix.lower() == ".xosc":
        written += [target.with_suffix(".xodr"), target.with_suffix(".criteria.yaml")]
    taken = [p for p in written if p.exists()]
    if taken and not args.force:
        raise UsageError(f"{taken[0]} exists: choose another name or give --force")
    warnings, summary = convert(
        Path(args.source), target, _kv(args.set, "--set"), entity=args.entity
    )
    _warn(warnings)
    out.print(f"[green]wrote[/] {target}  ({summary})")
    return EXIT_PASS


# ---------------------------------------------------------------------------- schema etc.
def cmd_schema(args: argparse.Namespace, out: Console) -> int:
    from sim.domains import known_domains
    from sim.scenario.reference import markdown, scenario_schema

    if args.report:
        from metrics.report_schema import Report

        schema = Report.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "Proving Ground report (proving-ground-report/1)"
        print(json.dumps(schema, indent=2))
        return EXIT_PASS
    domains = tuple(sorted(args.domain)) if args.domain else tuple(known_domains())
    if args.markdown:
        sys.stdout.write(markdown(domains))
        return EXIT_PASS
    print(json.dumps(scenario_schema(domains), indent=2))
    return EXIT_PASS


def cmd_agents(args: argparse.Namespace, out: Console) -> int:
    from agents.loading import available_agents, load_agent
    from metrics.registry import first_sentence

    t = Table(title="agents (entry point group proving_ground.agents)", title_justify="left")
    for col in ("name", "domains", "target", "version", "status", "description"):
        t.add_column(col)
    for spec in available_agents():
        try:
            agent = load_agent(spec.name)
            t.add_row(
                spec.name,
                ", ".join(getattr(agent, "domains", ()) or ("any",)),
                spec.target,
                str(getattr(agent, "version", "?")),
                "ok",
                first_sentence(type(agent).__doc__),
            )
        except ProvingGroundError as exc:
            t.add_row(spec.name, "-", spec.target, "-", "[red]cannot load[/]", str(exc))
    out.print(t)
    out.print("Any importable class works too: --agent package.module:Class")
    return EXIT_PASS


def cmd_check_agent(args: argparse.Namespace, out: Console) -> int:
    from agents.checks import check_agent

    if args.steps < 1:
        raise UsageError(f"--steps {args.steps}: must be positive")
    report = check_agent(
        args.spec,
        args.domain,
        scenario=args.scenario,
        steps=args.steps,
        seed=args.seed,
        options=_agent_options(args),
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        t = Table(
            title=f"check-agent {report.agent} ({report.domain}, {report.scenario})",
            title_justify="left",
        )
        for col in ("check", "result", "detail"):
            t.add_column(col)
        style = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "warn": "[yellow]warn[/]"}
        for c in report.checks:
            t.add_row(c.name, style[c.status], c.detail)
        out.print(t)
        n_fail = sum(c.status == "fail" for c in report.checks)
        out.print(
            "[green]the agent conforms[/]"
            if report.ok
            else f"[red]the agent does not conform[/] ({n_fail} failed)"
        )
    return EXIT_PASS if report.ok else EXIT_FAIL


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
        sp.add_argument("--allow-file-agents", **ALLOW_FILE_AGENTS)
        remote_opts(sp)

    def remote_opts(sp: argparse.ArgumentParser) -> None:
        g = sp.add_argument_group(
            "out-of-process agents ('cmd:<command>', see docs/agent-protocol.md)"
        )
        g.add_argument(
            "--agent-timeout",
            metavar="DURATION",
            help="deadline of one step, e.g. 50ms or '0.2 s' (default 10 s); a late answer "
            "is an agent fault",
        )
        g.add_argument(
            "--agent-startup-timeout",
            metavar="DURATION",
            help="deadline of the hello and of the reset (default 20 s)",
        )
        g.add_argument(
            "--agent-cpu-limit", metavar="SECONDS", type=int, help="CPU-time rlimit of the agent"
        )
        g.add_argument(
            "--agent-memory-limit",
            metavar="MB",
            type=int,
            help="address-space rlimit of the agent (MiB)",
        )
        g.add_argument(
            "--agent-deny-network",
            action="store_true",
            help="run the agent in a network namespace of its own (Linux, unshare)",
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
    r.add_argument(
        "--criteria",
        metavar="FILE",
        help="OpenSCENARIO files: the criteria to judge by (YAML; default "
        "<scenario>.criteria.yaml beside it, else the R157 defaults for an ALKS scenario)",
    )
    r.add_argument("--out", metavar="DIR", help="run folder (default: runs/<id>-<time>)")
    r.add_argument("--force", action="store_true", help="replace an existing run folder")
    r.add_argument("--no-save", action="store_true", help="write no run folder")
    r.add_argument("--json", action="store_true", help="print metrics.json to stdout")
    r.add_argument(
        "--view", action="store_true", help="show the run live in a window (then replay it)"
    )
    r.add_argument(
        "--realtime", action="store_true", help="with --view: pace the run to the wall clock"
    )

    s = command(
        "suite",
        cmd_suite,
        "run a suite (a campaign)",
        "Run every concrete scenario of a suite file (or of a folder of scenarios), "
        "with parameter variation, in parallel, into a campaign folder with a "
        "crash-safe results store; --resume continues an interrupted campaign. "
        "Exit 0 when all pass, 1 if any fails, 2 if a file is invalid, 3 on errors.",
    )
    s.add_argument("suite", help="suite file (.yaml) or a folder of scenario files")
    agent_opts(s)
    s.add_argument(
        "--out", metavar="DIR", help="campaign folder (default: campaigns/<suite>-<time>)"
    )
    s.add_argument(
        "--executor",
        choices=("processes", "serial", "dask"),
        default="processes",
        help="where jobs run (default: local processes)",
    )
    s.add_argument("--workers", type=int, metavar="N", help="worker processes (default: CPU count)")
    s.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address, e.g. tcp://host:8786 (default: a local cluster)",
    )
    s.add_argument(
        "--resume",
        action="store_true",
        help="continue the campaign in --out: finished jobs are not run again",
    )
    s.add_argument("--force", action="store_true", help="start the campaign in --out over")
    s.add_argument("--keep-logs", **KEEP_LOGS)
    s.add_argument(
        "--job-timeout",
        type=float,
        metavar="SECONDS",
        help="wall-clock limit per job (process executor); a late job is an error",
    )
    s.add_argument(
        "--dry-run",
        action="store_true",
        help="list the concrete runs (count and the first ten) without running",
    )
    s.add_argument("--sample", type=int, metavar="K", help="run a seeded random subset of K runs")
    s.add_argument(
        "--sample-seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of --sample (default 0: the same subset every time)",
    )
    s.add_argument(
        "--reference",
        metavar="SPEC",
        help="also run every scenario with this reference agent (e.g. r157-driver); "
        "failures it could not avoid either are reported as not preventable",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress output")
    s.add_argument("--convergence", **CONVERGENCE)

    se = command(
        "search",
        cmd_search,
        "search a suite entry's parameters for failures",
        "Seeded falsification: propose waves of parameter values within the ranges a suite "
        "entry declares (grid ranges and values, coupled sets, samples; constraints apply), "
        "run them as a campaign in --out, and steer towards the lowest robustness (the "
        "smallest criterion margin, normalised). Writes search.json (every candidate), "
        "counterexamples/*.yaml (failures as runnable scenarios) and the report. "
        "Exit 0 when nothing failed, 1 when a failure was found, 2 on bad input.",
    )
    se.add_argument("suite", help="suite file whose entry declares the ranges")
    agent_opts(se)
    se.add_argument(
        "--budget", type=int, default=100, metavar="N", help="runs in all (default 100)"
    )
    se.add_argument(
        "--method",
        default="ce",
        metavar="NAME",
        help="ce (cross-entropy, default), de (differential evolution), ga (genetic "
        "algorithm), cmaes, bo (Bayesian optimisation), halton, random",
    )
    se.add_argument("--wave", type=int, metavar="K", help="candidates per wave (default 10)")
    se.add_argument("--seed", type=int, default=0, metavar="S", help="search seed (default 0)")
    se.add_argument("--family", metavar="NAME", help="which varied entry (when several)")
    se.add_argument(
        "--criterion", metavar="ID", help="minimise this criterion only (requirement id or metric)"
    )
    se.add_argument(
        "--objective",
        default="margin",
        metavar="NAME",
        help="margin (default: the smallest normalised margin) or preventable (only points "
        "the --reference agent passes count)",
    )
    se.add_argument(
        "--reference",
        metavar="SPEC",
        help="also run each candidate with this reference agent (e.g. r157-driver); not "
        "counted in the budget",
    )
    se.add_argument("--out", metavar="DIR", help="folder (default: searches/<suite>-<time>)")
    se.add_argument(
        "--executor",
        choices=("processes", "serial", "dask"),
        default="processes",
        help="where runs go (dask: one cluster for the whole search)",
    )
    se.add_argument("--workers", type=int, metavar="N", help="worker processes (default: CPUs)")
    se.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address, e.g. tcp://host:8786 (default: a local cluster)",
    )
    se.add_argument("--resume", action="store_true", help="continue the search in --out")
    se.add_argument("--force", action="store_true", help="start the search in --out over")
    se.add_argument("--keep-logs", **KEEP_LOGS)
    se.add_argument("--job-timeout", type=float, metavar="SECONDS", help="wall-clock limit per run")
    se.add_argument("--no-progress", action="store_true", help="no progress output")

    es = command(
        "estimate",
        cmd_estimate,
        "estimate the failure probability over a suite's operating distribution",
        "P(fail) over the distribution a suite entry's sample: block declares (every varied "
        "parameter needs one; a copula or weighted coupled rows may couple them): plain "
        "Monte Carlo (mc), importance sampling with a cross-entropy-fitted proposal and a "
        "defensive mixture (is), or subset simulation on the robustness margin (ss). Runs "
        "go into --out as a campaign; estimate.json stores every point with its weight or "
        "level, and `pground verify --recompute` replays the estimate. Exit 0 when done "
        "(with --max-rate: 1 when the upper bound exceeds it), 2 on bad input.",
    )
    es.add_argument("suite", help="suite file whose entry declares the operating distribution")
    agent_opts(es)
    es.add_argument("--method", default="is", metavar="NAME", help="mc, is (default) or ss")
    es.add_argument(
        "--budget", type=int, default=10_000, metavar="N", help="most runs (default 10000)"
    )
    es.add_argument(
        "--target-rel-error",
        type=float,
        default=0.2,
        metavar="D",
        help="stop at this relative error (coefficient of variation; default 0.2; 0: use "
        "the whole budget)",
    )
    es.add_argument(
        "--confidence", type=float, default=0.95, metavar="C", help="interval level (0.95)"
    )
    es.add_argument(
        "--max-rate",
        type=float,
        metavar="P",
        help="exit 1 unless the interval's upper end is below P (a release gate)",
    )
    es.add_argument("--seed", type=int, default=0, metavar="S", help="estimate seed (default 0)")
    es.add_argument("--family", metavar="NAME", help="which varied entry (when several)")
    es.add_argument(
        "--reference",
        metavar="SPEC",
        help="also estimate P(preventable fail): each failure re-run with this agent",
    )
    es.add_argument(
        "--level-size",
        type=int,
        metavar="N",
        help="runs per cross-entropy level (is: 300) or per subset level (ss: 1000)",
    )
    es.add_argument(
        "--wave", type=int, default=100, metavar="K", help="runs per wave (mc, is; default 100)"
    )
    es.add_argument("--out", metavar="DIR", help="folder (default: estimates/<suite>-<time>)")
    es.add_argument(
        "--executor",
        choices=("processes", "serial", "dask"),
        default="processes",
        help="where runs go (dask: one cluster for the whole estimate)",
    )
    es.add_argument("--workers", type=int, metavar="N", help="worker processes (default: CPUs)")
    es.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address")
    es.add_argument("--resume", action="store_true", help="continue the estimate in --out")
    es.add_argument("--force", action="store_true", help="start the estimate in --out over")
    es.add_argument("--keep-logs", **KEEP_LOGS)
    es.add_argument("--job-timeout", type=float, metavar="SECONDS", help="wall-clock limit per run")
    es.add_argument("--no-progress", action="store_true", help="no progress output")

    rp = command(
        "report",
        cmd_report,
        "regenerate a campaign's reports",
        "Rewrite report.html, report.json, junit.xml and digest.json of a campaign "
        "folder from its stored results and run folders (nothing is re-run).",
    )
    rp.add_argument("campaign", help="campaign folder (or a single run folder)")
    rp.add_argument(
        "--sign",
        metavar="KEY",
        help="sign the root digest with this Ed25519 private key (PEM; `pground keygen` makes one)",
    )
    rp.add_argument("--convergence", **CONVERGENCE)
    rp.add_argument("--allow-file-agents", **ALLOW_FILE_AGENTS)

    vf = command(
        "verify",
        cmd_verify,
        "check a campaign's integrity and reproducibility",
        "Recompute every digest of a campaign (or run) folder: every file (reports, "
        "summary, run folders, exports), every stored run's verdict, metrics and "
        "criteria, the root digest; check its signature if any; re-run a sample of runs "
        "(log, verdict, metrics and criteria must be reproduced) or recompute the metrics "
        "of every kept log. Names each file or run that differs. Exit 0 when all verify, "
        "1 if not.",
    )
    vf.add_argument("campaign", help="campaign folder")
    vf.add_argument("--rerun", type=int, default=0, metavar="K", help="re-run K sampled runs")
    vf.add_argument("--seed", type=int, default=0, help="seed of the --rerun sample")
    vf.add_argument("--key", metavar="PUB", help="the signer's public key (PEM)")
    vf.add_argument("--allow-file-agents", **ALLOW_FILE_AGENTS)
    vf.add_argument(
        "--recompute",
        action="store_true",
        help="recompute the metrics and criteria of every kept log (no re-simulation) and "
        "compare them with the stored ones",
    )

    df = command(
        "diff",
        cmd_diff,
        "compare two campaigns of the same suite (a regression gate)",
        "Names A and B (agent, version, digest, date); runs whose class changed (pass, "
        "fail, not preventable, error, invalid; regressions first) and the metric changes "
        "of the runs in both. Exit 1 when a run newly fails or errs, 2 when the campaigns "
        "are of different suites (unless --force), else 0.",
    )
    df.add_argument("a", help="campaign folder A (before)")
    df.add_argument("b", help="campaign folder B (after)")
    df.add_argument("--json", action="store_true", help="print the comparison as JSON")
    df.add_argument(
        "--force", action="store_true", help="compare campaigns of different suites anyway"
    )
    df.add_argument("--html", metavar="FILE", help="also write a side-by-side HTML page")

    st = command(
        "selftest",
        cmd_selftest,
        "check the simulator's models against closed forms",
        "Run the analytic checks (stopping distance, jerk-limited stop, TTC, the R157 "
        "braking profile, CPA, Nomoto, Davis resistance) and print expected and simulated "
        "values with the versions they ran with; reports include the same table. Exit 0 "
        "when all agree within their tolerance, 1 if not.",
    )
    st.add_argument("--json", action="store_true", help="print the results as JSON")
    st.add_argument("--out", metavar="FILE", help="also write the results as JSON")

    kg = command(
        "keygen",
        cmd_keygen,
        "make an Ed25519 key pair for signing reports",
        "Write a new Ed25519 private key (PEM) and its public key (.pub).",
    )
    kg.add_argument("private_key", help="file for the private key")

    rs = command(
        "results",
        cmd_results,
        "print or export a campaign's results",
        "Print the results table of a campaign folder, or export it as CSV, JSON or "
        "Parquet, optionally filtered.",
    )
    rs.add_argument("campaign", help="campaign folder")
    rs.add_argument("--verdict", choices=VERDICTS)
    rs.add_argument("--family", help="only runs of this scenario family")
    rs.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    rs.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")

    vw = command(
        "view",
        cmd_view,
        "replay a run folder, or export frames / a GIF",
        "Open a window replaying a run folder (space play/pause, arrows step, +/- "
        "speed, n/p next/previous event, f follow, wheel zoom, drag pan, click to "
        "select, click the timeline to seek), or with --frames/--gif render without "
        "a display.",
    )
    vw.add_argument("run", help="run folder (from pground run --out, or a campaign's runs/)")
    vw.add_argument("--frames", metavar="DIR", help="write PNG frames here (no window)")
    vw.add_argument("--every", type=int, default=1, metavar="N", help="every N-th tick")
    vw.add_argument("--gif", metavar="FILE", help="write an animated GIF (no window)")
    vw.add_argument(
        "--mp4", metavar="FILE", help="write an MP4 video (no window; needs the 'video' extra)"
    )
    vw.add_argument("--fps", type=float, default=10.0, help="GIF/MP4 frame rate (default 10)")
    vw.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
    vw.add_argument(
        "--from", dest="t_from", type=float, metavar="T", help="start of the time window (s)"
    )
    vw.add_argument("--to", dest="t_to", type=float, metavar="T", help="end of the time window (s)")
    vw.add_argument(
        "--fit",
        action="store_true",
        help="show the whole map (default on large maps: follow the ego)",
    )

    v = command(
        "validate",
        cmd_validate,
        "check scenario and suite files",
        "Validate files; one line per problem on stderr. Exit 0 when all are valid, "
        "2 when any is not.",
    )
    v.add_argument("files", nargs="+", help="scenario or suite files")

    cv = command(
        "convert",
        cmd_convert,
        "convert a standard-format file (OpenSCENARIO .xosc, OpenDRIVE .xodr) to our YAML",
        "Convert an ASAM OpenSCENARIO 1.x scenario (.xosc, with its catalogs and OpenDRIVE "
        "road) to the equivalent Proving Ground scenario, or an ASAM OpenDRIVE 1.x road "
        "file (.xodr) to a road map (a 'map:' section to put in a scenario). Each side of "
        "a road with driving lanes becomes one of our one-way roads, '<id>.right' and "
        "'<id>.left'. Unsupported elements are errors naming file:line (exit 2); see "
        "docs/openscenario.md for the supported subset.",
    )
    cv.add_argument("source", help="OpenSCENARIO (.xosc) or OpenDRIVE (.xodr) file")
    cv.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an OpenSCENARIO parameter's value, e.g. --set Ego_InitSpeed_Ve0_kph=50",
    )
    cv.add_argument(
        "--entity",
        metavar="NAME",
        help="the entity under test (default: the one with an ObjectController)",
    )
    cv.add_argument("-o", "--out", required=True, metavar="FILE", help="YAML file to write")
    cv.add_argument("--force", action="store_true", help="replace an existing output file")

    sc = command(
        "schema",
        cmd_schema,
        "print the JSON Schema of scenario files",
        "Print the JSON Schema (draft 2020-12) of the scenario format, for editors "
        "and other tools.",
    )
    sc.add_argument("--domain", action="append", help="only these domains (repeatable)")
    sc.add_argument(
        "--report", action="store_true", help="print the JSON Schema of report.json instead"
    )
    sc.add_argument(
        "--markdown",
        action="store_true",
        help="print the readable reference (docs/scenario-format.md: worked examples, every "
        "field with its unit and default) instead",
    )

    command(
        "agents",
        cmd_agents,
        "list the agents that can be loaded",
        "List agents registered in the proving_ground.agents entry point group, loading "
        "each to check it.",
    )

    ca = command(
        "check-agent",
        cmd_check_agent,
        "check that an agent conforms to the protocol",
        "Run an agent the way a campaign would and report: it loads, the handshake and reset "
        "succeed, a few hundred control steps on a shipped scenario of its domain without a "
        "fault, action shapes and limits, deadlines (median, p99, worst), valid actions on "
        "empty and crowded observations, and the same actions under the same seed. "
        "Exit 0 when it conforms, 1 when a check fails, 3 when it cannot be loaded.",
    )
    ca.add_argument("spec", help="the agent: entry-point name, 'module:Class' or 'cmd:<command>'")
    ca.add_argument(
        "--domain", required=True, choices=("road", "rail", "air", "water"), help="its domain"
    )
    ca.add_argument(
        "--scenario", metavar="FILE", help="check on this scenario instead of the built-in one"
    )
    ca.add_argument(
        "--steps",
        type=int,
        default=300,
        help="control steps to run (default 300, fewer when the scenario ends first)",
    )
    ca.add_argument("--seed", type=int, default=0, help="seed of both runs (default 0)")
    ca.add_argument("--json", action="store_true", help="print the report as JSON")
    remote_opts(ca)

    ro = command(
        "reference-outcomes",
        cmd_reference_outcomes,
        "compute the reference outcomes a suite filters its points by",
        "For every suite entry with 'avoidable_by: {agent, outcomes}', run the reference "
        "agent on every candidate point and write its outcomes (collision, impact speed, "
        "verdict per point, with the digests of the scenario and the agent) to the outcomes "
        "file beside the suite. Loading the suite then keeps the points the reference passes, "
        "and refuses a stale file.",
    )
    ro.add_argument("suite", help="the suite file")
    ro.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    ro.add_argument("--no-progress", action="store_true", help="no progress lines")

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
    if not out.is_terminal:  # logs and pipes: do not wrap at 80 (a wider COLUMNS is kept)
        columns = os.environ.get("COLUMNS", "")
        out = Console(highlight=False, width=max(160, int(columns) if columns.isdigit() else 0))
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
