"""Model files load in Keras' safe mode; a file holding Python code is refused."""

import keras
import numpy as np
import pytest
from conftest import IMAGE_SIZE
from conftest import tiny_arrays
from conftest import tiny_model
from conftest import to_numpy

from keras_csdnet.cli import main
from keras_csdnet.export import load_csdnet


def lambda_model_file(tmp_path):
    """A CSDNet whose backbone carries a `Lambda` layer, as a tampered file would."""
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = keras.layers.Lambda(lambda t: t * 1.0)(inputs)
    x = keras.layers.Conv2D(16, 3, strides=4, padding="same")(x)
    path = str(tmp_path / "with_lambda.keras")
    tiny_model(backbone=keras.Model(inputs, x)).save(path)
    return path


def test_plain_model_loads_in_safe_mode(tmp_path):
    model = tiny_model()
    path = str(tmp_path / "plain.keras")
    model.save(path)
    loaded = load_csdnet(path)
    x, _ = tiny_arrays(n=2)
    np.testing.assert_allclose(
        to_numpy(loaded.predict(x, verbose=0)), to_numpy(model.predict(x, verbose=0)), atol=1e-5
    )


def test_lambda_layer_is_refused(tmp_path, capsys):
    path = lambda_model_file(tmp_path)
    with pytest.raises(ValueError, match=r"Lambda.*refused.*safe_mode=False"):
        load_csdnet(path)
    with pytest.raises(ValueError, match="safe_mode"):
        keras.saving.load_model(path)  # Keras' own default is safe too
    assert main(["evaluate", path, str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Lambda" in err[0] and "Traceback" not in err[0]
    # The user who trusts the file can still open it.
    assert load_csdnet(path, safe_mode=False).num_classes == 3
