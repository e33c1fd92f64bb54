"""`jit_compile=True` on the PyTorch backend trains CSDNet as eager does."""

import keras
import numpy as np
import pytest
from conftest import tiny_arrays
from conftest import tiny_model

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="torch.compile is the PyTorch backend's; JAX and TensorFlow compile by default.",
)


def losses(jit_compile):
    keras.utils.set_random_seed(0)
    x, y = tiny_arrays(n=16)
    model = tiny_model(view="random")  # both views, the queue's in-place updates, SSDT
    model.compile(jit_compile=jit_compile)
    assert model.jit_compile is jit_compile
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return {k: np.asarray(v) for k, v in history.history.items()}, model


def test_compiled_training_matches_eager():
    eager, _ = losses(False)
    compiled, model = losses(True)
    for key in ("loss", "cls_loss", "qc_loss", "ssdt_loss"):
        np.testing.assert_allclose(compiled[key], eager[key], rtol=1e-5, atol=1e-6)
    # 4 steps of 8 images, each enqueued twice, in the 16-slot queue.
    assert int(keras.ops.convert_to_numpy(model.queue.pointer.value)) == (4 * 16) % 16
    assert (keras.ops.convert_to_numpy(model.queue.labels.value) >= 0).all()
