"""Hyperparameter types come from one declaration, `__init__` annotations along the class hierarchy,
read the same way from source (no import) and from the loaded class."""

from __future__ import annotations

import math

import pytest

from tfp_arch.registry import default_registry
from tfp_arch.registry.describe import describe_class, describe_source
from tfp_arch.registry.hyperparameters import HyperparameterError, kind_of, parse_value


@pytest.mark.parametrize(
    ("annotation", "good", "bad", "words"),
    [
        ("int", [3, 0], [1.5, True, "3", None], "an integer"),
        ("float | None", [1, 0.5, None], [math.nan, math.inf, "x", [1.0]], "a number or null"),
        ("Sequence[int]", [[1, 2], (3,), []], [50, "fifty", [1.5]], "a list of integers"),
        ("list[int] | tuple[int, ...]", [[1]], [1], "a list of integers"),
        ("Optional[Sequence[float]]", [None, [0.1, 2]], [0.1], "a list of numbers or null"),
        ("bool", [True, False], [1, "yes"], "true or false"),
        ("Literal['relu', 'tanh']", ["relu"], ["elu", 1], 'one of "relu", "tanh"'),
        ("SomethingUnknown", [1, "x", [1]], [], "any plain value"),
    ],
)
def test_kinds_accept_and_reject(annotation, good, bad, words):
    kind = kind_of(annotation)
    assert kind.describe() == words
    for value in good:
        kind.check("h", value)
    for value in bad:
        with pytest.raises(HyperparameterError, match="Invalid value for hyperparameter `h`"):
            kind.check("h", value)


def test_values_are_read_as_json_unless_the_declared_type_is_a_string():
    assert parse_value("[50, 50]", kind_of("Sequence[int]")) == [50, 50]
    assert parse_value("null", kind_of("str")) == "null"
    assert parse_value("null", kind_of("str | None")) is None
    assert parse_value("relu", kind_of("str")) == "relu"
    assert parse_value("True") is True and parse_value("1e-3") == 1e-3


@pytest.mark.parametrize("name", ["maf", "nsf"])
def test_a_computed_constructor_signature_is_read_at_run_time(name):
    import tfp_arch
    from tfp_arch.registry.describe import StaticReadError

    with pytest.raises(StaticReadError, match="computed signature"):
        describe_source(default_registry().resolve(name).value)
    names = describe_class(tfp_arch.get(name)).names
    assert "num_transforms" in names and "hidden_units" in names and names[-2:] == ["learning_rate", "optimizer"]


@pytest.mark.parametrize("name", ["bnn", "bcnn", "vae"])
def test_source_and_class_descriptions_agree(name):
    import tfp_arch

    entry = default_registry().resolve(name)
    static, loaded = describe_source(entry.value), describe_class(tfp_arch.get(name))
    assert static.source == "static" and loaded.source == "runtime"
    assert static.hyperparameters == loaded.hyperparameters
    assert static.attributes == loaded.attributes and static.has_plot == loaded.has_plot
    assert static.qualified_class == loaded.qualified_class
    assert static.names[-2:] == ["learning_rate", "optimizer"]
