"""Trains a tiny CSDNet on one device, then data-parallel on two; prints JSON.

Run by `test_data_parallel.py` in a fresh process (devices are fixed when the
backend starts): `KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2
python data_parallel_worker.py` uses `keras.distribution.DataParallel`;
`KERAS_BACKEND=tensorflow` splits the CPU into two logical devices and uses
`tf.distribute.MirroredStrategy`. Both runs see the same global batches, in
order, so their losses and memory queues must agree.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

BACKEND = keras.backend.backend()
if BACKEND == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from conftest import IMAGE_SIZE  # noqa: E402
from conftest import tiny_arrays  # noqa: E402
from conftest import tiny_model  # noqa: E402


def backbone_without_batch_norm():
    # Batch statistics are per replica under tf.distribute (unless
    # BatchNormalization(synchronized=True)), so the comparison leaves them out.
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    return keras.Model(inputs, x, name="tiny_backbone")


def train(devices, view):
    keras.utils.set_random_seed(0)
    x, y = tiny_arrays(n=16)
    scope = None
    if devices > 1 and BACKEND == "jax":
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=keras.distribution.list_devices()[:devices])
        )
    elif devices > 1:
        scope = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)]).scope()
    if scope is not None:
        scope.__enter__()
    model = tiny_model(backbone=backbone_without_batch_norm(), view=view, queue_size=20)
    model.compile()
    if scope is not None:
        scope.__exit__(None, None, None)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    keras.distribution.set_distribution(None)
    features, labels = (keras.ops.convert_to_numpy(v) for v in model.queue.read())
    return {
        "replicas": devices,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "steps": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "pointer": int(keras.ops.convert_to_numpy(model.queue.pointer.value)),
        "features": features.tolist(),
        "labels": labels.tolist(),
    }


def uneven_batch_error():
    """The error of a JAX data-parallel fit whose last batch cannot be split."""
    if BACKEND != "jax":
        return None
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    x, y = tiny_arrays(n=13)
    model = tiny_model(backbone=backbone_without_batch_norm())
    model.compile()
    try:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    except ValueError as e:
        return str(e)
    finally:
        keras.distribution.set_distribution(None)
    return "no error"


if __name__ == "__main__":
    view = sys.argv[1] if len(sys.argv) > 1 else "random"
    result = {"one": train(1, view), "two": train(2, view)}
    if view == "random":
        result["uneven"] = uneven_batch_error()
    print(json.dumps(result))
