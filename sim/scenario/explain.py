"""Validation errors in the words of the file: which field, what form it wants (with a
one-line example of that form), what it got, and the nearest allowed name for a misspelt one.

pydantic's own wording ("Input should be a valid dictionary or instance of Position") names
classes of this code base; a file's author needs the shape: "expected a mapping like {x, y}".
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, WithJsonSchema
from pydantic.fields import FieldInfo

from sim.errors import short_repr, suggest

Loc = tuple[str | int, ...]

#: pydantic error kinds that mean "not the right shape": the message shows the shape wanted.
_SHAPE = {
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "iterable_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
#: Scalar kinds in plain words (pydantic's add "unable to parse string as …").
_SCALAR = {
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
}
_EXAMPLE = re.compile(r"e\.g\. '([^']+)'")
_LEADING_FIELD = re.compile(r"^([a-z_][a-z0-9_]*)(:\s*|\s)")


def explain(model: type[BaseModel], err: Any) -> tuple[Loc, str]:
    """The location to report and the message for one pydantic error of ``model``."""
    kind, loc, got = err["type"], tuple(err["loc"]), err.get("input")
    if kind == "extra_forbidden":
        allowed = fields_at(model, loc[:-1])
        hint = suggest(str(loc[-1]), allowed) if allowed else ""
        listing = f" Allowed: {', '.join(allowed)}" if allowed else ""
        return loc, f"unknown field '{loc[-1]}'.{hint}{listing}"
    if kind == "missing":
        form = _form(annotation_at(model, loc))
        return loc, f"required field is missing (e.g. {loc[-1]}: {form})" if form else (
            "required field is missing"
        )
    if kind in _SHAPE:
        form = _form(annotation_at(model, loc))
        like = f" like {form}" if form else ""
        return loc, f"expected {_SHAPE[kind]}{like}; got {short_repr(got)}"
    if kind in _SCALAR:
        return loc, f"expected {_SCALAR[kind]}; got {short_repr(got)}"
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    msg = msg.replace("Input should be", "must be")
    if isinstance(got, dict):
        # a check of the whole mapping: report it at the field it names first, if any
        m = _LEADING_FIELD.match(msg)
        if m and m.group(1) in fields_at(model, loc):
            loc, msg = (*loc, m.group(1)), msg[m.end() :]  # the field is in the location
        shown = short_repr(got)
        if shown.endswith("…") or len(repr(got)) > len(shown) or not loc:
            return loc, msg  # the line points at it; a truncated dump only adds noise
    if "got" in msg:
        return loc, msg
    return loc, f"{msg}; got {short_repr(got)}"


def fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """Field names allowed at ``loc`` inside ``model`` (for 'did you mean'): of every model
    an optional or union field there may hold."""
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return []
    names: list[str] = []
    for option in _options(current):
        if isinstance(option, type) and issubclass(option, BaseModel):
            names += [f for f in option.model_fields if f not in names]
    return names


def annotation_at(model: type[BaseModel], loc: Loc) -> Any:
    """The declared type at ``loc`` inside ``model`` (None where it cannot be followed)."""
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return None
    return current


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _options(tp: Any) -> list[Any]:
    """The non-None members of a union (or ``[tp]``), without Annotated wrappers."""
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [_strip(a) for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _descend(tp: Any, part: str | int) -> Any:
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = _options(tp)
        for opt in options:
            if isinstance(opt, type) and issubclass(opt, BaseModel):
                if part == opt.__name__:
                    return opt  # pydantic names the union member it tried
                tag = opt.model_fields.get("domain") or opt.model_fields.get("type")
                if tag is not None and part in typing.get_args(tag.annotation):
                    return opt  # pydantic puts a discriminated union's tag in the loc
        for opt in options:
            found = _descend(opt, part)
            if found is not None:
                return found
        return None
    if origin in (list, tuple) and isinstance(part, int):
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
        f = tp.model_fields.get(part)
        return _declared(f) if f is not None else None
    return None


def _declared(f: FieldInfo) -> Any:
    """A field's type with its Annotated metadata (a quantity's example), which pydantic
    keeps apart from ``annotation``."""
    return typing.Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation


def _example(tp: Any) -> str | None:
    """A quantity type's example ('60 km/h'), from the description its schema carries."""
    if typing.get_origin(tp) is not typing.Annotated:
        return None
    for meta in typing.get_args(tp)[1:]:
        if isinstance(meta, WithJsonSchema) and isinstance(meta.json_schema, dict):
            if meta.json_schema.get("x-example"):
                return str(meta.json_schema["x-example"])
            m = _EXAMPLE.search(str(meta.json_schema.get("description", "")))
            if m:
                return m.group(1)
    return None


def _form(tp: Any, depth: int = 0) -> str:
    """A one-line example of the form ``tp`` takes: ``[{at: 0 m, speed: 60 km/h}, …]``,
    ``{x, y}``, ``60 km/h``; empty where nothing useful can be said."""
    if tp is None or depth > 2:
        return ""
    example = _example(tp)
    if example:
        return example
    options = _options(tp)
    if len(options) > 1:
        forms = [f for f in (_form(o, depth) for o in options) if f]
        return " or ".join(dict.fromkeys(forms[:2]))
    tp = options[0]
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return str(typing.get_args(tp)[0])
    if origin in (list, tuple, set, frozenset):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        inner = _form(args[0], depth + 1) if args else ""
        return f"[{inner}, …]" if inner else "[…]"
    if origin is dict:
        args = typing.get_args(tp)
        inner = _form(args[1], depth + 1) if len(args) == 2 else ""
        return f"{{name: {inner}}}" if inner else "{name: value}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        extra = tp.model_config.get("json_schema_extra")
        if isinstance(extra, dict) and extra.get("examples"):
            return _flow(extra["examples"][0])  # the model's own example says it best
        fields = tp.model_fields
        shown = [n for n, f in fields.items() if f.is_required()] or list(fields)[:2]
        values = [_example(_declared(fields[n])) for n in shown]
        if all(values):
            return "{" + ", ".join(f"{n}: {v}" for n, v in zip(shown, values, strict=True)) + "}"
        return "{" + ", ".join(shown) + "}"
    if tp is bool:
        return "true"
    if tp is int:
        return "3"
    if tp is float:
        return "1.5"
    if tp is str:
        return "text"
    return ""


def _flow(value: Any) -> str:
    """``value`` as one line of YAML flow style: ``{line: 200 m}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value)
