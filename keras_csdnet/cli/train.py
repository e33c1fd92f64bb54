"""`csdnet train`: train a CSDNet into a run directory."""

import argparse
import inspect
import math
import os
import shutil
import time

from keras_csdnet.cli import run_directory as rd
from keras_csdnet.cli.common import write_json
from keras_csdnet.cli.data import load_splits
from keras_csdnet.cli.errors import CommandError

HELP = "train a CSDNet on a folder of images (or the built-in synthetic data) into a run directory"

# The command's own settings and their defaults; the model's settings
# (learning rate, method settings) default to CSDNet's own.
DEFAULTS = {
    "data": None,
    "layout": "auto",
    "backbone": "resnet18",
    "weights": None,
    "image_size": 72,
    "epochs": 30,
    "batch_size": 16,
    "shots": None,
    "val_shots": 1,
    "seed": 0,
    "resize": "shorter_side",
    "learning_rate": None,
    "ssdp": True,
    "ddl": True,
    "ssdt": True,
    "method": {},
    "classes": 20,
    "train_per_class": 10,
    "test_per_class": 10,
}
# Model settings `--set` may give besides the parts' own (`_shortcuts`).
MODEL_SETTINGS = ("label_smoothing", "weight_decay", "normalization", "view")


def add_parser(subparsers):
    from keras_csdnet import backbones
    from keras_csdnet import data

    p = subparsers.add_parser(
        "train",
        help=HELP,
        description=HELP + ". Settings: defaults < --config FILE.yaml < flags.",
    )
    p.add_argument(
        "data",
        nargs="?",
        metavar="DATA_DIR",
        help="image folder: root/<class>/<image>, root/{train,val,test}/<class>/<image> or UFG",
    )
    p.add_argument(
        "--synthetic", action="store_true", help="train on the built-in synthetic cultivars"
    )
    p.add_argument("--config", metavar="FILE.yaml", help="settings file (a run's config.yaml too)")
    p.add_argument("--output", required=True, metavar="RUN_DIR", help="the run directory")
    p.add_argument("--backbone", help=f"one of {backbones.known_backbones()} (default resnet18)")
    p.add_argument(
        "--weights", metavar="FILE|PRESET_DIR", help="backbone weights: .weights.h5 or preset dir"
    )
    p.add_argument("--image-size", type=int, help="input side in pixels (default 72)")
    p.add_argument("--epochs", type=int, help="epochs (default 30)")
    p.add_argument("--batch-size", type=int, help="batch size (default 16)")
    p.add_argument("--shots", type=int, help="training images per class (folders: default 3)")
    p.add_argument("--val-shots", type=int, help="validation images per class (default 1)")
    p.add_argument("--seed", type=int, help="seed of the split, the model and training (0)")
    p.add_argument("--layout", choices=["auto"] + data.FOLDER_LAYOUTS.names())
    p.add_argument("--resize", choices=["shorter_side", "square"])
    p.add_argument("--learning-rate", type=float, help="AdamW learning rate (default CSDNet's)")
    for part in ("ssdp", "ddl", "ssdt"):
        p.add_argument(
            f"--{part}",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"{part.upper()} on (default) or off (--no-{part})",
        )
    p.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="a method setting by name, e.g. --set mask_mode=crop --set pattern_stride=16",
    )
    p.add_argument("--classes", type=int, help="synthetic data: number of classes (20)")
    p.add_argument("--train-per-class", type=int, help="synthetic data: train images per class")
    p.add_argument("--test-per-class", type=int, help="synthetic data: test images per class")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the unfinished (or a finished, with more --epochs) run in RUN_DIR",
    )
    p.add_argument("--overwrite", action="store_true", help="replace the run already in RUN_DIR")
    p.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="Keras' verbosity")
    p.set_defaults(run=run)
    return p


def _known_method_settings():
    from keras_csdnet.models.csdnet import _shortcuts

    return set(_shortcuts()) | set(MODEL_SETTINGS)


def _method_settings(pairs):
    import yaml

    known = _known_method_settings()
    settings = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"--set takes NAME=VALUE, got {pair!r} (e.g. --set mask_mode=crop).")
        _check_method_name(name, known)
        settings[name] = yaml.safe_load(value)
    return settings


def _check_method_name(name, known):
    if name not in known:
        raise CommandError(f"Unknown method setting {name!r}; known: {', '.join(sorted(known))}.")


def _read_config_file(path):
    import yaml

    if not os.path.exists(path):
        raise CommandError(f"No such config file: {path!r}.")
    try:
        with open(path) as f:
            config = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        raise CommandError(f"{path!r} is not valid YAML ({str(e).splitlines()[0]}).") from None
    if not isinstance(config, dict):
        raise CommandError(f"{path!r} must hold a mapping of settings, e.g. `epochs: 30`.")
    if "run_format" in config:  # a run's config.yaml: its settings
        config = dict(config.get("settings") or {})
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise CommandError(
            f"{path!r} has unknown settings {unknown}; known: {', '.join(DEFAULTS)}."
        )
    known = _known_method_settings()
    method = config.get("method") or {}
    if not isinstance(method, dict):
        raise CommandError(f"{path!r}: `method` must be a mapping, e.g. `method: {{alpha: 0.5}}`.")
    for name in method:
        _check_method_name(name, known)
    return config


def resolve(args):
    """The settings: defaults, then the config file, then the flags given."""
    settings = dict(DEFAULTS, method={})
    if args.config:
        file_settings = _read_config_file(args.config)
        method = dict(file_settings.pop("method", None) or {})
        settings.update(file_settings)
        settings["method"] = method
    flags = {k: getattr(args, k) for k in DEFAULTS if k not in ("data", "method")}
    settings.update({k: v for k, v in flags.items() if v is not None})
    settings["method"] = dict(settings["method"], **_method_settings(args.set))
    if args.data is not None:
        settings["data"] = args.data
    if args.synthetic:
        settings["data"] = None
    if args.data is None and not args.synthetic and not args.config and not args.resume:
        raise CommandError("Give DATA_DIR (a folder of images) or --synthetic (built-in data).")
    if args.data is not None and args.synthetic:
        raise CommandError("Give DATA_DIR or --synthetic, not both.")
    if settings["learning_rate"] is None:
        from keras_csdnet import CSDNet

        default = inspect.signature(CSDNet.__init__).parameters["learning_rate"].default
        settings["learning_rate"] = default
    for name in ("epochs", "batch_size", "image_size"):
        if not isinstance(settings[name], int) or settings[name] < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be a positive integer.")
    if settings["weights"] not in (None, "imagenet") and not os.path.exists(settings["weights"]):
        raise CommandError(
            f"No such weights file or preset folder: {settings['weights']!r}. Pass a local "
            "`.weights.h5` file or a keras-hub preset directory (or leave --weights out)."
        )
    return settings


def _prepare_run_dir(args, run):
    """Checks RUN_DIR against --resume / --overwrite; returns the resume state or None."""
    exists = os.path.isdir(run.path) and bool(os.listdir(run.path))
    if os.path.exists(run.path) and not os.path.isdir(run.path):
        raise CommandError(f"--output {run.path!r} is a file; pass a folder for the run.")
    if args.resume:
        if not rd.RunDirectory.is_run(run.path):
            raise CommandError(
                f"Nothing to resume in {run.path!r} (no {rd.CONFIG}); start the run without "
                "--resume."
            )
        return run.read_config()
    if not exists:
        return None
    if not rd.RunDirectory.is_run(run.path):
        raise CommandError(
            f"--output {run.path!r} is a non-empty folder that is not a run directory; "
            "choose a new folder."
        )
    if not args.overwrite:
        state = "a finished run" if run.finished else "an unfinished run"
        fix = "" if run.finished else " or --resume to continue it"
        raise CommandError(
            f"{run.path!r} holds {state}; pass --overwrite to replace it{fix}, or choose "
            "another --output."
        )
    shutil.rmtree(run.path)
    return None


def _build_model(settings, names):
    from keras_csdnet import CSDNet

    try:
        return CSDNet(
            backbone=settings["backbone"],
            num_classes=len(names),
            image_size=settings["image_size"],
            weights=settings["weights"],
            ssdp=settings["ssdp"],
            ddl=settings["ddl"],
            ssdt=settings["ssdt"],
            learning_rate=settings["learning_rate"],
            seed=settings["seed"],
            class_names=names,
            **settings["method"],
        )
    except TypeError as e:  # a `--set` value of the wrong kind
        raise CommandError(f"Bad method setting: {e}.") from None


def _resume_settings(args, config):
    settings = dict(config["settings"])
    for name in DEFAULTS:
        given = getattr(args, name, None) if name not in ("data", "method") else None
        if name == "epochs" or given is None or given == settings.get(name):
            continue
        raise CommandError(
            f"--resume continues the run's own settings; --{name.replace('_', '-')} "
            f"{given!r} differs from its {settings.get(name)!r}. Drop the flag (only "
            "--epochs may change), or start a new run."
        )
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    return settings


def run(args):
    import keras

    import keras_csdnet

    run_dir = rd.RunDirectory(args.output)
    previous = _prepare_run_dir(args, run_dir)
    settings = _resume_settings(args, previous) if previous else resolve(args)
    keras.utils.set_random_seed(settings["seed"])
    done, best_so_far = 0, None
    if previous:
        progress = run_dir.read_progress()
        if progress is None:
            raise CommandError(
                f"{run_dir.path!r} stopped before its first epoch ended; there is nothing to "
                "resume. Start it again with --overwrite."
            )
        done, best_so_far = progress["epochs_done"], progress["best_val_accuracy"]
        # A crash after the history row but before the checkpoint landed leaves one row more.
        run_dir.trim_history(done)
        if done >= settings["epochs"]:
            raise CommandError(
                f"{run_dir.path!r} has trained {done} of {settings['epochs']} epochs already; "
                f"pass --epochs more than {done} to train on."
            )
    # Epoch e's batches depend on the seed and e alone, so a resumed run sees
    # the batches the uninterrupted run saw.
    train, val, test, names, info = load_splits(settings, passes=range(done, settings["epochs"]))
    has_val = val is not None and val.num_images > 0
    if previous:
        model = keras_csdnet.export.load_csdnet(run_dir.model_path("last"))
    else:
        model = _build_model(settings, names)

    config = {
        "run_format": rd.RUN_FORMAT,
        "status": "running",
        "settings": settings,
        "data": info,
        "seed": settings["seed"],
        "model": _plain(model.get_config()),
        "versions": rd.versions(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    run_dir.write_config(config)
    run_dir.write_classes(names)
    print(
        f"backend {keras.backend.backend()} | keras {keras.__version__} | "
        f"keras_csdnet {keras_csdnet.__version__}"
    )
    print(
        f"data: {info['source']}{' ' + info['path'] if info['path'] else ''}: "
        f"{info['classes']} classes, {info['train_images']} train / {info['val_images']} "
        f"validation / {info['test_images']} test images, {settings['image_size']} px"
    )
    modules = [n for n in ("ssdp", "ddl", "ssdt") if getattr(model, n)]
    print(
        f"model: CSDNet({settings['backbone']}), modules: {', '.join(modules) or 'none'}; "
        f"run: {run_dir.path}" + (f" (resumed after epoch {done})" if done else "")
    )
    from keras_csdnet.cli.run_checkpoint import RunCheckpoint

    callbacks = [
        keras.callbacks.CSVLogger(run_dir.file(rd.HISTORY), append=bool(done)),
        RunCheckpoint(run_dir, best_so_far, has_val),
    ]
    start = time.time()
    model.fit(
        train,
        steps_per_epoch=math.ceil(train.num_images / settings["batch_size"]),
        validation_data=val if has_val else None,
        epochs=settings["epochs"],
        initial_epoch=done,
        callbacks=callbacks,
        verbose=args.verbose,
    )
    seconds = time.time() - start
    if not has_val:
        shutil.copyfile(run_dir.file(rd.LAST), run_dir.file(rd.BEST))
    history = run_dir.read_history()
    metrics = _final_metrics(run_dir, history, has_val, val, test, names)
    metrics["train_seconds_this_call"] = round(seconds, 1)
    write_json(run_dir.file(rd.METRICS), metrics)
    curves = _curves(run_dir, history)
    config.update(status="finished", finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    config["best_epoch"] = metrics["best_epoch"]
    run_dir.write_config(config)
    print(f"checkpoint: {metrics['selection']}")
    val_line = ""
    if metrics["validation"]:
        val_line = f"validation top-1 {metrics['validation']['top1_accuracy']:.4f}, "
    print(
        f"{val_line}test top-1 {metrics['test']['top1_accuracy']:.4f}, top-5 "
        f"{metrics['test']['top5_accuracy']:.4f} (chance {1 / len(names):.4f})"
    )
    print(f"wrote {run_dir.path}: " + ", ".join(_written(run_dir, curves)))
    return 0


def _plain(value):
    """A config as plain YAML types (tuples to lists, others to str)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _final_metrics(run_dir, history, has_val, val, test, names):
    from keras_csdnet.cli.data import collect
    from keras_csdnet.cli.evaluate import report
    from keras_csdnet.export import load_csdnet

    best = load_csdnet(run_dir.file(rd.BEST))
    epochs = len(history.get("epoch", []))
    if has_val:
        scores = history["val_accuracy"]
        best_epoch = scores.index(max(scores)) + 1
        selection = (
            f"epoch {best_epoch} of {epochs}, best validation accuracy {max(scores):.4f}; "
            "chosen on validation, never on test"
        )
    else:
        best_epoch = epochs
        selection = f"last epoch ({epochs}): no validation images to choose on"

    def summary(dataset):
        x, y = collect(dataset)
        result = report(best, x, y, names)
        return {k: result[k] for k in ("images", "top1_accuracy", "top5_accuracy", "loss")}

    return {
        "best_epoch": best_epoch,
        "epochs": epochs,
        "selected_on": "val_accuracy" if has_val else "last_epoch",
        "selection": selection,
        "validation": summary(val) if has_val else None,
        "test": summary(test),
    }


def _curves(run_dir, history):
    from keras_csdnet import pictures
    from keras_csdnet.errors import MissingExtraError

    try:
        return pictures.plot_history(history, run_dir.file(rd.CURVES))
    except MissingExtraError as e:
        print(f"note: no {rd.CURVES}: {e}")
        return None


def _written(run_dir, curves):
    names = [rd.CONFIG, rd.HISTORY, rd.METRICS, rd.BEST, rd.LAST, rd.CLASSES]
    if curves:
        names.append(rd.CURVES)
    return [n for n in names if os.path.exists(run_dir.file(n))]
