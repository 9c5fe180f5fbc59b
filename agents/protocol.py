"""The Agent protocol: ``reset(briefing, *, rng)`` once, then ``act(observation)`` every
control period. Briefings, observations and actions are plain frozen dataclasses (numbers,
strings, tuples and read-only numpy arrays) so that they serialise to JSON for agents that
run in another process.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Agent(Protocol):
    """A controller under test. ``name`` and ``version`` go into every manifest."""

    name: str
    version: str

    def reset(self, briefing: Any, *, rng: np.random.Generator) -> None:
        """Start of a run: the static brief (the entity, its limits, route and goal)."""
        ...

    def act(self, obs: Any) -> Any:
        """One decision from what the sensors report now."""
        ...

    # Optional: ``close(self) -> None``, called once when the run ends (release resources).
    # Optional: ``planned_path(self) -> ndarray | None``, the (K, 2) world points the agent
    # means to follow; the first 16 are recorded after each act() and drawn by the viewer.


def to_plain(obj: Any) -> Any:
    """JSON-ready view of a briefing/observation/action (arrays become lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    return obj


def frozen_array(values: Any, dtype: Any = float) -> np.ndarray:
    """A read-only copy, so an agent cannot write into the simulator's state."""
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr
