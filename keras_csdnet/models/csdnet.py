"""CSDNet: contrastive self-distillation for ultra-fine-grained classification."""

import functools
import inspect

import keras
from keras import ops

from keras_csdnet import backbones as backbones_lib
from keras_csdnet import input_checks
from keras_csdnet import losses as losses_lib
from keras_csdnet import views as views_lib
from keras_csdnet.callbacks.epoch_tracker import EpochTracker
from keras_csdnet.callbacks.non_finite_loss_guard import NonFiniteLossGuard
from keras_csdnet.layers.ddl import DDL
from keras_csdnet.layers.pixel_normalization import PixelNormalization
from keras_csdnet.layers.ssdp import SSDP
from keras_csdnet.layers.ssdt import SSDT
from keras_csdnet.utils import replicas
from keras_csdnet.utils.checks import as_int
from keras_csdnet.utils.checks import check_int
from keras_csdnet.utils.checks import check_number

LOSS_COMPONENTS = ("cls_loss", "qc_loss", "ssdt_loss")

# A part's settings are its layer's constructor arguments, read from its
# signature, so a new knob on a layer is one edit in that layer.
_NOT_SETTINGS = ("self", "seed", "kwargs", "name", "dtype")


def _settings_of(layer_class):
    params = inspect.signature(layer_class.__init__).parameters
    return [p for p in params if p not in _NOT_SETTINGS]


def _shortcuts():
    """`{setting name: (part, layer class)}` for every part's setting (views as registered)."""
    return _shortcut_table(tuple(cls for _, cls in views_lib.VIEWS.items()))


@functools.lru_cache(maxsize=8)
def _shortcut_table(view_classes):
    parts = {"ssdp": [SSDP], "view": view_classes, "ddl": [DDL], "ssdt": [SSDT]}
    table = {}
    for part, classes in parts.items():
        for layer_class in classes:
            for setting in _settings_of(layer_class):
                table[setting] = (part, layer_class)
    return table


@keras.saving.register_keras_serializable(package="keras_csdnet")
class CSDNet(keras.Model):
    """CSDNet classifier: a backbone trained with SSDP, DDL and SSDT.

    Training runs the raw image and a second view through the same backbone
    and minimises `L = L_cls + alpha * L_qc + beta * L_ssdt`. Inference
    (`model(x)`, `predict`, `evaluate`, export) runs the raw image only:
    normalisation -> backbone -> SSDP enhancement -> global average pooling
    -> linear head -> logits. With `ssdp=ddl=ssdt=False` the model is plain
    fine-tuning of the same backbone and head, the baseline of every
    comparison.

    The model takes its parts as configured layers, each of which declares,
    defaults and validates its own settings: `SSDP` (the pattern map and
    enhancement), a view (`DiscrepancyView`, the SSDP-guided second view, or
    `RandomView`, a random crop), `DDL` (projection, memory queue, `alpha`,
    `margin`) and `SSDT` (`temperature`, direction, `beta`). `True` picks a
    part with its defaults, `False` switches it off. Any setting of a part
    may also be given here by name, e.g. `CSDNet(mask_mode="crop",
    queue_size=64)` is `CSDNet(view=DiscrepancyView(mask_mode="crop"),
    ddl=DDL(queue_size=64))`.

    `num_classes` and `image_size` may be left out: the first `fit` takes
    them from the data (a dataset's `class_names`, else the labels' maximum
    + 1; the images' side), `predict`, `evaluate` and `build` from their
    input shape. Both are then in `get_config`, so saved models are complete.

    The model is compiled at construction (AdamW, `learning_rate`,
    `weight_decay`, accuracy metric), so `model.fit(ds)` works at once; call
    `compile()` again to change the optimizer or metrics (the loss is always
    CSDNet's). The logs hold `loss`, `cls_loss`, `qc_loss`, `ssdt_loss` and
    the compiled metrics.

    Args:
        backbone: a name in `keras_csdnet.backbones.known_backbones()`
            (`"resnet50"` default, `"resnet18"`, `"mobilenet_v3_small"`,
            `"vit_b16"`) or a `keras.Model` mapping normalised images
            `(B, image_size, image_size, 3)` to a feature map `(B, h, w, C)`.
        num_classes: int >= 2, number of classes `K`, or None (from the
            training data, or `len(class_names)`).
        image_size: int, input height and width, or None (from the data, or
            a custom backbone's input shape).
        weights: backbone weights for a named backbone: `None` (random),
            `"imagenet"` (needs network), a local `.weights.h5` file or a local
            keras-hub preset directory.
        normalization: pixel normalisation inside the model, `"imagenet"`,
            `"symmetric"` or `"none"`; `None` picks the named backbone's own
            (`"imagenet"` for a custom backbone).
        ssdp: bool or an `SSDP` layer: the pattern map and feature
            enhancement (default on).
        view: the second view for DDL and SSDT: a name in
            `keras_csdnet.views.VIEWS` (`"discrepancy"`, the SSDP-guided
            `DiscrepancyView`; `"random"`, a `RandomView` crop) or a view
            layer. `None` (default): `"discrepancy"` with SSDP, `"random"`
            without.
        ddl: bool or a `DDL` layer: the memory-queue contrastive term.
        ssdt: bool or an `SSDT` layer: self-distillation between the views.
        label_smoothing: float in `[0, 1)` for `L_cls`. Default 0.
        learning_rate: float > 0, AdamW learning rate of the default
            compile. Default 3e-4 (best of 3e-4 / 1e-3 / 3e-3 on validation,
            for the baseline and CSDNet alike: docs/accuracy_study.md).
        weight_decay: float >= 0, AdamW weight decay of the default compile.
            Default 1e-4.
        seed: int or None, seed of a view built here (its mask thresholds
            and crops).
        class_names: optional list of `num_classes` strings, kept with the
            model (and in `.keras` files).
        **kwargs: settings of the parts by name (see above: `kernel_size`,
            `mask_mode`, `queue_size`, `alpha`, `temperature`, `beta`, ...),
            and base `keras.Model` arguments (`name`, ...).

    Shapes:
        Input: images `(B, image_size, image_size, 3)` or `(..., 1)`, raw pixel
        values in `[0, 255]` (uint8 or float). Labels: int `(B,)` in
        `[0, num_classes)`.
        Output: logits `(B, num_classes)` float32 (`training=False`); in
        training, a dict with `logits`, `aug_logits`, `embeddings`,
        `aug_embeddings` (those the switches need).

    References:
        Fang, Jiang, Tang, Li, "Learning Contrastive Self-Distillation for
        Ultra-Fine-Grained Visual Categorization Targeting Limited Samples",
        arXiv 2311.06056.

    Examples:
    ```python
    import keras_csdnet
    from keras_csdnet.layers import DDL, DiscrepancyView
    train, test = keras_csdnet.data.synthetic_cultivars(
        num_classes=4, image_size=64, train_per_class=2, test_per_class=1, seed=0)
    model = keras_csdnet.CSDNet(
        backbone="resnet18", view=DiscrepancyView(mask_mode="crop"), ddl=DDL(queue_size=16))
    model.fit(train, epochs=1, verbose=0)   # 4 classes and 64 px, from the data
    logits = model.predict(test, verbose=0)   # (4, 4)
    ```
    """

    def __init__(
        self,
        backbone="resnet50",
        num_classes=None,
        image_size=None,
        weights=None,
        normalization=None,
        ssdp=True,
        view=None,
        ddl=True,
        ssdt=True,
        label_smoothing=0.0,
        learning_rate=3e-4,
        weight_decay=1e-4,
        seed=None,
        class_names=None,
        **kwargs,
    ):
        shortcuts = _shortcuts()
        settings = {k: kwargs.pop(k) for k in list(kwargs) if k in shortcuts}
        seed = None if seed is None else check_int("seed", seed, low=0)
        label_smoothing = check_number("label_smoothing", label_smoothing, 0, 1, high_open=True)
        learning_rate = check_number("learning_rate", learning_rate, 0, low_open=True)
        weight_decay = check_number("weight_decay", weight_decay, 0)
        if normalization is not None and normalization not in backbones_lib.NORMALIZATIONS:
            raise ValueError(
                f"Unknown `normalization={normalization!r}`; use one of "
                f"{backbones_lib.NORMALIZATIONS} or None (the backbone's own)."
            )
        class_names = list(class_names) if class_names is not None else None
        num_classes = as_int(num_classes)
        if num_classes is None and class_names is not None:
            num_classes = len(class_names)
        if num_classes is not None:
            check_int("num_classes", num_classes, low=2)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(
                f"`class_names` has {len(class_names)} names but `num_classes="
                f"{num_classes}`; give one name per class."
            )
        if isinstance(backbone, str):
            backbones_lib.check_name(backbone)
            if image_size is not None:
                backbones_lib.check_image_size(backbone, check_int("image_size", image_size))
        else:
            backbone = backbones_lib.check_custom_backbone(backbone)
            image_size = _custom_image_size(backbone, image_size)
        if image_size is not None:
            image_size = check_int("image_size", image_size)

        parts = _make_parts(ssdp, view, ddl, ssdt, seed, settings, shortcuts)
        super().__init__(**kwargs)
        self.backbone_name = backbone if isinstance(backbone, str) else None
        self.num_classes = num_classes
        self.image_size = image_size
        self.weights_source = weights
        self.normalization = normalization
        self.seed = seed
        self.class_names = class_names
        self.label_smoothing = label_smoothing
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.ssdp = parts["ssdp"] is not None
        self.ddl = parts["ddl"] is not None
        self.ssdt = parts["ssdt"] is not None
        # The parts are tracked (become attributes) in `_make_layers`, in one
        # fixed order, once the sizes are known: weight paths in `.keras` files
        # follow the order in which layers are tracked.
        self._parts = _Untracked(parts, backbone)
        self.cls_loss_tracker = keras.metrics.Mean(name="cls_loss")
        self.qc_loss_tracker = keras.metrics.Mean(name="qc_loss")
        self.ssdt_loss_tracker = keras.metrics.Mean(name="ssdt_loss")
        self.compile()
        if num_classes is not None and image_size is not None:
            self.build((None, image_size, image_size, 3))

    # ------------------------------------------------------------------ parts
    def __getattr__(self, name):
        # A part's setting read on the model (`model.queue_size`, `model.mask_mode`):
        # the part's own value, None when that part is off.
        try:
            return super().__getattr__(name)
        except AttributeError:
            pass
        parts = self.__dict__.get("_parts")
        table = _shortcuts()
        if parts is None or name not in table:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        layer = parts.value[0][table[name][0]]
        return getattr(layer, name, None)

    def part(self, name):
        """The configured part `"ssdp"`, `"view"`, `"ddl"` or `"ssdt"` (None if off)."""
        return self._parts.value[0][name]

    def _make_layers(self):
        parts, backbone = self._parts.value
        size = self.image_size
        if isinstance(backbone, str):
            backbone = backbones_lib.build_backbone(backbone, size, self.weights_source)
        default_norm = (
            backbones_lib.normalization_of(self.backbone_name)
            if self.backbone_name is not None
            else "imagenet"
        )
        # Attribute names and this order are those of the first release's
        # `.keras` files (tests/fixtures): keep them.
        self.pixel_normalization = PixelNormalization(
            self.normalization or default_norm, name="pixel_normalization"
        )
        self.backbone = backbone
        self.discrepancy_parser = parts["ssdp"]
        self.view_generator = parts["view"]
        self.pooling = keras.layers.GlobalAveragePooling2D(name="pool")
        self.head = keras.layers.Dense(self.num_classes, name="head")
        if parts["ddl"] is not None:
            self.projection = parts["ddl"].projection
            self.queue = parts["ddl"].queue
        else:
            self.projection = self.queue = None
        self.queue_contrast = parts["ddl"]
        self.self_distillation = parts["ssdt"]
        # SSDP on a finer map of the same backbone pass: a model on the
        # backbone's own layers with both outputs, untracked (its weights are
        # the backbone's, saved under the backbone's paths).
        stride = getattr(parts["ssdp"], "pattern_stride", None)
        tap = backbones_lib.feature_tap(backbone, stride, size) if stride else None
        self._pattern_tap = _Untracked(tap)

    def build(self, input_shape=None):
        if self.built:
            return
        if input_shape is not None:
            input_checks.check_image_shape(input_shape, None)
            if self.image_size is None:
                self._set_image_size(input_shape[1], input_shape[2])
        if self.image_size is None or self.num_classes is None:
            missing = "image_size" if self.image_size is None else "num_classes"
            raise ValueError(
                f"CSDNet does not know its `{missing}` yet. Pass `{missing}=` to CSDNet, "
                "or call `fit` first: it takes both from the training data."
            )
        self._make_layers()
        size = self.image_size
        self.pixel_normalization.build((None, size, size, 3))
        feature_shape = tuple(self.backbone.output_shape)
        tap = self._pattern_tap.value[0]
        pattern_shape = tuple(tap.output_shape[1]) if tap is not None else feature_shape
        if self.discrepancy_parser is not None:
            if not self.discrepancy_parser.built:
                self.discrepancy_parser.build(feature_shape, pattern_shape)
            if self.view_generator is not None and self.view_generator.needs_pattern:
                self.view_generator.check_pattern_shape(pattern_shape, size)
        self.pooling.build(feature_shape)
        pooled_shape = (None, feature_shape[-1])
        self.head.build(pooled_shape)
        if self.queue_contrast is not None and not self.queue_contrast.built:
            self.queue_contrast.build(pooled_shape)
        self.built = True
        if getattr(self, "optimizer", None) is not None and not self.optimizer.built:
            # Optimizer slots exist from the start, so a `.keras` file saved
            # before training reloads without a variable-count mismatch.
            self.optimizer.build(self.trainable_variables)

    def _set_image_size(self, height, width):
        if height is None or width is None:
            return
        if height != width:
            raise ValueError(
                f"CSDNet takes square images, got {height} x {width}. Resize or crop them "
                "to a square (`keras_csdnet.data.load_image(path, image_size)` does)."
            )
        if self.backbone_name is not None:
            backbones_lib.check_image_size(self.backbone_name, int(height))
        self.image_size = int(height)

    def _build_from_data(self, x, y=None, training=False):
        """Takes `image_size` and (in `fit`) `num_classes` from the data, then builds."""
        if self.built:
            return
        if self.image_size is None:
            size = input_checks.infer_image_size(x)
            if size is None:
                raise ValueError(
                    "CSDNet cannot read the image size from this input. Pass "
                    "`image_size=` to CSDNet."
                )
            self._set_image_size(size, size)
        if self.num_classes is None and training:
            self.num_classes, names = input_checks.infer_num_classes(x, y)
            if self.class_names is None and names is not None:
                self.class_names = names
        self.build((None, self.image_size, self.image_size, 3))

    def compile(self, optimizer=None, loss=None, metrics=None, **kwargs):
        """Compiles with CSDNet's loss; defaults: AdamW and accuracy.

        `loss` must stay `None`: the loss is CSDNet's own (`compute_loss`).
        On the PyTorch backend, `jit_compile=True` (Keras wraps the training
        step in `torch.compile`) turns off dynamo's automatic dynamic shapes
        for the process: once a step is recompiled with symbolic sizes, the
        asymmetric padding Keras computes for `padding="same"` convolutions
        with strides fails to lower in Inductor (`ValueRangeError: Invalid
        ranges`), for any Keras model with such convolutions.
        """
        if loss is not None:
            raise ValueError(
                "CSDNet computes its own loss (L_cls + alpha * L_qc + beta * L_ssdt); "
                "do not pass `loss=` to compile(). Set `alpha` on the DDL part, `beta` "
                "on the SSDT part and `label_smoothing` on the model instead."
            )
        if optimizer is None:
            optimizer = keras.optimizers.AdamW(
                learning_rate=self.learning_rate, weight_decay=self.weight_decay
            )
        if metrics is None:
            metrics = ["accuracy"]
        if kwargs.get("jit_compile") is True and keras.backend.backend() == "torch":
            import torch._dynamo

            torch._dynamo.config.automatic_dynamic_shapes = False
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        """Recompiles a loaded model with its saved optimizer and metrics."""
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)

    # ------------------------------------------------------------ forward
    def _pixels(self, images):
        pixels = ops.cast(images, "float32")
        if pixels.shape[-1] == 1:
            pixels = ops.concatenate([pixels, pixels, pixels], axis=-1)
        return pixels

    def _forward(self, pixels, training):
        """One view: returns `(logits float32, pooled features, pattern or None)`."""
        normalized = self.pixel_normalization(pixels)
        tap = self._pattern_tap.value[0]
        if tap is not None:  # one backbone pass, two of its maps
            features, fine = tap(normalized, training=training)
        else:
            features, fine = self.backbone(normalized, training=training), None
        pattern = None
        if self.discrepancy_parser is not None:
            features, pattern = self.discrepancy_parser(features, fine)
        pooled = self.pooling(features)
        logits = ops.cast(self.head(pooled), "float32")
        return logits, pooled, pattern

    def call(self, images, training=False):
        input_checks.check_image_shape(images.shape, self.image_size)
        pixels = self._pixels(images)
        logits, pooled, pattern = self._forward(pixels, training)
        if not training:
            return logits
        outputs = {"logits": logits}
        if self.view_generator is None:
            return outputs
        if self.view_generator.needs_pattern:
            if pattern is None:
                raise ValueError(
                    f"The view {type(self.view_generator).__name__} needs SSDP's pattern "
                    'map, but `ssdp=False`. Turn SSDP on or use `view="random"`.'
                )
            view = self.view_generator(pixels, pattern)
        else:
            view = self.view_generator(pixels)
        view = ops.stop_gradient(view)
        aug_logits, aug_pooled, _ = self._forward(view, training)
        outputs["aug_logits"] = aug_logits
        if self.queue_contrast is not None:
            outputs["embeddings"] = self.queue_contrast(pooled)
            outputs["aug_embeddings"] = self.queue_contrast(aug_pooled)
        return outputs

    def embed(self, images):
        """Pooled features of the inference path, before the head.

        Args:
            images: raw pixels `(B, image_size, image_size, 3|1)` in `[0, 255]`.

        Returns:
            `(B, C)` float features (C: the backbone's channels), the input of
            the linear head: what a t-SNE of the test set shows.
        """
        self._build_from_data(images)
        input_checks.check_image_shape(images.shape, self.image_size)
        return self._forward(self._pixels(images), False)[1]

    def pattern_map(self, images):
        """SSDP's pattern map P of the inference path, or None with `ssdp=False`.

        Args:
            images: raw pixels `(B, image_size, image_size, 3|1)` in `[0, 255]`.

        Returns:
            `(B, h, w, 1)` float32 (h, w: the map SSDP runs on), the map that a
            `DiscrepancyView` thresholds into its mask.
        """
        self._build_from_data(images)
        input_checks.check_image_shape(images.shape, self.image_size)
        if self.discrepancy_parser is None:
            return None
        return ops.cast(self._forward(self._pixels(images), False)[2], "float32")

    # -------------------------------------------------------------- losses
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y_pred, dict):  # evaluate(): the inference path only
            loss = losses_lib.classification_loss(y, y_pred, self.label_smoothing, sample_weight)
            return replicas.scale_loss(loss)
        labels = ops.reshape(ops.cast(y, "int32"), (-1,))
        cls_loss = losses_lib.classification_loss(
            labels, y_pred["logits"], self.label_smoothing, sample_weight
        )
        if "aug_logits" in y_pred:
            cls_loss = cls_loss + losses_lib.classification_loss(
                labels, y_pred["aug_logits"], self.label_smoothing, sample_weight
            )
        total = cls_loss
        qc_loss = ops.zeros((), "float32")
        ssdt_loss = ops.zeros((), "float32")
        ddl = self.queue_contrast
        if ddl is not None:
            # Data-parallel (tf.distribute): every replica scores and enqueues
            # the global batch, in the order one device would.
            embeddings = ops.concatenate(
                [
                    replicas.all_gather(y_pred["embeddings"]),
                    replicas.all_gather(y_pred["aug_embeddings"]),
                ],
                axis=0,
            )
            all_labels = replicas.all_gather(labels)
            qc_loss = ddl.queue_loss(embeddings, ops.concatenate([all_labels, all_labels], axis=0))
            total = total + ddl.alpha * qc_loss
        ssdt = self.self_distillation
        if ssdt is not None:
            ssdt_loss = ssdt(y_pred["logits"], y_pred["aug_logits"])
            total = total + ssdt.beta * ssdt_loss
        self.cls_loss_tracker.update_state(cls_loss)
        self.qc_loss_tracker.update_state(qc_loss)
        self.ssdt_loss_tracker.update_state(ssdt_loss)
        # Regularisation losses of layers (none by default) still count.
        if self.losses:
            total = total + ops.cast(ops.sum(self.losses), "float32")
        # Replicas' gradients are summed: each contributes its share.
        return replicas.scale_loss(total)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        training = isinstance(y_pred, dict)
        logits = y_pred["logits"] if training else y_pred
        results = super().compute_metrics(x, y, logits, sample_weight)
        if not training:
            results = {k: v for k, v in results.items() if k not in LOSS_COMPONENTS}
        return results

    # ------------------------------------------------------ input checking
    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, with the inputs checked and a `NonFiniteLossGuard`.

        An unbuilt model first takes its image size and number of classes
        from `x` and `y`. Arrays are checked before training (pixels finite
        and in `[0, 255]`, labels integer ids in `[0, num_classes)`), a
        `tf.data.Dataset` batch by batch; a NaN or infinite loss stops
        training with a `keras_csdnet.errors.NonFiniteLossError` naming the
        epoch and batch. A view with `warmup_epochs` gets an `EpochTracker`,
        which tells it the epoch.
        """
        self._build_from_data(x, y, training=True)
        x, y, kwargs = input_checks.checked_inputs(x, y, kwargs, self.num_classes)
        callbacks = kwargs.get("callbacks")
        if callbacks is None or isinstance(callbacks, (list, tuple)):
            callbacks = list(callbacks or [])
            if not any(isinstance(c, NonFiniteLossGuard) for c in callbacks):
                callbacks.append(NonFiniteLossGuard())
            needs_epoch = callable(getattr(self.view_generator, "set_epoch", None))
            if needs_epoch and not any(isinstance(c, EpochTracker) for c in callbacks):
                callbacks.append(EpochTracker())
            kwargs["callbacks"] = callbacks
        with input_checks.dataset_errors_as_value_errors():
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._build_from_data(x, y)
        x, y, kwargs = input_checks.checked_inputs(x, y, kwargs, self.num_classes)
        with input_checks.dataset_errors_as_value_errors():
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._build_from_data(x)
        x, _, kwargs = input_checks.checked_inputs(x, None, kwargs, self.num_classes)
        with input_checks.dataset_errors_as_value_errors():
            return super().predict(x, *args, **kwargs)

    # ------------------------------------------------------- serialization
    def get_config(self):
        config = super().get_config()
        if self.backbone_name is not None:
            backbone = self.backbone_name
        else:
            backbone = keras.saving.serialize_keras_object(self._parts.value[1])

        def part(name):
            layer = self.part(name)
            if layer is None:
                return False
            serialized = keras.saving.serialize_keras_object(layer)
            serialized.pop("build_config", None)  # the model builds its parts
            return serialized

        config.update(
            backbone=backbone,
            num_classes=self.num_classes,
            image_size=self.image_size,
            weights=self.weights_source,
            normalization=self.normalization,
            ssdp=part("ssdp"),
            view=part("view") if self.part("view") is not None else None,
            ddl=part("ddl"),
            ssdt=part("ssdt"),
            label_smoothing=self.label_smoothing,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            seed=self.seed,
            class_names=self.class_names,
        )
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuilds a model from `get_config`, also from files of the first release.

        Their configs hold the parts' settings flat (`mask_mode`, `queue_size`,
        ...) beside boolean switches; the constructor takes those by name.
        """
        config = dict(config)
        for key in ("backbone", "ssdp", "view", "ddl", "ssdt"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        # The architecture comes from the config; the weights from the saved
        # file, so the backbone's original weight source is not reloaded.
        weights = config.pop("weights", None)
        model = cls(weights=None, **config)
        model.weights_source = weights
        return model


# ---------------------------------------------------------------- helpers
class _Untracked:
    """Holds objects on a model without Keras tracking them as its layers."""

    def __init__(self, *value):
        self.value = value


def _custom_image_size(backbone, image_size):
    size = tuple(backbone.input_shape[1:3])
    if size == (None, None):
        return image_size
    if image_size is None:
        return size[0] if size[0] == size[1] else image_size
    if size != (image_size, image_size):
        raise ValueError(
            f"The backbone takes {size} images but `image_size={image_size}`. Pass the "
            "backbone's image size."
        )
    return image_size


def _make_parts(ssdp, view, ddl, ssdt, seed, settings, shortcuts):
    """The configured parts from the switches, part layers and settings by name."""
    given = {"ssdp": ssdp, "ddl": ddl, "ssdt": ssdt}
    classes = {"ssdp": SSDP, "ddl": DDL, "ssdt": SSDT}
    by_part = {}
    for name, value in settings.items():
        part, layer_class = shortcuts[name]
        by_part.setdefault(part, {}).setdefault(layer_class, {})[name] = value
    parts = {}
    for name, layer_class in classes.items():
        value = given[name]
        own = by_part.get(name, {}).get(layer_class, {})
        if isinstance(value, layer_class):
            if own:
                raise ValueError(
                    f"Pass {sorted(own)} to the {layer_class.__name__} layer given as "
                    f"`{name}=`, not to CSDNet beside it."
                )
            parts[name] = value
        elif isinstance(value, (bool, int)) and value in (0, 1):
            # Settings of a part that is off are ignored, as `ssdp=False` with
            # the default `kernel_size` always was.
            parts[name] = layer_class(**own, name=name) if value else None
        else:
            raise ValueError(
                f"`{name}` must be True, False or a `keras_csdnet.layers."
                f"{layer_class.__name__}`, got {value!r}."
            )
    if view is None:
        # SSDP makes its view even for the "SSDP alone" row (L_cls sees both
        # views); without SSDP, DDL and SSDT need a random crop.
        if parts["ssdp"] is not None:
            view = "discrepancy"
        elif parts["ddl"] is not None or parts["ssdt"] is not None:
            view = "random"
    if view is None or view is False:
        parts["view"] = None
        return parts
    view_settings = by_part.get("view", {})
    if isinstance(view, str):
        own = view_settings.get(views_lib.VIEWS.get(view), {})
        parts["view"] = views_lib.make_view(view, seed=seed, name="view", **own)
    else:
        parts["view"] = views_lib.make_view(view)
    if parts["view"].needs_pattern and parts["ssdp"] is None:
        raise ValueError(
            f"`view={view!r}` is guided by SSDP's pattern map, but `ssdp=False`. Turn "
            'SSDP on, or use `view="random"` (a random crop).'
        )
    return parts
