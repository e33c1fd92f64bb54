"""CSDNet: contrastive self-distillation for ultra-fine-grained classification."""

import numbers
import warnings

import keras
import numpy as np
from keras import ops

from keras_csdnet import backbones as backbones_lib
from keras_csdnet import input_checks
from keras_csdnet import losses as losses_lib
from keras_csdnet.callbacks.non_finite_loss_guard import NonFiniteLossGuard
from keras_csdnet.layers.discrepancy_view import DiscrepancyView
from keras_csdnet.layers.discrepancy_view import check_view_args
from keras_csdnet.layers.memory_queue import MemoryQueue
from keras_csdnet.layers.pixel_normalization import PixelNormalization
from keras_csdnet.layers.random_view import RandomView
from keras_csdnet.layers.ssdp import SSDP

LOSS_COMPONENTS = ("cls_loss", "qc_loss", "ssdt_loss")


@keras.saving.register_keras_serializable(package="keras_csdnet")
class CSDNet(keras.Model):
    """CSDNet classifier: a backbone trained with SSDP, DDL and SSDT.

    Training runs the raw image and an augmented view through the same
    backbone and minimises `L = L_cls + alpha * L_qc + beta * L_ssdt`
    (see `keras_csdnet.losses`). Inference (`model(x)`, `predict`,
    `evaluate`, export) runs the raw image only: normalisation -> backbone ->
    SSDP enhancement -> global average pooling -> linear head -> logits.
    With `ssdp=ddl=ssdt=False` the model is plain fine-tuning of the same
    backbone and head, the baseline of every comparison.

    The model is compiled at construction (AdamW, `learning_rate`,
    `weight_decay`, accuracy metric), so `model.fit(ds)` works at once; call
    `compile()` again to change the optimizer or metrics (the loss is always
    CSDNet's). The logs hold `loss`, `cls_loss`, `qc_loss`, `ssdt_loss` and the
    compiled metrics.

    Args:
        backbone: a name in `keras_csdnet.backbones.known_backbones()`
            (`"resnet50"` default, `"resnet18"`, `"mobilenet_v3_small"`,
            `"vit_b16"`) or a `keras.Model` mapping normalised images
            `(B, image_size, image_size, 3)` to a feature map `(B, h, w, C)`.
        num_classes: int >= 2, number of classes `K`.
        image_size: int, input height and width. Default 224.
        weights: backbone weights for a named backbone: `None` (random),
            `"imagenet"` (needs network), a local `.weights.h5` file or a local
            keras-hub preset directory.
        normalization: pixel normalisation inside the model, `"imagenet"`,
            `"symmetric"` or `"none"`; `None` picks the named backbone's own
            (`"imagenet"` for a custom backbone).
        ssdp: bool, use SSDP (enhancement + discrepancy-guided view).
        ddl: bool, use DDL (memory queue + margin contrastive loss).
        ssdt: bool, use SSDT (self-distillation between the views).
        alpha: float >= 0, weight of `L_qc`. Default 1.0.
        beta: float >= 0, weight of `L_ssdt`. Default 1.0.
        temperature: float > 0, SSDT temperature `tau`. Default 4.0.
        margin: float in `[-1, 1]`, DDL margin `xi`. Default 0.4.
        queue_size: int >= 1, DDL queue length `iota`. Default 1024.
        embedding_dim: int >= 1, DDL embedding size. Default 256.
        kernel_size: odd int, SSDP reassembly kernel side `k`. Default 5.
        encoder_kernel_size: odd int, SSDP kernel-encoder conv side. Default 3.
        kernel_channels: int, SSDP 1x1 compression channels. Default 64.
        threshold_low: float in `[0, 1]`, lower bound of the mask threshold.
            Default 0.4.
        threshold_high: float in `[threshold_low, 1]`. Default 0.6.
        mask_mode: how the discrepancy mask `M` makes the augmented view:
            `"erase"` (default, `I * (1 - M)`: hide the most discriminative
            region so the network must use the others), `"crop"` (the
            paper's zoom on the mask's bounding box) or `"keep"` (`I * M`).
            `"erase"` is the default because it won the validation sweep on
            the 38 oaks by a wide margin (`benchmarks/README.md`).
        mask_fill: `"zeros"` (default, the paper's product: hidden pixels
            black) or `"border"` (hidden pixels take each image's border
            colour, its background): the value of the pixels `"erase"` and
            `"keep"` hide. Zeros paint an ink-coloured block on dark-on-light
            images such as characters or scans on white paper; on the katakana
            validation split `"border"` was no better (`benchmarks/README.md`).
        distill_direction: `"aug_to_raw"` (default), `"raw_to_aug"` or
            `"symmetric"`.
        label_smoothing: float in `[0, 1)` for `L_cls`. Default 0.
        learning_rate: float > 0, AdamW learning rate of the default
            compile. Default 3e-4 (best of 3e-4 / 1e-3 / 3e-3 on validation,
            for the baseline and CSDNet alike, from scratch and fine-tuning).
        weight_decay: float >= 0, AdamW weight decay of the default compile.
            Default 1e-4.
        seed: int or None, seed of every random op (the views' mask
            thresholds and crops).
        class_names: optional list of `num_classes` strings, kept with the
            model (and in `.keras` files).
        **kwargs: base `keras.Model` arguments (`name`, ...).

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
    train, test = keras_csdnet.data.synthetic_cultivars(
        num_classes=4, image_size=64, train_per_class=2, test_per_class=1, seed=0)
    model = keras_csdnet.CSDNet(
        backbone="resnet18", num_classes=4, image_size=64, queue_size=16)
    model.fit(train, epochs=1, verbose=0)
    logits = model.predict(test, verbose=0)   # (4, 4)
    ```
    """

    def __init__(
        self,
        backbone="resnet50",
        num_classes=None,
        image_size=224,
        weights=None,
        normalization=None,
        ssdp=True,
        ddl=True,
        ssdt=True,
        alpha=1.0,
        beta=1.0,
        temperature=4.0,
        margin=0.4,
        queue_size=1024,
        embedding_dim=256,
        kernel_size=5,
        encoder_kernel_size=3,
        kernel_channels=64,
        threshold_low=0.4,
        threshold_high=0.6,
        mask_mode="erase",
        mask_fill="zeros",
        distill_direction="aug_to_raw",
        label_smoothing=0.0,
        learning_rate=3e-4,
        weight_decay=1e-4,
        seed=None,
        class_names=None,
        **kwargs,
    ):
        num_classes, image_size, queue_size, embedding_dim = map(
            _as_int, (num_classes, image_size, queue_size, embedding_dim)
        )
        kernel_size, encoder_kernel_size, kernel_channels, seed = map(
            _as_int, (kernel_size, encoder_kernel_size, kernel_channels, seed)
        )
        _check_args(locals())
        if isinstance(backbone, str):
            backbone_model = backbones_lib.build_backbone(backbone, image_size, weights)
            default_norm = backbones_lib.BACKBONES[backbone]["normalization"]
        else:
            backbone_model = backbones_lib.check_custom_backbone(backbone)
            default_norm = "imagenet"
            expected = (image_size, image_size)
            if tuple(backbone_model.input_shape[1:3]) not in (expected, (None, None)):
                raise ValueError(
                    f"The backbone takes {backbone_model.input_shape[1:3]} images but "
                    f"`image_size={image_size}`. Pass the backbone's image size."
                )
        super().__init__(**kwargs)

        self.backbone_name = backbone if isinstance(backbone, str) else None
        self.num_classes = num_classes
        self.image_size = image_size
        self.weights_source = weights
        self.normalization = normalization
        self.ssdp = bool(ssdp)
        self.ddl = bool(ddl)
        self.ssdt = bool(ssdt)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.temperature = float(temperature)
        self.margin = float(margin)
        self.queue_size = queue_size
        self.embedding_dim = embedding_dim
        self.kernel_size = kernel_size
        self.encoder_kernel_size = encoder_kernel_size
        self.kernel_channels = kernel_channels
        self.threshold_low = float(threshold_low)
        self.threshold_high = float(threshold_high)
        self.mask_mode = mask_mode
        self.mask_fill = mask_fill
        self.distill_direction = distill_direction
        self.label_smoothing = float(label_smoothing)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.seed = seed
        self.class_names = list(class_names) if class_names is not None else None

        # === Layers ===
        self.pixel_normalization = PixelNormalization(
            normalization or default_norm, name="pixel_normalization"
        )
        self.backbone = backbone_model
        self.discrepancy_parser = (
            SSDP(kernel_size, encoder_kernel_size, kernel_channels, name="ssdp")
            if self.ssdp
            else None
        )
        if self.ssdp:
            self.view_generator = DiscrepancyView(
                threshold_low,
                threshold_high,
                mask_mode,
                seed=seed,
                mask_fill=mask_fill,
                name="view",
            )
        elif self.ddl or self.ssdt:
            self.view_generator = RandomView(seed=seed, name="view")
        else:
            self.view_generator = None
        self.pooling = keras.layers.GlobalAveragePooling2D(name="pool")
        self.head = keras.layers.Dense(num_classes, name="head")
        self.projection = (
            keras.layers.Dense(embedding_dim, name="projection") if self.ddl else None
        )
        self.queue = (
            MemoryQueue(queue_size, embedding_dim, name="memory_queue")
            if self.ddl
            else None
        )
        self.cls_loss_tracker = keras.metrics.Mean(name="cls_loss")
        self.qc_loss_tracker = keras.metrics.Mean(name="qc_loss")
        self.ssdt_loss_tracker = keras.metrics.Mean(name="ssdt_loss")
        self.build((None, image_size, image_size, 3))
        self.compile()

    # ------------------------------------------------------------------ build
    def build(self, input_shape=None):
        if self.built:
            return
        size = self.image_size
        self.pixel_normalization.build((None, size, size, 3))
        feature_shape = tuple(self.backbone.output_shape)
        channels = feature_shape[-1]
        if self.discrepancy_parser is not None:
            self.discrepancy_parser.build(feature_shape)
            warn_if_single_cell(feature_shape, size, self.mask_mode)
        self.pooling.build(feature_shape)
        self.head.build((None, channels))
        if self.projection is not None:
            self.projection.build((None, channels))
        self.built = True

    def compile(self, optimizer=None, loss=None, metrics=None, **kwargs):
        """Compiles with CSDNet's loss; defaults: AdamW and accuracy.

        `loss` must stay `None`: the loss is CSDNet's own (`compute_loss`).
        """
        if loss is not None:
            raise ValueError(
                "CSDNet computes its own loss (L_cls + alpha * L_qc + beta * L_ssdt); "
                "do not pass `loss=` to compile(). Set `alpha`, `beta`, "
                "`label_smoothing` on the model instead."
            )
        if optimizer is None:
            optimizer = keras.optimizers.AdamW(
                learning_rate=self.learning_rate, weight_decay=self.weight_decay
            )
        if metrics is None:
            metrics = ["accuracy"]
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        if self.built:
            # Optimizer slots exist from the start, so a `.keras` file saved
            # before training reloads without a variable-count mismatch.
            self.optimizer.build(self.trainable_variables)

    def compile_from_config(self, config):
        """Recompiles a loaded model with its saved optimizer and metrics."""
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)

    # ------------------------------------------------------------ forward
    def _check_images(self, images):
        shape = tuple(images.shape)
        if len(shape) != 4:
            raise ValueError(
                f"CSDNet expects images of rank 4 `(batch, height, width, channels)`, "
                f"got shape {shape}. Add a batch axis (e.g. `x[None]`) for one image."
            )
        if shape[-1] not in (1, 3):
            raise ValueError(
                f"CSDNet expects 1 (grey) or 3 (RGB) channels last, got shape {shape}. "
                "Drop the alpha channel (`x[..., :3]`) or use channels-last layout."
            )
        expected = (self.image_size, self.image_size)
        if shape[1:3] != expected and None not in shape[1:3]:
            rebuild = (
                f", or build and train the model with `image_size={shape[1]}` for images of "
                "that size" if shape[1] == shape[2] else ""
            )
            raise ValueError(
                f"CSDNet was built for {expected} images (`image_size="
                f"{self.image_size}`), got shape {shape}. Resize the images to "
                f"{self.image_size} x {self.image_size} (e.g. "
                "`keras_csdnet.data.load_image(path, image_size)` for a file, or "
                f"`keras.layers.Resizing` in your input pipeline){rebuild}."
            )

    def _pixels(self, images):
        pixels = ops.cast(images, "float32")
        if pixels.shape[-1] == 1:
            pixels = ops.concatenate([pixels, pixels, pixels], axis=-1)
        return pixels

    def _forward(self, pixels, training):
        """One view: returns `(logits float32, pooled features, pattern or None)`."""
        features = self.backbone(self.pixel_normalization(pixels), training=training)
        pattern = None
        if self.discrepancy_parser is not None:
            features, pattern = self.discrepancy_parser(features)
        pooled = self.pooling(features)
        logits = ops.cast(self.head(pooled), "float32")
        return logits, pooled, pattern

    def _embed(self, pooled):
        embedding = ops.cast(self.projection(pooled), "float32")
        return ops.normalize(embedding, axis=-1, order=2)

    def call(self, images, training=False):
        self._check_images(images)
        pixels = self._pixels(images)
        logits, pooled, pattern = self._forward(pixels, training)
        if not training:
            return logits
        outputs = {"logits": logits}
        if self.view_generator is None:
            return outputs
        if self.ssdp:
            view = self.view_generator(pixels, pattern)
        else:
            view = self.view_generator(pixels)
        view = ops.stop_gradient(view)
        aug_logits, aug_pooled, _ = self._forward(view, training)
        outputs["aug_logits"] = aug_logits
        if self.ddl:
            outputs["embeddings"] = self._embed(pooled)
            outputs["aug_embeddings"] = self._embed(aug_pooled)
        return outputs

    # -------------------------------------------------------------- losses
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if not isinstance(y_pred, dict):  # evaluate(): the inference path only
            return losses_lib.classification_loss(
                y, y_pred, self.label_smoothing, sample_weight
            )
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
        if self.ddl:
            embeddings = ops.concatenate(
                [y_pred["embeddings"], y_pred["aug_embeddings"]], axis=0
            )
            both_labels = ops.concatenate([labels, labels], axis=0)
            queue_features, queue_labels = self.queue.read()
            qc_loss = losses_lib.queue_contrastive_loss(
                embeddings, both_labels, queue_features, queue_labels, self.margin
            )
            self.queue.enqueue(embeddings, both_labels)
            total = total + self.alpha * qc_loss
        if self.ssdt:
            ssdt_loss = losses_lib.distillation_loss(
                y_pred["logits"],
                y_pred["aug_logits"],
                self.temperature,
                self.distill_direction,
            )
            total = total + self.beta * ssdt_loss
        self.cls_loss_tracker.update_state(cls_loss)
        self.qc_loss_tracker.update_state(qc_loss)
        self.ssdt_loss_tracker.update_state(ssdt_loss)
        # Regularisation losses of layers (none by default) still count.
        if self.losses:
            total = total + ops.cast(ops.sum(self.losses), "float32")
        return total

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

        Arrays are checked before training (pixels finite and in `[0, 255]`,
        labels integer ids in `[0, num_classes)`), a `tf.data.Dataset` batch
        by batch; a NaN or infinite loss stops training with a
        `keras_csdnet.errors.NonFiniteLossError` naming the epoch and batch.
        """
        x, y, kwargs = self._checked_inputs(x, y, kwargs)
        callbacks = kwargs.get("callbacks")
        if callbacks is None or isinstance(callbacks, (list, tuple)):
            callbacks = list(callbacks or [])
            if not any(isinstance(c, NonFiniteLossGuard) for c in callbacks):
                callbacks.append(NonFiniteLossGuard())
            kwargs["callbacks"] = callbacks
        with input_checks.dataset_errors_as_value_errors():
            return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x, y, kwargs = self._checked_inputs(x, y, kwargs)
        with input_checks.dataset_errors_as_value_errors():
            return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        x, _, kwargs = self._checked_inputs(x, None, kwargs)
        with input_checks.dataset_errors_as_value_errors():
            return super().predict(x, *args, **kwargs)

    def _checked_inputs(self, x, y, kwargs):
        """Checks pixels and labels where they can be checked (see `input_checks`)."""
        if input_checks.is_tf_dataset(x):
            x = input_checks.checked_dataset(x, self.num_classes)
        elif _is_array(x):
            input_checks.check_images(ops.convert_to_numpy(x), "x")
        if y is not None and _is_array(y):
            input_checks.check_labels(ops.convert_to_numpy(y), self.num_classes, "y")
        vd = kwargs.get("validation_data")
        if input_checks.is_tf_dataset(vd):
            vd = input_checks.checked_dataset(vd, self.num_classes, "validation_data")
            kwargs = dict(kwargs, validation_data=vd)
        elif isinstance(vd, (tuple, list)) and len(vd) >= 2:
            if _is_array(vd[0]):
                input_checks.check_images(ops.convert_to_numpy(vd[0]), "validation_data[0]")
            if _is_array(vd[1]):
                input_checks.check_labels(
                    ops.convert_to_numpy(vd[1]), self.num_classes, "validation_data[1]"
                )
        return x, y, kwargs

    # ------------------------------------------------------- serialization
    def get_config(self):
        config = super().get_config()
        if self.backbone_name is not None:
            backbone = self.backbone_name
        else:
            backbone = keras.saving.serialize_keras_object(self.backbone)
        config.update(
            backbone=backbone,
            num_classes=self.num_classes,
            image_size=self.image_size,
            weights=self.weights_source,
            normalization=self.normalization,
            ssdp=self.ssdp,
            ddl=self.ddl,
            ssdt=self.ssdt,
            alpha=self.alpha,
            beta=self.beta,
            temperature=self.temperature,
            margin=self.margin,
            queue_size=self.queue_size,
            embedding_dim=self.embedding_dim,
            kernel_size=self.kernel_size,
            encoder_kernel_size=self.encoder_kernel_size,
            kernel_channels=self.kernel_channels,
            threshold_low=self.threshold_low,
            threshold_high=self.threshold_high,
            mask_mode=self.mask_mode,
            mask_fill=self.mask_fill,
            distill_direction=self.distill_direction,
            label_smoothing=self.label_smoothing,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            seed=self.seed,
            class_names=self.class_names,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        # The architecture comes from the config; the weights from the saved
        # file, so the backbone's original weight source is not reloaded.
        weights = config.pop("weights", None)
        model = cls(weights=None, **config)
        model.weights_source = weights
        return model


# ---------------------------------------------------------------- helpers
def _check_args(args):
    def number(name, low=None, high=None, low_open=False, high_open=False):
        value = args[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"`{name}` must be a number, got {value!r}.")
        bad = (
            (low is not None and (value <= low if low_open else value < low))
            or (high is not None and (value >= high if high_open else value > high))
        )
        if bad:
            lo = "(" if low_open else "["
            hi = ")" if high_open else "]"
            raise ValueError(
                f"`{name}={value}` is out of range; it must be in "
                f"{lo}{low if low is not None else '-inf'}, "
                f"{high if high is not None else 'inf'}{hi}."
            )

    def integer(name, low):
        value = args[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"`{name}` must be an int >= {low}, got {value!r}.")

    if args["num_classes"] is None:
        raise ValueError("`num_classes` is required: the number of classes (>= 2).")
    integer("num_classes", 2)
    integer("image_size", 1)
    if isinstance(args["backbone"], str):
        backbones_lib.check_image_size(args["backbone"], args["image_size"])
    integer("queue_size", 1)
    integer("embedding_dim", 1)
    integer("kernel_channels", 1)
    for name in ("kernel_size", "encoder_kernel_size"):
        integer(name, 1)
        if args[name] % 2 == 0:
            raise ValueError(f"`{name}` must be odd, got {args[name]}.")
    number("alpha", 0)
    number("beta", 0)
    number("temperature", 0, low_open=True)
    number("margin", -1, 1)
    number("label_smoothing", 0, 1, high_open=True)
    number("learning_rate", 0, low_open=True)
    number("weight_decay", 0)
    check_view_args(
        args["threshold_low"], args["threshold_high"], args["mask_mode"], args["mask_fill"]
    )
    if args["distill_direction"] not in losses_lib.DISTILL_DIRECTIONS:
        raise ValueError(
            f"Unknown `distill_direction={args['distill_direction']!r}`; use one of "
            f"{losses_lib.DISTILL_DIRECTIONS}."
        )
    norm = args["normalization"]
    if norm is not None and norm not in backbones_lib.NORMALIZATIONS:
        raise ValueError(
            f"Unknown `normalization={norm!r}`; use one of "
            f"{backbones_lib.NORMALIZATIONS} or None (the backbone's own)."
        )
    names = args["class_names"]
    if names is not None and len(names) != args["num_classes"]:
        raise ValueError(
            f"`class_names` has {len(names)} names but `num_classes="
            f"{args['num_classes']}`; give one name per class."
        )


def _is_array(x):
    """A NumPy array or a backend tensor (not a dataset, generator or dict)."""
    return isinstance(x, np.ndarray) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and not input_checks.is_tf_dataset(x)
    )


def _as_int(value):
    """NumPy integers (e.g. `np.int64(3)` from `len(np.unique(y))`) as Python ints."""
    return int(value) if isinstance(value, np.integer) else value


def warn_if_single_cell(feature_shape, image_size, mask_mode):
    """Warns when SSDP's pattern map has one cell, so its view is degenerate.

    Min-max normalising a `1 x 1` map gives 0 everywhere, so no cell reaches
    the threshold: the `"crop"` and `"erase"` views are the input image
    unchanged and the `"keep"` view is blank. Training still runs, but the
    second view carries no discrepancy (e.g. ResNet at `image_size=32`).
    """
    height, width = feature_shape[1], feature_shape[2]
    if height is None or width is None or height * width > 1:
        return
    if mask_mode == "keep":
        view = "blank: DDL and SSDT would learn from an empty image"
    else:
        view = "the input image unchanged: DDL and SSDT would compare an image with itself"
    warnings.warn(
        f"SSDP's pattern map is {height} x {width} at `image_size={image_size}` with "
        f"this backbone, so its discrepancy view (`mask_mode={mask_mode!r}`) is "
        f"{view}. Use a larger `image_size` (at least {2 * image_size} here, for a 2 x 2 "
        "map; the paper's 448 px gives ResNet 14 x 14) or `ssdp=False` (a random-crop view).",
        stacklevel=5,  # the CSDNet(...) call, past build() and Keras' wrapper
    )
