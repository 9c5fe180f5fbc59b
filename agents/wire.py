"""The Proving Ground agent protocol on the wire (docs/agent-protocol.md).

Messages are JSON objects, one per line (NDJSON), or MessagePack maps each behind a 4-byte
big-endian length when the agent asks for ``"framing": "msgpack"`` in its hello. Briefings
and observations are the domain's dataclasses as plain objects; numbers that are NaN or
infinite travel as ``null`` (JSON has no NaN), meaning unknown, not applicable or unbounded.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import struct
from typing import Any

import numpy as np

from agents.air.types import AirAction, AirBriefing, AirObservation, AirRateAction
from agents.rail.types import RailAction, RailBriefing, RailObservation
from agents.road.types import RoadAction, RoadBriefing, RoadObservation
from agents.water.types import WaterAction, WaterBriefing, WaterObservation

PROTOCOL_VERSION = 1
FRAMINGS = ("json", "msgpack")
#: Largest message either side may send (bytes); more is a 'malformed' fault (a flood).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

#: Per domain: (briefing, observation, action types). The first action type is the default.
DOMAIN_TYPES: dict[str, tuple[type, type, tuple[type, ...]]] = {
    "road": (RoadBriefing, RoadObservation, (RoadAction,)),
    "rail": (RailBriefing, RailObservation, (RailAction,)),
    "air": (AirBriefing, AirObservation, (AirAction, AirRateAction)),
    "water": (WaterBriefing, WaterObservation, (WaterAction,)),
}


def domain_of(briefing: Any) -> str:
    """The domain whose agent gets ``briefing`` (by its type)."""
    for name, (brief_t, _, _) in DOMAIN_TYPES.items():
        if isinstance(briefing, brief_t):
            return name
    raise TypeError(f"no wire format for briefings of type {type(briefing).__name__}")


def required_numbers(domain: str) -> set[str]:
    """Action fields of ``domain`` that must be numbers (not optional): a ``null`` there
    stands for NaN, in an optional field for 'not given'."""
    import typing

    out = set()
    for t in DOMAIN_TYPES[domain][2]:
        hints = typing.get_type_hints(t)
        out |= {f.name for f in dataclasses.fields(t) if hints[f.name] is float}
    return out


def action_fields(domain: str) -> dict[str, set[str]]:
    """Action type name -> its field names, for ``domain``."""
    return {t.__name__: {f.name for f in dataclasses.fields(t)} for t in DOMAIN_TYPES[domain][2]}


def plain(obj: Any) -> Any:
    """JSON/MessagePack-ready copy: dataclasses become objects, arrays lists, NaN/inf null."""
    t = type(obj)
    if t is float:
        return obj if math.isfinite(obj) else None
    if t in (int, str, bool) or obj is None:
        return obj
    names = _FIELDS.get(t)
    if names is not None:
        return {n: plain(getattr(obj, n)) for n in names}
    if t is np.ndarray:
        if obj.dtype.kind == "f" and not np.isfinite(obj).all():
            return [v if math.isfinite(v) else None for v in obj.tolist()]
        return obj.tolist()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        _FIELDS[t] = tuple(f.name for f in dataclasses.fields(obj))
        return plain(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


_FIELDS: dict[type, tuple[str, ...]] = {}


class Codec:
    """Encodes and decodes whole frames in one framing."""

    def __init__(self, framing: str = "json") -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"unknown framing {framing!r} (known: {', '.join(FRAMINGS)})")
        self.framing = framing
        if framing == "msgpack":
            import msgpack

            self._pack = msgpack.Packer(use_bin_type=True).pack
            self._unpack = msgpack.unpackb

    def encode(self, msg: dict[str, Any]) -> bytes:
        if self.framing == "json":
            return json.dumps(msg, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        body = self._pack(msg)
        return struct.pack(">I", len(body)) + body

    def split(self, buf: bytearray) -> bytes | None:
        """Remove and return one complete frame body from ``buf`` (None: need more bytes).
        Raises ValueError on a frame over MAX_MESSAGE_BYTES."""
        if self.framing == "json":
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > MAX_MESSAGE_BYTES:
                    raise ValueError(f"a line of over {MAX_MESSAGE_BYTES} bytes")
                return None
            body = bytes(buf[:end])
            del buf[: end + 1]
            return body
        if len(buf) < 4:
            return None
        (n,) = struct.unpack(">I", buf[:4])
        if n > MAX_MESSAGE_BYTES:
            raise ValueError(f"a frame of {n} bytes (limit {MAX_MESSAGE_BYTES})")
        if len(buf) < 4 + n:
            return None
        body = bytes(buf[4 : 4 + n])
        del buf[: 4 + n]
        return body

    def decode(self, body: bytes) -> Any:
        """The message in ``body``; ValueError when it is not valid JSON/MessagePack."""
        if self.framing == "json":
            try:
                return json.loads(body)
            except RecursionError:  # nesting deeper than the parser recurses
                raise ValueError("nested too deeply") from None
        try:
            return self._unpack(body, raw=False, strict_map_key=False)
        except Exception as exc:
            raise ValueError(f"not MessagePack: {exc}") from None


def from_plain(cls: Any, data: Any) -> Any:
    """Rebuild a briefing/observation dataclass from its plain form (the agent side of
    :func:`plain`): arrays come back read-only, ``null`` in number fields as NaN."""
    return _converter(cls)(data)


@functools.cache
def _converter(tp: Any) -> Any:
    """A function plain data -> value of type ``tp`` (built once per type)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        fields = [(f.name, _converter(hints[f.name])) for f in dataclasses.fields(tp)]

        def build(data: Any) -> Any:
            if not isinstance(data, dict):
                raise ValueError(f"{tp.__name__}: expected an object, got {type(data).__name__}")
            return tp(**{n: conv(data.get(n)) for n, conv in fields})

        return build
    if origin in (typing.Union, types.UnionType):
        inner = _converter(next(a for a in typing.get_args(tp) if a is not type(None)))
        return lambda data: None if data is None else inner(data)
    if tp is np.ndarray:
        return _array
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            return lambda data: tuple(item(v) for v in (data or ()))
        convs = [_converter(a) for a in args]
        return lambda data: tuple(c(v) for c, v in zip(convs, data, strict=True))
    if tp is float:
        return lambda data: float("nan") if data is None else float(data)
    if tp in (int, bool, str):
        return tp
    return lambda data: data


def _array(data: Any) -> np.ndarray:
    vals = data or []
    if None in vals:
        arr = np.array([np.nan if v is None else v for v in vals], dtype=float)
    else:
        arr = np.array(vals, dtype=None if vals else float)
    arr.setflags(write=False)
    return arr
