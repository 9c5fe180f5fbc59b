"""Events: something that happened at a tick, to named entities, with details.

Kinds: collision, offroad, lane_departure, red_light, speed_limit, goal_reached, agent_fault,
action_clipped, manoeuvre."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any


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


def json_ready(v: Any) -> Any:
    """``v`` with non-finite floats as the strings "inf", "-inf", "nan" (JSON has none of
    them; ``float()`` reads them back), recursively through dicts, lists and tuples."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {k: json_ready(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_ready(x) for x in v]
    return v


def _plain(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")
