"""Losses against numpy on hand-made inputs."""

import numpy as np
import pytest
from conftest import to_numpy

from keras_csdnet import losses


def _normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _qc_reference(emb, labels, q_emb, q_labels, margin):
    total, count = 0.0, 0
    keys = list(zip(emb, labels)) + list(zip(q_emb, q_labels))
    for i, (e, y) in enumerate(zip(emb, labels)):
        for j, (k, ky) in enumerate(keys):
            if j == i or ky < 0:  # self-pair, empty slot
                continue
            s = float(e @ k)
            total += (1 - s) if ky == y else max(0.0, s - margin)
            count += 1
    return total / max(count, 1)


def test_queue_contrastive_matches_numpy_with_empty_slots():
    rng = np.random.default_rng(0)
    emb = _normalize(rng.normal(size=(4, 5))).astype("float32")
    labels = np.array([0, 1, 0, 2])
    q_emb = _normalize(rng.normal(size=(6, 5))).astype("float32")
    q_labels = np.array([1, -1, 0, -1, 2, 2])
    q_emb[q_labels < 0] = 7.0  # garbage in empty slots must not count
    for margin in (0.0, 0.4, -0.2):
        got = float(to_numpy(losses.queue_contrastive_loss(emb, labels, q_emb, q_labels, margin)))
        want = _qc_reference(emb, labels, q_emb, q_labels, margin)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_queue_contrastive_excludes_self_pairs():
    emb = np.array([[1.0, 0.0]], "float32")
    labels = np.array([0])
    empty = np.zeros((3, 2), "float32")
    # Only the self-pair exists and it is excluded: no valid pair, loss 0.
    got = float(to_numpy(losses.queue_contrastive_loss(emb, labels, empty, -np.ones(3), 0.4)))
    assert got == 0.0
    # Identical positive in the queue: 1 - s = 0; identical negative: 1 - 0.4.
    q = np.array([[1.0, 0.0], [1.0, 0.0]], "float32")
    got = float(to_numpy(losses.queue_contrastive_loss(emb, labels, q, np.array([0, 1]), 0.4)))
    np.testing.assert_allclose(got, (0.0 + 0.6) / 2, rtol=1e-6)


def _kl(p_logits, q_logits, tau):
    def softmax(z):
        z = z / tau
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    p, q = softmax(p_logits), softmax(q_logits)
    return tau**2 * np.mean(np.sum(p * (np.log(p) - np.log(q)), -1))


@pytest.mark.parametrize("tau", [1.0, 4.0])
def test_distillation_direction_and_temperature(tau):
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(5, 4)).astype("float32") * 3
    aug = rng.normal(size=(5, 4)).astype("float32") * 3
    a2r = float(to_numpy(losses.distillation_loss(raw, aug, tau, "aug_to_raw")))
    r2a = float(to_numpy(losses.distillation_loss(raw, aug, tau, "raw_to_aug")))
    sym = float(to_numpy(losses.distillation_loss(raw, aug, tau, "symmetric")))
    # aug_to_raw: teacher = augmented view, KL(p_aug || p_raw).
    np.testing.assert_allclose(a2r, _kl(aug, raw, tau), rtol=1e-4)
    np.testing.assert_allclose(r2a, _kl(raw, aug, tau), rtol=1e-4)
    np.testing.assert_allclose(sym, 0.5 * (a2r + r2a), rtol=1e-5)
    assert abs(a2r - r2a) > 1e-4  # KL is not symmetric: the direction matters
    assert float(to_numpy(losses.distillation_loss(raw, raw, tau))) == pytest.approx(0, abs=1e-6)


def test_distillation_unknown_direction():
    with pytest.raises(ValueError, match="distill_direction"):
        losses.distillation_loss(np.zeros((1, 2)), np.zeros((1, 2)), 4.0, "sideways")


def test_classification_loss_with_smoothing_and_weights():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], "float32")
    labels = np.array([0, 2])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -log_p[np.arange(2), labels]
    got = float(to_numpy(losses.classification_loss(labels, logits)))
    np.testing.assert_allclose(got, ce.mean(), rtol=1e-5)
    targets = np.eye(3)[labels] * 0.9 + 0.1 / 3
    smooth = -(targets * log_p).sum(-1)
    got = float(to_numpy(losses.classification_loss(labels, logits, 0.1)))
    np.testing.assert_allclose(got, smooth.mean(), rtol=1e-5)
    w = np.array([1.0, 3.0], "float32")
    got = float(to_numpy(losses.classification_loss(labels, logits, 0.0, w)))
    np.testing.assert_allclose(got, (ce * w).sum() / w.sum(), rtol=1e-5)
