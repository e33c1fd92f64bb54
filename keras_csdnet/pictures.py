"""Pictures of a trained CSDNet: pattern maps, t-SNE, confusion, curves.

Needs the optional `viz` extra (`pip install 'keras-csdnet[viz]'`:
matplotlib, scikit-learn); without it each function raises
`keras_csdnet.errors.MissingExtraError` naming that command. The numbers
behind the pictures (`pattern_views`, `separability`, `look_alike_order`,
`confusion_matrix`) are plain NumPy and return arrays, so they can be
checked or plotted another way.

- `plot_pattern_maps`: per image, the image, its pattern map P as a heat map
  over it, the binarised mask and the augmented view training sees
  (the paper's Figures 3-4).
- `plot_tsne`: t-SNE of embeddings coloured by class; several runs side by
  side on the same axes, each titled with its separability (Fig. 5).
- `plot_confusion_matrix`: row-normalised, classes ordered so that classes
  confused with each other sit together.
- `plot_history`: the loss components and accuracy per epoch.

Examples:
```python
import numpy as np
from keras_csdnet import pictures
labels = np.repeat(np.arange(3), 4)
confusion = pictures.confusion_matrix(labels, labels[::-1], 3)
order = pictures.look_alike_order(confusion)   # a permutation of 0, 1, 2
```
"""

import numpy as np

from keras_csdnet.errors import require


def _pyplot():
    matplotlib = require("matplotlib", "viz", "Drawing pictures")
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _ticker():
    import matplotlib.ticker

    return matplotlib.ticker


def _save(fig, path):
    fig.savefig(path, dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return path


# ---------------------------------------------------------------- numbers
def confusion_matrix(labels, predicted, num_classes):
    """`(K, K)` int counts: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, int), np.asarray(predicted, int)), 1)
    return matrix


def look_alike_order(confusion):
    """A class order that puts classes confused with each other side by side.

    Average-linkage clustering of the classes on the symmetric, row-normalised
    confusion (two classes are close when either is often taken for the
    other), leaves in optimal order. A matrix with no confusion keeps the
    original order.

    Args:
        confusion: `(K, K)` counts, rows true classes.

    Returns:
        int array, a permutation of `range(K)`.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    k = len(confusion)
    rows = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    off = rows - np.diag(np.diag(rows))
    similarity = (off + off.T) / 2
    if k < 3 or not similarity.any():
        return np.arange(k)
    hierarchy = require("scipy.cluster.hierarchy", "viz", "Ordering the confusion matrix")
    distance = similarity.max() - similarity
    condensed = distance[np.triu_indices(k, 1)]
    tree = hierarchy.linkage(condensed, method="average", optimal_ordering=True)
    return np.asarray(hierarchy.leaves_list(tree))


def separability(embeddings, labels):
    """Silhouette score (cosine) of the embeddings grouped by class, in `[-1, 1]`.

    Higher: classes form tighter, better-separated groups. Computed on the
    embeddings themselves, not on the t-SNE plane. NaN when it is undefined
    (fewer than two classes, or every class a single point).
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) < 2 or len(classes) >= len(labels):
        return float("nan")
    metrics = require("sklearn.metrics", "viz", "The separability score")
    return float(metrics.silhouette_score(np.asarray(embeddings), labels, metric="cosine"))


def tsne(embeddings, seed=0):
    """2-D t-SNE of `(N, C)` embeddings (perplexity fitted to small sets)."""
    manifold = require("sklearn.manifold", "viz", "t-SNE")
    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = len(embeddings)
    if n < 3:
        raise ValueError(f"t-SNE needs at least 3 images, got {n}. Pass more test images.")
    perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
    return manifold.TSNE(
        n_components=2, perplexity=perplexity, init="pca", random_state=seed
    ).fit_transform(embeddings)


def pattern_views(model, images):
    """What SSDP does to each image, as arrays for plotting.

    Args:
        model: a built `keras_csdnet.CSDNet` with SSDP on.
        images: raw pixels `(B, S, S, 3)` in `[0, 255]`.

    Returns:
        dict of NumPy arrays: `images` `(B, S, S, 3)` uint8, `pattern` `(B, S, S)`
        in `[0, 1]` (P min-max normalised per image, upsampled bilinearly),
        `mask` `(B, S, S)` 0/1 (P above the view's threshold, drawn per image
        as in training), `view` `(B, S, S, 3)` uint8 (the second view the model
        trains on; random per call, like training's), `threshold` `(B,)`.
        None when the model has no SSDP or its view does not use the map.
    """
    import keras
    from keras import ops

    pattern = model.pattern_map(images)
    view = model.part("view")
    if pattern is None or view is None or not getattr(view, "needs_pattern", False):
        return None
    from keras_csdnet.layers.discrepancy_view import _full_mask

    pixels = model._pixels(ops.convert_to_tensor(np.asarray(images, dtype=np.float32)))
    norm, theta, _ = view.masks(pattern)
    full = ops.image.resize(norm, pixels.shape[1:3], interpolation="bilinear")
    mask = _full_mask(pixels, norm, theta)  # the erase / keep modes' own mask
    augmented = view(pixels, pattern)
    numpy = keras.ops.convert_to_numpy
    return {
        "images": np.clip(numpy(pixels), 0, 255).astype(np.uint8),
        "pattern": np.clip(numpy(full)[..., 0], 0.0, 1.0),
        "mask": numpy(mask)[..., 0],
        "view": np.clip(numpy(augmented), 0, 255).astype(np.uint8),
        "threshold": numpy(theta).reshape(-1),
    }


# ---------------------------------------------------------------- pictures
def plot_pattern_maps(model, images, path, labels=None, class_names=None):
    """Image, P over it, the binarised mask and the training view, one row per image.

    Args:
        model: a built `keras_csdnet.CSDNet` with SSDP on.
        images: raw pixels `(B, S, S, 3)` in `[0, 255]` (a few, e.g. 4).
        path: PNG file to write.
        labels: optional int `(B,)` true classes, for the row titles.
        class_names: optional names for `labels`.

    Returns:
        `path`, or None (nothing written) when the model has no pattern map.
    """
    views = pattern_views(model, images)
    if views is None:
        return None
    plt = _pyplot()
    n = len(views["images"])
    fig, axes = plt.subplots(n, 4, figsize=(8, 2.1 * n), squeeze=False)
    titles = ("image", "pattern map P", "mask (P >= theta)", "training view")
    for i in range(n):
        label = ""
        if labels is not None:
            y = int(labels[i])
            label = class_names[y] if class_names is not None else str(y)
        panels = (
            views["images"][i],
            views["images"][i],
            views["mask"][i],
            views["view"][i],
        )
        for j, panel in enumerate(panels):
            ax = axes[i][j]
            ax.imshow(panel, cmap="gray" if j == 2 else None, vmin=0, vmax=1 if j == 2 else None)
            if j == 1:
                ax.imshow(views["pattern"][i], cmap="jet", alpha=0.5, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=9)
        axes[i][0].set_ylabel(label[:18], fontsize=8)
        axes[i][2].set_xlabel(f"theta {views['threshold'][i]:.2f}", fontsize=8)
    return _save(fig, path)


def plot_tsne(runs, path, seed=0):
    """t-SNE of embeddings coloured by class; several runs side by side, same axes.

    Args:
        runs: list of `(title, embeddings (N, C), labels (N,))`, e.g. a
            baseline and a CSDNet on the same test images.
        path: PNG file to write.
        seed: t-SNE's random state.

    Returns:
        list of the runs' separability scores (`separability`), in order.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 4.2), squeeze=False)
    scores = []
    for ax, (title, embeddings, labels) in zip(axes[0], runs):
        points = tsne(embeddings, seed)
        # The same axes for every run: each plane scaled to [-1, 1].
        points = points - points.mean(axis=0)
        points = points / max(np.abs(points).max(), 1e-12)
        score = separability(embeddings, labels)
        scores.append(score)
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab20", s=14)
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-1.1, 1.1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{title}\nseparability (silhouette) {score:.3f}", fontsize=9)
    _save(fig, path)
    return scores


def plot_confusion_matrix(confusion, class_names, path, order=None):
    """The row-normalised confusion matrix, look-alikes side by side.

    Args:
        confusion: `(K, K)` counts, rows true classes.
        class_names: K names.
        path: PNG file to write.
        order: class order; default `look_alike_order(confusion)`.

    Returns:
        the order used (int array).
    """
    confusion = np.asarray(confusion)
    order = look_alike_order(confusion) if order is None else np.asarray(order)
    rows = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    rows = rows[np.ix_(order, order)]
    names = [str(class_names[i])[:24] for i in order]
    plt = _pyplot()
    side = max(3.5, 0.28 * len(names) + 1.5)
    fig, ax = plt.subplots(figsize=(side + 0.8, side))
    shown = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(names))
    fontsize = 8 if len(names) <= 30 else 5
    ax.set_xticks(ticks, names, rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks, names, fontsize=fontsize)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion (row-normalised, look-alikes together)", fontsize=9)
    fig.colorbar(shown, ax=ax, fraction=0.046)
    _save(fig, path)
    return order


def plot_history(history, path):
    """Loss components and accuracy per epoch from a history mapping.

    Args:
        history: mapping of log key -> list of per-epoch values (a
            `keras.callbacks.History.history`, or the columns of
            `history.csv`), with `epoch` optional.
        path: PNG file to write.
    """
    plt = _pyplot()
    epochs = history.get("epoch") or list(range(len(next(iter(history.values()), []))))
    epochs = [int(e) + 1 for e in epochs]
    fig, (losses, accuracy) = plt.subplots(1, 2, figsize=(9, 3.4))
    for key in ("loss", "cls_loss", "qc_loss", "ssdt_loss", "val_loss"):
        if key in history:
            losses.plot(epochs, history[key], label=key, linestyle="--" if "val" in key else "-")
    for key in ("accuracy", "val_accuracy"):
        if key in history:
            accuracy.plot(epochs, history[key], label=key)
    for ax, title in ((losses, "loss components"), (accuracy, "accuracy")):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    accuracy.set_ylim(0, 1)
    return _save(fig, path)
