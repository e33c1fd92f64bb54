"""Few-shot accuracy of the paper's ablation rows on real data, several seeds.

    KERAS_BACKEND=tensorflow python benchmarks/accuracy.py --data-root ../shared/data \
        --datasets oaks --shots 3 --seeds 0 1 2 --protocols scratch --epochs 40 \
        --output benchmarks/results/accuracy.jsonl
    python benchmarks/accuracy.py --smoke

Rows (same backbone, head, schedule, augmentation and number of steps each):
baseline (all off), +SSDP, +SSDP+DDL, full CSDNet, DDL alone, SSDT alone.
Each seed is a different few-shot split *and* initialisation: `shots` training
images per class, `val_shots` for model selection (best validation accuracy,
earliest on ties), the rest test. Protocols: `scratch` (random init) and
`transfer` (the backbone first trained with plain cross-entropy on the
dataset's *other* classes, disjoint from the target, then each row is
fine-tuned from that checkpoint; no outside weights). Results are appended to
`--output` as JSON lines (a rerun skips what is there), then summarised as
mean +- std next to the raw-pixel floor, and plotted (`--plot`).
"""

import argparse
import json
import os
import statistics
import tempfile
import time

ROWS = {
    "baseline": dict(ssdp=False, ddl=False, ssdt=False),
    "+ssdp": dict(ssdp=True, ddl=False, ssdt=False),
    "+ssdp+ddl": dict(ssdp=True, ddl=True, ssdt=False),
    "csdnet": dict(ssdp=True, ddl=True, ssdt=True),
    "ddl_only": dict(ssdp=False, ddl=True, ssdt=False),
    "ssdt_only": dict(ssdp=False, ddl=False, ssdt=True),
}


# name -> (folder under --data-root, target-class predicate or None = all,
#          pixel floor at k=3 from shared/data/README.md)
DATASETS = {
    "leaves99": ("leaves99", None, 0.419),
    "oaks": ("leaves99", lambda c: c.startswith("Quercus_"), 0.357),
    "orl_faces": ("orl_faces", None, 0.854),
    "omniglot_small": ("omniglot_small", None, 0.139),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=os.path.join("..", "shared", "data"))
    p.add_argument("--datasets", nargs="+", default=["oaks"], choices=sorted(DATASETS))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--shots", type=int, nargs="+", default=[3])
    p.add_argument("--val-shots", type=int, default=1)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--protocols", nargs="+", default=["scratch"], choices=["scratch", "transfer"])
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--image-size", type=int, default=72)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--pretrain-epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--resize", default="square", choices=["square", "shorter_side"])
    p.add_argument("--output", default=os.path.join("benchmarks", "results", "accuracy.jsonl"))
    p.add_argument("--plot", default=None, help="PNG of accuracy per row with error bars")
    p.add_argument("--smoke", action="store_true", help="tiny fake data, seconds")
    args = p.parse_args(argv)
    return args


def _fake_root(root):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in ("Quercus_a", "Quercus_b", "Acer_c", "Acer_d"):
        os.makedirs(os.path.join(root, "leaves99", c))
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (40, 30), np.uint8)).save(
                os.path.join(root, "leaves99", c, f"{i}.png"))
    return root


def _done(path):
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {(r["dataset"], r["protocol"], r["shots"], r["seed"], r["row"]) for r in rows}


def _model(args, num_classes, switches, seed, weights=None, names=None):
    import keras_csdnet

    return keras_csdnet.CSDNet(
        backbone=args.backbone, num_classes=num_classes, image_size=args.image_size,
        weights=weights, learning_rate=args.learning_rate, seed=seed,
        class_names=names, **switches)


def _fit_select_test(model, train, val, test, epochs):
    import keras

    callbacks = []
    if val.num_images:
        best = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=epochs + 1, restore_best_weights=True)
        callbacks.append(best)
    model.fit(train, epochs=epochs, verbose=0, callbacks=callbacks,
              validation_data=val if val.num_images else None)
    result = model.evaluate(test, verbose=0, return_dict=True)
    return result["accuracy"], (best.best_epoch + 1 if callbacks else epochs)


def pretrain(args, folder, target, seed, workdir):
    """Plain CE on the classes *not* in `target`; returns a .weights.h5 path."""
    import keras

    from keras_csdnet.data import load_image_folder

    path = os.path.join(workdir, f"pretrain_{os.path.basename(folder)}_{seed}.weights.h5")
    if os.path.exists(path):
        return path
    keras.utils.set_random_seed(seed)
    others = load_image_folder(
        folder, classes=lambda c: not target(c), shots=1, val_shots=0, seed=seed,
        image_size=args.image_size, batch_size=args.batch_size, resize=args.resize)
    # All images of the other classes train: merge the sampled train and test.
    train = others.train.concatenate(others.test).shuffle(64, seed=seed)
    model = _model(args, len(others.class_names), ROWS["baseline"], seed)
    model.fit(train, epochs=args.pretrain_epochs, verbose=0)
    model.backbone.save_weights(path)
    return path


def run(args):
    import keras

    from keras_csdnet.data import load_image_folder

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    done = _done(args.output)
    workdir = os.path.join(os.path.dirname(os.path.abspath(args.output)), "pretrained")
    os.makedirs(workdir, exist_ok=True)
    for name in args.datasets:
        subdir, target, _ = DATASETS[name]
        folder = os.path.join(args.data_root, subdir)
        for protocol in args.protocols:
            if protocol == "transfer" and target is None:
                print(f"skip {name}/transfer: no disjoint classes to pretrain on")
                continue
            for shots in args.shots:
                for seed in args.seeds:
                    splits = load_image_folder(
                        folder, classes=target, shots=shots, val_shots=args.val_shots,
                        seed=seed, image_size=args.image_size, batch_size=args.batch_size,
                        resize=args.resize)
                    weights = pretrain(args, folder, target, seed, workdir) if (
                        protocol == "transfer") else None
                    for row in args.rows:
                        key = (name, protocol, shots, seed, row)
                        if key in done:
                            continue
                        keras.utils.set_random_seed(seed)
                        start = time.time()
                        model = _model(args, len(splits.class_names), ROWS[row], seed, weights)
                        accuracy, epoch = _fit_select_test(
                            model, splits.train, splits.val, splits.test, args.epochs)
                        record = dict(
                            dataset=name, protocol=protocol, shots=shots, seed=seed, row=row,
                            test_accuracy=round(float(accuracy), 4), best_epoch=epoch,
                            classes=len(splits.class_names), train_images=splits.train.num_images,
                            test_images=splits.test.num_images, epochs=args.epochs,
                            backbone=args.backbone, image_size=args.image_size,
                            backend=keras.backend.backend(),
                            seconds=round(time.time() - start, 1))
                        print(json.dumps(record), flush=True)
                        with open(args.output, "a") as f:
                            f.write(json.dumps(record) + "\n")


def summarize(path, plot=None):
    """Mean +- std per (dataset, protocol, shots, row); returns the table rows."""
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    groups = {}
    for r in records:
        groups.setdefault((r["dataset"], r["protocol"], r["shots"], r["row"]), []).append(
            r["test_accuracy"])
    table = []
    for (dataset, protocol, shots, row), values in sorted(
            groups.items(), key=lambda kv: (kv[0][:3], list(ROWS).index(kv[0][3]))):
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        table.append(dict(dataset=dataset, protocol=protocol, shots=shots, row=row,
                          mean=statistics.mean(values), std=std, n=len(values),
                          floor=DATASETS[dataset][2] if shots == 3 else None))
    print("| dataset | protocol | k | row | test accuracy (mean ± std) | seeds | pixel floor (k=3) |")
    print("|---|---|---|---|---|---|---|")
    for t in table:
        floor = f"{t['floor']:.3f}" if t["floor"] is not None else "-"
        print(f"| {t['dataset']} | {t['protocol']} | {t['shots']} | {t['row']} | "
              f"{t['mean']:.3f} ± {t['std']:.3f} | {t['n']} | {floor} |")
    if plot:
        _plot(table, plot)
    return table


def _plot(table, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return
    panels = sorted({(t["dataset"], t["protocol"], t["shots"]) for t in table})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        rows = [t for t in table if (t["dataset"], t["protocol"], t["shots"]) == panel]
        ax.bar(range(len(rows)), [t["mean"] for t in rows], yerr=[t["std"] for t in rows],
               capsize=3, color=["#888" if t["row"] == "baseline" else "#4a7" for t in rows])
        if rows[0]["floor"] is not None:
            ax.axhline(rows[0]["floor"], color="r", ls="--", lw=1, label="pixel floor")
            ax.legend(loc="lower right", fontsize=7)
        ax.set_xticks(range(len(rows)), [t["row"] for t in rows], rotation=40, fontsize=7)
        ax.set_title(f"{panel[0]} {panel[1]} k={panel[2]} (n={rows[0]['n']})", fontsize=9)
        ax.set_ylabel("test accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def main(argv=None):
    args = parse_args(argv)
    if args.smoke:
        tmp = tempfile.mkdtemp()
        args.data_root = _fake_root(tmp)
        args.datasets, args.rows, args.seeds = ["oaks"], ["baseline", "csdnet"], [0]
        args.shots, args.epochs, args.pretrain_epochs = [2], 1, 1
        args.image_size, args.protocols = 32, ["scratch", "transfer"]
        args.output = os.path.join(tmp, "accuracy.jsonl")
    run(args)
    return summarize(args.output, args.plot)


if __name__ == "__main__":
    main()
