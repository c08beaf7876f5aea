"""Keras stand-ins for saved architectures, registered once Keras is imported (standard library only).

`import tfp_arch` must not import Keras (which imports TensorFlow), yet `keras.saving.load_model` must
restore a saved architecture after it with no `custom_objects`. So the stand-ins of
`tfp_arch.registry.loading.register_loaders` are registered at once when Keras is already imported,
and otherwise right after Keras' own import finishes: a one-shot finder on `sys.meta_path` wraps the
loader of the `keras` module.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType

__all__ = ["install_after_keras"]


def _register() -> None:
    loading = sys.modules.get("tfp_arch.registry.loading")
    if loading is not None and not hasattr(loading, "register_loaders"):
        return  # Keras was imported by `loading` itself, which registers them when it is ready
    try:
        from tfp_arch.registry.loading import register_loaders

        register_loaders()
    except Exception as error:  # a broken entry point must never break `import keras`
        warnings.warn(f"tfp_arch could not register its saved-model stand-ins: {error!r}", stacklevel=2)


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of `keras` so that `_register` runs after it."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        if fullname != "keras":
            return None
        _remove()
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            _register()

        spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def _remove() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _AfterKeras)]


def install_after_keras() -> None:
    """Register the stand-ins now if Keras is imported, else right after Keras is imported."""
    keras = sys.modules.get("keras")
    if keras is not None and getattr(keras, "saving", None) is not None:
        _register()
    elif not any(isinstance(finder, _AfterKeras) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())
