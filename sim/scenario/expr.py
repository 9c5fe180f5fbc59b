"""A tiny, safe expression language over named parameters (parsed with ``ast``, never ``eval``).

Grammar: numbers, parameter names, ``+ - * / % **``, unary ``-``/``+``, parentheses, comparisons
(``< <= > >= == !=``, chained), ``and``/``or``/``not`` and the functions ``min``, ``max``,
``abs``, ``sqrt``. Values are SI floats.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping

from sim.errors import suggest

_BIN: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMP: dict[type, Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "sqrt": math.sqrt,
    "sin": math.sin,  # radians: angle parameters are stored in radians
    "cos": math.cos,
    "hypot": math.hypot,
}


#: How many arguments each function takes (min, max): min/max need two or more.
_ARITY = {
    "min": (2, 64),
    "max": (2, 64),
    "abs": (1, 1),
    "sqrt": (1, 1),
    "sin": (1, 1),
    "cos": (1, 1),
    "hypot": (1, 64),
}
#: An expression in a scenario file is a formula, not a program.
MAX_LENGTH = 1000
MAX_DEPTH = 50


class ExpressionError(ValueError):
    """The expression is not in the language, or names an unknown parameter."""


def names(text: str) -> set[str]:
    """Parameter names an expression refers to."""
    tree = _parse(text)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCS}


def evaluate(text: str, values: Mapping[str, float]) -> float | bool:
    """Evaluate ``text`` with ``values`` bound to its names."""
    return _eval(_parse(text).body, values, text)


def _parse(text: str) -> ast.Expression:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression of {len(text)} characters (at most {MAX_LENGTH})")
    if text.count("(") > MAX_DEPTH:
        raise ExpressionError(f"expression with more than {MAX_DEPTH} parentheses")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression {text!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression {text[:40]!r}… is too deep to evaluate") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"expression {text[:40]!r}… nests more than {MAX_DEPTH} levels")
    return tree


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(node))
    return deepest


def _eval(node: ast.AST, values: Mapping[str, float], text: str) -> float | bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ExpressionError(f"booleans are not allowed in {text!r}")
        try:
            return float(node.value)
        except OverflowError:  # an integer literal of hundreds of digits
            raise ExpressionError(f"{text[:40]!r}…: a number too large for a float") from None
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise ExpressionError(
                f"unknown parameter '{node.id}' in {text!r}.{suggest(node.id, values)}"
                f" Known: {', '.join(sorted(values)) or 'none'}"
            )
        return values[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = _eval(node.left, values, text), _eval(node.right, values, text)
        try:
            return _BIN[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero in {text!r}") from None
        except (OverflowError, ValueError):
            raise ExpressionError(f"{text!r}: the result is out of range") from None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
        v = _eval(node.operand, values, text)
        if isinstance(node.op, ast.Not):
            return not v
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values, text)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, values, text)
            if type(op) not in _CMP or not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BoolOp):
        results = [bool(_eval(v, values, text)) for v in node.values]
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCS
        and not node.keywords
    ):
        name = node.func.id
        lo, hi = _ARITY[name]
        if not lo <= len(node.args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} or more"
            raise ExpressionError(
                f"{name}() takes {want} argument{'s' if hi > 1 else ''}, got "
                f"{len(node.args)} in {text!r}"
            )
        args = [_eval(a, values, text) for a in node.args]
        try:
            return float(_FUNCS[name](*args))
        except (ValueError, OverflowError):
            raise ExpressionError(
                f"{name}({', '.join(f'{a:g}' for a in args)}) is not defined (in {text!r})"
            ) from None
    raise ExpressionError(
        f"{text!r} uses {type(node).__name__}, which is not allowed: only numbers, parameter "
        "names, arithmetic, comparisons, and/or/not and min/max/abs/sqrt"
    )
