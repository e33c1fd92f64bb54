"""`csdnet evaluate`: top-1, top-5, per-class accuracy and the confusion matrix."""

import csv
import os

import numpy as np

from keras_csdnet.cli.common import class_names_of
from keras_csdnet.cli.common import load_model
from keras_csdnet.cli.common import output_folder
from keras_csdnet.cli.common import run_settings
from keras_csdnet.cli.common import write_json
from keras_csdnet.cli.data import SPLITS
from keras_csdnet.cli.data import collect
from keras_csdnet.cli.data import folder_split
from keras_csdnet.cli.data import label_map
from keras_csdnet.cli.data import load_splits
from keras_csdnet.cli.errors import CommandError

HELP = "evaluate a run or model: top-1, top-5, per-class accuracy, confusion matrix (CSV, PNG)"


def add_parser(subparsers):
    p = subparsers.add_parser("evaluate", help=HELP, description=HELP + ".")
    p.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    p.add_argument(
        "data",
        nargs="?",
        metavar="DATA_DIR",
        help="image folder (default: the run's own data)",
    )
    p.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="which split of DATA_DIR (the run's shots, val-shots and seed; 'all': every image)",
    )
    p.add_argument("--output", metavar="DIR", help="where to write (default RUN_DIR/evaluate)")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(run=run)
    return p


def predict_logits(model, images, batch_size=32):
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float64)


def report(model, images, labels, class_names, batch_size=32):
    """Accuracy figures of `model` on `(images, labels)`.

    Returns:
        dict: `images`, `top1_accuracy`, `top5_accuracy` (top-min(5, K)),
        `loss` (mean cross-entropy), `per_class` (name -> accuracy, images),
        `confusion` (K x K counts, rows true), `predicted` (N,).
    """
    from keras_csdnet import pictures

    logits = predict_logits(model, images, batch_size)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    labels = np.asarray(labels, dtype=int)
    k = min(5, logits.shape[1])
    top = np.argsort(-logits, axis=1)[:, :k]
    predicted = top[:, 0]
    confusion = pictures.confusion_matrix(labels, predicted, logits.shape[1])
    per_class = {}
    for i, name in enumerate(class_names):
        count = int(confusion[i].sum())
        per_class[name] = {
            "accuracy": float(confusion[i, i] / count) if count else None,
            "images": count,
        }
    return {
        "images": int(len(labels)),
        "top1_accuracy": float(np.mean(predicted == labels)),
        "top5_accuracy": float(np.mean((top == labels[:, None]).any(axis=1))),
        "top_k": int(k),
        "loss": float(-np.mean(log_probs[np.arange(len(labels)), labels])),
        "per_class": per_class,
        "confusion": confusion,
        "predicted": predicted,
    }


def evaluation_data(args_data, split, model, run):
    """`(images, labels in the model's class ids, description)` for evaluate/visualize."""
    settings = run_settings(run)
    names = class_names_of(model)
    if args_data is None:
        if run is None:
            raise CommandError(
                "A bare model file has no data of its own: pass DATA_DIR after the model."
            )
        if settings["data"] is None:  # the run's synthetic data, made again
            if split == "all":
                raise CommandError("--split all needs DATA_DIR (a folder of images).")
            train, val, test, data_names, _ = load_splits(settings)
            dataset = {"train": train, "val": val, "test": test}[split]
            if dataset is None:
                raise CommandError(f"The run has no {split!r} split (val-shots 0).")
            x, y = collect(dataset, label_map(data_names, names))
            return x, y, f"synthetic cultivars ({split} split of the run)"
        args_data = settings["data"]
    if not settings:
        from keras_csdnet.cli.train import DEFAULTS

        settings = dict(DEFAULTS)
    dataset, data_names = folder_split(args_data, settings, split, model.image_size)
    x, y = collect(dataset, label_map(data_names, names))
    return x, y, f"{args_data} ({split} split)"


def run(args):
    model, run_dir = load_model(args.model)
    names = class_names_of(model)
    images, labels, source = evaluation_data(args.data, args.split, model, run_dir)
    result = report(model, images, labels, names, args.batch_size)
    folder = output_folder(args.output, run_dir, args.model, "evaluate")
    confusion = result.pop("confusion")
    result.pop("predicted")
    summary = dict(result, model=os.path.abspath(args.model), data=source, split=args.split)
    write_json(os.path.join(folder, "evaluation.json"), summary)
    with open(os.path.join(folder, "per_class.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class", "accuracy", "images"])
        for name, row in result["per_class"].items():
            accuracy = "" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
            writer.writerow([name, accuracy, row["images"]])
    with open(os.path.join(folder, "confusion_matrix.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["true \\ predicted"] + names)
        for name, row in zip(names, confusion):
            writer.writerow([name] + [int(v) for v in row])
    written = ["evaluation.json", "per_class.csv", "confusion_matrix.csv"]
    png = _confusion_png(confusion, names, os.path.join(folder, "confusion_matrix.png"))
    if png:
        written.append("confusion_matrix.png")
    print(f"data: {source}, {result['images']} images, {len(names)} classes")
    print(
        f"top-1 {result['top1_accuracy']:.4f}  top-{result['top_k']} "
        f"{result['top5_accuracy']:.4f}  loss {result['loss']:.4f}  "
        f"(chance {1 / len(names):.4f})"
    )
    scored = [(r["accuracy"], n) for n, r in result["per_class"].items() if r["images"]]
    worst = sorted(scored)[:3]
    print("weakest classes: " + ", ".join(f"{n} {a:.2f}" for a, n in worst))
    print(f"wrote {folder}: {', '.join(written)}")
    return 0


def _confusion_png(confusion, names, path):
    from keras_csdnet import pictures
    from keras_csdnet.errors import MissingExtraError

    try:
        pictures.plot_confusion_matrix(confusion, names, path)
        return path
    except MissingExtraError as e:
        print(f"note: no confusion_matrix.png: {e}")
        return None
