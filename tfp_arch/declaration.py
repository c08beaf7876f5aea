"""What an architecture is and which hyperparameters it takes, declared once and readable without TensorFlow.

Each architecture declares itself in a small module that imports nothing but this one (for the
built-ins, `tfp_arch/plugins/<name>/declaration.py`): a `Declaration` holding the class attributes
`tfp-arch info` shows (`summary`, `task`, `default_data`, `default_epochs`, `default_batch_size`,
`capabilities`), the Keras registered name of its saved models, and a tuple of `Hyperparameter`
(name, type as text, default, help). The entry point group `tfp_arch.declarations` names it beside
the class's entry point, so `tfp-arch info` and the checks of `tfp-arch train -p` read it without
importing the plugin. The class takes its attributes from it (`declaration = ...` in the class body,
applied by `tfp_arch.Architecture`), and the conformance kit checks that the constructor agrees.

An architecture without a declaration (an in-process registration, a plugin written before this
module) is described from its loaded class: `describe_class` reads its constructor's keyword
arguments along the class hierarchy. Standard library only.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from tfp_arch.hyperparameters import HyperparameterError, Kind, kind_of

__all__ = [
    "BASE_HYPERPARAMETERS",
    "Declaration",
    "Hyperparameter",
    "constructor_parameters",
    "describe_class",
]

TASKS = ("supervised", "unsupervised")
CAPABILITIES = ("sample", "density", "plot")


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively, so that defaults from a declaration and from a class compare equal."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


@dataclass(frozen=True)
class Hyperparameter:
    """One keyword argument of an architecture's constructor.

    Attributes:
        name: the argument name.
        type: the plain values it takes, as an annotation's text (`"Sequence[int]"`, `"float | None"`,
            `'Literal["relu", "tanh"]'`); None for any plain value.
        default: its default value (tuples as lists).
        help: one line saying what it does.
    """

    name: str
    type: str | None
    default: Any = None
    help: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Invalid hyperparameter name: expected an identifier. Received: name={self.name!r}")
        object.__setattr__(self, "default", _plain(self.default))

    @property
    def kind(self) -> Kind:
        """The plain values `type` allows."""
        return kind_of(self.type)


BASE_HYPERPARAMETERS = (
    Hyperparameter("learning_rate", "float | None", None, "learning rate of the default optimiser (None: the class's)"),
    Hyperparameter("optimizer", "str", "adam", "name of the default Keras optimiser"),
)
"""The hyperparameters every architecture inherits from `tfp_arch.Architecture`."""


@dataclass(frozen=True)
class Declaration:
    """An architecture as declared: what `tfp-arch info` shows and `-p` checks, without the class.

    Attributes:
        architecture_name: the registry name.
        summary: one line saying what it is.
        task: `"supervised"` (trains on `(x, y)`) or `"unsupervised"`.
        default_data: the data spec used when none is given.
        default_epochs: training epochs when none are given (the fewest, with `min_training_steps`).
        default_batch_size: examples per batch when none is given.
        min_training_steps: the fewest optimiser steps of a run without given epochs, or None
            (`default_epochs` whatever the data); see `tfp_arch.budget`.
        max_default_epochs: the most epochs `min_training_steps` may ask for, or None (no cap).
        epochs_search: whether a run without given epochs trains for the best epoch of a search on
            a validation cut of its training rows, capped by the rule above (`tfp_arch.budget`).
        capabilities: among `"sample"`, `"density"`, `"plot"`.
        hyperparameters: the constructor's keyword arguments; `BASE_HYPERPARAMETERS` are appended
            unless declared.
        registered_name: the Keras registered name (`package>Name`) of the class, under which its
            saved models are written; None for a class without `register_keras_serializable`.
        qualified_class: `module.QualName` of the class, when known.
        source: `"static"` (a declaration, read without importing the class) or `"runtime"` (read
            from a loaded class by `describe_class`).
    """

    architecture_name: str
    summary: str = ""
    task: str = "supervised"
    default_data: str = ""
    default_epochs: int = 10
    default_batch_size: int = 32
    min_training_steps: int | None = None
    max_default_epochs: int | None = None
    epochs_search: bool = False
    capabilities: tuple[str, ...] = ()
    hyperparameters: tuple[Hyperparameter, ...] = ()
    registered_name: str | None = None
    qualified_class: str = ""
    source: str = "static"
    _by_name: dict[str, Hyperparameter] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"Invalid value for `task`: expected one of {TASKS}. Received: task={self.task!r}")
        unknown = [c for c in self.capabilities if c not in CAPABILITIES]
        if unknown:
            raise ValueError(f"Invalid capability {unknown[0]!r}: expected among {CAPABILITIES}")
        own = tuple(self.hyperparameters)
        names = [h.name for h in own]
        if len(set(names)) != len(names):
            raise ValueError(f"hyperparameters of {self.architecture_name!r} declared twice: {names}")
        every = own + tuple(h for h in BASE_HYPERPARAMETERS if h.name not in names)
        object.__setattr__(self, "hyperparameters", every)
        object.__setattr__(self, "capabilities", tuple(self.capabilities))
        self._by_name.update({h.name: h for h in every})

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        """The hyperparameter called `name`, or None."""
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        """The hyperparameter names."""
        return [h.name for h in self.hyperparameters]

    @property
    def has_plot(self) -> bool:
        """Whether the architecture declares the `"plot"` capability."""
        return "plot" in self.capabilities

    @property
    def defaults(self) -> dict[str, Any]:
        """Every hyperparameter's default."""
        return {h.name: h.default for h in self.hyperparameters}

    def class_attributes(self) -> dict[str, Any]:
        """The class attributes an architecture class takes from its declaration."""
        return {
            "architecture_name": self.architecture_name,
            "summary": self.summary,
            "task": self.task,
            "default_data": self.default_data,
            "default_epochs": self.default_epochs,
            "default_batch_size": self.default_batch_size,
            "min_training_steps": self.min_training_steps,
            "max_default_epochs": self.max_default_epochs,
            "epochs_search": self.epochs_search,
            "capabilities": self.capabilities,
        }

    @property
    def epochs_text(self) -> str:
        """The default epochs in words: a number, or the range the training rows choose from.

        Example:
            >>> Declaration("x", default_epochs=40, min_training_steps=20000, max_default_epochs=1000).epochs_text
            '40 to 1000 (at least 20000 optimiser steps)'
            >>> Declaration("x", default_epochs=40, min_training_steps=200, epochs_search=True).epochs_text
            '40 (the best epoch of a search on a validation cut, at most the epochs of 200 optimiser steps)'
        """
        if self.min_training_steps is None:
            return str(self.default_epochs)
        top = "" if self.max_default_epochs is None else f" to {self.max_default_epochs}"
        if self.epochs_search:
            return (
                f"{self.default_epochs}{top} (the best epoch of a search on a validation cut, "
                f"at most the epochs of {self.min_training_steps} optimiser steps)"
            )
        return f"{self.default_epochs}{top} (at least {self.min_training_steps} optimiser steps)"

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` checked against the declared names and types (tuples become lists).

        Raises:
            HyperparameterError: an unknown name, or a value of the wrong type.
        """
        checked = {}
        for key, value in values.items():
            declared = self.hyperparameter(key)
            if declared is None:
                raise HyperparameterError(
                    f"unknown hyperparameter {key!r} for {self.architecture_name or self.qualified_class}; "
                    f"known: {', '.join(self.names)}"
                )
            checked[key] = declared.kind.check(key, value)
        return checked


def _annotation_text(annotation: Any) -> str | None:
    if annotation is inspect.Parameter.empty:
        return None
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def constructor_parameters(cls: type) -> list[Hyperparameter]:
    """The keyword arguments of `cls.__init__` along the MRO, up to `tfp_arch.Architecture` (included),
    a constructor that forwards no `**kwargs`, or a class outside tfp_arch (Keras' own classes)."""
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
                    default = None if p.default is p.empty else p.default
                    parameters.setdefault(p.name, Hyperparameter(p.name, _annotation_text(p.annotation), default))
            if not forwards:
                break
        if (klass.__module__, klass.__qualname__) == ("tfp_arch.architecture", "Architecture"):
            break
    return list(parameters.values())


def describe_class(cls: type) -> Declaration:
    """The declaration of a loaded architecture class: its own `declaration` if it has one, else one
    read from its class attributes and its constructor's keyword arguments (with their annotations)."""
    own = vars(cls).get("declaration")
    if isinstance(own, Declaration):
        return own
    attributes = {key: _plain(getattr(cls, key, None)) for key in ("summary", "task", "default_data")}
    return Declaration(
        architecture_name=getattr(cls, "architecture_name", "") or "",
        summary=attributes["summary"] or "",
        task=attributes["task"] or "supervised",
        default_data=attributes["default_data"] or "",
        default_epochs=getattr(cls, "default_epochs", 10),
        default_batch_size=getattr(cls, "default_batch_size", 32),
        min_training_steps=getattr(cls, "min_training_steps", None),
        max_default_epochs=getattr(cls, "max_default_epochs", None),
        epochs_search=bool(getattr(cls, "epochs_search", False)),
        capabilities=tuple(getattr(cls, "capabilities", ())),
        hyperparameters=tuple(constructor_parameters(cls)),
        qualified_class=f"{cls.__module__}.{cls.__qualname__}",
        source="runtime",
    )
