"""The run directory that `csdnet train` writes, and reading it back."""

import csv
import json
import os
import platform

from keras_csdnet.cli.errors import CommandError

# Bumped when a run directory's layout or config keys change incompatibly.
RUN_FORMAT = 1
CONFIG = "config.yaml"
HISTORY = "history.csv"
METRICS = "metrics.json"
BEST = "best.keras"
LAST = "last.keras"
CLASSES = "classes.txt"
CURVES = "curves.png"
PROGRESS = "progress.json"


def atomic_write(path, write):
    """Calls `write(temporary_path)`, then moves the file onto `path` in one step.

    A process killed mid-write leaves the previous `path` whole (and at worst
    a stray temporary file), never a half-written one.
    """
    folder, name = os.path.split(os.fspath(path))
    stem, ext = os.path.splitext(name)
    temporary = os.path.join(folder, f".{stem}.partial{ext}")
    write(temporary)
    os.replace(temporary, path)
    return path


def _yaml():
    import yaml

    return yaml


class RunDirectory:
    """A `csdnet train` run: `config.yaml`, `history.csv`, `metrics.json`,
    `best.keras`, `last.keras`, `classes.txt` and `curves.png` in one folder,
    plus `progress.json` (epochs whose `last.keras` landed, the best
    validation accuracy so far), which `--resume` trusts over the history.

    Args:
        path: the folder.
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    def file(self, name):
        return os.path.join(self.path, name)

    @staticmethod
    def is_run(path):
        return os.path.isdir(path) and os.path.exists(os.path.join(path, CONFIG))

    @property
    def finished(self):
        return os.path.exists(self.file(METRICS))

    def write_config(self, config):
        os.makedirs(self.path, exist_ok=True)

        def write(path):
            with open(path, "w") as f:
                _yaml().safe_dump(config, f, sort_keys=False, default_flow_style=False)

        atomic_write(self.file(CONFIG), write)

    def write_progress(self, epochs_done, best_val_accuracy=None):
        """Records that `last.keras` holds the model after `epochs_done` epochs."""

        def write(path):
            with open(path, "w") as f:
                json.dump({"epochs_done": epochs_done, "best_val_accuracy": best_val_accuracy}, f)

        atomic_write(self.file(PROGRESS), write)

    def read_progress(self):
        """`{"epochs_done", "best_val_accuracy"}`, or None before the first epoch."""
        if not os.path.exists(self.file(PROGRESS)):
            return None
        with open(self.file(PROGRESS)) as f:
            return json.load(f)

    def trim_history(self, epochs):
        """Keeps the first `epochs` rows of `history.csv` (a crash may leave one more)."""
        path = self.file(HISTORY)
        if not os.path.exists(path):
            return
        with open(path, newline="") as f:
            lines = f.readlines()
        if len(lines) <= epochs + 1:
            return

        def write(temporary):
            with open(temporary, "w", newline="") as f:
                f.writelines(lines[: epochs + 1])

        atomic_write(path, write)

    def read_config(self):
        """The run's `config.yaml`, checked to be a run this version reads."""
        path = self.file(CONFIG)
        if not os.path.exists(path):
            raise CommandError(
                f"{self.path!r} is not a run directory (no {CONFIG}); pass a folder that "
                "`csdnet train --output` wrote, or a `.keras` model file."
            )
        try:
            with open(path) as f:
                config = _yaml().safe_load(f)
        except Exception as e:
            raise CommandError(f"{path!r} is not valid YAML ({e}).") from None
        if not isinstance(config, dict) or "run_format" not in config:
            raise CommandError(
                f"{path!r} has no `run_format`: it was not written by `csdnet train`. "
                "Train the run again with this version."
            )
        found = config["run_format"]
        if not isinstance(found, int) or found > RUN_FORMAT:
            version = config.get("versions", {}).get("keras_csdnet", "an unknown version")
            raise CommandError(
                f"{self.path!r} is a run of keras_csdnet {version} (run format {found}); this "
                f"keras_csdnet reads run format {RUN_FORMAT} or older. Upgrade keras-csdnet, "
                "or train the run again."
            )
        return config

    def model_path(self, which="best"):
        """`best.keras` (falling back to `last.keras`), or `last.keras`."""
        names = (BEST, LAST) if which == "best" else (LAST,)
        for name in names:
            if os.path.exists(self.file(name)):
                return self.file(name)
        raise CommandError(
            f"Run directory {self.path!r} holds no model ({' or '.join(names)}): its training "
            "did not finish an epoch. Train it again, or resume it with `csdnet train --resume`."
        )

    def write_classes(self, names):
        with open(self.file(CLASSES), "w") as f:
            f.write("".join(f"{name}\n" for name in names))

    def read_history(self):
        """`history.csv` as columns: `{key: [values per epoch]}` (empty if absent)."""
        path = self.file(HISTORY)
        if not os.path.exists(path):
            return {}
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        columns = {}
        for row in rows:
            for key, value in row.items():
                columns.setdefault(key, []).append(float(value))
        return columns


def versions():
    """The library, Keras, backend, Python and NumPy versions, for `config.yaml`."""
    import keras
    import numpy as np

    import keras_csdnet

    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    backend_version = None
    if module:
        # str(): torch's is a `TorchVersion`, which YAML cannot write.
        backend_version = str(getattr(__import__(module), "__version__", None))
    return {
        "keras_csdnet": keras_csdnet.__version__,
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": backend_version,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": f"{platform.system()} {platform.machine()}",
    }
