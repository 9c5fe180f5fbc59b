"""Conformance check of an agent (``pground check-agent``), in the spirit of Gymnasium's
``check_env``: run it where the simulator would, and say clearly what is wrong.

Checks, in order: it loads; the handshake and reset succeed and it names itself; a few hundred
control steps on a shipped scenario of its domain without a fault; every action has the
domain's shape and finite values, and how many were clipped to the vehicle's limits; the
answers meet the deadline (median, 99th percentile, worst); the actions stay valid when the
observation is empty (no objects, targets or signals in sight) or crowded (every group
repeated); and the same seed gives the same actions (determinism).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.wire import plain

#: The shipped scenario each domain's check drives through (relative to the repository).
CHECK_SCENARIOS = {
    "road": "scenarios/road/alks_cut_in.yaml",
    "rail": "scenarios/rail/red_signal_approach.yaml",
    "air": "scenarios/air/crossing_right.yaml",
    "water": "scenarios/water/crossing_give_way.yaml",
}


@dataclass
class Check:
    name: str
    status: str  # pass | fail | warn
    detail: str


@dataclass
class CheckReport:
    agent: str
    domain: str
    scenario: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        status = "warn" if ok is None else ("pass" if ok else "fail")
        self.checks.append(Check(name, status, detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "domain": self.domain,
            "scenario": self.scenario,
            "conforms": self.ok,
            "checks": [dataclasses.asdict(c) for c in self.checks],
        }


class _Probe:
    """Wraps the agent under check: times every act() and keeps the actions."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.name = getattr(agent, "name", "?")
        self.version = getattr(agent, "version", "?")
        self.latencies: list[float] = []
        self.actions: list[Any] = []
        self.observations: list[Any] = []

    def reset(self, briefing: Any, *, rng: np.random.Generator) -> None:
        self.agent.reset(briefing, rng=rng)
        self.name = getattr(self.agent, "name", "?")
        self.version = getattr(self.agent, "version", "?")

    def act(self, obs: Any) -> Any:
        t0 = time.perf_counter()
        action = self.agent.act(obs)
        self.latencies.append(time.perf_counter() - t0)
        self.actions.append(plain(action))
        if len(self.observations) < 50:
            self.observations.append(obs)
        return action


def _scenario_path(domain: str, scenario: str | None) -> Path:
    from sim.errors import UsageError

    if scenario:
        return Path(scenario)
    if domain not in CHECK_SCENARIOS:
        raise UsageError(
            f"--domain {domain}: no built-in check scenario (known: "
            f"{', '.join(sorted(CHECK_SCENARIOS))}); give one with --scenario FILE"
        )
    for root in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (root / CHECK_SCENARIOS[domain]).exists():
            return root / CHECK_SCENARIOS[domain]
    raise UsageError(
        f"the check scenario {CHECK_SCENARIOS[domain]} is not here (run from the repository, "
        "or give one with --scenario FILE)"
    )


def _vary(obs: Any, how: str) -> Any:
    """``obs`` with every object group (a dataclass with a length) emptied or tripled."""
    changes = {}
    for f in dataclasses.fields(obs):
        value = getattr(obs, f.name)
        if dataclasses.is_dataclass(value) and hasattr(value, "__len__"):
            group = {}
            for g in dataclasses.fields(value):
                v = getattr(value, g.name)
                if how == "empty":
                    v = v[:0] if isinstance(v, np.ndarray) else ()
                elif isinstance(v, np.ndarray):
                    v = np.concatenate([v, v, v])
                else:
                    v = tuple(v) * 3
                group[g.name] = v
            changes[f.name] = dataclasses.replace(value, **group)
        elif how == "empty" and f.name in ("signal", "next_stop", "obstacle_m"):
            changes[f.name] = None
    return dataclasses.replace(obs, **changes)


def check_agent(
    spec: str,
    domain: str,
    *,
    scenario: str | None = None,
    steps: int = 300,
    seed: int = 0,
    options: dict[str, Any] | None = None,
) -> CheckReport:
    """Run every check of the module docstring on the agent ``spec`` and report."""
    from agents.loading import check_domain, load_agent
    from sim.core.rollout import Session
    from sim.errors import ProvingGroundError
    from sim.scenario.load import load_scenario

    path = _scenario_path(domain, scenario)
    report = CheckReport(spec, domain, str(path))
    loaded = load_scenario(path)
    sc = loaded.scenario
    controlled = [e for e in sc.entities if e.controlled]
    target = next((e for e in controlled if e.domain == domain), None)
    if target is None:
        from sim.errors import UsageError

        raise UsageError(f"{path}: no controlled {domain} entity to check the agent on")
    timeout = float((options or {}).get("timeout_s", 10.0))

    def episode() -> tuple[_Probe | None, Any, list[Any]]:
        try:
            agent = load_agent(spec, None, options)
        except ProvingGroundError as exc:
            report.add("loads", False, str(exc))
            return None, None, []
        check_domain(agent, spec, domain, target.id)  # one line, not an AttributeError in act
        probe = _Probe(agent)
        others = {
            e.id: load_agent(e.agent, dict(e.agent_params), from_file=True) for e in controlled
        }
        others[target.id] = probe
        session = Session(sc, others, seed=seed)
        try:
            session.start()
            n = 0
            while not session.done and n < steps * sc.control_every:
                session.step()
                n += 1
        except BaseException:
            session.close()
            raise
        return probe, session, session.events

    probe, session, events = episode()
    if probe is None:
        return report
    report.add("loads", True, f"{type(probe.agent).__name__} from {spec!r}")
    faults = [e for e in events if e.kind == "agent_fault" and target.id in e.entities]
    at_reset = [e for e in faults if e.tick == 0 and not probe.actions]
    name, version = str(probe.name), str(probe.version)
    report.add(
        "handshake and reset",
        not at_reset,
        at_reset[0].details["message"] if at_reset else f"{name} {version}",
    )
    report.add(
        "names itself",
        None if "?" in (name, version) or version == "unknown" else True,
        f"name={name!r} version={version!r}"
        + (" (set name and version: they go into every manifest)" if version == "unknown" else ""),
    )
    n_act = len(probe.actions)
    kinds = sorted({e.details["fault"] for e in faults})
    report.add(
        f"control steps on {path.name}",
        not faults and n_act > 0,
        f"{n_act} actions, no fault"
        + (f" (the scenario ended before {steps} steps)" if n_act < steps else "")
        if not faults
        else f"{len(faults)} fault(s) {kinds}: {faults[0].details['message'][:160]}",
    )
    clipped = [e for e in events if e.kind == "action_clipped" and target.id in e.entities]
    report.add(
        "actions within limits",
        None if clipped else True,
        f"{len(clipped)} clipped to the vehicle's limits ({clipped[0].details['limits']} first "
        f"at {clipped[0].time_s:g} s)"
        if clipped
        else "no action clipped",
    )
    if probe.latencies:
        lat = np.array(probe.latencies)
        med, p99, worst = (float(np.percentile(lat, q)) for q in (50, 99, 100))
        report.add(
            "deadline",
            worst <= timeout if not spec.startswith("cmd:") else p99 <= timeout,
            f"median {med * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms, worst {worst * 1e3:.3f} ms "
            f"(deadline {timeout * 1e3:g} ms)",
        )
    # edge observations: through a live runtime's validation, like a real step
    if probe.observations and target.id not in session.dead:
        dom, slot = session.world.where[target.id]
        rt = session.world.runtimes[dom]
        for how in ("empty", "crowded"):
            obs = _vary(probe.observations[-1], how)
            try:
                action = probe.agent.act(obs)
                rt.apply_action(slot, action)
                report.add(f"{how} observation", True, f"valid action {plain(action)}")
            except Exception as exc:
                report.add(f"{how} observation", False, f"{type(exc).__name__}: {exc}"[:200])
    session.close()
    probe2, session2, _ = episode()
    if session2 is not None:
        session2.close()
    if probe2 is not None and probe.actions:
        a, b = probe.actions, probe2.actions
        diff = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
        same = diff is None and len(a) == len(b)
        detail = f"{len(a)} actions identical with seed {seed}"
        if not same:
            k = diff if diff is not None else min(len(a), len(b))
            detail = f"actions differ from step {k + 1} with the same seed {seed}"
            if diff is not None:
                detail += f": {a[k]} vs {b[k]}"
        report.add("deterministic under a seed", same, detail)
    return report
