"""CSDNet building blocks as Keras layers."""

from keras_csdnet.layers.discrepancy_view import DiscrepancyView
from keras_csdnet.layers.memory_queue import MemoryQueue
from keras_csdnet.layers.pixel_normalization import PixelNormalization
from keras_csdnet.layers.random_view import RandomView
from keras_csdnet.layers.ssdp import SSDP

__all__ = ["DiscrepancyView", "MemoryQueue", "PixelNormalization", "RandomView", "SSDP"]
