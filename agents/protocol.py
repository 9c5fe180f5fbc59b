"""The Agent protocol: ``reset(briefing, *, rng)`` once, then ``act(observation)`` every
control period. Briefings, observations and actions are plain frozen dataclasses (numbers,
strings, tuples and read-only numpy arrays) so that they serialise to JSON for agents that
run in another process (``agents.wire.plain``).
"""

from __future__ import annotations

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

    # Optional: ``domains: tuple[str, ...]``, the domains the agent drives ("road", ...):
    # handing it an entity of another domain is then one clear error before the run.
    # Optional: ``close(self) -> None``, called once when the run ends (release resources).
    # Optional: ``planned_path(self) -> ndarray | None``, the (K, 2) world points the agent
    # means to follow; the first 16 are recorded after each act() and drawn by the viewer.


def frozen_array(values: Any, dtype: Any = float) -> np.ndarray:
    """A read-only copy, so an agent cannot write into the simulator's state."""
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr
