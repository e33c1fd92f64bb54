"""SavedModel export of a CSDNet's inference graph (TensorFlow backend)."""

import numpy as np


def export_saved_model(model, directory):
    """Writes `model(x, training=False)` as a SavedModel with a `serve` endpoint.

    The signature takes `images`: float32 `(None, S, S, 3)` raw pixels 0-255.
    """
    import tensorflow as tf

    size = model.image_size
    model.export(
        directory,
        format="tf_saved_model",
        input_signature=[tf.TensorSpec((None, size, size, 3), tf.float32, name="images")],
        verbose=False,
    )


def saved_model_predict(directory, images):
    """Logits of the SavedModel in `directory` on float32 `images (N, S, S, 3)`."""
    import tensorflow as tf

    loaded = tf.saved_model.load(directory)  # keep the object alive while serving
    return np.asarray(loaded.serve(tf.constant(images)))
