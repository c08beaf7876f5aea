"""The conformance kit: checks that an architecture keeps the contract of `tfp_arch.Architecture`.

A plugin author runs it from their own test suite:

```python
import pytest
from tfp_arch.testing import architecture_test_cases, check_architecture

@pytest.mark.parametrize("architecture", architecture_test_cases(["my_arch"]))
def test_my_arch_keeps_the_contract(architecture):
    check_architecture(architecture)
```

`check_architecture` raises `ContractError` naming the first broken rule (`ContractError.rule`).
"""

from tfp_arch.testing.checks import RULES, ContractError, architecture_test_cases, check_architecture

__all__ = ["RULES", "ContractError", "architecture_test_cases", "check_architecture"]
