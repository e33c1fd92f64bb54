"""keras_csdnet: CSDNet for ultra-fine-grained visual categorization in Keras 3."""

from keras_csdnet import backbones
from keras_csdnet import callbacks
from keras_csdnet import data
from keras_csdnet import errors
from keras_csdnet import export
from keras_csdnet import layers
from keras_csdnet import losses
from keras_csdnet import views
from keras_csdnet.export import ExportParityError
from keras_csdnet.models.csdnet import CSDNet

__version__ = "0.1.0"

__all__ = [
    "CSDNet",
    "ExportParityError",
    "backbones",
    "callbacks",
    "data",
    "errors",
    "export",
    "layers",
    "losses",
    "views",
    "__version__",
]
