"""Shared parts of the few-shot accuracy benchmarks (`accuracy.py`, `study.py`).

TensorFlow is not needed here (the GPU machine has none): images are decoded
once with the library's Pillow reader into a compressed `.npz` per dataset
folder (`pack`), the few-shot splits come from `keras_csdnet.data.few_shot_split`
(the same splits as `load_image_folder`), and training batches come from the
library's `keras_csdnet.data.FewShotSequence`: the one augmentation recipe of
`keras_csdnet.data.augment` (as `make_dataset`) on images square-resized to
`image_size * 512 / 448`. Evaluation uses the centre crop.

A job is a dict (dataset, protocol, shots, seed, row, config); `run_job`
trains one model and returns a JSON-able record; `run_pool` runs jobs in
parallel worker processes (several models share one GPU well at these sizes)
and stops taking new jobs at a deadline.
"""

import hashlib
import json
import os
import shutil
import statistics
import sys
import time

import numpy as np

from keras_csdnet.data import images as images_lib

ROWS = {
    "baseline": dict(ssdp=False, ddl=False, ssdt=False),
    "+ssdp": dict(ssdp=True, ddl=False, ssdt=False),
    "+ssdp+ddl": dict(ssdp=True, ddl=True, ssdt=False),
    "csdnet": dict(ssdp=True, ddl=True, ssdt=True),
    "ddl_only": dict(ssdp=False, ddl=True, ssdt=False),
    "ssdt_only": dict(ssdp=False, ddl=False, ssdt=True),
}

# name -> (folder under the data root, class-name prefix of the target classes
# or None for all; the transfer protocol pretrains on the folder's other classes)
DATASETS = {
    "leaves99": ("leaves99", None),
    "oaks": ("leaves99", "Quercus_"),
    "orl_faces": ("orl_faces", None),
    "omniglot_small": ("omniglot_small", None),
    "katakana": ("omniglot_small", "Japanese_(katakana)_"),
}

# Raw-pixel nearest-class-mean floors at k = 3 from shared/data/README.md
# (64 px, mean of 5 splits); each record also carries the floor measured on
# its own split and image size (`pixel_floor`).
README_FLOORS = {"leaves99": 0.419, "oaks": 0.357, "orl_faces": 0.854, "omniglot_small": 0.139}

# Settings every model of a study shares unless a job's config says otherwise.
DEFAULTS = dict(
    backbone="resnet18",
    image_size=72,
    batch_size=16,
    learning_rate=1e-3,
    epochs=40,
    pretrain_epochs=30,
    pretrain_learning_rate=1e-3,
    val_shots=1,
)


# ---------------------------------------------------------------- the data
def pack(data_root, folder, image_size, cache_dir):
    """Decodes every image of `data_root/folder` once; returns the `.npz` path."""
    from concurrent.futures import ThreadPoolExecutor

    from keras_csdnet.data.images import is_image_file
    from keras_csdnet.data.images import read_image
    from keras_csdnet.data.pipeline import resize_size

    short = resize_size(image_size)
    path = os.path.join(cache_dir, f"{folder}_{short}.npz")
    if os.path.exists(path):
        return path
    root = os.path.join(data_root, folder)
    names = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    files, labels = [], []
    for label, name in enumerate(names):
        for f in sorted(os.listdir(os.path.join(root, name))):
            if is_image_file(f):
                files.append(os.path.join(name, f))
                labels.append(label)
    with ThreadPoolExecutor(8) as ex:
        images = list(ex.map(lambda f: read_image(os.path.join(root, f), short, True), files))
    images = np.stack(images)
    if np.array_equal(images[..., 0], images[..., 1]) and np.array_equal(
        images[..., 0], images[..., 2]
    ):
        images = images[..., 0]  # grey: stored once, repeated to 3 channels per batch
    os.makedirs(cache_dir, exist_ok=True)
    np.savez_compressed(
        path + ".tmp.npz",
        images=images,
        labels=np.asarray(labels, np.int32),
        files=np.asarray(files),
        class_names=np.asarray(names),
    )
    os.replace(path + ".tmp.npz", path)
    return path


_PACKS = {}


def load_pack(path):
    if path not in _PACKS:
        with np.load(path) as z:
            _PACKS[path] = dict(
                images=z["images"],
                labels=z["labels"],
                files=[str(f) for f in z["files"]],
                class_names=[str(c) for c in z["class_names"]],
            )
    return _PACKS[path]


def select_classes(data, prefix, target):
    """Indices and names of the target classes (`target=True`) or the others."""
    names = data["class_names"]
    chosen = [i for i, n in enumerate(names) if prefix is None or (n.startswith(prefix) == target)]
    return chosen, [names[i] for i in chosen]


def split(data, prefix, shots, val_shots, seed):
    """Few-shot split of the target classes: index arrays and class names."""
    from keras_csdnet.data import few_shot_split

    chosen, names = select_classes(data, prefix, True)
    relabel = {c: i for i, c in enumerate(chosen)}
    items = [i for i, y in enumerate(data["labels"]) if int(y) in relabel]
    labels = [relabel[int(data["labels"][i])] for i in items]
    # Split on file names (as load_image_folder does), then map back to rows.
    row_of = {data["files"][i]: i for i in items}
    train, val, test, names = few_shot_split(
        [data["files"][i] for i in items], labels, names, shots, val_shots, 1, seed
    )

    def rows(entries):
        return (
            np.asarray([row_of[f] for f, _ in entries], np.int64),
            np.asarray([y for _, y in entries], np.int32),
        )

    return rows(train), rows(val), rows(test), names


def others(data, prefix):
    """All images of the non-target classes (the transfer pretraining set)."""
    chosen, names = select_classes(data, prefix, False)
    relabel = {c: i for i, c in enumerate(chosen)}
    idx = np.asarray([i for i, y in enumerate(data["labels"]) if int(y) in relabel], np.int64)
    return idx, np.asarray([relabel[int(data["labels"][i])] for i in idx], np.int32), names


def center_crop(images, image_size):
    """Centre crops of a batch `(N, H, W[, C])`, as RGB `(N, S, S, 3)` uint8."""
    out = np.stack([images_lib.center_crop(image, image_size) for image in images])
    return np.repeat(out[..., None], 3, axis=-1) if out.ndim == 3 else out


def pixel_floor(data, train, test, size=64):
    """Raw-pixel nearest-class-mean accuracy on the split (the 'learned nothing' bar)."""
    from PIL import Image

    def small(idx):
        return np.stack(
            [
                np.asarray(
                    Image.fromarray(data["images"][i]).resize((size, size), Image.BILINEAR),
                    np.float64,
                ).reshape(-1)
                for i in idx
            ]
        )

    (tr, ytr), (te, yte) = train, test
    xtr, xte = small(tr), small(te)
    means = np.stack([xtr[ytr == c].mean(0) for c in range(int(ytr.max()) + 1)])
    # |x - m|^2 = |x|^2 - 2 x.m + |m|^2: a (test, class) matrix, not the (test, class,
    # pixel) array, which for omniglot_small is 15 GB and got a worker OOM-killed.
    d = (xte**2).sum(1)[:, None] - 2 * xte @ means.T + (means**2).sum(1)[None]
    return float((d.argmin(1) == yte).mean())


def make_sequence(data, idx, labels, image_size, batch_size, seed):
    """The library's shuffled, augmented `FewShotSequence` over `data["images"][idx]`."""
    from keras_csdnet.data import FewShotSequence

    return FewShotSequence(
        data["images"][idx],
        labels,
        image_size,
        batch_size,
        seed,
        workers=2,
        use_multiprocessing=False,
    )


# ----------------------------------------------------------------- one job
def model_kwargs(job):
    """CSDNet arguments of a job: the row's switches and the job's config."""
    config = dict(job.get("config") or {})
    for key in ("epochs", "pretrain_epochs", "pretrain_learning_rate", "batch_size", "val_shots"):
        config.pop(key, None)
    for key in [k for k in config if k.startswith("_")]:  # labels, e.g. where it ran
        config.pop(key)
    return dict(ROWS[job["row"]], **config)


def _setting(job, key):
    return (job.get("config") or {}).get(key, job.get(key, DEFAULTS[key]))


def pretrain_path(job, workdir):
    folder, prefix = DATASETS[job["dataset"]]
    tag = (
        f"{folder}_{prefix or 'all'}_{job['seed']}_{_setting(job, 'backbone')}_"
        f"{_setting(job, 'image_size')}_{_setting(job, 'pretrain_epochs')}"
    )
    return os.path.join(workdir, f"pretrain_{tag.replace('(', '').replace(')', '')}.weights.h5")


def pretrain_jobs(datasets, seeds, config):
    """Transfer pretraining jobs: one per (dataset, seed), with the settings that shape it."""
    keep = {k: v for k, v in config.items() if k in ("backbone", "image_size", "pretrain_epochs")}
    return [
        dict(dataset=d, protocol="pretrain", seed=s, row="baseline", config=dict(keep))
        for s in seeds
        for d in datasets
    ]


def _wait_for(path, timeout=3600):
    """Waits for another worker's pretraining; a clear error if none is making it."""
    end = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > end:
            raise FileNotFoundError(
                f"No pretrained backbone at {path!r} after {timeout} s: put its "
                "'pretrain' job before the transfer jobs (see pretrain_jobs)."
            )
        time.sleep(2)


PROGRESS_EVERY = 10  # epochs between a training job's progress lines (and its first epoch)
LOSS_KEYS = ("cls_loss", "qc_loss", "ssdt_loss")  # CSDNet's named loss components


def progress_callback(label, epochs, every=PROGRESS_EVERY, start=None, log=None):
    """A Keras callback that logs `label`'s epoch, losses and val accuracy now and then.

    A model here trains for an hour or more on a CPU with `verbose=0` and writes its
    record only at the end; this line (on stderr, which a worker shares with the
    pool's log) shows how far each one is and how long an epoch takes. It is written
    after the first epoch, every `every` epochs and after the last one.
    """
    import keras

    start = time.time() if start is None else start
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def on_epoch_end(epoch, logs=None):
        done = epoch + 1
        if done != 1 and done % every and done != epochs:
            return
        parts = [
            f"{k} {float(v):.4f}"
            for k, v in sorted((logs or {}).items())
            if k in ("loss", "val_accuracy") + LOSS_KEYS
        ]
        log(
            f"progress {label}: epoch {done}/{epochs} "
            + " ".join(parts)
            + f" ({time.time() - start:.0f} s)"
        )

    return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


def resume_dir(job, workdir):
    """Where a training job keeps the state that lets a rerun continue it."""
    return os.path.join(workdir, "resume", hashlib.sha1(job_key(job).encode()).hexdigest()[:16])


def _training_variables(model):
    """Every variable a training step changes: the model's (weights, BatchNorm statistics,
    the memory queue, the views' random-number state) and the optimizer's (built here
    if `fit` has not built it yet, so that there is a slot to restore into)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return model.trainable_variables + model.non_trainable_variables + model.optimizer.variables


def _load_arrays(path):
    """The arrays `np.savez(path, *arrays)` wrote, in their order."""
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


SAVE_EVERY_S = 60.0  # least seconds between two saved training states of one model


def fit_resumable(
    model,
    sequence,
    epochs,
    state_dir=None,
    monitor=None,
    callbacks=(),
    log=None,
    save_every=None,
    **fit_kwargs,
):
    """`model.fit` on a `make_sequence` dataset that a rerun continues after a kill.

    At the end of an epoch, once `save_every` seconds (default `SAVE_EVERY_S`) have
    passed since the last save (every epoch of a CPU model; rarely on a GPU, where 14
    workers each writing ~180 MB for a ResNet-18 every epoch would cost more than they
    train), and after the last epoch, the whole training state goes to `state_dir` (if
    given): every model and optimizer variable (`_training_variables`, so the queue and
    the random views' state too, which `save_weights` leaves out), every epoch's logs,
    the best `monitor` weights so far and the seconds spent. A call that finds a state
    there (same model, data and settings: `resume_dir` names it after the job) restores
    it and trains only the epochs left, on the same augmentation stream, so a job can
    outlive the process (a stopped machine, a killed worker) without starting over. The
    files are replaced atomically: a kill while writing leaves the previous state.

    With `monitor` (e.g. "val_accuracy"), the model ends with the weights of the epoch
    where it was highest, the earliest on ties, as `keras.callbacks.EarlyStopping(
    restore_best_weights=True, patience > epochs)` leaves it. Returns a dict: `history`
    (every epoch's logs, lists), `best_epoch` (0-based, None without `monitor`),
    `resumed_from` (the epochs done before this call, 0 for a fresh run) and `seconds`
    (of the earlier calls that this state saw, to add to this call's).
    """
    import keras

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    state = dict(epoch=0, history={}, best=None, best_epoch=None, seconds=0.0)
    best_weights = None
    variables = None
    path = os.path.join(state_dir, "state.json") if state_dir else None
    if path and os.path.exists(path):
        with open(path) as f:
            state = json.load(f)
        variables = _training_variables(model)
        arrays = _load_arrays(os.path.join(state_dir, state["arrays"]))
        if [a.shape for a in arrays] != [tuple(v.shape) for v in variables]:
            raise ValueError(
                f"The saved training state in {state_dir!r} does not fit this model "
                f"({len(arrays)} arrays for {len(variables)} variables, or other "
                "shapes): it was written by another model or version of the code. "
                "Delete that folder to train from the start."
            )
        for v, a in zip(variables, arrays):
            v.assign(a)
        if state["best_arrays"]:
            best_weights = _load_arrays(os.path.join(state_dir, state["best_arrays"]))
        sequence.start_at(state["epoch"])
        log(f"resumed at epoch {state['epoch']}/{epochs} from {state_dir}")
    resumed_from, state_seconds, start = state["epoch"], state["seconds"], time.time()
    last_save, best_unsaved = start, False
    save_every = SAVE_EVERY_S if save_every is None else save_every

    def save(epoch, best_changed):
        nonlocal variables
        variables = variables or _training_variables(model)
        os.makedirs(state_dir, exist_ok=True)
        keep = dict(arrays=f"state-{epoch + 1}.npz", best_arrays=state.get("best_arrays"))
        np.savez(
            os.path.join(state_dir, keep["arrays"]),
            *[keras.ops.convert_to_numpy(v) for v in variables],
        )
        if best_changed:
            keep["best_arrays"] = f"best-{epoch + 1}.npz"
            np.savez(os.path.join(state_dir, keep["best_arrays"]), *best_weights)
        state.update(keep, epoch=epoch + 1, seconds=state_seconds + time.time() - start)
        with open(path + ".tmp", "w") as f:
            json.dump(state, f)
        os.replace(path + ".tmp", path)
        for name in os.listdir(state_dir):  # the previous epoch's, now unreferenced
            if name.endswith(".npz") and name not in keep.values():
                os.remove(os.path.join(state_dir, name))

    def on_epoch_end(epoch, logs=None):
        nonlocal best_weights, best_unsaved, last_save
        for key, value in (logs or {}).items():
            state["history"].setdefault(key, []).append(float(value))
        if monitor:
            current = float(logs[monitor])
            if state["best"] is None or current > state["best"]:
                state.update(best=current, best_epoch=epoch)
                best_weights, best_unsaved = model.get_weights(), True
        if state_dir and (time.time() - last_save >= save_every or epoch + 1 == epochs):
            save(epoch, best_unsaved)
            last_save, best_unsaved = time.time(), False

    def on_train_end(logs=None):
        if best_weights is not None:
            model.set_weights(best_weights)

    keeper = keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end, on_train_end=on_train_end)
    # The sequence shuffles itself, seeded by (seed, epoch); Keras's own shuffle of the
    # batch order draws from Python's global `random`, which no saved state holds, so a
    # resumed run would take its batches in another order (seen on JAX and PyTorch).
    model.fit(
        sequence,
        epochs=epochs,
        initial_epoch=resumed_from,
        shuffle=False,
        callbacks=[keeper, *callbacks],
        **fit_kwargs,
    )
    return dict(
        history=state["history"],
        best_epoch=state["best_epoch"],
        resumed_from=resumed_from,
        seconds=state_seconds,
    )


def run_job(job, paths, workdir):
    """Trains one job's model; returns its record (test accuracy unless `job['sweep']`).

    The training state is kept under `resume_dir(job, workdir)` (at the end of an epoch,
    at most once a minute), so a rerun of a job whose process was killed continues it
    (`fit_resumable`; the record then says `resumed_from`); it is deleted once the
    record is made.
    """
    import keras

    import keras_csdnet

    start = time.time()
    folder, prefix = DATASETS[job["dataset"]]
    data = load_pack(paths[folder])
    size, batch = _setting(job, "image_size"), _setting(job, "batch_size")
    backbone, seed = _setting(job, "backbone"), job["seed"]
    keras.utils.set_random_seed(seed)
    state_dir = resume_dir(job, workdir)

    if job["protocol"] == "pretrain":
        idx, labels, names = others(data, prefix)
        model = keras_csdnet.CSDNet(
            backbone=backbone,
            num_classes=len(names),
            image_size=size,
            seed=seed,
            learning_rate=_setting(job, "pretrain_learning_rate"),
            **ROWS["baseline"],
        )
        epochs = _setting(job, "pretrain_epochs")
        progress = progress_callback(job_label(job), epochs, start=start)
        fit = fit_resumable(
            model,
            make_sequence(data, idx, labels, size, batch, seed),
            epochs,
            state_dir,
            verbose=0,
            callbacks=[progress],
        )
        path = pretrain_path(job, workdir)
        model.backbone.save_weights(path + ".tmp.weights.h5")
        os.replace(path + ".tmp.weights.h5", path)
        record = dict(
            job,
            classes=len(names),
            train_images=len(idx),
            train_accuracy=round(fit["history"]["accuracy"][-1], 4),
        )
        return _finish(record, fit, start, state_dir)

    val_shots = _setting(job, "val_shots")
    train, val, test, names = split(data, prefix, job["shots"], val_shots, seed)
    weights = None
    if job["protocol"] == "transfer":
        weights = pretrain_path(job, workdir)
        _wait_for(weights)
    kwargs = model_kwargs(job)
    kwargs.setdefault("backbone", backbone)
    kwargs.setdefault("image_size", size)
    model = keras_csdnet.CSDNet(num_classes=len(names), weights=weights, seed=seed, **kwargs)
    epochs = _setting(job, "epochs")
    x_val, y_val = center_crop(data["images"][val[0]], size), val[1]
    progress = progress_callback(job_label(job), epochs, start=start)
    fit = fit_resumable(
        model,
        make_sequence(data, train[0], train[1], size, batch, seed),
        epochs,
        state_dir,
        monitor="val_accuracy",
        verbose=0,
        validation_data=(x_val, y_val),
        validation_batch_size=64,
        callbacks=[progress],
    )
    history = fit["history"]
    val_curve = [round(v, 4) for v in history["val_accuracy"]]
    tail = val_curve[-max(1, len(val_curve) // 4) :]
    record = dict(
        job,
        classes=len(names),
        train_images=len(train[0]),
        val_images=len(val[0]),
        best_epoch=fit["best_epoch"] + 1,
        val_best=max(val_curve),
        val_tail=round(statistics.mean(tail), 4),
        val_curve=val_curve,
        backend=keras.backend.backend(),
    )
    for key in LOSS_KEYS:
        if key in history:
            record[f"final_{key}"] = round(history[key][-1], 4)
    if not job.get("sweep"):  # a sweep never looks at the test images
        x_test = center_crop(data["images"][test[0]], size)
        result = model.evaluate(x_test, test[1], batch_size=64, verbose=0, return_dict=True)
        record.update(
            test_accuracy=round(float(result["accuracy"]), 4),
            test_images=len(test[0]),
            pixel_floor=round(pixel_floor(data, train, test), 4),
        )
    return _finish(record, fit, start, state_dir)


def _finish(record, fit, start, state_dir):
    """A job's record with its seconds (those of earlier, killed runs included) and,
    if it was resumed, from which epoch; its saved training state is no longer needed.
    `batch_order: "sequence"` marks the records trained with `fit_resumable` (batches in
    the sequence's own seeded order; older records also had Keras shuffle that order)."""
    record["batch_order"] = "sequence"
    if fit["resumed_from"]:
        record["resumed_from"] = fit["resumed_from"]
    record["seconds"] = round(time.time() - start + fit["seconds"], 1)
    shutil.rmtree(state_dir, ignore_errors=True)
    return record


# Each CSDNet knob and the module it acts on (a row without that module ignores it);
# this order is the order of the knobs in the row labels.
KNOB_MODULE = dict(
    alpha="ddl",
    beta="ssdt",
    temperature="ssdt",
    margin="ddl",
    threshold_low="ssdp",
    threshold_high="ssdp",
    mask_mode="ssdp",
    mask_fill="ssdp",
    queue_size="ddl",
    distill_direction="ssdt",
    pattern_stride="ssdp",
    random_crop="ssdp",
    warmup_epochs="ssdp",
)
KNOB_NAMES = tuple(KNOB_MODULE)


def _row_switches(record):
    """The module switches of a record's row; an unknown row counts as full CSDNet."""
    return ROWS.get(record.get("row"), ROWS["csdnet"])


def switches(record):
    """The modules a record's model had on: its row's switches, overridden by its config.

    A config may switch a module on or off against its row (e.g. CSDNet with
    `ssdp=False`).
    """
    config = record.get("config") or {}
    return {k: bool(config.get(k, on)) for k, on in _row_switches(record).items()}


def is_baseline(record):
    """Whether a record's model had every CSDNet module off (the plain fine-tuning)."""
    return not any(switches(record).values())


def variant(record):
    """Short label of what a record's config changes: schedule and CSDNet knobs."""
    config = record.get("config") or {}
    parts = []
    if "learning_rate" in config:
        parts.append(f"lr {config['learning_rate']:g}")
    if "epochs" in config:
        parts.append(f"{config['epochs']} ep")
    parts += [f"{k[1:]} {v}" for k, v in sorted(config.items()) if k.startswith("_")]
    # A module switched on or off against the row is named; knobs of modules that end
    # up on are shown.
    row_switches = _row_switches(record)
    on = switches(record)
    parts += [f"{k} {'on' if v else 'off'}" for k, v in on.items() if v != row_switches[k]]
    parts += [
        f"{k} {config[k]}" if k != "mask_mode" else str(config[k])
        for k in KNOB_NAMES
        if k in config and on[KNOB_MODULE[k]]
    ]
    return ", ".join(parts)


# ---------------------------------------------------------------- the pool
def job_key(job):
    config = json.dumps(job.get("config") or {}, sort_keys=True)
    return (
        f"{job['dataset']}|{job['protocol']}|{job.get('shots')}|{job['seed']}|"
        f"{job['row']}|{config}|{bool(job.get('sweep'))}"
    )


def job_label(job):
    """A short readable name of a job for logs: dataset, protocol, shots, seed, row, variant."""
    shots = f" k={job['shots']}" if job.get("shots") else ""
    extra = variant(job) if job["protocol"] != "pretrain" else ""
    return f"{job['dataset']} {job['protocol']}{shots} seed {job['seed']} {job['row']}" + (
        f" ({extra})" if extra else ""
    )


def markdown_table(header, rows):
    """Lines of a Markdown table: `header` (cell strings), its rule, then `rows`."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(map(str, row)) + " |" for row in rows
    ]


def read_records(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


_WORKER = {}


def _init_worker(paths, workdir):
    _WORKER.update(paths=paths, workdir=workdir)


def _work(job):
    job = dict(job)
    deadline = job.pop("deadline", None)
    if deadline and time.time() > deadline:
        return dict(job, skipped="deadline")
    try:
        return run_job(job, _WORKER["paths"], _WORKER["workdir"])
    except Exception as e:  # one failed job must not lose the others
        import traceback

        return dict(job, error=f"{type(e).__name__}: {e}", trace=traceback.format_exc()[-2000:])


def make_pool(workers, paths, workdir):
    """`workers` spawned processes that keep their Keras/JAX state between jobs."""
    os.makedirs(workdir, exist_ok=True)
    return WorkerPool(workers, initializer=_init_worker, initargs=(paths, workdir))


def _die_with(parent):
    """Linux: the kernel ends this worker (SIGTERM) when the pool's process `parent`
    dies, however it dies. Otherwise killing a pool (`kill` of `accuracy.py`, a stopped
    machine) would leave its workers training on, orphaned, beside the rerun's new
    workers, which resume the same jobs from the same saved state."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (AttributeError, OSError):  # not Linux: no such call
        return
    if os.getppid() != parent:  # it died before the call above
        os._exit(1)


def _serve(tasks, results, initializer, initargs, parent=None):
    import faulthandler

    faulthandler.enable()  # a crash in native code prints where it happened
    if parent is not None:
        _die_with(parent)
    initializer(*initargs)
    while True:
        item = tasks.get()
        if item is None:
            return
        ident, func, job = item
        results.put((ident, func(job)))


class WorkerPool:
    """Spawned worker processes, each kept for many jobs, that survive a dead worker.

    With `multiprocessing.Pool`, a worker killed outside Python (a crash in the GPU
    runtime, the out-of-memory killer) loses its job silently and `imap_unordered`
    waits for it forever; on an H100 with 15 workers 8 jobs went that way while the
    other 17 finished. Here such a job comes back as a record with an `error` (the
    worker's exit code) and a new worker takes its place.
    """

    def __init__(self, workers, initializer, initargs=(), poll=1.0):
        import multiprocessing as mp

        self._ctx = mp.get_context("spawn")
        self._init = (initializer, tuple(initargs))
        self._poll = poll
        self._results = self._ctx.Queue()
        self._workers = [self._start() for _ in range(workers)]

    def _start(self):
        tasks = self._ctx.SimpleQueue()
        process = self._ctx.Process(
            target=_serve,
            args=(tasks, self._results) + self._init,
            kwargs=dict(parent=os.getpid()),
            daemon=True,
        )
        process.start()
        return dict(process=process, tasks=tasks, job=None)

    def imap_unordered(self, func, jobs):
        """Yields `func(job)` for every job as each ends, in any order."""
        import queue

        todo, count = list(jobs), 0
        while todo or any(w["job"] for w in self._workers):
            for w in self._workers:
                if w["job"] is None and todo:
                    w["job"] = (count, todo.pop(0))
                    w["tasks"].put((count, func, w["job"][1]))
                    count += 1
            try:
                ident, result = self._results.get(timeout=self._poll)
            except queue.Empty:
                for i, w in enumerate(self._workers):
                    if not w["process"].is_alive():
                        if w["job"]:
                            yield _lost(w["job"][1], w["process"].exitcode)
                        self._workers[i] = self._start()
                continue
            for w in self._workers:
                if w["job"] and w["job"][0] == ident:
                    w["job"] = None
            yield result

    def close(self):
        for w in self._workers:
            if w["process"].is_alive():
                w["tasks"].put(None)

    def join(self, timeout=30):
        end = time.time() + timeout
        for w in self._workers:
            w["process"].join(max(0.0, end - time.time()))

    def terminate(self):
        for w in self._workers:
            if w["process"].is_alive():
                w["process"].terminate()
                w["process"].join(5)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
            self.join()
        self.terminate()


def _lost(job, exitcode):
    """The record of a job whose worker process died without returning one."""
    error = (
        f"worker process died (exit code {exitcode}; negative = killed by that "
        "signal) before returning a record; rerun to retry the job"
    )
    if isinstance(job, dict):
        return dict({k: v for k, v in job.items() if k != "deadline"}, error=error)
    return dict(job=job, error=error)


def pending(jobs, output, workdir):
    """The jobs that `run_pool` would run, in its order: those with no record in
    `output` (JSON lines), and the pretraining jobs whose weights are not in `workdir`
    while a transfer job still to run needs them. Pretraining first, then the jobs a
    killed run left a training state for (`resume_dir`), so a rerun finishes what it
    started before it starts anything new; otherwise in the order of `jobs`."""
    done = {job_key(r) for r in read_records(output)}

    def needed(job):
        if job["protocol"] != "pretrain":
            return job_key(job) not in done
        path = pretrain_path(job, workdir)  # its weights may be gone (another machine)
        return path in wanted and not os.path.exists(path)

    wanted = {pretrain_path(j, workdir) for j in jobs if j["protocol"] == "transfer" and needed(j)}

    def started(job):
        return os.path.exists(os.path.join(resume_dir(job, workdir), "state.json"))

    return sorted(
        (j for j in jobs if needed(j)), key=lambda j: (j["protocol"] != "pretrain", not started(j))
    )


def run_pool(jobs, output, paths=None, workdir=None, pool=None, deadline=None, log=print):
    """Runs the jobs not already in `output` (JSON lines); appends each record.

    Uses `pool` (from `make_pool`, same `workdir`) if given, else runs in this
    process. A pretraining job runs again if its weights are not in `workdir`. Jobs
    are taken in order; none is started after `deadline` (a `time.time()`
    value). Returns the records of this call (including `error` / `skipped`
    ones, which are not written, so a rerun retries them).
    """
    todo = [dict(j, deadline=deadline) for j in pending(jobs, output, workdir)]
    os.makedirs(os.path.dirname(os.path.abspath(output)) or ".", exist_ok=True)
    results = []

    def keep(record):
        results.append(record)
        if "error" in record:
            log(f"ERROR {job_key(record)}: {record['error']}\n{record.get('trace', '')}")
        elif "skipped" not in record:
            with open(output, "a") as f:
                f.write(json.dumps(record) + "\n")
            brief = {
                k: record[k]
                for k in (
                    "dataset",
                    "protocol",
                    "shots",
                    "seed",
                    "row",
                    "config",
                    "val_tail",
                    "test_accuracy",
                    "seconds",
                )
                if k in record
            }
            log(json.dumps(brief))

    if pool is None:
        os.makedirs(workdir, exist_ok=True)
        _init_worker(paths, workdir)
        for job in todo:
            keep(_work(job))
    else:
        for record in pool.imap_unordered(_work, todo):
            keep(record)
    skipped = sum("skipped" in r for r in results)
    if skipped:
        log(f"{skipped} job(s) not started: deadline")
    return results


def pack_all(data_root, datasets, image_size, cache_dir):
    """`pack` of every folder the datasets need; returns {folder: npz path}."""
    folders = sorted({DATASETS[d][0] for d in datasets})
    return {f: pack(data_root, f, image_size, cache_dir) for f in folders}


def fake_data_root(root):
    """A tiny fake leaves99/omniglot_small tree for `--smoke` runs."""
    from PIL import Image

    rng = np.random.default_rng(0)
    trees = {
        "leaves99": ("Quercus_a", "Quercus_b", "Acer_c", "Acer_d"),
        "omniglot_small": (
            "Japanese_(katakana)_character01",
            "Japanese_(katakana)_character02",
            "Greek_character01",
            "Greek_character02",
        ),
    }
    for folder, classes in trees.items():
        for c in classes:
            os.makedirs(os.path.join(root, folder, c))
            for i in range(6):
                Image.fromarray(rng.integers(0, 256, (40, 30), np.uint8)).save(
                    os.path.join(root, folder, c, f"{i}.png")
                )
    return root
