"""CSDNet losses as pure functions on `keras.ops` (any backend, float32 maths).

References:
    Fang et al., "Learning Contrastive Self-Distillation for Ultra-Fine-Grained
    Visual Categorization Targeting Limited Samples", arXiv 2311.06056.
"""

from keras import ops

DISTILL_DIRECTIONS = ("aug_to_raw", "raw_to_aug", "symmetric")


def classification_loss(labels, logits, label_smoothing=0.0, sample_weight=None):
    """Mean softmax cross-entropy with integer labels and optional smoothing.

    Args:
        labels: int tensor `(B,)` (or `(B, 1)`) of class ids.
        logits: float tensor `(B, K)`.
        label_smoothing: float in `[0, 1)`.
        sample_weight: optional float tensor `(B,)`.

    Returns:
        Scalar float32 loss.
    """
    logits = ops.cast(logits, "float32")
    num_classes = ops.shape(logits)[-1]
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    targets = ops.one_hot(labels, num_classes, dtype="float32")
    if label_smoothing:
        targets = targets * (1.0 - label_smoothing) + label_smoothing / num_classes
    per_example = -ops.sum(targets * ops.log_softmax(logits, axis=-1), axis=-1)
    if sample_weight is None:
        return ops.mean(per_example)
    weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
    return ops.sum(per_example * weight) / ops.maximum(ops.sum(weight), 1e-12)


def queue_contrastive_loss(embeddings, labels, queue_embeddings, queue_labels, margin=0.4):
    """Margin contrastive loss of the current embeddings against queue + batch.

    Every current embedding is paired with every other current embedding
    (self-pairs excluded) and with every filled queue slot (label >= 0). With
    cosine similarity `s`: same label -> `1 - s`; different label ->
    `max(0, s - margin)`. The result is the mean over valid pairs (0 if none).

    Args:
        embeddings: `(N, D)` L2-normalised embeddings of the current batch.
        labels: int `(N,)` labels of `embeddings`.
        queue_embeddings: `(L, D)` L2-normalised stored embeddings (no gradient).
        queue_labels: int `(L,)`; `-1` marks an empty slot.
        margin: float, the margin `xi` for negative pairs.

    Returns:
        Scalar float32 loss.
    """
    embeddings = ops.cast(embeddings, "float32")
    queue_embeddings = ops.stop_gradient(ops.cast(queue_embeddings, "float32"))
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    queue_labels = ops.reshape(ops.cast(queue_labels, "int32"), (-1,))
    n = ops.shape(embeddings)[0]

    keys = ops.concatenate([embeddings, queue_embeddings], axis=0)
    key_labels = ops.concatenate([labels, queue_labels], axis=0)
    sim = ops.matmul(embeddings, ops.transpose(keys))  # (N, N + L)

    positive = ops.equal(ops.expand_dims(labels, 1), ops.expand_dims(key_labels, 0))
    per_pair = ops.where(positive, 1.0 - sim, ops.relu(sim - margin))

    filled = ops.greater_equal(key_labels, 0)
    not_self = ops.logical_not(
        ops.equal(
            ops.expand_dims(ops.arange(n), 1),
            ops.expand_dims(ops.arange(ops.shape(keys)[0]), 0),
        )
    )
    valid = ops.cast(ops.logical_and(ops.expand_dims(filled, 0), not_self), "float32")
    return ops.sum(per_pair * valid) / ops.maximum(ops.sum(valid), 1.0)


def _kl_with_temperature(student_logits, teacher_logits, temperature):
    student_logits = ops.cast(student_logits, "float32") / temperature
    teacher_logits = ops.stop_gradient(ops.cast(teacher_logits, "float32")) / temperature
    teacher_log_p = ops.log_softmax(teacher_logits, axis=-1)
    student_log_p = ops.log_softmax(student_logits, axis=-1)
    kl = ops.sum(ops.exp(teacher_log_p) * (teacher_log_p - student_log_p), axis=-1)
    return temperature**2 * ops.mean(kl)


def distillation_loss(raw_logits, aug_logits, temperature=4.0, direction="aug_to_raw"):
    """Self-distillation (SSDT) loss between the two views' logits.

    `tau^2 * KL(stop_gradient(softmax(teacher / tau)) || softmax(student / tau))`,
    averaged over the batch.

    Args:
        raw_logits: `(B, K)` logits of the raw image.
        aug_logits: `(B, K)` logits of the augmented view.
        temperature: float `tau > 0`.
        direction: `"aug_to_raw"` (the augmented view teaches the raw view, the
            default), `"raw_to_aug"`, or `"symmetric"` (mean of both).

    Returns:
        Scalar float32 loss.
    """
    if direction == "aug_to_raw":
        return _kl_with_temperature(raw_logits, aug_logits, temperature)
    if direction == "raw_to_aug":
        return _kl_with_temperature(aug_logits, raw_logits, temperature)
    if direction == "symmetric":
        return 0.5 * (
            _kl_with_temperature(raw_logits, aug_logits, temperature)
            + _kl_with_temperature(aug_logits, raw_logits, temperature)
        )
    raise ValueError(f"Unknown `distill_direction={direction!r}`; use one of {DISTILL_DIRECTIONS}.")
