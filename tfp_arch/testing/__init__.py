"""The conformance kit: checks that an architecture keeps the contract of `tfp_arch.Architecture`.

A plugin author runs it from their own test suite, in one line (the wheel's pytest plugin,
`tfp_arch.testing.pytest_plugin`, provides the parametrised fixture it uses):

```python
from tfp_arch.testing import contract_test

test_my_arch_keeps_the_contract = contract_test("my_arch")
```

or without writing a test: `pytest --pyargs tfp_arch.testing --tfp-arch-architecture my_arch`.
`check_architecture` raises `ContractError` naming the first broken rule (`ContractError.rule`).
The names import the kit (Keras and TensorFlow) when first used, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["RULES", "ContractError", "architecture_test_cases", "check_architecture", "contract_test"]


def __getattr__(name: str) -> Any:
    # The kit imports Keras and TensorFlow; the pytest plugin imports this package in every session of
    # an environment where tfp-arch is installed, so the kit is imported when first used.
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("tfp_arch.testing.checks"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
