"""Custom operators: ``torch.ops.ganzoo.*``."""

from .leaky_relu import HAS_TRITON, fused_leaky_relu, reference_leaky_relu

__all__ = ["HAS_TRITON", "fused_leaky_relu", "reference_leaky_relu"]
