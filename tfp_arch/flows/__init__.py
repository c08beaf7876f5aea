"""The flow density model shared by the `maf` and `nsf` architectures, its serving signatures and its figures."""

from tfp_arch.flows.model import FlowModel, flow_arguments

__all__ = ["FlowModel", "flow_arguments"]
