"""What several commands share: the MODEL argument, output folders, JSON."""

import json
import os

from keras_csdnet.cli.errors import CommandError
from keras_csdnet.cli.run_directory import RunDirectory


def load_model(path):
    """`(model, run)` from a run directory (its `best.keras`) or a `.keras` file.

    `run` is the `RunDirectory`, or None for a bare model file.
    """
    from keras_csdnet.export import load_csdnet

    path = os.fspath(path)
    if not os.path.exists(path):
        raise CommandError(f"No such run directory or model file: {path!r}.")
    run = None
    if os.path.isdir(path):
        run = RunDirectory(path)
        run.read_config()  # checks it is a run this version reads
        path = run.model_path("best")
    elif not path.endswith(".keras"):
        raise CommandError(
            f"{path!r} is not a model: pass a run directory of `csdnet train` or a `.keras` file."
        )
    try:
        model = load_csdnet(path)
    except ValueError as e:
        raise CommandError(str(e).splitlines()[0]) from None
    return model, run


def model_source(model_path, run):
    return run.model_path("best") if run is not None else os.fspath(model_path)


def output_folder(explicit, run, model_path, name):
    """`explicit`, else `<run>/<name>`, else `<model stem>_<name>` beside the file."""
    if explicit:
        folder = explicit
    elif run is not None:
        folder = run.file(name)
    else:
        folder = os.path.splitext(os.fspath(model_path))[0] + f"_{name}"
    os.makedirs(folder, exist_ok=True)
    return folder


def class_names_of(model):
    names = getattr(model, "class_names", None)
    return list(names) if names else [f"class_{i}" for i in range(model.num_classes)]


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")
    return path


def run_settings(run):
    """The resolved train settings of a run (empty for a bare model)."""
    return dict(run.read_config()["settings"]) if run is not None else {}
