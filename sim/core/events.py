"""Events: something that happened at a tick, to named entities, with details."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

EVENT_KINDS = (
    "collision",
    "offroad",
    "lane_departure",
    "red_light",
    "speed_limit",
    "goal_reached",
    "agent_fault",
    "action_clipped",
    "manoeuvre",
)


@dataclass(frozen=True)
class Event:
    """One event. ``entities`` are entity ids; ``details`` is JSON-serialisable (SI units)."""

    tick: int
    time_s: float
    kind: str
    entities: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=_plain)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        return cls(d["tick"], d["time_s"], d["kind"], tuple(d["entities"]), d.get("details", {}))


def _plain(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")
