"""The conformance kit over the installed architectures: `pytest --pyargs tfp_arch.testing`.

`--tfp-arch-architecture NAME` (repeatable) or the ini option `tfp_arch_architectures` narrows it to
some of them.
"""

from tfp_arch.testing.checks import contract_test

__all__ = ["test_installed_architecture_keeps_the_contract"]

test_installed_architecture_keeps_the_contract = contract_test()
