"""Same seed, same backend, same machine: the same training run."""

import keras


def set_deterministic(seed):
    """Seeds every generator and turns on the backend's determinism switches.

    Calls `keras.utils.set_random_seed(seed)` (Python, NumPy and the
    backend's global generator; layers built afterwards with `seed=None` draw
    their seeds from it), then:

    - TensorFlow: `tf.config.experimental.enable_op_determinism()`, which
      also makes tf.data's parallel maps run in order;
    - PyTorch: `torch.use_deterministic_algorithms(True)` and cuDNN's
      benchmark mode off (on a GPU, set `CUBLAS_WORKSPACE_CONFIG=:4096:8`
      before the process starts, as PyTorch asks);
    - JAX: nothing to switch on the CPU; on a GPU start the process with
      `XLA_FLAGS=--xla_gpu_deterministic_ops=true` (it cannot be turned on
      once JAX runs).

    Call it first, before building the model and the datasets. On the CPU
    a run then repeats exactly; on a GPU some kernels (scatter-add,
    atomics in convolutions' backward pass) may still differ in the last
    bits unless the switches above cover them.

    Args:
        seed: int >= 0.

    Examples:
    ```python
    from keras_csdnet.utils import set_deterministic
    set_deterministic(0)
    ```
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"`seed` must be an int >= 0; got {seed!r}.")
    keras.utils.set_random_seed(seed)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
