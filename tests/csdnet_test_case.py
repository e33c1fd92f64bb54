"""The shared `TestCase`: layer, serialization and model-saving checks, as keras-hub's."""

import json
import os
import tempfile

import keras
import numpy as np
from keras import tree


def _numpy(x):
    return tree.map_structure(keras.ops.convert_to_numpy, x)


def _shapes(x):
    return tree.map_structure(lambda t: tuple(t.shape), x)


class TestCase:
    """Base class of the layer and model tests (plain pytest, any backend)."""

    def run_serialization_test(self, instance):
        """`get_config` survives `from_config`, a JSON round trip, and `dir()` agrees."""
        cls = instance.__class__
        config = instance.get_config()
        revived = cls.from_config(config)
        assert revived.get_config() == config
        serialized = keras.saving.serialize_keras_object(instance)
        text = json.dumps(serialized)  # every config value is JSON
        restored = keras.saving.deserialize_keras_object(json.loads(text))
        assert type(restored) is cls
        assert restored.get_config() == config
        # The same public attributes, so nothing the constructor sets is lost.
        ignored = {"built", "input", "output", "input_shape", "output_shape"}

        def public(obj):
            return {a for a in dir(obj) if not a.startswith("_")} - ignored

        assert public(restored) == public(instance)
        return restored

    def run_layer_test(
        self,
        cls,
        init_kwargs,
        input_data,
        expected_output_shape=None,
        call_kwargs=None,
        expected_num_trainable_weights=None,
        expected_num_non_trainable_weights=None,
    ):
        """Builds `cls(**init_kwargs)`, calls it and checks shapes, weights and configs.

        `input_data` is one input or a tuple of positional inputs. The layer's
        serialized clone, given the same weights, gives the same outputs.
        """
        call_kwargs = call_kwargs or {}
        args = input_data if isinstance(input_data, tuple) else (input_data,)
        layer = cls(**init_kwargs)
        output = layer(*args, **call_kwargs)
        if expected_output_shape is not None:
            assert _shapes(output) == expected_output_shape
        if expected_num_trainable_weights is not None:
            assert len(layer.trainable_weights) == expected_num_trainable_weights
        if expected_num_non_trainable_weights is not None:
            assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
        restored = self.run_serialization_test(layer)
        if layer.weights:
            restored(*args, **call_kwargs)
            restored.set_weights(layer.get_weights())
            if "seed" not in init_kwargs:  # seeded random layers draw anew
                tree.map_structure(
                    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                    _numpy(layer(*args, **call_kwargs)),
                    _numpy(restored(*args, **call_kwargs)),
                )
        return layer, output

    def run_model_saving_test(self, model, input_data, atol=1e-6):
        """A `.keras` file of `model` loads to the same class with the same outputs."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            restored = keras.saving.load_model(path)
        assert type(restored) is type(model)
        np.testing.assert_allclose(
            _numpy(restored.predict(input_data, verbose=0)),
            _numpy(model.predict(input_data, verbose=0)),
            atol=atol,
        )
        return restored
