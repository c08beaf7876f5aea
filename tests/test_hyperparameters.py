"""Hyperparameter types come from one declaration per architecture, read without importing the class;
the class takes its attributes from it, and its constructor agrees with it."""

from __future__ import annotations

import math

import pytest

from tfp_arch.declaration import Declaration, Hyperparameter, describe_class
from tfp_arch.hyperparameters import HyperparameterError, kind_of, parse_value
from tfp_arch.registry import default_registry
from tfp_arch.registry.describe import declared


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


BUILTINS = ["bnn", "bcnn", "vae", "maf", "nsf"]


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_declares_itself_and_its_class_agrees(name):
    import tfp_arch
    from tfp_arch.testing.checks import _check_declaration

    declaration = declared(default_registry().resolve(name))
    cls = tfp_arch.get(name)
    assert cls.declaration is declaration and declaration.architecture_name == name
    assert (cls.summary, cls.default_data, cls.capabilities) == (
        declaration.summary,
        declaration.default_data,
        declaration.capabilities,
    )
    assert describe_class(cls) is declaration and declaration.names[-2:] == ["learning_rate", "optimizer"]

    def fail(rule, detail):
        raise AssertionError(f"{rule}: {detail}")

    _check_declaration(cls, declaration, fail)


def test_a_class_without_a_declaration_is_described_from_its_constructor():
    from toy import ToyRegressor

    description = describe_class(ToyRegressor)
    assert description.source == "runtime" and description.names[-2:] == ["learning_rate", "optimizer"]
    assert description.architecture_name == ToyRegressor.architecture_name


def test_a_declaration_checks_names_and_types():
    declaration = Declaration("mine", hyperparameters=(Hyperparameter("units", "int", 4, "width"),))
    assert declaration.check({"units": 8, "learning_rate": 0.1}) == {"units": 8, "learning_rate": 0.1}
    with pytest.raises(HyperparameterError, match="unknown hyperparameter 'unit' for mine; known: units"):
        declaration.check({"unit": 8})
    with pytest.raises(HyperparameterError, match="Invalid value for hyperparameter `units`"):
        declaration.check({"units": "eight"})


def test_a_constructor_that_disagrees_with_its_declaration_breaks_the_contract():
    import keras

    from tfp_arch.architecture import Architecture
    from tfp_arch.testing import ContractError, check_architecture

    declared_units = Declaration(
        "drifted",
        summary="s",
        default_data="synthetic:gap_regression",
        hyperparameters=(Hyperparameter("units", "int", 4),),
    )

    class Drifted(Architecture):
        declaration = declared_units

        def __init__(self, units: int = 5, **kwargs):
            super().__init__(**kwargs)
            self.units = units

    keras.saving.register_keras_serializable(package="tests_drift")(Drifted)
    with pytest.raises(ContractError, match="defaults other than declared: units"):
        check_architecture(Drifted, rules=("registry_metadata",))


@pytest.mark.slow
def test_a_class_attribute_that_contradicts_its_declaration_is_refused():
    from tfp_arch.architecture import Architecture

    with pytest.raises(TypeError, match="contradicts its declaration"):

        class Contradicts(Architecture):
            declaration = Declaration("contradicts", summary="one")
            summary = "another"
