"""Normalizing flows: invertible transforms, their conditioners and element-wise transformers."""
