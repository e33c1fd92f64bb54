"""The same seed on the same backend and machine gives the same training run."""

import numpy as np
import pytest
from conftest import tiny_arrays
from conftest import tiny_model

from keras_csdnet.utils import set_deterministic


@pytest.fixture(autouse=True)
def _switches_back_off():
    yield
    import keras

    if keras.backend.backend() == "tensorflow":
        # TensorFlow exports no switch-off; the rest of the suite runs as usual.
        from tensorflow.python.framework import config

        config.disable_op_determinism()
    elif keras.backend.backend() == "torch":
        import torch

        torch.use_deterministic_algorithms(False)


def history(seed):
    set_deterministic(seed)
    x, y = tiny_arrays(n=12)
    model = tiny_model(seed=None, view="discrepancy")
    model.compile()
    fitted = model.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0)
    return {k: np.asarray(v) for k, v in fitted.history.items()}


def test_same_seed_same_loss_history():
    first, second, other = history(3), history(3), history(4)
    assert set(first) >= {"loss", "cls_loss", "qc_loss", "ssdt_loss", "accuracy"}
    for key in first:
        np.testing.assert_array_equal(second[key], first[key])
    assert not np.array_equal(other["loss"], first["loss"])


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        set_deterministic(seed)
