"""OpenSCENARIO 1.x parameters: ``$name`` references and ``${...}`` expressions.

The expression grammar of ASAM OpenSCENARIO 1.1+ (section "Expressions"): numbers,
``$parameter`` references, ``+ - * / %``, unary minus, parentheses, the functions ``round``,
``floor``, ``ceil``, ``sqrt``, ``pow`` (and, from 1.2, ``sin cos tan asin acos atan sign abs
max min``), the literals ``true``/``false`` and ``not``/``and``/``or``. Evaluated by a small
recursive-descent parser: nothing in a file is ever passed to ``eval``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<par>\$[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[-+*/%(),]))"
)
FUNCTIONS: dict[str, tuple[int, Callable[..., float]]] = {
    "round": (1, lambda x: math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)),
    "floor": (1, math.floor),
    "ceil": (1, math.ceil),
    "sqrt": (1, math.sqrt),
    "pow": (2, math.pow),
    "sin": (1, math.sin),
    "cos": (1, math.cos),
    "tan": (1, math.tan),
    "asin": (1, math.asin),
    "acos": (1, math.acos),
    "atan": (1, math.atan),
    "sign": (1, lambda x: float((x > 0) - (x < 0))),
    "abs": (1, abs),
    "max": (2, max),
    "min": (2, min),
}
MAX_LENGTH = 2000


class ExprError(ValueError):
    """An expression or reference that cannot be evaluated (the message says why)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"unexpected '{text[pos:].strip()[:10]}' in '{text}'")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def evaluate(text: str, params: Mapping[str, Any]) -> Any:
    """Value of the expression inside ``${...}``."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    toks = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def take(value: str | None = None) -> tuple[str, str]:
        nonlocal pos
        tok = peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ExprError(f"expected '{value or 'a value'}' in '{text}'")
        pos += 1
        return tok

    def number(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ExprError(f"'{v}' is not a number in '{text}'")
        return float(v)

    def atom() -> Any:
        kind, val = take()
        if kind == "num":
            return float(val)
        if kind == "par":
            return reference(val[1:], params)
        if kind == "op" and val == "(":
            v = disjunction()
            take(")")
            return v
        if kind == "op" and val == "-":
            return -number(atom())
        if kind == "name":
            if val in ("true", "false"):
                return val == "true"
            if val == "not":
                return not truth(atom())
            if val in FUNCTIONS:
                arity, fn = FUNCTIONS[val]
                take("(")
                args = [number(disjunction())]
                while len(args) < arity:
                    take(",")
                    args.append(number(disjunction()))
                take(")")
                try:
                    return float(fn(*args))
                except (ValueError, OverflowError) as exc:
                    raise ExprError(f"{val}({', '.join(f'{a:g}' for a in args)}): {exc}") from None
            raise ExprError(f"unknown function or name '{val}' in '{text}'")
        raise ExprError(f"unexpected '{val}' in '{text}'")

    def truth(v: Any) -> bool:
        return bool(v)

    def term() -> Any:
        v = atom()
        while (tok := peek()) is not None and tok[1] in ("*", "/", "%"):
            take()
            rhs = number(atom())
            lhs = number(v)
            if tok[1] == "*":
                v = lhs * rhs
            elif rhs == 0:
                raise ExprError(f"division by zero in '{text}'")
            else:
                v = lhs / rhs if tok[1] == "/" else math.fmod(lhs, rhs)
        return v

    def arith() -> Any:
        v = term()
        while (tok := peek()) is not None and tok[1] in ("+", "-"):
            take()
            rhs = number(term())
            v = number(v) + rhs if tok[1] == "+" else number(v) - rhs
        return v

    def conjunction() -> Any:
        v = arith()
        while (tok := peek()) is not None and tok[1] == "and":
            take()
            rhs = truth(arith())  # parsed before combining: no short circuit on tokens
            v = truth(v) and rhs
        return v

    def disjunction() -> Any:
        v = conjunction()
        while (tok := peek()) is not None and tok[1] == "or":
            take()
            rhs = truth(conjunction())
            v = truth(v) or rhs
        return v

    if not toks:
        raise ExprError("empty expression")
    try:
        value = disjunction()
    except RecursionError:
        raise ExprError(f"nested too deeply: '{text[:40]}...'") from None
    if pos != len(toks):
        raise ExprError(f"unexpected '{toks[pos][1]}' in '{text}'")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExprError(f"'{text}' is not finite")
    return value


def reference(name: str, params: Mapping[str, Any]) -> Any:
    if name not in params:
        raise ExprError(f"no parameter '{name}' is declared")
    return params[name]


def resolve(raw: str, params: Mapping[str, Any]) -> Any:
    """An attribute's value: ``${expr}`` evaluated, ``$name`` looked up, else the text."""
    text = raw.strip()
    if text.startswith("${") and text.endswith("}"):
        return evaluate(text[2:-1], params)
    if text.startswith("$"):
        return reference(text[1:], params)
    return raw
