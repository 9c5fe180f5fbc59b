"""The metric registry: each metric is a small spec (name, version, unit, domains, source)
around a pure function of the recorded run. Built-ins register explicitly at import."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sim.core.events import Event
from sim.core.log import RunLog


@dataclass(frozen=True)
class MetricValue:
    """A metric's value; ``valid`` is False where the metric does not apply (e.g. no goal)."""

    value: float
    valid: bool = True
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunData:
    """What metrics read: the log arrays, the events, and the log's metadata."""

    log: RunLog
    events: tuple[Event, ...]

    @cached_property
    def cache(self) -> dict[str, Any]:
        """Intermediate results several metrics share (e.g. the road lead series)."""
        return {}

    @cached_property
    def controlled(self) -> dict[str, list[int]]:
        """Domain -> slots of controlled entities."""
        return {
            d: [i for i, c in enumerate(info["controlled"]) if c]
            for d, info in self.log.meta["domains"].items()
        }

    @cached_property
    def controlled_ids(self) -> set[str]:
        return {
            info["ids"][i]
            for d, info in self.log.meta["domains"].items()
            for i in self.controlled[d]
        }

    def events_of(self, kind: str, *, controlled: bool = True) -> list[Event]:
        return [
            e
            for e in self.events
            if e.kind == kind
            and (not controlled or any(x in self.controlled_ids for x in e.entities))
        ]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    version: int
    unit: str
    domains: tuple[str, ...]  # () = any domain
    fn: Callable[[RunData], MetricValue]
    summary: str
    source: str
    notes: str = ""  # a definition shared by several metrics (e.g. the road lead)

    @property
    def doc(self) -> str:
        doc = inspect.cleandoc(self.fn.__doc__ or "")
        return f"{doc}\n\n{inspect.cleandoc(self.notes)}" if self.notes else doc


METRICS: dict[str, MetricSpec] = {}

#: A sentence ends at . ! or ? before a capital letter or an opening bracket ("e.g. the"
#: does not end one).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring's first paragraph, joined onto one line (the
    first line alone cut definitions mid-sentence in `pground metrics`)."""
    paragraph = inspect.cleandoc(doc or "").split("\n\n")[0]
    return _SENTENCE_END.split(" ".join(paragraph.split()), maxsplit=1)[0]


def metric(
    name: str,
    *,
    unit: str,
    version: int = 1,
    domains: tuple[str, ...] = (),
    source: str,
    notes: str = "",
) -> Callable[[Callable[[RunData], MetricValue]], Callable[[RunData], MetricValue]]:
    """Register ``fn`` as metric ``name``; its docstring's first sentence is the summary and
    ``notes`` (a definition several metrics share) is appended to its definition."""

    def wrap(fn: Callable[[RunData], MetricValue]) -> Callable[[RunData], MetricValue]:
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        summary = first_sentence(fn.__doc__) or name
        METRICS[name] = MetricSpec(name, version, unit, domains, fn, summary, source, notes)
        return fn

    return wrap


def compute_metrics(run: RunData) -> dict[str, MetricValue]:
    """Every registered metric that applies to the domains present in ``run``."""
    present = set(run.log.meta["domains"])
    out: dict[str, MetricValue] = {}
    for name in sorted(METRICS):
        spec = METRICS[name]
        if spec.domains and not present.intersection(spec.domains):
            continue
        value = spec.fn(run)
        if isinstance(value.value, float) and math.isnan(value.value):
            value = MetricValue(value.value, False, value.details)
        out[name] = value
    return out


# built-in metrics register themselves on import
from metrics import air as _air  # noqa: E402,F401
from metrics import common as _common  # noqa: E402,F401
from metrics import faults as _faults  # noqa: E402,F401
from metrics import rail as _rail  # noqa: E402,F401
from metrics import road as _road  # noqa: E402,F401
from metrics import sensors as _sensors  # noqa: E402,F401
from metrics import water as _water  # noqa: E402,F401
