"""SSDT: self-distillation between the raw image and its second view."""

import keras

from keras_csdnet import losses
from keras_csdnet.utils.checks import check_choice
from keras_csdnet.utils.checks import check_number


@keras.saving.register_keras_serializable(package="keras_csdnet")
class SSDT(keras.layers.Layer):
    """The SSDT term `L_ssdt` of CSDNet: distillation between the two views.

    `call(raw_logits, aug_logits)` returns
    `keras_csdnet.losses.distillation_loss` with this layer's temperature and
    direction. The layer has no weights; `CSDNet` adds `beta * L_ssdt` to its
    loss in training steps only.

    Args:
        temperature: float > 0, the temperature `tau`. Default 4.0.
        distill_direction: `"aug_to_raw"` (default: the second view teaches
            the raw view), `"raw_to_aug"` or `"symmetric"`.
        beta: float >= 0, the weight of `L_ssdt` in the total loss
            `L_cls + alpha * L_qc + beta * L_ssdt`. Default 1.0.
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        Inputs: `raw_logits (B, K)`, `aug_logits (B, K)`. Output: scalar float32.

    References:
        Fang et al., arXiv 2311.06056 (SSDT); Hinton et al., "Distilling the
        Knowledge in a Neural Network", 2015.

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.layers import SSDT
    loss = SSDT(temperature=2.0)(np.zeros((2, 3), "float32"), np.ones((2, 3), "float32"))
    ```
    """

    def __init__(self, temperature=4.0, distill_direction="aug_to_raw", beta=1.0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.temperature = check_number("temperature", temperature, 0, low_open=True)
        self.distill_direction = check_choice(
            "distill_direction", distill_direction, losses.DISTILL_DIRECTIONS
        )
        self.beta = check_number("beta", beta, 0)
        self.built = True

    def call(self, raw_logits, aug_logits):
        return losses.distillation_loss(
            raw_logits, aug_logits, self.temperature, self.distill_direction
        )

    def compute_output_shape(self, raw_shape, aug_shape=None):
        return ()

    def get_config(self):
        config = super().get_config()
        config.update(
            temperature=self.temperature,
            distill_direction=self.distill_direction,
            beta=self.beta,
        )
        return config
