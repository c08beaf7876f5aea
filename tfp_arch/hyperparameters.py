"""Hyperparameter types: the type text of a declared hyperparameter as a `Kind` of plain values.

A type such as `Sequence[int]`, `int | None` or `Literal["relu", "tanh"]` (as written in an
architecture's declaration, `tfp_arch.declaration`, or in a constructor's annotations) becomes a
`Kind`, which checks a plain value (from `-p key=value`, from Python or from a config file) before
any model is built. Types are parsed as text, so no class need be imported. Standard library only.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass
from typing import Any

from tfp_arch.validation import ValidationError

__all__ = ["ANY", "HyperparameterError", "Kind", "kind_of", "parse_value"]

_SCALARS = {"int": "int", "float": "float", "str": "str", "bool": "bool", "None": "none", "NoneType": "none"}
_SEQUENCES = {"list", "List", "tuple", "Tuple", "Sequence", "MutableSequence", "Iterable", "Collection"}
_PYTHON_LITERALS = {"True": True, "False": False, "None": None}


class HyperparameterError(ValidationError):
    """A hyperparameter value of the wrong type or out of its declared range (a usage error)."""


@dataclass(frozen=True)
class Kind:
    """The plain values a hyperparameter accepts: a union of scalar kinds, lists and literal choices.

    Attributes:
        scalars: accepted scalar kinds among `int`, `float`, `str`, `bool`, `none`; `any` accepts all.
        item: the `Kind` of list items when lists are accepted, else None.
        choices: the allowed values of a `Literal[...]` annotation, else empty.
    """

    scalars: frozenset[str] = frozenset()
    item: Kind | None = None
    choices: tuple[Any, ...] = ()

    def __or__(self, other: Kind) -> Kind:
        item = self.item if other.item is None else other.item if self.item is None else self.item | other.item
        return Kind(self.scalars | other.scalars, item, self.choices + other.choices)

    def describe(self) -> str:
        """What the kind accepts, in words: `"a list of integers or null"`."""
        if "any" in self.scalars:
            return "any plain value"
        words = [
            _WORDS[s]
            for s in ("int", "float", "bool", "str")
            if s in self.scalars and not (s == "int" and "float" in self.scalars)
        ]
        if self.choices:
            words.append("one of " + ", ".join(json.dumps(c) for c in self.choices))
        if self.item is not None:
            words.append(f"a list of {_plural(self.item.describe())}")
        if "none" in self.scalars:
            words.append("null")
        return " or ".join(words) or "nothing"

    def accepts(self, value: Any) -> bool:
        """Whether `value` is of this kind (finite numbers only; a bool is not a number)."""
        if "any" in self.scalars:
            return True
        if value is None:
            return "none" in self.scalars
        if self.choices and any(value == c and type(value) is type(c) for c in self.choices):
            return True
        if isinstance(value, bool):
            return "bool" in self.scalars
        if isinstance(value, int):
            return bool({"int", "float"} & self.scalars)
        if isinstance(value, float):
            return "float" in self.scalars and math.isfinite(value)
        if isinstance(value, str):
            return "str" in self.scalars
        if isinstance(value, (list, tuple)):
            return self.item is not None and all(self.item.accepts(v) for v in value)
        return False

    def check(self, name: str, value: Any) -> Any:
        """`value` if accepted, else a `HyperparameterError` naming `name` and the value received."""
        if not self.accepts(value):
            hint = f" (e.g. [{value}])" if self.item is not None and self.item.accepts(value) else ""
            raise HyperparameterError(
                f"Invalid value for hyperparameter `{name}`: expected {self.describe()}{hint}. "
                f"Received: {name}={_show(value)}"
            )
        return list(value) if isinstance(value, tuple) else value

    def accepts_text(self) -> bool:
        """Whether a bare string is a valid value."""
        return bool({"str", "any"} & self.scalars)


ANY = Kind(frozenset({"any"}))

_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}


def _plural(text: str) -> str:
    for singular, plural in (
        ("an integer", "integers"),
        ("a number", "numbers"),
        ("a string", "strings"),
        ("true or false", "booleans"),
        ("any plain value", "plain values"),
    ):
        text = text.replace(singular, plural)
    return text


def _show(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _kind(node: ast.AST) -> Kind:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return Kind(frozenset({"none"}))
        if isinstance(node.value, str):
            return kind_of(node.value)
        return ANY
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _kind(node.left) | _kind(node.right)
    name = _name(node)
    if name is not None:
        if name in _SCALARS:
            return Kind(frozenset({_SCALARS[name]}))
        return Kind(item=ANY) if name in _SEQUENCES else ANY
    if isinstance(node, ast.Subscript):
        outer = _name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Optional":
            return _kind(args[0]) | Kind(frozenset({"none"}))
        if outer == "Union":
            result = Kind()
            for arg in args:
                result = result | _kind(arg)
            return result
        if outer == "Literal":
            values = tuple(a.value for a in args if isinstance(a, ast.Constant))
            return Kind(choices=values) if len(values) == len(args) else ANY
        if outer in _SEQUENCES:
            items = [a for a in args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
            item = Kind()
            for arg in items:
                item = item | _kind(arg)
            return Kind(item=item if items else ANY)
    return ANY


def kind_of(annotation: str | None) -> Kind:
    """The `Kind` an annotation (as source text) declares; unknown or missing annotations accept anything.

    Example:
        >>> kind_of("Sequence[int] | None").describe()
        'a list of integers or null'
    """
    if not annotation:
        return ANY
    try:
        tree = ast.parse(annotation, mode="eval")
    except SyntaxError:
        return ANY
    return _kind(tree.body)


def parse_value(text: str, kind: Kind = ANY) -> Any:
    """A `-p key=value` value: JSON (or Python's True/False/None), else the text itself as a string.

    When the JSON reading is not of the declared `kind` but a string is, the text is kept as it is
    (`-p activation=null` for a string hyperparameter is the string "null").
    """
    text = text.strip()
    if text in _PYTHON_LITERALS:
        value = _PYTHON_LITERALS[text]
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text
    if not kind.accepts(value) and kind.accepts_text():
        return text
    return value
