"""`csdnet visualize`: pattern maps, t-SNE (one run, or two side by side), confusion."""

import os

import numpy as np

from keras_csdnet.cli.common import class_names_of
from keras_csdnet.cli.common import load_model
from keras_csdnet.cli.common import output_folder
from keras_csdnet.cli.common import write_json
from keras_csdnet.cli.data import SPLITS
from keras_csdnet.cli.errors import CommandError
from keras_csdnet.cli.evaluate import evaluation_data
from keras_csdnet.cli.evaluate import report

HELP = "draw pattern maps, masks and views, a t-SNE of the embeddings and the confusion matrix"


def add_parser(subparsers):
    p = subparsers.add_parser("visualize", help=HELP, description=HELP + ". Needs the [viz] extra.")
    p.add_argument("model", metavar="RUN_DIR|MODEL.keras")
    p.add_argument(
        "data", nargs="?", metavar="DATA_DIR", help="image folder (default: the run's own data)"
    )
    p.add_argument(
        "--compare",
        metavar="RUN_DIR|MODEL.keras",
        help="a second run (e.g. the baseline): its t-SNE beside, same axes, same images",
    )
    p.add_argument("--split", choices=SPLITS, default="test")
    p.add_argument("--num-images", type=int, default=4, help="images in pattern_maps.png (4)")
    p.add_argument("--output", metavar="DIR", help="where to write (default RUN_DIR/pictures)")
    p.add_argument("--seed", type=int, default=0, help="seed of the t-SNE and the picked images")
    p.set_defaults(run=run)
    return p


def embeddings_of(model, images, batch_size=32):
    import keras

    chunks = [
        keras.ops.convert_to_numpy(model.embed(images[i : i + batch_size]))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(chunks).astype(np.float64)


def _title(path, model):
    modules = [n for n in ("ssdp", "ddl", "ssdt") if getattr(model, n)]
    name = os.path.basename(os.path.normpath(path))
    return f"{name} ({'+'.join(modules) if modules else 'plain fine-tuning'})"


def run(args):
    from keras_csdnet import pictures

    if args.num_images < 1:
        raise CommandError("--num-images must be 1 or more.")
    pictures._pyplot()  # the extra is there, before any work
    model, run_dir = load_model(args.model)
    names = class_names_of(model)
    images, labels, source = evaluation_data(args.data, args.split, model, run_dir)
    folder = output_folder(args.output, run_dir, args.model, "pictures")
    written, summary = [], {"data": source, "images": int(len(images))}

    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(images), min(args.num_images, len(images)), replace=False))
    path = os.path.join(folder, "pattern_maps.png")
    if pictures.plot_pattern_maps(model, images[pick], path, labels[pick], names):
        written.append("pattern_maps.png")
    else:
        print("note: no pattern_maps.png: the model has no SSDP-guided view (ssdp off)")

    runs = [(_title(args.model, model), embeddings_of(model, images), labels)]
    if args.compare:
        other, _ = load_model(args.compare)
        if other.image_size != model.image_size or class_names_of(other) != names:
            raise CommandError(
                f"--compare {args.compare!r} takes {other.image_size} px images of "
                f"{other.num_classes} classes; it must share the model's size and classes."
            )
        runs.insert(0, (_title(args.compare, other), embeddings_of(other, images), labels))
    scores = pictures.plot_tsne(runs, os.path.join(folder, "tsne.png"), seed=args.seed)
    written.append("tsne.png")
    summary["separability"] = {title: score for (title, _, _), score in zip(runs, scores)}

    result = report(model, images, labels, names)
    order = pictures.plot_confusion_matrix(
        result["confusion"], names, os.path.join(folder, "confusion_matrix.png")
    )
    written.append("confusion_matrix.png")
    summary["confusion_order"] = [names[i] for i in order]
    write_json(os.path.join(folder, "pictures.json"), summary)
    print(f"data: {source}, {len(images)} images")
    for title, score in summary["separability"].items():
        print(f"separability (silhouette, cosine) of {title}: {score:.3f}")
    print(f"wrote {folder}: {', '.join(written + ['pictures.json'])}")
    return 0
