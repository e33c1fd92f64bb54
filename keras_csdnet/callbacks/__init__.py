"""Keras callbacks that `CSDNet.fit` uses."""

from keras_csdnet.callbacks.epoch_tracker import EpochTracker
from keras_csdnet.callbacks.non_finite_loss_guard import NonFiniteLossGuard

__all__ = ["EpochTracker", "NonFiniteLossGuard"]
