"""CSDNet building blocks as Keras layers."""

from keras_csdnet.layers.ddl import DDL
from keras_csdnet.layers.discrepancy_view import DiscrepancyView
from keras_csdnet.layers.memory_queue import MemoryQueue
from keras_csdnet.layers.pixel_normalization import PixelNormalization
from keras_csdnet.layers.random_view import RandomView
from keras_csdnet.layers.ssdp import SSDP
from keras_csdnet.layers.ssdt import SSDT

__all__ = [
    "DDL",
    "DiscrepancyView",
    "MemoryQueue",
    "PixelNormalization",
    "RandomView",
    "SSDP",
    "SSDT",
]
