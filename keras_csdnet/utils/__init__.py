"""Small helpers shared by the package's parts."""

from keras_csdnet.utils.determinism import set_deterministic

__all__ = ["set_deterministic"]
