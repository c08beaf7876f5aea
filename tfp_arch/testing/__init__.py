"""The conformance kit: checks that an architecture keeps the contract of `tfp_arch.Architecture`.

A plugin author runs it from their own test suite, in one line (the wheel's pytest plugin,
`tfp_arch.testing.pytest_plugin`, provides the parametrised fixture it uses):

```python
from tfp_arch.testing import contract_test

test_my_arch_keeps_the_contract = contract_test("my_arch")
```

or without writing a test: `pytest --pyargs tfp_arch.testing --tfp-arch-architecture my_arch`.
`check_architecture` raises `ContractError` naming the first broken rule (`ContractError.rule`).
"""

from tfp_arch.testing.checks import RULES, ContractError, architecture_test_cases, check_architecture, contract_test

__all__ = ["RULES", "ContractError", "architecture_test_cases", "check_architecture", "contract_test"]
