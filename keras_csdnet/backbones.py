"""Backbones by name, and loading of their weights from local files.

A CSDNet backbone is any `keras.Model` that maps `(B, H, W, 3)` normalised
images to a 4-D feature map `(B, h, w, C)`. This module builds the named ones
(`"resnet50"`, `"resnet18"`, `"mobilenet_v3_small"`, `"vit_b16"`), knows the
pixel normalisation each was trained with, and loads weights from a local
`.weights.h5` file or a local keras-hub preset directory (no network needed).
"""

import os
from collections.abc import Callable
from typing import NamedTuple

import keras

from keras_csdnet.utils.registry import Registry

NORMALIZATIONS = ("imagenet", "symmetric", "none")


class BackboneEntry(NamedTuple):
    """One registered backbone.

    Fields:
        build: `build(image_size, weights) -> keras.Model`, the network;
            `weights` is `None` (random) or, for an entry without a `preset`,
            `"imagenet"` (local files and preset directories are handled for
            every entry).
        min_size: smallest `image_size` the network accepts.
        normalization: the pixel normalisation it was trained with:
            `"imagenet"` = (x / 255 - mean) / std, `"symmetric"` = x / 127.5 - 1,
            `"none"` = raw 0-255 pixels (the network rescales itself).
        preset: keras-hub preset name of its ImageNet weights, or None
            (then `build(image_size, "imagenet")` loads them).
        check_size: optional `check_size(image_size)` raising a `ValueError`
            for sizes the network cannot take besides `min_size`.
        to_feature_map: optional wrapper turning the built network's output
            into a 4-D feature map (e.g. ViT tokens to a grid).
    """

    build: Callable
    min_size: int
    normalization: str
    preset: str | None = None
    check_size: Callable | None = None
    to_feature_map: Callable | None = None


BACKBONES = Registry("backbone", "backbone")


def register_backbone(
    name, build, min_size, normalization, preset=None, check_size=None, to_feature_map=None
):
    """Registers a named backbone for `CSDNet(backbone=name)`.

    Args:
        name: str, the name users pass.
        build: `build(image_size, weights)` returning a `keras.Model` on
            `(B, image_size, image_size, 3)`; `weights` is `None` (random
            initialisation) or, when there is no `preset`, `"imagenet"`.
        min_size: int, the smallest image side it accepts.
        normalization: one of `NORMALIZATIONS`, the pixels it expects.
        preset: keras-hub preset of its ImageNet weights (or None).
        check_size: optional extra `image_size` check raising `ValueError`.
        to_feature_map: optional `(model, image_size) -> model` wrapper giving
            a `(B, h, w, C)` output.

    Examples:
    ```python
    import keras
    from keras_csdnet import backbones
    def tiny(image_size, weights):
        inputs = keras.Input((image_size, image_size, 3))
        x = keras.layers.Conv2D(8, 3, strides=4, padding="same")(inputs)
        return keras.Model(inputs, x)
    backbones.register_backbone("tiny_conv", tiny, min_size=8, normalization="symmetric")
    ```
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"Unknown `normalization={normalization!r}`; use one of {NORMALIZATIONS}.")
    BACKBONES.register(
        name, BackboneEntry(build, int(min_size), normalization, preset, check_size, to_feature_map)
    )


def known_backbones():
    """Returns the sorted list of backbone names `CSDNet` accepts."""
    return sorted(BACKBONES)


def check_name(name):
    """Raises a `ValueError` listing the known names if `name` is not one."""
    if name not in BACKBONES:
        raise ValueError(
            f"Unknown backbone {name!r}. Known backbones: {known_backbones()}. "
            "Pass one of these names, or a `keras.Model` that returns a 4-D "
            "feature map `(batch, h, w, channels)`."
        )


def normalization_of(name):
    """The pixel normalisation backbone `name` was trained with."""
    check_name(name)
    return BACKBONES.get(name).normalization


def check_image_size(name, image_size):
    """Raises a `ValueError` if `image_size` is too small for backbone `name`."""
    check_name(name)
    if not isinstance(image_size, int) or isinstance(image_size, bool):
        raise ValueError(f"`image_size` must be an int, got {image_size!r}.")
    entry = BACKBONES.get(name)
    if image_size < entry.min_size:
        raise ValueError(
            f"`image_size={image_size}` is smaller than backbone {name!r} allows "
            f"(at least {entry.min_size} px: it downsamples by 32). Use "
            f"`image_size>={entry.min_size}` and resize your images to it."
        )
    if entry.check_size is not None:
        entry.check_size(image_size)


def _keras_hub_preset(preset, image_size):
    import keras_hub

    return keras_hub.models.Backbone.from_preset(preset, image_shape=(image_size, image_size, 3))


def _resnet(depth):
    def build(image_size, weights):
        import keras_hub

        return keras_hub.models.ResNetBackbone(
            input_conv_filters=[64],
            input_conv_kernel_sizes=[7],
            stackwise_num_filters=[64, 128, 256, 512],
            stackwise_num_blocks={18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}[depth],
            stackwise_num_strides=[1, 2, 2, 2],
            block_type="basic_block" if depth == 18 else "bottleneck_block",
            image_shape=(image_size, image_size, 3),
            name=f"resnet{depth}",
        )

    return build


def _mobilenet_v3_small(image_size, weights):
    return keras.applications.MobileNetV3Small(
        input_shape=(image_size, image_size, 3),
        include_top=False,
        weights=weights,
        include_preprocessing=True,
    )


def _vit_b16(image_size, weights):
    import keras_hub

    return keras_hub.models.ViTBackbone(
        image_shape=(image_size, image_size, 3),
        patch_size=16,
        num_layers=12,
        num_heads=12,
        hidden_dim=768,
        mlp_dim=3072,
        name="vit_b16_tokens",
    )


def _vit_size(image_size):
    if image_size % 16:
        raise ValueError(
            f"`image_size={image_size}` is not a multiple of the ViT patch size 16. "
            f"Use e.g. `image_size={max(32, image_size // 16 * 16)}`."
        )


def _vit_grid(model, image_size):
    return tokens_to_grid(model, image_size) if len(model.output_shape) == 3 else model


def tokens_to_grid(vit, image_size, patch_size=16, name="vit_b16"):
    """Wraps a ViT that returns tokens `(B, 1 + N, D)` into a feature-map model.

    The class token is dropped and the `N` patch tokens are reshaped to the
    `(image_size / patch_size)` square grid, so CSDNet sees `(B, h, w, D)`.
    """
    grid = image_size // patch_size
    inputs = keras.Input((image_size, image_size, 3))
    tokens = vit(inputs)
    num_tokens = tokens.shape[1]
    if num_tokens == grid * grid + 1:
        tokens = tokens[:, 1:, :]
    elif num_tokens != grid * grid:
        raise ValueError(
            f"The ViT returned {num_tokens} tokens; expected {grid * grid} patch "
            f"tokens (plus an optional class token) for image_size={image_size}."
        )
    features = keras.layers.Reshape((grid, grid, tokens.shape[-1]))(tokens)
    return keras.Model(inputs, features, name=name)


def _imagenet_error(name, cause):
    return ValueError(
        f"Could not fetch ImageNet weights for backbone {name!r} ({cause}). This "
        "machine probably has no network. Pass a local file instead: "
        "`weights='path/to/backbone.weights.h5'` (saved with "
        "`backbone.save_weights(...)` where the network is reachable) or a local "
        "keras-hub preset directory (`weights='./resnet_50_imagenet'`, made with "
        "`keras_hub.models.Backbone.from_preset(name).save_to_preset(dir)`)."
    )


def _is_preset_dir(path):
    return os.path.isdir(path) and os.path.exists(os.path.join(path, "config.json"))


def build_backbone(name, image_size, weights=None):
    """Builds backbone `name` for square `image_size` inputs.

    Args:
        name: one of `known_backbones()`.
        image_size: int, input height and width.
        weights: `None` (random initialisation), `"imagenet"` (needs network),
            a local `.weights.h5` file, or a local keras-hub preset directory.

    Returns:
        A `keras.Model` mapping normalised `(B, image_size, image_size, 3)`
        images to a feature map `(B, h, w, C)`.
    """
    check_image_size(name, image_size)
    entry = BACKBONES.get(name)
    preset_dir = isinstance(weights, (str, os.PathLike)) and _is_preset_dir(weights)
    if preset_dir:
        model = _from_preset_dir(name, str(weights), image_size)
    elif weights == "imagenet":
        try:
            if entry.preset is not None:
                model = _keras_hub_preset(entry.preset, image_size)
            else:
                model = entry.build(image_size, "imagenet")
        except Exception as e:  # network failure surfaces as many types
            raise _imagenet_error(name, e) from e
    else:
        model = entry.build(image_size, None)
    if entry.to_feature_map is not None:
        model = entry.to_feature_map(model, image_size)
    if weights is not None and weights != "imagenet" and not preset_dir:
        load_weights_file(model, weights)
    return model


def _from_preset_dir(name, path, image_size):
    import keras_hub

    try:
        return keras_hub.models.Backbone.from_preset(path, image_shape=(image_size, image_size, 3))
    except Exception as e:
        raise ValueError(
            f"Could not load backbone {name!r} from the preset directory {path!r}: "
            f"{e}. Make the directory with `backbone.save_to_preset(dir)`."
        ) from e


def load_weights_file(model, path):
    """Loads a local `.weights.h5` file into `model`, with a clear error."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(
            f"`weights={path!r}`: no such file or directory. Pass None (random "
            "initialisation), 'imagenet', a local `.weights.h5` file or a local "
            "keras-hub preset directory."
        )
    if not path.endswith(".weights.h5"):
        raise ValueError(
            f"`weights={path!r}` is not a `.weights.h5` file nor a keras-hub "
            "preset directory (one with a config.json). Save backbone weights with "
            "`backbone.save_weights('backbone.weights.h5')`."
        )
    try:
        model.load_weights(path)
    except Exception as e:
        raise ValueError(
            f"Could not load {path!r} into backbone {model.name!r}: {e}. The file "
            "must come from the same backbone architecture (same name)."
        ) from e


def last_stride(model, image_size):
    """The stride of `model`'s output map at `image_size` (e.g. 32 for a ResNet)."""
    return max(1, round(image_size / model.output_shape[1]))


def _map_strides(model, image_size):
    """`{stride: KerasTensor}` of `model`'s 4-D maps, the last layer of each size."""
    found = {}
    pyramid = getattr(model, "pyramid_outputs", None) or {}
    for tensor in pyramid.values():
        if len(tensor.shape) == 4 and tensor.shape[1]:
            found[max(1, round(image_size / tensor.shape[1]))] = tensor
    for layer in reversed(getattr(model, "layers", [])):
        if isinstance(layer, keras.layers.InputLayer):  # the image, not a feature map
            continue
        try:
            output = layer.output
        except (AttributeError, ValueError):  # a layer used twice, or not a graph
            continue
        if isinstance(output, (list, tuple)) or len(output.shape) != 4 or not output.shape[1]:
            continue
        found.setdefault(max(1, round(image_size / output.shape[1])), output)
    return found


def feature_tap(model, stride, image_size):
    """A model on `model`'s layers giving `(last map, map at stride)` in one pass.

    The finer map is keras-hub's `pyramid_outputs["P<log2 stride>"]` when the
    backbone has one, else the output of the last layer at that stride (a
    functional backbone). It shares `model`'s layers and weights: it is not a
    second network.

    Args:
        model: a backbone `keras.Model` (functional, e.g. a named backbone).
        stride: int, the stride of the wanted map (e.g. 16).
        image_size: int, the input side the backbone was built for.

    Returns:
        None when `stride` is the backbone's last stride (nothing to tap), else
        a `keras.Model` with outputs `[last map, map at stride]`.
    """
    last = last_stride(model, image_size)
    if stride == last:
        return None
    if stride > last:
        raise ValueError(
            f"`pattern_stride={stride}` is coarser than the backbone's last feature map "
            f"(stride {last} at {image_size} px). Pass a finer stride (e.g. {last // 2}) or "
            "None (the last map)."
        )
    strides = _map_strides(model, image_size)
    if stride not in strides:
        finer = sorted(s for s in strides if s < last)
        raise ValueError(
            f"The backbone {model.name!r} has no feature map at stride {stride} for "
            f"{image_size} px images; its maps are at strides {finer + [last]}. Pass one "
            "of these as `pattern_stride`, or None."
        )
    return keras.Model(model.inputs, [model.outputs[0], strides[stride]], name="pattern_tap")


def check_custom_backbone(model):
    """Checks a user-given backbone model returns a 4-D feature map."""
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"`backbone` must be a name in {known_backbones()} or a `keras.Model`, "
            f"got {type(model).__name__}."
        )
    shape = model.output_shape
    if isinstance(shape, list) or len(shape) != 4:
        raise ValueError(
            f"The backbone model {model.name!r} returns shape {shape}; CSDNet needs a "
            "4-D feature map `(batch, h, w, channels)`. Wrap token outputs with "
            "`keras_csdnet.backbones.tokens_to_grid`."
        )
    in_shape = model.input_shape
    if isinstance(in_shape, list) or len(in_shape) != 4:
        raise ValueError(
            f"The backbone model {model.name!r} takes input shape {in_shape}; CSDNet "
            "needs a single image input `(batch, H, W, 3)`."
        )
    return model


register_backbone("resnet50", _resnet(50), 32, "imagenet", "resnet_50_imagenet")
register_backbone("resnet18", _resnet(18), 32, "imagenet", "resnet_18_imagenet")
register_backbone("mobilenet_v3_small", _mobilenet_v3_small, 32, "none")
register_backbone(
    "vit_b16",
    _vit_b16,
    32,
    "symmetric",
    "vit_base_patch16_224_imagenet",
    check_size=_vit_size,
    to_feature_map=_vit_grid,
)
