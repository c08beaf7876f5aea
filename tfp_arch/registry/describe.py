"""What an architecture is and which hyperparameters it takes, with or without importing it.

The declaration is the class itself: class attributes (`summary`, `task`, `default_data`, ...) and the
keyword arguments of `__init__` along the class hierarchy up to `tfp_arch.Architecture` (whose
`learning_rate` and `optimizer` every architecture inherits). `describe_class` reads a loaded class
with `inspect`; `describe_source` reads the same facts from the plugin's source files with `ast`,
without executing them, so `tfp-arch info` and the CLI's checks need no TensorFlow. The static reader
follows `from X import Y` re-exports and base classes through their modules; it accepts literal values
and simple constant expressions (`math.log(1000.0)`), and raises `StaticReadError` for anything else,
in which case the caller imports the class instead.
"""

from __future__ import annotations

import ast
import inspect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfp_arch.registry.entries import find_module_spec
from tfp_arch.registry.hyperparameters import HyperparameterError, Kind, kind_of

__all__ = [
    "BASE_CLASS",
    "Description",
    "Hyperparameter",
    "StaticReadError",
    "describe_class",
    "describe_source",
    "registered_name",
]

BASE_CLASS = ("tfp_arch.architecture", "Architecture")
ATTRIBUTES = {
    "architecture_name": "",
    "summary": "",
    "task": "supervised",
    "default_data": "",
    "default_epochs": 10,
    "default_batch_size": 32,
    "capabilities": (),
}


class StaticReadError(Exception):
    """The class cannot be described from its source alone; import it instead."""


@dataclass(frozen=True)
class Hyperparameter:
    """One keyword argument of an architecture's constructor.

    Attributes:
        name: the argument name.
        annotation: its annotation as source text, or None.
        default: its default value (None when it has none), tuples as lists.
        declared_in: the class whose `__init__` declares it.
    """

    name: str
    annotation: str | None
    default: Any
    declared_in: str

    @property
    def kind(self) -> Kind:
        """The plain values the annotation allows."""
        return kind_of(self.annotation)


@dataclass(frozen=True)
class Description:
    """An architecture class as declared.

    Attributes:
        qualified_class: `module.QualName` of the class.
        attributes: the class attributes in `ATTRIBUTES`, inherited ones included.
        hyperparameters: constructor keyword arguments, the subclass's first.
        has_plot: whether the class declares the `"plot"` capability.
        registered_name: the Keras registered name given by a `register_keras_serializable`
            decorator (`package>Name`), or None.
        source: `"static"` (read from source files) or `"runtime"` (from the loaded class).
    """

    qualified_class: str
    attributes: dict[str, Any]
    hyperparameters: list[Hyperparameter] = field(default_factory=list)
    has_plot: bool = False
    registered_name: str | None = None
    source: str = "runtime"

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        """The hyperparameter called `name`, or None."""
        return next((h for h in self.hyperparameters if h.name == name), None)

    @property
    def names(self) -> list[str]:
        """The hyperparameter names."""
        return [h.name for h in self.hyperparameters]

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` checked against the declared names and kinds (tuples become lists).

        Raises:
            HyperparameterError: an unknown name, or a value of the wrong kind.
        """
        checked = {}
        for key, value in values.items():
            declared = self.hyperparameter(key)
            if declared is None:
                architecture = self.attributes.get("architecture_name") or self.qualified_class
                raise HyperparameterError(
                    f"unknown hyperparameter {key!r} for {architecture}; known: {', '.join(self.names)}"
                )
            checked[key] = declared.kind.check(key, value)
        return checked


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively, so that defaults read from source and from a class compare equal."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def _annotation_text(annotation: Any) -> str | None:
    if annotation is inspect.Parameter.empty:
        return None
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _is_base(cls: type) -> bool:
    return (cls.__module__, cls.__qualname__) == BASE_CLASS


def describe_class(cls: type) -> Description:
    """Describe a loaded class: its `__init__` keyword arguments along the MRO, and its attributes.

    The walk goes from the class up to and including `tfp_arch.Architecture`, and stops earlier at a
    constructor that forwards no `**kwargs`, or at a class outside tfp_arch (Keras' own classes).
    """
    parameters: dict[str, Hyperparameter] = {}
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] in ("keras", "tf_keras", "builtins"):
            break
        if "__init__" in vars(klass):
            forwards = False
            for p in inspect.signature(vars(klass)["__init__"]).parameters.values():
                if p.kind is p.VAR_KEYWORD:
                    forwards = True
                elif p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                    default = None if p.default is p.empty else _plain(p.default)
                    parameters.setdefault(
                        p.name, Hyperparameter(p.name, _annotation_text(p.annotation), default, klass.__qualname__)
                    )
            if not forwards:
                break
        if _is_base(klass):
            break
    attributes = {key: _plain(getattr(cls, key, default)) for key, default in ATTRIBUTES.items()}
    has_plot = "plot" in attributes["capabilities"]
    return Description(f"{cls.__module__}.{cls.__qualname__}", attributes, list(parameters.values()), has_plot)


# --- reading source files without executing them ----------------------------------------------------


@dataclass
class _Module:
    name: str
    tree: ast.Module
    is_package: bool

    def resolve(self, level: int, module: str | None) -> str:
        if not level:
            return module or ""
        parts = self.name.split(".")
        base = parts if self.is_package else parts[:-1]
        base = base[: len(base) - (level - 1)]
        return ".".join(base + ([module] if module else []))


_CACHE: dict[str, _Module] = {}


def _load(module: str) -> _Module:
    if module in _CACHE:
        return _CACHE[module]
    spec = find_module_spec(module) if module.split(".")[0] else None
    if spec is None or not spec.origin or not str(spec.origin).endswith(".py"):
        raise StaticReadError(f"no Python source for module {module!r}")
    try:
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise StaticReadError(f"cannot read {spec.origin}: {error}") from None
    loaded = _Module(module, tree, spec.submodule_search_locations is not None)
    _CACHE[module] = loaded
    return loaded


def _lookup(module: _Module, name: str, depth: int = 0) -> tuple[_Module, ast.AST]:
    """The definition of `name` in `module`: a class, or the value of a module-level assignment."""
    if depth > 20:
        raise StaticReadError(f"too many re-exports of {name!r}")
    for node in module.tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return module, node
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return module, node.value
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and node.value
        ):
            return module, node.value
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return _lookup(_load(module.resolve(node.level, node.module)), alias.name, depth + 1)
    raise StaticReadError(f"{name!r} is not defined statically in {module.name}")


def _imported_module(module: _Module, name: str) -> str | None:
    for node in module.tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname == name:
                    return alias.name
                if alias.asname is None and alias.name.split(".")[0] == name:
                    return name
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    source = module.resolve(node.level, node.module)
                    try:
                        _load(f"{source}.{alias.name}")
                        return f"{source}.{alias.name}"
                    except StaticReadError:
                        return None
    return None


def _dotted(node: ast.AST) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else head + [node.attr]
    return None


def _resolve_reference(module: _Module, node: ast.AST) -> tuple[_Module, ast.AST, str]:
    """Where the name or dotted name `node` is defined: module, definition node, plain name."""
    parts = _dotted(node)
    if parts is None:
        raise StaticReadError(f"cannot resolve {ast.dump(node)} statically")
    if len(parts) == 1:
        found, definition = _lookup(module, parts[0])
        return found, definition, parts[0]
    head = _imported_module(module, parts[0])
    if head is None:
        raise StaticReadError(f"cannot resolve {'.'.join(parts)} in {module.name}")
    target = ".".join([head, *parts[1:-1]])
    found, definition = _lookup(_load(target), parts[-1])
    return found, definition, parts[-1]


def _evaluate(module: _Module, node: ast.AST, depth: int = 0) -> Any:
    """A literal, a constant name, or `math.f(constants)`, evaluated without executing the module."""
    if depth > 20:
        raise StaticReadError("constant expression too deep")
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.Call) and not node.keywords:
        parts = _dotted(node.func)
        if (
            parts
            and len(parts) == 2
            and _imported_module(module, parts[0]) == "math"
            and callable(getattr(math, parts[1], None))
        ):
            return getattr(math, parts[1])(*(_evaluate(module, a, depth + 1) for a in node.args))
    if isinstance(node, (ast.Name, ast.Attribute)):
        parts = _dotted(node)
        if parts and len(parts) == 2 and _imported_module(module, parts[0]) == "math" and hasattr(math, parts[1]):
            return getattr(math, parts[1])
        found, definition, _ = _resolve_reference(module, node)
        if isinstance(definition, ast.ClassDef):
            raise StaticReadError("a class is not a constant")
        return _evaluate(found, definition, depth + 1)
    raise StaticReadError(f"not a constant expression in {module.name}: {ast.unparse(node)}")


def _registered_name(module: _Module, node: ast.ClassDef) -> str | None:
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and (_dotted(decorator.func) or [""])[-1] == "register_keras_serializable":
            options = {"package": "Custom", "name": node.name}
            for position, value in zip(("package", "name"), decorator.args, strict=False):
                options[position] = _evaluate(module, value)
            for keyword in decorator.keywords:
                if keyword.arg in options:
                    options[keyword.arg] = _evaluate(module, keyword.value)
            return f"{options['package']}>{options['name'] or node.name}"
    return None


def _class_chain(module: _Module, node: ast.ClassDef) -> list[tuple[_Module, ast.ClassDef]]:
    """The class and its first bases up to `Architecture` (single inheritance along the first base)."""
    chain = [(module, node)]
    while (chain[-1][0].name, chain[-1][1].name) != BASE_CLASS:
        current_module, current = chain[-1]
        if not current.bases or len(chain) > 20:
            raise StaticReadError(f"{current.name} does not derive from tfp_arch.Architecture statically")
        base_module, definition, _ = _resolve_reference(current_module, current.bases[0])
        if not isinstance(definition, ast.ClassDef):
            raise StaticReadError(f"base of {current.name} is not a class statement")
        chain.append((base_module, definition))
    return chain


def _init_parameters(module: _Module, node: ast.ClassDef) -> tuple[list[Hyperparameter], bool] | None:
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return None
    for statement in node.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        if any(_dotted(t) == ["__init__", "__signature__"] for t in targets):
            raise StaticReadError(f"{node.name}.__init__ has a computed signature")
    arguments = init.args
    positional = arguments.posonlyargs + arguments.args
    # None marks a parameter without a default, as in `arguments.kw_defaults`.
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    pairs = list(zip(positional, defaults, strict=False))[1:] + list(
        zip(arguments.kwonlyargs, arguments.kw_defaults, strict=False)
    )
    parameters = []
    for argument, default in pairs:
        value = None if default is None else _plain(_evaluate(module, default))
        annotation = ast.unparse(argument.annotation) if argument.annotation is not None else None
        parameters.append(Hyperparameter(argument.arg, annotation, value, node.name))
    return parameters, arguments.kwarg is not None


def describe_source(value: str) -> Description:
    """Describe the class an entry point names (`module:Class`) from source files, importing nothing.

    Raises:
        StaticReadError: something is not readable statically (no source file, a dynamic base class,
            a computed default); import the class and use `describe_class` instead.
    """
    module_name, _, attribute = value.partition(":")
    if not attribute or "." in attribute:
        raise StaticReadError(f"entry point {value!r} does not name a top-level class")
    module, node = _lookup(_load(module_name), attribute)
    if not isinstance(node, ast.ClassDef):
        raise StaticReadError(f"{value} is not a class statement")
    chain = _class_chain(module, node)
    attributes: dict[str, Any] = {}
    parameters: dict[str, Hyperparameter] = {}
    forwarding = True
    for class_module, class_node in chain:
        for statement in class_node.body:
            if isinstance(statement, ast.Assign):
                targets, expression = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value:
                targets, expression = [statement.target], statement.value
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ATTRIBUTES and target.id not in attributes:
                    attributes[target.id] = _evaluate(class_module, expression)
        found = _init_parameters(class_module, class_node) if forwarding else None
        if found is not None:
            own, forwarding = found
            for parameter in own:
                parameters.setdefault(parameter.name, parameter)
    attributes = {key: _plain(attributes.get(key, default)) for key, default in ATTRIBUTES.items()}
    return Description(
        f"{module.name}.{node.name}",
        attributes,
        list(parameters.values()),
        "plot" in attributes["capabilities"],
        _registered_name(module, node),
        "static",
    )


def registered_name(value: str) -> str | None:
    """The Keras registered name (`package>Name`) the class of entry point `value` declares by its
    `register_keras_serializable` decorator, read from source; None when it has no such decorator.

    Raises:
        StaticReadError: the class statement cannot be found in source files.
    """
    module_name, _, attribute = value.partition(":")
    module, node = _lookup(_load(module_name), attribute)
    if not isinstance(node, ast.ClassDef):
        raise StaticReadError(f"{value} is not a class statement")
    return _registered_name(module, node)
