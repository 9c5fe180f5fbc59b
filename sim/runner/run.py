"""Run one scenario with its agents and write the run folder.

Run folder layout:
  manifest.json   what was run: scenario file SHA-256 and resolved content, parameters, seed,
                  agents (name, version, spec), package versions, platform, command line,
                  the command that reproduces it, and the SHA-256 of every file written
  log.npz         the recorded arrays (see sim/core/log.py), digest in metrics.json
  events.jsonl    one event per line, in tick order
  metrics.json    verdict, per-criterion results (expected, actual, margin), every metric
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from agents.loading import check_domain, load_agent
from metrics.criteria import CriterionResult, Verdict, evaluate, validity_problems
from metrics.registry import METRICS, MetricValue, RunData, compute_metrics
from sim.core.events import json_ready
from sim.core.rollout import RunResult, rollout
from sim.errors import UsageError
from sim.scenario.load import LoadedScenario
from sim.scenario.yamlio import canonical_json
from sim.validity import validity_events

DEPENDENCIES = ("numpy", "shapely", "pydantic", "PyYAML", "rich", "scipy")


@dataclass
class RunOutcome:
    loaded: LoadedScenario
    result: RunResult
    verdict: Verdict
    criteria: list[CriterionResult]
    metrics: dict[str, MetricValue]
    agents: dict[str, str]  # entity id -> agent spec
    seed: int
    agent_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity id -> kwargs
    agent_options: dict[str, Any] | None = None  # how cmd: agents were run (RemoteOptions)
    invalid_reason: str = ""  # why the verdict is 'invalid'

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "fail": 1, "invalid": 2, "error": 3}[self.verdict]


def agent_identity(agent: Any) -> dict[str, Any]:
    """What was run, as files anyone can hash (see ``agents/identity.py``): for Python agents
    every source module the agent's code reaches, for ``cmd:`` agents the executable and the
    files on its command line."""
    from agents.identity import python_identity

    if callable(getattr(agent, "identity", None)):  # an out-of-process agent: its program
        return dict(agent.identity())
    try:
        return dict(python_identity(type(agent).__module__))
    except (KeyError, ValueError, OSError, SyntaxError):
        return {"kind": "unknown", "sha256": "unknown"}


def package_versions() -> dict[str, str]:
    out = {}
    for name in ("proving-ground", *DEPENDENCIES):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_agents(
    loaded: LoadedScenario,
    agent: str | None,
    entity: str | None,
    agent_params: dict[str, Any] | None = None,
    agent_options: dict[str, Any] | None = None,
    allow_file_agents: bool = False,
    trusted_agent: bool = True,
) -> tuple[dict[str, Any], dict[str, str], dict[str, dict[str, Any]]]:
    """Agents for every controlled entity: the scenario's defaults, with ``agent`` and/or
    ``agent_params`` replacing those of the entity under test (``entity``, default: the
    first controlled). Returns agents, specs and constructor keywords by entity id."""
    controlled = [e for e in loaded.scenario.entities if e.controlled]
    target = entity or controlled[0].id
    if target not in {e.id for e in controlled}:
        raise UsageError(
            f"--entity {target}: not a controlled entity of {loaded.path}; controlled: "
            f"{', '.join(e.id for e in controlled)}"
        )
    agents, specs, kwargs = {}, {}, {}
    for e in controlled:
        spec = agent if (agent and e.id == target) else e.agent
        if e.id == target and agent_params:
            params = dict(agent_params)
        else:  # the scenario's agent_params belong to the scenario's agent
            params = dict(e.agent_params) if spec == e.agent else {}
        # the file's choice (or one read back from a stored campaign), not the user's
        from_file = not (agent and e.id == target and trusted_agent)
        agents[e.id] = load_agent(
            spec, params, agent_options, from_file=from_file, allow_file_agents=allow_file_agents
        )
        check_domain(agents[e.id], spec, e.domain, e.id)
        specs[e.id], kwargs[e.id] = spec, params
    return agents, specs, kwargs


def run_loaded(
    loaded: LoadedScenario,
    *,
    agent: str | None = None,
    entity: str | None = None,
    seed: int | None = None,
    agent_params: dict[str, Any] | None = None,
    observer: Any = None,
    agent_options: dict[str, Any] | None = None,
    allow_file_agents: bool = False,
    trusted_agent: bool = True,
) -> RunOutcome:
    """Run a loaded scenario and evaluate its criteria (nothing is written). ``observer``
    watches the run as it computes (the live viewer). Agents a file names are held to
    what a file may name (agents/loading.py) unless ``allow_file_agents``; ``agent`` is the
    user's unless ``trusted_agent`` is False (a spec read back from a stored campaign)."""
    agents, specs, kwargs = build_agents(
        loaded, agent, entity, agent_params, agent_options, allow_file_agents, trusted_agent
    )
    s = loaded.scenario.seed if seed is None else seed
    result = rollout(loaded.scenario, agents, seed=s, observer=observer)
    extra = validity_events(result.log)
    if extra:  # where the run left a model's stated validity (the credibility section)
        result.events = sorted([*result.events, *extra], key=lambda e: e.tick)
    for eid, agent in agents.items():
        ident = agent_identity(agent)
        info = result.agents.setdefault(eid, {})
        info["digest"], info["identity"] = ident["sha256"], ident
    values = compute_metrics(RunData(result.log, tuple(result.events)))
    verdict, crit, why = evaluate(
        loaded.scenario.criteria,
        values,
        result.status,
        validity=validity_problems(loaded.scenario, result.events),
    )
    return RunOutcome(loaded, result, verdict, crit, values, specs, s, kwargs, agent_options, why)


def reproduce_command(outcome: RunOutcome, out: Path | None) -> str:
    lo = outcome.loaded
    parts = ["pground", "run", str(lo.path)]
    for eid, spec in outcome.agents.items():
        ent = next(e for e in lo.scenario.entities if e.id == eid)
        params = outcome.agent_params.get(eid, {})
        if spec != ent.agent or params != ent.agent_params:
            parts += ["--agent", spec, "--entity", eid]
            for k, v in params.items():
                parts += ["--agent-param", f"{k}={v}"]
    for k, v in lo.overrides.items():
        parts += ["--set", f"{k}={v}"]
    opts = outcome.agent_options or {}
    for key, flag in (("timeout_s", "--agent-timeout"), ("startup_s", "--agent-startup-timeout")):
        if key in opts:
            parts += [flag, f"{opts[key]:g} s"]
    for key, flag in (("cpu_s", "--agent-cpu-limit"), ("memory_mb", "--agent-memory-limit")):
        if key in opts:
            parts += [flag, str(opts[key])]
    if opts.get("deny_network"):
        parts.append("--agent-deny-network")
    parts += ["--seed", str(outcome.seed)]
    if out is not None:
        parts += ["--out", str(out)]
    return shlex.join(parts)


def metrics_document(outcome: RunOutcome) -> dict[str, Any]:
    r = outcome.result
    return {
        "scenario": outcome.loaded.scenario.id,
        "verdict": outcome.verdict,
        "status": r.status,
        "reason": outcome.invalid_reason or r.reason,
        "ticks": r.ticks,
        "simulated_s": r.ticks * outcome.loaded.scenario.dt,
        "log_sha256": r.log.digest(),
        "criteria": [c.to_dict() for c in outcome.criteria],
        "metrics": {
            name: {
                "value": json_ready(v.value),
                "valid": v.valid,
                "unit": METRICS[name].unit,
                "version": METRICS[name].version,
                **({"details": v.details} if v.details else {}),
            }
            for name, v in outcome.metrics.items()
        },
    }


def check_run_folder(out: Path, force: bool) -> bool:
    """Refuse an ``--out`` that cannot take the run (before anything runs); True when it
    exists and --force allows replacing it."""
    out = Path(out)
    if not out.exists():
        return False
    if not force:
        raise UsageError(f"{out} exists; choose another --out or add --force to replace it")
    if not out.is_dir() or (not (out / "manifest.json").exists() and any(out.iterdir())):
        raise UsageError(f"{out} exists and is not a run folder; refusing to replace it")
    return True


def write_run_folder(
    outcome: RunOutcome,
    out: Path,
    *,
    force: bool = False,
    argv: list[str] | None = None,
    replace: bool | None = None,
) -> Path:
    """Write the run folder atomically (a private temporary folder renamed into place) and
    return where it went. ``replace`` is :func:`check_run_folder`'s answer from before the
    run: a folder that appeared at ``out`` during the run (made by someone else, e.g. the
    agent) is never replaced; the run goes to the first free ``OUT-N`` beside it instead."""
    out = Path(out)
    if replace is None:
        replace = check_run_folder(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        r = outcome.result
        r.log.save(tmp / "log.npz")
        with open(tmp / "events.jsonl", "w", encoding="utf-8") as fh:
            for ev in r.events:
                fh.write(ev.to_json() + "\n")
        (tmp / "metrics.json").write_text(
            json.dumps(metrics_document(outcome), indent=2, sort_keys=True) + "\n"
        )
        lo = outcome.loaded
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp.iterdir())}
        manifest = {
            "format": "proving-ground-run/1",
            "scenario": {
                "id": lo.scenario.id,
                "name": lo.scenario.name,
                "file": str(lo.path),
                "sha256": lo.sha256,
                "schema_version": lo.scenario.schema_version,
                "resolved": json.loads(canonical_json(lo.resolved)),
                "resolved_sha256": hashlib.sha256(canonical_json(lo.resolved).encode()).hexdigest(),
            },
            "parameters": lo.parameters,
            "overrides": lo.overrides,
            "seed": outcome.seed,
            "agents": {
                eid: {
                    "spec": spec,
                    "params": outcome.agent_params.get(eid, {}),
                    **r.agents.get(eid, {}),
                }
                for eid, spec in outcome.agents.items()
            },
            "agent_options": outcome.agent_options,
            "verdict": outcome.verdict,
            "log_sha256": r.log.digest(),
            "files": files,
            "packages": package_versions(),
            "platform": {
                "python": sys.version.split()[0],
                "implementation": platform.python_implementation(),
                "system": platform.system(),
                "machine": platform.machine(),
            },
            "command": shlex.join(argv) if argv else None,
            "reproduce": reproduce_command(outcome, out),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if out.exists() and replace:
            if (out / "manifest.json").exists():
                shutil.rmtree(out)
            else:
                with contextlib.suppress(OSError):
                    out.rmdir()  # empty
        return _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into_place(tmp: Path, out: Path) -> Path:
    """Rename ``tmp`` to ``out``, or to the first free ``out-N`` when something else holds
    ``out`` (rename never replaces a folder with content, so nothing is lost either way)."""
    for n in range(10_000):
        target = out if n == 0 else out.with_name(f"{out.name}-{n}")
        if target.exists():
            continue
        try:
            tmp.rename(target)
            return target
        except OSError:
            continue  # taken between the check and the rename
    raise UsageError(f"no free folder name beside {out} for the run")
