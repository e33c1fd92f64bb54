"""What one data-parallel replica needs to compute on the global batch.

Under JAX's `keras.distribution.DataParallel` a training step is one program
over the global batch (the compiler splits it across devices), so nothing
here changes anything. Under a TensorFlow `tf.distribute` strategy the step
runs once per replica on that replica's slice of the batch; these helpers
then gather what CSDNet's memory queue and random views need from every
replica, so that a data-parallel step computes what one device computes on
the whole batch. Outside a replica context (one device, JAX, PyTorch) each
helper is the identity.
"""

import keras


def replica_context():
    """The TensorFlow replica context of a multi-replica step, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return None
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def all_gather(x):
    """`x (n, ...)` of every replica, concatenated in replica order (with gradient)."""
    context = replica_context()
    return x if context is None else context.all_gather(x, axis=0)


def scale_loss(loss):
    """Divides `loss` by the number of replicas, whose gradients are summed."""
    context = replica_context()
    return loss if context is None else loss / context.num_replicas_in_sync


def uniform(shape, seed, minval=0.0, maxval=1.0):
    """`keras.random.uniform(shape)`, drawn for the global batch.

    Each replica draws the numbers of the whole global batch (every replica's
    generator holds the same state) and keeps the rows of its own slice, so a
    sample gets the same random numbers as in a one-device step.
    """
    context = replica_context()
    if context is None:
        return keras.random.uniform(shape, minval, maxval, seed=seed)
    import tensorflow as tf

    rows = tf.cast(shape[0], tf.int32)
    sizes = context.all_gather(tf.reshape(rows, (1,)), axis=0)
    before = tf.range(context.num_replicas_in_sync) < context.replica_id_in_sync_group
    start = tf.reduce_sum(tf.where(before, sizes, 0))
    full_shape = tf.concat([[tf.reduce_sum(sizes)], list(shape[1:])], axis=0)
    full = keras.random.uniform(full_shape, minval, maxval, seed=seed)
    return full[start : start + rows]
