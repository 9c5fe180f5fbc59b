"""JSON Schemas (draft 2020-12) of every agent-protocol message, generated from the domain's
briefing, observation and action dataclasses so that documentation and code cannot drift.

``python -m agents.schemas docs/schemas`` writes one file per message; a test checks the
committed files against this generator and validates real messages with them.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from agents.wire import DOMAIN_TYPES, FRAMINGS, PROTOCOL_VERSION

DIALECT = "https://json-schema.org/draft/2020-12/schema"
NUMBER = {"type": ["number", "null"]}  # null: NaN or infinite (unknown / unbounded)


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        # qualified by domain: road and air both have an OwnState
        key = f"{tp.__module__.split('.')[-2]}.{tp.__name__}"
        if key not in defs:
            defs[key] = {}  # placeholder against recursion
            hints = typing.get_type_hints(tp)
            fields = dataclasses.fields(tp)
            doc = (tp.__doc__ or "").strip().split("\n\n")[0]
            defs[key] = {
                "type": "object",
                **({"description": " ".join(doc.split())} if doc else {}),
                "properties": {f.name: _schema(hints[f.name], defs) for f in fields},
                "required": [f.name for f in fields],
            }
        return {"$ref": f"#/$defs/{key}"}
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        inner = [_schema(a, defs) for a in args if a is not type(None)]
        if type(None) in args:
            inner.append({"type": "null"})
        return inner[0] if len(inner) == 1 else {"anyOf": inner}
    if tp is np.ndarray:
        return {"type": "array", "items": {"type": ["number", "boolean", "null"]}}
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _schema(args[0], defs)}
        return {
            "type": "array",
            "prefixItems": [_schema(a, defs) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin is dict or tp is dict:
        return {"type": "object"}
    if tp is float:
        return dict(NUMBER)
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is str:
        return {"type": "string"}
    return {}


def _action_schema(tp: type) -> dict[str, Any]:
    """An action object: numbers only (null in an optional field means 'not given')."""
    hints = typing.get_type_hints(tp)
    props = {}
    required = []
    for f in dataclasses.fields(tp):
        optional = type(None) in typing.get_args(hints[f.name])
        props[f.name] = {"type": ["number", "null"]} if optional else {"type": "number"}
        if not optional:
            required.append(f.name)
    doc = " ".join((tp.__doc__ or "").split())
    return {
        "type": "object",
        "title": tp.__name__,
        "description": doc,
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def message_schemas() -> dict[str, dict[str, Any]]:
    """Message type -> its JSON Schema."""
    domains = sorted(DOMAIN_TYPES)

    def doc(
        name: str,
        description: str,
        props: dict[str, Any],
        required: list[str],
        defs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "$schema": DIALECT,
            "$id": f"https://proving-ground.dev/schemas/agent-protocol/v{PROTOCOL_VERSION}/{name}.json",
            "title": f"agent protocol v{PROTOCOL_VERSION}: {name}",
            "description": description,
            "type": "object",
            "properties": {"type": {"const": name}, **props},
            "required": ["type", *required],
        }
        if defs:
            out["$defs"] = defs
        return out

    brief_defs: dict[str, Any] = {}
    briefs = [_schema(DOMAIN_TYPES[d][0], brief_defs) for d in domains]
    obs_defs: dict[str, Any] = {}
    observations = [_schema(DOMAIN_TYPES[d][1], obs_defs) for d in domains]
    actions = [_action_schema(t) for d in domains for t in DOMAIN_TYPES[d][2]]
    proto = {"const": PROTOCOL_VERSION}
    return {
        "hello": doc(
            "hello",
            "Agent -> simulator, first thing on start-up: who it is and which framing it "
            "wants for every later message.",
            {
                "protocol": proto,
                "name": {"type": "string"},
                "version": {"type": "string"},
                "framing": {"enum": list(FRAMINGS), "default": "json"},
            },
            ["protocol", "name", "version"],
        ),
        "reset": doc(
            "reset",
            "Simulator -> agent, once per run: the static briefing of the entity it controls "
            "and the seed of its random generator.",
            {
                "protocol": proto,
                "domain": {"enum": domains},
                "entity": {"type": "string"},
                "seed": {"type": "integer", "minimum": 0},
                "briefing": {"anyOf": briefs},
            },
            ["protocol", "domain", "entity", "seed", "briefing"],
            brief_defs,
        ),
        "ready": doc("ready", "Agent -> simulator: the reset is done.", {}, []),
        "step": doc(
            "step",
            "Simulator -> agent, every control period: what the sensors report now.",
            {"seq": {"type": "integer", "minimum": 1}, "observation": {"anyOf": observations}},
            ["seq", "observation"],
            obs_defs,
        ),
        "action": doc(
            "action",
            "Agent -> simulator, the answer to step 'seq' (within the deadline). 'plan' "
            "(optional): up to 16 world points [x, y] the agent means to follow (drawn by "
            "the viewer).",
            {
                "seq": {"type": "integer", "minimum": 1},
                "action": {"anyOf": actions},
                "plan": {
                    "type": "array",
                    "items": {
                        "type": "array",
                        "prefixItems": [NUMBER, NUMBER],
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
            },
            ["seq", "action"],
        ),
        "close": doc(
            "close",
            "Simulator -> agent: the run is over; exit (the process group is killed 1 s later).",
            {"reason": {"type": "string"}},
            [],
        ),
    }


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, schema in message_schemas().items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2) + "\n")
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(p)
