"""FewShotSequence: the training pipeline as a backend-neutral `keras.utils.PyDataset`."""

import math

import keras
import numpy as np

from keras_csdnet.data.augment import augment_batch
from keras_csdnet.data.augment import check_augmentation
from keras_csdnet.data.images import center_crop


class FewShotSequence(keras.utils.PyDataset):
    """Shuffled, augmented `(uint8 images, int32 labels)` batches from decoded images.

    The same recipe as `make_dataset` (`keras_csdnet.data.augment`) in NumPy,
    so it runs without TensorFlow (JAX or PyTorch machines). Batch `i` of
    epoch `e` depends only on `(seed, e, i)`: a resumed run continues the
    same stream with `start_at(e)`.

    Args:
        images: uint8 images at the pre-crop size, an array `(N, H, W, C)` or
            a list of `(H_i, W_i, C)` arrays with sides >= `image_size`.
        labels: int array `(N,)` of class ids.
        image_size: int, the output side.
        batch_size: int >= 1.
        seed: int, the shuffle and augmentation seed.
        training: bool; True shuffles and augments (random crops), False
            gives the centre crops in order.
        rotation_degrees: float in `[0, 180]`. Default 10.
        color_jitter: float in `[0, 1)`. Default 0.1.
        class_names: optional list, kept as `.class_names` (CSDNet reads the
            number of classes from it).
        **kwargs: `keras.utils.PyDataset` arguments (`workers`, ...).

    Examples:
    ```python
    import numpy as np
    from keras_csdnet.data import FewShotSequence
    images = np.random.randint(0, 256, (6, 40, 40, 3), dtype="uint8")
    seq = FewShotSequence(images, np.arange(6) % 3, image_size=32, batch_size=4)
    x, y = seq[0]   # (4, 32, 32, 3) uint8, (4,) int32
    ```
    """

    def __init__(
        self,
        images,
        labels,
        image_size,
        batch_size=16,
        seed=0,
        training=True,
        rotation_degrees=10.0,
        color_jitter=0.1,
        class_names=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_augmentation(rotation_degrees, color_jitter)
        self.images = images
        self.labels = np.asarray(labels, np.int32)
        if len(self.labels) != len(images):
            raise ValueError(
                f"{len(images)} images but {len(self.labels)} labels; give one label per image."
            )
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.training = bool(training)
        self.rotation_degrees = float(rotation_degrees)
        self.color_jitter = float(color_jitter)
        self.class_names = list(class_names) if class_names is not None else None
        self.start_at(0)

    def _order(self):
        if not self.training:
            return np.arange(len(self.labels))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.labels))

    def start_at(self, epoch):
        """Continues the stream at `epoch` (for a resumed run)."""
        self.epoch = int(epoch)
        self.order = self._order()

    def __len__(self):
        return math.ceil(len(self.labels) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = [self.images[r] for r in rows]
        if self.training:
            rng = np.random.default_rng([self.seed, self.epoch, index, 7])
            x = augment_batch(batch, self.image_size, rng, self.rotation_degrees, self.color_jitter)
        else:
            x = np.stack([center_crop(np.asarray(b), self.image_size) for b in batch])
        if x.ndim == 3:  # grey (N, S, S)
            x = x[..., None]
        if x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        return x, self.labels[rows]

    def on_epoch_end(self):
        self.start_at(self.epoch + 1)
