"""`check_architecture`: every rule of the architecture contract, each failure naming its rule."""

from __future__ import annotations

import inspect
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfp_arch.architecture import CAPABILITIES, CAPABILITY_METHODS, SUPERVISED, UNSUPERVISED, Architecture
from tfp_arch.declaration import Declaration, constructor_parameters, describe_class
from tfp_arch.validation import invalid_argument

__all__ = ["RULES", "ContractError", "architecture_test_cases", "check_architecture", "contract_test"]

RULES = (
    "registry_metadata",
    "capabilities",
    "build",
    "get_config",
    "fit",
    "gradients",
    "evaluate_metrics",
    "sample",
    "save_load",
    "density",
)
_PLAIN = (str, int, float, bool, type(None))
_GRID = 201  # quadrature points per dimension
_GRID_HALF_WIDTH = 8.0  # in standard deviations of the data
_DENSITY_TOLERANCE = 0.02


class ContractError(AssertionError):
    """An architecture breaks a rule of the contract.

    Attributes:
        rule: the broken rule, one of `RULES`.
        architecture: the class's qualified name.
    """

    def __init__(self, rule: str, architecture: str, detail: str) -> None:
        super().__init__(f"{architecture} breaks the contract rule `{rule}`: {detail}")
        self.rule = rule
        self.architecture = architecture


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _check_metadata(cls: type[Any], fail) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Architecture)):
        fail("registry_metadata", f"{cls!r} is not a tfp_arch.Architecture subclass")
    name = cls.architecture_name
    if not (isinstance(name, str) and name.isidentifier()):
        fail("registry_metadata", f"`architecture_name` must be an identifier; got {name!r}")
    if not (isinstance(cls.summary, str) and cls.summary.strip() and "\n" not in cls.summary):
        fail("registry_metadata", f"`summary` must be one non-empty line; got {cls.summary!r}")
    if cls.task not in (SUPERVISED, UNSUPERVISED):
        fail("registry_metadata", f"`task` must be {SUPERVISED!r} or {UNSUPERVISED!r}; got {cls.task!r}")
    if not (isinstance(cls.default_data, str) and cls.default_data):
        fail("registry_metadata", f"`default_data` must be a data spec; got {cls.default_data!r}")
    for attribute in ("default_epochs", "default_batch_size"):
        value = getattr(cls, attribute)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            fail("registry_metadata", f"`{attribute}` must be a positive integer; got {value!r}")
    try:
        description = describe_class(cls)
    except Exception as error:
        fail("registry_metadata", f"the constructor cannot be described: {error!r}")
    for hyperparameter in description.hyperparameters:
        if not _plain(hyperparameter.default):
            fail(
                "registry_metadata",
                f"hyperparameter `{hyperparameter.name}` has a default that is not a plain value: "
                f"{hyperparameter.default!r}",
            )
    declared = vars(cls).get("declaration")
    if declared is not None:
        _check_declaration(cls, declared, fail)


def _check_declaration(cls: type[Any], declaration: Declaration, fail) -> None:
    """The class's declaration agrees with its constructor (names and defaults, when the constructor
    names its arguments; else it accepts every declared one) and with its Keras registered name."""
    parameters = {p.name: p.default for p in constructor_parameters(cls)}
    declared = declaration.defaults
    if set(parameters) - {"learning_rate", "optimizer"}:
        for problem, names in (
            ("takes arguments its declaration lacks", sorted(set(parameters) - set(declared))),
            ("lacks declared arguments", sorted(set(declared) - set(parameters))),
            (
                "has defaults other than declared",
                sorted(k for k in declared if k in parameters and parameters[k] != declared[k]),
            ),
        ):
            if names:
                fail("registry_metadata", f"the constructor {problem}: {', '.join(names)}")
    try:
        cls(**declared)
    except Exception as error:
        fail("registry_metadata", f"the constructor refuses the declared defaults: {type(error).__name__}: {error}")
    registered = keras.saving.get_registered_name(cls)
    if declaration.registered_name is not None and registered != declaration.registered_name:
        fail(
            "registry_metadata",
            f"the declaration's registered_name {declaration.registered_name!r} is not the class's Keras "
            f"registered name {registered!r}",
        )


def _check_capabilities(cls: type[Any], fail) -> None:
    declared = cls.capabilities
    if not isinstance(declared, tuple) or not set(declared) <= set(CAPABILITIES):
        fail("capabilities", f"`capabilities` must be a tuple of {CAPABILITIES}; got {declared!r}")
    for capability, method in CAPABILITY_METHODS.items():
        provided = getattr(cls, method, None) is not None and getattr(cls, method, None) is not getattr(
            Architecture, method, None
        )
        if provided != (capability in declared):
            state = (
                "declared but `{0}` is not implemented"
                if capability in declared
                else "not declared but `{0}` is implemented"
            )
            fail("capabilities", f"capability {capability!r} is {state.format(method)}")
    if "sample" in declared:
        parameters = inspect.signature(cls.sample).parameters
        seed = parameters.get("seed")
        required = [
            p.name
            for p in parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if seed is None or seed.kind is not seed.KEYWORD_ONLY or seed.default is not None or required != ["self", "n"]:
            fail(
                "capabilities",
                f"`sample` must have the signature sample(n, *, seed=None, ...) (more options keyword-only); "
                f"got {inspect.signature(cls.sample)}",
            )


def _arrays(cls: type[Any], rows: int) -> tuple[Any, Any, Any, Any, Any]:
    from tfp_arch.data.dataset import Dataset
    from tfp_arch.runs import prepare_data

    dataset = prepare_data(cls, None)
    if not isinstance(dataset, Dataset):
        raise TypeError(f"the contract checks take in-memory data; the default data of {cls.__qualname__} is streamed")
    take = lambda a, n: None if a is None else a[:n]  # noqa: E731
    return (
        take(dataset.x_train, rows),
        take(dataset.y_train, rows),
        take(dataset.x_test, 16),
        take(dataset.y_test, 16),
        dataset,
    )


def _check_gradients(model: Architecture, x: np.ndarray, y: np.ndarray | None, batch_size: int, fail) -> None:
    xb = tf.constant(x[:batch_size])
    yb = None if y is None else tf.constant(y[:batch_size])
    with tf.GradientTape() as tape:
        y_pred = model(xb, training=True)
        loss = model.compute_loss(x=xb, y=yb, y_pred=y_pred, training=True)
    gradients = tape.gradient(loss, model.trainable_variables)
    missing = [v.path for v, g in zip(model.trainable_variables, gradients, strict=False) if g is None]
    if missing:
        fail("gradients", f"no gradient reaches the trainable parameters {missing}")
    broken = [
        v.path
        for v, g in zip(model.trainable_variables, gradients, strict=False)
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(g)))
    ]
    if broken:
        fail("gradients", f"non-finite gradients for {broken}")


def _check_metrics(metrics: Any, fail) -> None:
    if not isinstance(metrics, dict) or not metrics:
        fail("evaluate_metrics", f"must return a non-empty dict; got {metrics!r}")
    for key, value in metrics.items():
        if not isinstance(key, str) or key.startswith(("train_", "test_", "val_")):
            fail("evaluate_metrics", f"keys are quantities without a split prefix; got {key!r}")
        if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
            fail("evaluate_metrics", f"values must be finite floats; got {key}={value!r}")


def _check_sample(model: Architecture, x: np.ndarray, fail) -> None:
    samples = np.asarray(model.sample(5, seed=1))
    if samples.shape != (5, *x.shape[1:]):
        fail("sample", f"sample(5, seed=1) has shape {samples.shape}; expected {(5, *x.shape[1:])}")
    if not np.all(np.isfinite(samples)):
        fail("sample", "samples are not finite")
    if not np.allclose(samples, np.asarray(model.sample(5, seed=1)), rtol=1e-5, atol=1e-6):
        fail("sample", "the same seed gave different samples")


def _check_save_load(cls: type[Any], model: Architecture, x_test: np.ndarray, y_test: np.ndarray | None, fail) -> None:
    keras.utils.set_random_seed(7)
    expected = model.evaluate_metrics(x_test, y_test)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        try:
            model.save(path)
            loaded: Any = keras.saving.load_model(path)
        except Exception as error:
            fail("save_load", f".keras save and load failed: {error!r}")
    if type(loaded) is not cls or not loaded.is_adapted:
        fail(
            "save_load",
            f"loaded a {type(loaded).__name__} (adapted: {loaded.is_adapted}); expected an adapted {cls.__name__}",
        )
    for saved, restored in zip(model.weights, loaded.weights, strict=False):
        if not np.array_equal(keras.ops.convert_to_numpy(saved), keras.ops.convert_to_numpy(restored)):
            fail("save_load", f"weight {saved.path} differs after loading")
    keras.utils.set_random_seed(7)
    again = loaded.evaluate_metrics(x_test, y_test)
    if again.keys() != expected.keys() or any(
        not math.isclose(again[k], expected[k], rel_tol=1e-4, abs_tol=1e-5) for k in expected
    ):
        fail("save_load", f"the loaded model's metrics differ: {again} against {expected}")


def _check_density(model: Architecture, x: np.ndarray, fail) -> str:
    dims = x.shape[1] if x.ndim == 2 else 0
    if dims not in (1, 2):
        return f"skipped: quadrature needs 1-D or 2-D data; the default data have shape {x.shape[1:]}"
    centre, spread = x.mean(axis=0), x.std(axis=0)
    axes = [
        np.linspace(c - _GRID_HALF_WIDTH * s, c + _GRID_HALF_WIDTH * s, _GRID)
        for c, s in zip(centre, spread, strict=False)
    ]
    points = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=-1).astype("float32")
    density = np.exp(np.asarray(model.log_prob(points), dtype="float64")).reshape([_GRID] * dims)
    for axis in reversed(axes):
        density = np.trapezoid(density, axis, axis=-1)
    if not abs(float(density) - 1.0) < _DENSITY_TOLERANCE:
        fail(
            "density",
            f"exp(log_prob) integrates to {float(density):.4f} over mean ± {_GRID_HALF_WIDTH:g} sd of the data; "
            f"expected 1 ± {_DENSITY_TOLERANCE}",
        )
    return f"ok: integral {float(density):.4f}"


def check_architecture(
    cls: type[Any], *, rows: int = 64, epochs: int = 1, batch_size: int = 16, rules: tuple[str, ...] = RULES
) -> dict[str, str]:
    """Check that architecture class `cls` keeps the contract of `tfp_arch.Architecture`.

    The rules, in order: `registry_metadata` (class attributes, plain-value constructor defaults, a
    declaration that agrees with the constructor and the Keras registered name),
    `capabilities` (each declared capability's method is implemented and no other; `sample`'s
    signature), `build` (constructed with `hyperparameters_for` its default data), `get_config`
    (plain values, `from_config` round trip), `fit` (on the first `rows` rows of the default data,
    finite losses), `gradients` (every trainable variable gets a finite gradient from
    `compute_loss`), `evaluate_metrics` (non-empty, unprefixed keys, finite floats), `sample` (shape
    `(n, *data_shape)`, finite, repeatable by seed), `save_load` (`.keras` round trip, equal weights
    and metrics), `density` (for architectures declaring it, on 1-D or 2-D data: `exp(log_prob)`
    integrates to 1 by the trapezoidal rule on a grid of mean ± 8 sd).

    Args:
        cls: the architecture class.
        rows: training rows taken from the default data.
        epochs: epochs of the `fit` check.
        batch_size: batch size of the `fit` and `gradients` checks.
        rules: the rules to check (default: all).

    Returns:
        Rule to outcome (`"ok"`, or why it was skipped).

    Raises:
        ContractError: naming the first broken rule.
    """
    qualified = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', repr(cls))}"

    def fail(rule: str, detail: str) -> None:
        raise ContractError(rule, qualified, detail)

    unknown = set(rules) - set(RULES)
    if unknown:
        raise invalid_argument("rules", f"expected names from {RULES}", rules)
    report = {rule: "skipped: not requested" for rule in RULES}
    _check_metadata(cls, fail)
    report["registry_metadata"] = "ok"
    if "capabilities" in rules:
        _check_capabilities(cls, fail)
        report["capabilities"] = "ok"
    x, y, x_test, y_test, dataset = _arrays(cls, rows)
    keras.utils.set_random_seed(0)
    try:
        model = cls(**cls.hyperparameters_for(dataset))
    except Exception as error:
        fail("build", f"construction with its default hyperparameters failed: {error!r}")
    report["build"] = "ok"
    config = model.get_config()
    if "get_config" in rules:
        if not _plain(config):
            fail("get_config", f"the config holds values that are not plain: {config!r}")
        if cls.from_config(config).get_config() != config:
            fail("get_config", "from_config(get_config()) gives another config")
        report["get_config"] = "ok"
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    if not all(math.isfinite(values[-1]) for values in history.history.values()):
        fail("fit", f"non-finite training logs: {history.history}")
    report["fit"] = "ok"
    if "gradients" in rules:
        _check_gradients(model, x, y, batch_size, fail)
        report["gradients"] = "ok"
    if "evaluate_metrics" in rules:
        keras.utils.set_random_seed(7)
        _check_metrics(model.evaluate_metrics(x_test, y_test), fail)
        report["evaluate_metrics"] = "ok"
    if "sample" in rules:
        report["sample"] = "skipped: not declared"
        if cls.has_capability("sample"):
            _check_sample(model, x, fail)
            report["sample"] = "ok"
    if "save_load" in rules:
        _check_save_load(cls, model, x_test, y_test, fail)
        report["save_load"] = "ok"
    if "density" in rules:
        report["density"] = "skipped: not declared"
        if cls.has_capability("density"):
            report["density"] = _check_density(model, x, fail)
    return report


def architecture_test_cases(names: list[str] | None = None) -> list[Any]:
    """`pytest.param`s of architecture classes, for `@pytest.mark.parametrize`, one id per name.

    Args:
        names: registry names (default: every installed architecture).
    """
    import pytest

    from tfp_arch.registry import architectures, get

    return [pytest.param(get(name), id=name) for name in (names if names is not None else architectures())]


def contract_test(*names: str, **options: Any) -> Callable[[type], None]:
    """A pytest test that runs `check_architecture` over architectures, one case per name.

    Assign it to a name starting with `test` in a test module; the case list comes from the kit's
    pytest plugin (`tfp_arch.testing.pytest_plugin`), which pytest loads from the installed wheel.

    Args:
        *names: registry names; none for those chosen by `--tfp-arch-architecture`, the ini option
            `tfp_arch_architectures`, or else every installed architecture.
        **options: keyword arguments of `check_architecture` (`rows`, `epochs`, `batch_size`, `rules`).

    Returns:
        The test function, taking the plugin's fixture `tfp_arch_architecture`.

    Example:
        In a test module of the plugin's own package:

        >>> from tfp_arch.testing import contract_test
        >>> test_my_arch_keeps_the_contract = contract_test("my_arch")
        >>> [mark.args for mark in test_my_arch_keeps_the_contract.pytestmark]
        [('my_arch',)]
    """
    import pytest

    def test_architecture_keeps_the_contract(tfp_arch_architecture: type[Any]) -> None:
        check_architecture(tfp_arch_architecture, **options)

    return pytest.mark.tfp_arch_architectures(*names)(test_architecture_keeps_the_contract)
