"""What the Gymnasium and PettingZoo adapters share: fixed-size observation vectors and action
boxes derived from each domain's types, and the reward.

Observation vector (``ObsLayout``), built from the observation dataclass's type hints: every
number and flag in order (``own.speed_mps``, ``eoa_m``, …); an optional part (``signal``,
``next_stop``) adds a presence flag and zeros when absent; an object group (road objects, air
traffic, AIS and radar targets, rail signals ahead) keeps its first ``max_objects`` entries,
each numeric column padded with zeros, plus a mask; a profile (distances, values) keeps its
first ``max_objects`` pairs with a mask; a string from a known vocabulary (signal state,
protection level) is one-hot; other strings, identifiers and polygons are left out. NaN
becomes 0 and infinities ±1e6, so every vector lies in the Box. ``layout.names`` says what
each column is.

Reward (``Reward``), documented and configurable: at every step the sum of ``events`` weights
over the events of that step that concern the controlled entity (default: collision −100,
goal_reached +10, agent_fault −10) plus ``step`` (default 0); at the end of the episode, in
addition, ``verdict`` weights (default pass +10, fail −10, error −10) and ``metrics`` weights
times the final metric values (default none; e.g. ``{"max_decel_mps2": -0.1}``).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.wire import DOMAIN_TYPES

BIG = 1e6
#: Strings worth encoding: field name -> vocabulary (one-hot).
VOCAB = {
    "state": ("green", "yellow", "red", "dark"),
    "protection": ("none", "warning", "service brake", "emergency brake"),
}


@dataclass
class _Part:
    path: tuple[str, ...]
    kind: str  # num | opt | group | profile | vocab
    width: int
    sub: list[_Part] = field(default_factory=list)
    columns: tuple[str, ...] = ()


class ObsLayout:
    """Flattens one domain's observation dataclass into a fixed-size float64 vector."""

    def __init__(self, obs_type: type, max_objects: int = 8) -> None:
        self.k = max_objects
        self.parts = self._parts(obs_type, ())
        self.size = sum(p.width for p in self.parts)
        self.names: list[str] = []
        for p in self.parts:
            self.names += self._names(p)

    def _parts(self, tp: type, path: tuple[str, ...]) -> list[_Part]:
        hints = typing.get_type_hints(tp)
        out: list[_Part] = []
        for f in dataclasses.fields(tp):
            h = hints[f.name]
            p = (*path, f.name)
            args = typing.get_args(h)
            origin = typing.get_origin(h)
            if origin in (typing.Union, types.UnionType) and type(None) in args:
                inner = next(a for a in args if a is not type(None))
                if dataclasses.is_dataclass(inner):
                    sub = self._parts(inner, ())
                    out.append(_Part(p, "opt", 1 + sum(s.width for s in sub), sub))
                elif inner in (float, int):
                    out.append(_Part(p, "opt", 2, [_Part((), "num", 1)]))
            elif h in (float, int, bool):
                out.append(_Part(p, "num", 1))
            elif h is str and f.name in VOCAB:
                out.append(_Part(p, "vocab", len(VOCAB[f.name])))
            elif dataclasses.is_dataclass(h) and hasattr(h, "__len__"):
                hh = typing.get_type_hints(h)
                cols = tuple(g.name for g in dataclasses.fields(h) if hh[g.name] is np.ndarray)
                out.append(_Part(p, "group", self.k * (len(cols) + 1), columns=cols))
            elif dataclasses.is_dataclass(h):
                out.extend(self._parts(h, p))
            elif origin is tuple and args == (np.ndarray, np.ndarray):
                out.append(_Part(p, "profile", 3 * self.k))
        return out

    def _names(self, p: _Part, prefix: str = "") -> list[str]:
        base = prefix + ".".join(p.path)
        if p.kind == "num":
            return [base]
        if p.kind == "vocab":
            return [f"{base}={v}" for v in VOCAB[p.path[-1]]]
        if p.kind == "opt":
            names = [f"{base}?"]
            for s in p.sub:
                names += self._names(s, base + ("." if s.path else ""))
            return names
        if p.kind == "group":
            return [f"{base}[{i}].{c}" for i in range(self.k) for c in ("mask", *p.columns)]
        return [f"{base}[{i}].{c}" for i in range(self.k) for c in ("mask", "at", "value")]

    def flatten(self, obs: Any) -> np.ndarray:
        out = np.zeros(self.size)
        self._fill(self.parts, obs, out, 0)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=BIG, neginf=-BIG)
        np.clip(out, -BIG, BIG, out=out)
        return out

    def _fill(self, parts: list[_Part], obj: Any, out: np.ndarray, i: int) -> int:
        k = self.k
        for p in parts:
            v = obj
            for name in p.path:
                v = getattr(v, name)
            if p.kind == "num":
                out[i] = float(v)
            elif p.kind == "vocab":
                vocab = VOCAB[p.path[-1]]
                if v in vocab:
                    out[i + vocab.index(v)] = 1.0
            elif p.kind == "opt":
                if v is not None:
                    out[i] = 1.0
                    if p.sub[0].path:
                        self._fill(p.sub, v, out, i + 1)
                    else:
                        out[i + 1] = float(v)
            elif p.kind == "group":
                n = min(len(v), k)
                block = out[i : i + p.width].reshape(k, len(p.columns) + 1)
                block[:n, 0] = 1.0
                for c, col in enumerate(p.columns):
                    block[:n, c + 1] = np.asarray(getattr(v, col), dtype=float)[:n]
            elif p.kind == "profile":
                at, val = (np.asarray(a, dtype=float) for a in v)
                n = min(len(at), k)
                block = out[i : i + p.width].reshape(k, 3)
                block[:n, 0], block[:n, 1], block[:n, 2] = 1.0, at[:n], val[:n]
            i += p.width
        return i


def action_box(domain: str, briefing: Any) -> tuple[type, tuple[str, ...], np.ndarray, np.ndarray]:
    """(action type, its fields, low, high) of the continuous action the adapters expose for
    ``domain``: road acceleration and steering, rail demand, air targets (heading, airspeed,
    vertical rate), water speed and rudder; bounds from the entity's briefing."""
    b = briefing
    act_t = DOMAIN_TYPES[domain][2][0]
    if domain == "road":
        low = [-b.max_decel_mps2, -b.max_steer_rad]
        high = [b.max_accel_mps2, b.max_steer_rad]
        names: tuple[str, ...] = ("accel_mps2", "steer_rad")
    elif domain == "rail":
        low, high, names = [-1.0], [1.0], ("demand",)
    elif domain == "air":
        low = [-math.pi, b.min_speed_mps, -b.max_vertical_rate_mps]
        high = [math.pi, b.max_speed_mps, b.max_vertical_rate_mps]
        names = ("hdg_rad", "tas_mps", "vs_mps")
    elif domain == "water":
        low, high = [0.0, -b.max_rudder_rad], [b.max_speed_mps, b.max_rudder_rad]
        names = ("speed_mps", "rudder_rad")
    else:
        raise ValueError(f"no action space for domain {domain!r}")
    return act_t, names, np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)


@dataclass
class Reward:
    """Weights of the reward (see the module docstring)."""

    events: dict[str, float] = field(
        default_factory=lambda: {"collision": -100.0, "goal_reached": 10.0, "agent_fault": -10.0}
    )
    step: float = 0.0
    verdict: dict[str, float] = field(
        default_factory=lambda: {"pass": 10.0, "fail": -10.0, "error": -10.0}
    )
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: Reward | Mapping[str, Any] | None) -> Reward:
        if spec is None:
            return cls()
        if isinstance(spec, Reward):
            return spec
        unknown = set(spec) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(
                f"unknown reward keys {sorted(unknown)} (events, step, verdict, metrics)"
            )
        return cls(**dict(spec))

    def step_reward(self, events: list[Any], eid: str) -> float:
        return self.step + sum(self.events.get(e.kind, 0.0) for e in events if eid in e.entities)

    def final_reward(self, verdict: str, metrics: Mapping[str, Any]) -> float:
        r = self.verdict.get(verdict, 0.0)
        for name, w in self.metrics.items():
            mv = metrics.get(name)
            if mv is not None and mv.valid:
                r += w * float(np.clip(np.nan_to_num(mv.value, posinf=BIG, neginf=-BIG), -BIG, BIG))
        return r


class Episode:
    """A Session driven one control period at a time for the entities ``external``; every
    other controlled entity is driven by the scenario's own agent."""

    def __init__(
        self,
        path: str | Path,
        overrides: Mapping[str, Any] | None,
        external: tuple[str, ...] | None,
        max_objects: int,
    ) -> None:
        from sim.scenario.load import load_scenario

        self.loaded = load_scenario(path, dict(overrides or {}))
        sc = self.loaded.scenario
        controlled = [e for e in sc.entities if e.controlled]
        self.external = external or tuple(e.id for e in controlled)
        unknown = set(self.external) - {e.id for e in controlled}
        if unknown:
            raise ValueError(
                f"{path}: not controlled entities: {sorted(unknown)}; controlled: "
                f"{[e.id for e in controlled]}"
            )
        self.others = [e for e in controlled if e.id not in self.external]
        probe = self._session(sc.seed)  # briefings give the action bounds
        self.domains = {eid: probe.world.where[eid][0] for eid in self.external}
        self.layouts = {
            eid: ObsLayout(DOMAIN_TYPES[d][1], max_objects) for eid, d in self.domains.items()
        }
        self.boxes = {eid: action_box(d, probe.briefing(eid)) for eid, d in self.domains.items()}
        self.session = probe
        self._started = False

    def _session(self, seed: int) -> Any:
        from agents.loading import load_agent
        from sim.core.rollout import Session

        agents = {
            e.id: load_agent(e.agent, dict(e.agent_params), from_file=True) for e in self.others
        }
        return Session(self.loaded.scenario, agents, seed=seed, external=self.external)

    def pick_seed(self, seed: int | None, rng: np.random.Generator) -> int:
        """The run seed of the next episode: ``seed`` when given; else the scenario's for
        the first episode and a draw from ``rng`` (the env's generator) after that."""
        first, self._started = not self._started, True
        if seed is not None:
            return seed
        return self.loaded.scenario.seed if first else int(rng.integers(2**31 - 1))

    def reset(self, seed: int) -> dict[str, np.ndarray]:
        self.session.close()
        self.session = self._session(seed)
        self.session.start()
        return {eid: self.observe(eid) for eid in self.external}

    def observe(self, eid: str) -> np.ndarray:
        return self.layouts[eid].flatten(self.session.observe(eid))

    def to_action(self, eid: str, vector: Any) -> Any:
        act_t, names, _, _ = self.boxes[eid]
        v = np.asarray(vector, dtype=np.float64).reshape(-1)
        if v.size != len(names):
            raise ValueError(f"{eid}: action must have {len(names)} values {names}, got {v.size}")
        return act_t(**{n: float(x) for n, x in zip(names, v, strict=True)})

    def advance(self, actions: Mapping[str, Any]) -> list[Any]:
        """One control period; returns its events."""
        s = self.session
        acts = {eid: self.to_action(eid, a) for eid, a in actions.items()}
        events = s.step(acts)
        while not s.done and not s.control_due:
            events += s.step()
        return events

    def finish(self) -> tuple[str, dict[str, Any]]:
        """Verdict and metrics of the finished episode."""
        from metrics.criteria import evaluate, validity_problems
        from metrics.registry import RunData, compute_metrics

        res = self.session.result()
        values = compute_metrics(RunData(res.log, tuple(res.events)))
        sc = self.loaded.scenario
        verdict, _, _ = evaluate(
            sc.criteria, values, res.status, validity=validity_problems(sc, res.events)
        )
        return verdict, values
