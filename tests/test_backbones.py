"""Named backbones, custom backbones and weights from local files."""

import os

import keras
import numpy as np
import pytest
from conftest import to_numpy

import keras_csdnet
from keras_csdnet import backbones


def test_known_backbones():
    assert backbones.known_backbones() == ["mobilenet_v3_small", "resnet18", "resnet50", "vit_b16"]


@pytest.mark.parametrize(
    "name,size,grid",
    [("resnet18", 64, 2), ("resnet50", 32, 1), ("mobilenet_v3_small", 64, 2), ("vit_b16", 32, 2)],
)
def test_named_backbones_give_feature_maps(name, size, grid):
    model = keras_csdnet.CSDNet(backbone=name, num_classes=3, image_size=size, queue_size=8)
    shape = model.backbone.output_shape
    assert len(shape) == 4 and shape[1:3] == (grid, grid)
    logits = model(np.zeros((1, size, size, 3), "uint8"))
    assert tuple(logits.shape) == (1, 3)


def _max_weight_difference(a, b):
    return max(np.abs(to_numpy(u) - to_numpy(v)).max() for u, v in zip(a.weights, b.weights))


def test_local_weights_file(tmp_path):
    source = backbones.build_backbone("resnet18", 32)
    for w in source.weights[:3]:  # make them differ from any fresh init
        w.assign(w + 0.5)
    path = os.path.join(tmp_path, "resnet18.weights.h5")
    source.save_weights(path)
    model = keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, weights=path)
    assert _max_weight_difference(model.backbone, source) == 0.0
    assert model.get_config()["weights"] == path


def test_local_weights_file_of_another_architecture(tmp_path):
    path = os.path.join(tmp_path, "mobilenet.weights.h5")
    backbones.build_backbone("mobilenet_v3_small", 32).save_weights(path)
    with pytest.raises(ValueError, match="same backbone architecture"):
        keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, weights=path)


def test_local_keras_hub_preset_directory(tmp_path):
    source = backbones.build_backbone("resnet18", 32)
    for w in source.weights[:3]:
        w.assign(w - 0.25)
    preset = os.path.join(tmp_path, "my_resnet18")
    source.save_to_preset(preset)
    model = keras_csdnet.CSDNet(backbone="resnet18", num_classes=3, image_size=32, weights=preset)
    assert _max_weight_difference(model.backbone, source) == 0.0


def test_custom_backbone_and_tokens_to_grid():
    inputs = keras.Input((32, 32, 3))
    tokens = keras.layers.Reshape((16, 12))(keras.layers.Conv2D(12, 8, strides=8)(inputs))
    token_model = keras.Model(inputs, tokens)
    grid = backbones.tokens_to_grid(token_model, 32, patch_size=8)
    assert grid.output_shape == (None, 4, 4, 12)
    model = keras_csdnet.CSDNet(backbone=grid, num_classes=3, image_size=32, queue_size=8)
    assert tuple(model(np.zeros((2, 32, 32, 3))).shape) == (2, 3)
