"""The accuracy records as one CSV row per (cell, setting), paired with the baseline.

    python -m benchmarks.summary                      # benchmarks/results/accuracy_summary.csv
    python -m benchmarks.summary --records A.jsonl --validation B.jsonl --output OUT.csv

A cell is (dataset, protocol, shots, image size, backbone); a setting is a row of
`fewshot.ROWS` with the CSDNet settings its config changes from the library's
defaults (`baseline` for plain fine-tuning, `csdnet` for the library's default
model, e.g. `csdnet pattern_stride=16 random_crop=0.6 warmup_epochs=5`). Columns:

- `seeds`, `mean`, `std`: seeds (splits) and the mean and standard deviation of
  the score over them;
- `paired_diff_mean`, `paired_diff_std`, `seeds_ahead`: the setting minus the
  baseline on the same split and seed (`accuracy.paired`), and on how many seeds
  the setting is ahead (0 for the baseline itself);
- `is_default`: the setting is what `CSDNet(...)` builds without arguments;
- `metric`: `test_accuracy` for the records of `--records` (test grids: only
  records that were scored on test count), `val_tail` for those of
  `--validation` (validation-only runs, e.g. a pilot whose test images were
  never evaluated).

`--baselines` files hold extra baseline runs (e.g. a rerun on another backend):
a setting is paired with a baseline of its own backend where one exists there,
as in the glance table; they never make a row of their own.
"""

import argparse
import csv
import functools
import inspect
import os
import statistics

from benchmarks import accuracy
from benchmarks import fewshot

RESULTS = os.path.join("benchmarks", "results")
COLUMNS = (
    "dataset",
    "protocol",
    "shots",
    "image_size",
    "backbone",
    "setting",
    "is_default",
    "seeds",
    "mean",
    "std",
    "paired_diff_mean",
    "paired_diff_std",
    "seeds_ahead",
    "metric",
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--records",
        nargs="*",
        default=[os.path.join(RESULTS, "study", "study.jsonl")],
        help="record files of test grids (their test accuracy is summarised)",
    )
    p.add_argument(
        "--validation",
        nargs="*",
        default=[os.path.join(RESULTS, "study128", "sweep.jsonl")],
        help="record files of validation-only runs (their val_tail is summarised)",
    )
    p.add_argument(
        "--baselines",
        nargs="*",
        default=[os.path.join(RESULTS, "study", "backend_check.jsonl")],
        help="extra baseline runs, used for pairing only",
    )
    p.add_argument("--output", default=os.path.join(RESULTS, "accuracy_summary.csv"))
    args = p.parse_args(argv)
    for path in args.records + args.validation + args.baselines:
        if not os.path.isfile(path):
            p.error(f"no record file {path!r}: give an existing JSON-lines file of records")
    return args


@functools.lru_cache(maxsize=1)
def library_defaults():
    """`{setting: default}` of every CSDNet part setting a study config may name."""
    from keras_csdnet.models.csdnet import _shortcuts

    out = {}
    for name, (_, layer_class) in _shortcuts().items():
        parameter = inspect.signature(layer_class).parameters.get(name)
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            out[name] = parameter.default
    return out


def _same(value, default):
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return list(value) == list(default)
    return value == default


def setting(record):
    """The setting label of a record: its row, then what differs from the library."""
    if fewshot.is_baseline(record):
        return "baseline"
    config = record.get("config") or {}
    row_switches = fewshot.ROWS.get(record["row"], fewshot.ROWS["csdnet"])
    on = fewshot.switches(record)
    parts = [record["row"]]
    parts += [f"{k}={'on' if v else 'off'}" for k, v in on.items() if v != row_switches[k]]
    defaults = library_defaults()
    for knob in fewshot.KNOB_NAMES:
        if knob in config and on[fewshot.KNOB_MODULE[knob]]:
            if knob in defaults and _same(config[knob], defaults[knob]):
                continue
            value = config[knob]
            value = ",".join(map(str, value)) if isinstance(value, list | tuple) else value
            parts.append(f"{knob}={value}")
    return " ".join(parts)


def cell(record):
    return dict(
        dataset=record["dataset"],
        protocol=record["protocol"],
        shots=record["shots"],
        image_size=fewshot._setting(record, "image_size"),
        backbone=fewshot._setting(record, "backbone"),
    )


def _schedule_key(record):
    """What a setting shares with its baseline on every seed: the pairing key less the seed."""
    key = accuracy._pairing_key(record)
    return key[:3] + key[4:]


def rows(records, metric, baselines=()):
    """CSV rows (dicts of `COLUMNS`) of the `records` that carry `metric`."""
    scored = [r for r in records if metric in r]
    pairs = {accuracy._pair_id(p): p for p in accuracy.paired(scored, metric, baselines)}
    groups = {}
    for r in scored:
        groups.setdefault(accuracy._table_key(r), []).append(r)
    # A baseline is kept where a setting of the same cell and schedule pairs with it
    # (a baseline from another pretrained checkpoint that no setting used is left out).
    paired_with = {_schedule_key(r) for r in scored if not fewshot.is_baseline(r)}
    out = []
    for key, group in sorted(groups.items(), key=accuracy._table_order):
        first = group[0]
        is_base = fewshot.is_baseline(first)
        if is_base and _schedule_key(first) not in paired_with:
            continue
        pair = pairs.get(key)
        if not is_base and pair is None:
            continue  # no baseline on the same splits: nothing to compare with
        values = [r[metric] for r in group]
        label = setting(first)
        out.append(
            dict(
                cell(first),
                setting=label,
                is_default=label == "csdnet",
                seeds=len(values),
                mean=round(statistics.mean(values), 4),
                std=round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                paired_diff_mean=0.0 if is_base else round(pair["mean"], 4),
                paired_diff_std=0.0 if is_base else round(pair["std"], 4),
                seeds_ahead=0 if is_base else pair["wins"],
                metric=metric,
                _variant=key[4],
            )
        )
    return _unique(out)


def _unique(out):
    """Settings named twice in one cell (two schedules) get their schedule in the name."""
    names = {}
    for row in out:
        names.setdefault(_cell_key(row) + (row["setting"],), []).append(row)
    for same in names.values():
        if len(same) > 1:
            for row in same:
                row["setting"] += f" ({row['_variant']})"
    for row in out:
        del row["_variant"]
    return out


def _cell_key(row):
    return tuple(row[c] for c in ("dataset", "protocol", "shots", "image_size", "backbone"))


def summary(records, validation=(), baselines=()):
    """All rows: the test grids' (`records`), then the validation-only runs'."""
    table = rows(records, "test_accuracy", baselines) + rows(validation, "val_tail", baselines)
    return sorted(table, key=lambda r: (r["image_size"], r["metric"] != "test_accuracy"))


def write(table, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)


def _read(paths):
    """The model records of `paths` (pretraining records, which have no shots, left out)."""
    return [r for path in paths for r in fewshot.read_records(path) if "shots" in r]


def main(argv=None):
    args = parse_args(argv)
    table = summary(_read(args.records), _read(args.validation), _read(args.baselines))
    write(table, args.output)
    print(f"{len(table)} rows -> {args.output}")
    return table


if __name__ == "__main__":
    main()
