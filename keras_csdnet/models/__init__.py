from keras_csdnet.models.csdnet import CSDNet

__all__ = ["CSDNet"]
