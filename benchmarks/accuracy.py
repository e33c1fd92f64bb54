"""Few-shot accuracy of the paper's ablation rows on real data, several seeds.

    python benchmarks/accuracy.py --data-root ../shared/data \
        --datasets oaks leaves99 --shots 3 5 --seeds 0 1 2 3 4 \
        --protocols scratch transfer --output benchmarks/results/accuracy.jsonl --plot p.png
    python benchmarks/accuracy.py --smoke
    python benchmarks/accuracy.py --dry-run ...   # per cell, what has no record yet
    python benchmarks/accuracy.py --glance ...    # per cell, baseline and each row's lead

Rows (same backbone, head, schedule, augmentation and number of steps each):
baseline (all off), +SSDP, +SSDP+DDL, full CSDNet, DDL alone, SSDT alone.
Each seed is a different few-shot split *and* initialisation: `shots` training
images per class, `--val-shots` for model selection (best validation accuracy,
earliest on ties), the rest test. Protocols: `scratch` (random init) and
`transfer` (the backbone first trained with plain cross-entropy on the
dataset folder's *other* classes, disjoint from the target, then each row is
fine-tuned from that checkpoint; no outside weights): `oaks` pretrains on the 61
other leaves99 species, `katakana` on the 7 other Omniglot alphabets.
`--config '{"alpha": 0.3}'` sets CSDNet arguments (and `epochs`) for every row.
Results are appended to `--output` as JSON lines (a rerun skips what is there, and
continues a killed model from its last epoch: `fewshot.fit_resumable`),
then summarised as mean +- std beside the raw-pixel floor measured on the same
splits, and plotted (`--plot`). TensorFlow is not needed (see `fewshot.py`).
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import Counter

from benchmarks import fewshot
from benchmarks.fewshot import DATASETS
from benchmarks.fewshot import README_FLOORS
from benchmarks.fewshot import ROWS


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=os.path.join("..", "shared", "data"))
    p.add_argument("--datasets", nargs="+", default=["oaks"], choices=sorted(DATASETS))
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--shots", type=int, nargs="+", default=[3])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--protocols", nargs="+", default=["scratch"], choices=["scratch", "transfer"])
    p.add_argument(
        "--config",
        type=json.loads,
        default={},
        help="JSON dict of CSDNet arguments / epochs / val_shots for every row",
    )
    p.add_argument(
        "--jobs", default=None, help="JSON file with a list of job dicts to run instead of the grid"
    )
    p.add_argument("--workers", type=int, default=1, help="parallel processes")
    p.add_argument("--deadline", type=float, default=0, help="stop starting jobs after S seconds")
    p.add_argument("--cache-dir", default=os.path.join("benchmarks", "results", "packed"))
    p.add_argument(
        "--workdir",
        default=os.path.join("benchmarks", "results", "pretrained"),
        help="pretrained backbones, and the training state of unfinished models "
        "(resume/), which a rerun continues",
    )
    p.add_argument("--output", default=os.path.join("benchmarks", "results", "accuracy.jsonl"))
    p.add_argument("--plot", default=None, help="PNG of accuracy per row with error bars")
    p.add_argument(
        "--baselines",
        default=None,
        help="JSON lines of extra baseline records (e.g. reruns on another "
        "backend): rows are paired with a baseline of their own backend",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="count the jobs with no record in --output per cell, run nothing",
    )
    p.add_argument(
        "--glance",
        action="store_true",
        help="print the at-a-glance table of --output's records (cells of "
        "--datasets/--protocols/--shots run with --config), run nothing",
    )
    p.add_argument("--smoke", action="store_true", help="tiny fake data, seconds")
    return p.parse_args(argv)


def grid_jobs(datasets, protocols, shots, seeds, rows, config, log=print):
    """Pretraining jobs first (transfer), then one job per (dataset, protocol, k, seed, row)."""
    jobs, transfer_sets = [], []
    for name in datasets:
        for protocol in protocols:
            if protocol == "transfer" and DATASETS[name][1] is None:
                log(f"skip {name}/transfer: no disjoint classes to pretrain on")
                continue
            if protocol == "transfer":
                transfer_sets.append(name)
            jobs += [
                dict(
                    dataset=name,
                    protocol=protocol,
                    shots=k,
                    seed=seed,
                    row=row,
                    config=row_config(config, protocol, row),
                )
                for k in shots
                for seed in seeds
                for row in rows
            ]
    return fewshot.pretrain_jobs(transfer_sets, seeds, config) + jobs


def row_config(config, protocol, row):
    """`config` without what cannot act on this job, so equal models get equal records.

    The baseline has every CSDNet module off, so CSDNet knobs and module switches
    (`ssdp`, `ddl`, `ssdt`) are dropped from its config (a row that switches a module
    off, e.g. CSDNet with `ssdp=False`, is paired with the plain baseline); a scratch
    job loads no checkpoint, so the `_pretrained` label is dropped.
    """
    out = dict(config)
    if row == "baseline":
        for knob in fewshot.KNOB_NAMES + tuple(fewshot.ROWS["baseline"]):
            out.pop(knob, None)
    if protocol != "transfer":
        out.pop("_pretrained", None)
    return out


# The fields that name a table row; `_table_key` reads them off a record, `_pair_id` off
# a row of `summarize`'s or `paired`'s output (whose "variant" is the settings label).
KEY_FIELDS = ("dataset", "protocol", "shots", "row", "variant")


def _table_key(record):
    """The table row a record belongs to: (dataset, protocol, k, row, settings)."""
    return (
        record["dataset"],
        record["protocol"],
        record["shots"],
        record["row"],
        fewshot.variant(record),
    )


def _table_order(item):
    """Sort key of a `((dataset, protocol, k, row, settings), ...)` group: rows in ROWS order."""
    key = item[0]
    return key[:3], list(ROWS).index(key[3]), key[4]


def summarize(path, plot=None, records=None, log=print, baselines=()):
    """Mean +- std of test accuracy per (dataset, protocol, k, row); returns the table:
    a dict per row with its key (`KEY_FIELDS`), `mean`, `std`, `n`, pixel `floor` (and
    the README's, `readme_floor`) and `baseline` (every module off,
    `fewshot.is_baseline`; grey in the plot).

    Also prints the per-seed differences to the baseline (`paired`), on test and on
    validation (`val_tail`), each row against a baseline of its own backend where
    `records` or `baselines` (extra baseline records, e.g. reruns on another backend)
    hold one.
    """
    records = records if records is not None else fewshot.read_records(path)
    tested, tested_baselines = _tested(records, baselines)
    groups = {}
    for r in tested:
        groups.setdefault(_table_key(r), []).append(r)
    table = []
    for key, rs in sorted(groups.items(), key=_table_order):
        values = [r["test_accuracy"] for r in rs]
        floors = [r["pixel_floor"] for r in rs if "pixel_floor" in r]
        table.append(
            dict(
                zip(KEY_FIELDS, key),
                mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else 0.0,
                n=len(values),
                floor=statistics.mean(floors) if floors else None,
                baseline=fewshot.is_baseline(rs[0]),
                readme_floor=README_FLOORS.get(key[0]) if key[2] == 3 else None,
            )
        )
    for line in fewshot.markdown_table(
        [
            "dataset",
            "protocol",
            "k",
            "row",
            "settings",
            "test accuracy (mean ± std)",
            "seeds",
            "pixel floor",
        ],
        [
            (
                t["dataset"],
                t["protocol"],
                t["shots"],
                t["row"],
                t["variant"],
                f"{t['mean']:.3f} ± {t['std']:.3f}",
                t["n"],
                f"{t['floor']:.3f}" if t["floor"] is not None else "-",
            )
            for t in table
        ],
    ):
        log(line)
    pairs = paired(tested, baselines=tested_baselines)
    val = {_pair_id(t): t for t in paired(tested, "val_tail", tested_baselines)}
    if pairs:
        log(
            "\nPer-seed difference to the baseline of the same split, seed, schedule and "
            "checkpoint:\n"
        )
        rows = []
        for t in pairs:
            v = val.get(_pair_id(t))
            v = f"{v['mean']:+.3f} ± {v['std']:.3f} ({v['wins']} of {v['n']})" if v else "-"
            rows.append(
                (
                    t["dataset"],
                    t["protocol"],
                    t["shots"],
                    t["row"],
                    t["variant"],
                    f"{t['mean']:+.3f}",
                    f"{t['std']:.3f}",
                    t["n"],
                    t["wins"],
                    v,
                    t["backends"],
                )
            )
        for line in fewshot.markdown_table(
            [
                "dataset",
                "protocol",
                "k",
                "row",
                "settings",
                "mean difference",
                "std",
                "seeds",
                "seeds better",
                "validation (`val_tail`) difference",
                "backends (row / baseline)",
            ],
            rows,
        ):
            log(line)
    if plot and table:
        _plot(table, plot, log)
    return table


def _pairing_key(record):
    """What a row and its baseline share: data, seed, and the config a baseline would get."""
    config = row_config(record.get("config") or {}, record["protocol"], "baseline")
    return (
        record["dataset"],
        record["protocol"],
        record["shots"],
        record["seed"],
        json.dumps(config, sort_keys=True),
    )


def _tested(records, baselines):
    """`records` and `baselines` that have a test score: the validation beside a test
    difference is that of the same seeds, not pooled with the sweep's (other seeds,
    another validation split, no test score)."""
    return (
        [r for r in records if "test_accuracy" in r],
        [b for b in baselines if "test_accuracy" in b],
    )


def _pair_id(t):
    return tuple(t[field] for field in KEY_FIELDS)


def paired(records, metric="test_accuracy", baselines=()):
    """Mean +- std over seeds of (row - baseline) `metric` on the same split.

    A row's record is paired with the baseline record that shares its dataset,
    protocol, k, seed (hence split), schedule and pretrained checkpoint label: one
    run on the row's own backend where `records` or `baselines` (extra baseline
    records, e.g. reruns on another backend) hold one, else the one in `records`;
    unpaired records are left out. Returns one dict per
    (dataset, protocol, k, row, settings) with `mean`, `std`, `n` and `wins`
    (seeds where the row beat its baseline), and `backends`: which backends ran
    the row and its baselines. Seeds pair the split and the NumPy augmentation
    stream on any backend; the weight initialisation is only the same when both
    ran on the same backend. `metric="val_tail"` compares validation scores (the
    sweep's records, which never see the test images). A baseline is a record whose
    model had every module off (`fewshot.is_baseline`), whatever its row is named.
    """
    tested = [r for r in records if metric in r]
    base = {_pairing_key(r): r for r in tested if fewshot.is_baseline(r)}
    own = {
        (_pairing_key(r), r.get("backend")): r
        for r in tested + [b for b in baselines if metric in b]
        if fewshot.is_baseline(r)
    }
    groups = {}
    for r in tested:
        if fewshot.is_baseline(r):
            continue
        b = own.get((_pairing_key(r), r.get("backend"))) or base.get(_pairing_key(r))
        if b is None:
            continue
        groups.setdefault(_table_key(r), []).append((r, b))
    out = []
    for key, pairs in sorted(groups.items(), key=_table_order):
        diffs = [r[metric] - b[metric] for r, b in pairs]
        backends = sorted({f"{r.get('backend', '?')} / {b.get('backend', '?')}" for r, b in pairs})
        out.append(
            dict(
                zip(KEY_FIELDS, key),
                mean=statistics.mean(diffs),
                std=statistics.stdev(diffs) if len(diffs) > 1 else 0.0,
                n=len(diffs),
                wins=sum(d > 0 for d in diffs),
                backends=", ".join(backends),
            )
        )
    return out


def val_predicts_test(records, baselines=(), threshold=0.03, min_seeds=5):
    """How well a row's validation lead predicts its test lead, over all cells.

    For every (dataset, protocol, k, row, settings) with at least `min_seeds` paired
    seeds, the mean `val_tail` (of those same seeds, not the sweep's) and test
    differences to the baseline (`paired`). Returns `n` such rows, the Pearson
    `correlation` of the two, `val_minus_test` (mean of val minus test difference),
    `val_ahead` (rows where it is positive), and per side of `threshold` (|val
    difference| below: `small`, else `large`) how many rows there are and in how many
    the two differences have the same sign (`small_agree`, ...).
    """
    test = {_pair_id(t): t for t in paired(records, baselines=baselines)}
    tested, tested_baselines = _tested(records, baselines)
    pairs = [
        (v["mean"], test[_pair_id(v)]["mean"])
        for v in paired(tested, "val_tail", tested_baselines)
        if _pair_id(v) in test and min(v["n"], test[_pair_id(v)]["n"]) >= min_seeds
    ]
    out = dict(n=len(pairs), threshold=threshold)
    if len(pairs) > 1:
        out["correlation"] = statistics.correlation(*zip(*pairs))
        out["val_minus_test"] = statistics.mean(v - t for v, t in pairs)
    out["val_ahead"] = sum(v > t for v, t in pairs)
    for side, keep in (
        ("small", lambda v: abs(v) < threshold),
        ("large", lambda v: abs(v) >= threshold),
    ):
        chosen = [(v, t) for v, t in pairs if keep(v)]
        out[side] = len(chosen)
        out[side + "_agree"] = sum((v > 0) == (t > 0) for v, t in chosen)
    return out


# The at-a-glance table's columns: (header, row, config on top of the study's).
GLANCE_COLUMNS = (
    ("full CSDNet (default, `erase`)", "csdnet", {}),
    ("`ssdp=False`", "csdnet", {"ssdp": False}),
    ("SSDT alone", "ssdt_only", {}),
    ("DDL alone", "ddl_only", {}),
)


def glance(records, config, cells, baselines=(), columns=GLANCE_COLUMNS, log=print):
    """The study on one screen: per cell, the baseline and each column's lead over it.

    `cells` are (dataset, protocol, k) in table order; a cell is shown where `records`
    hold baseline runs with `config` (the study's: the config `grid_jobs` gives the
    baseline). Each of `columns` (header, row, config overrides) is the row run with
    `config` plus the overrides, as its per-seed difference to the baseline (`paired`,
    with `baselines` as there) "mean ± std (wins/n)", or "not run". Logs the Markdown
    table and how many cells each column wins or loses by more than the spread
    (|mean| > std); returns one dict per cell: `dataset`, `protocol`, `shots`,
    `classes`, `baseline` (`mean`, `std`, `n` of its test accuracy) and `columns`
    (header -> `paired`'s dict or None).
    """
    tested, tested_baselines = _tested(records, baselines)
    pairs = {_pair_id(p): p for p in paired(tested, baselines=tested_baselines)}
    rows = {_pair_id(t): t for t in summarize(None, records=tested, log=lambda *a: None)}

    def key(dataset, protocol, k, row, overrides):
        job = dict(
            dataset=dataset,
            protocol=protocol,
            shots=k,
            row=row,
            config=row_config(dict(config, **overrides), protocol, row),
        )
        return _table_key(job)

    out = []
    for dataset, protocol, k in cells:
        base = rows.get(key(dataset, protocol, k, "baseline", {}))
        if base is None or not base["baseline"]:
            continue
        classes = next(r.get("classes") for r in tested if _table_key(r) == _pair_id(base))
        out.append(
            dict(
                dataset=dataset,
                protocol=protocol,
                shots=k,
                classes=classes,
                baseline={m: base[m] for m in ("mean", "std", "n")},
                columns={
                    header: pairs.get(key(dataset, protocol, k, row, overrides))
                    for header, row, overrides in columns
                },
            )
        )

    def cell(p):
        return f"{p['mean']:+.3f} ± {p['std']:.3f} ({p['wins']}/{p['n']})" if p else "not run"

    headers = [header for header, _, _ in columns]
    for line in fewshot.markdown_table(
        ["data", "protocol", "k", "baseline"] + headers,
        [
            (
                f"{c['dataset']} ({c['classes']})",
                c["protocol"],
                c["shots"],
                f"{c['baseline']['mean']:.3f} ± {c['baseline']['std']:.3f}",
                *(cell(c["columns"][h]) for h in headers),
            )
            for c in out
        ],
    ):
        log(line)
    for h in headers:
        ran = [c["columns"][h] for c in out if c["columns"][h]]
        wins = sum(p["mean"] > p["std"] for p in ran)
        losses = sum(-p["mean"] > p["std"] for p in ran)
        log(f"{h}: {len(ran)} cells, wins {wins}, level {len(ran) - wins - losses}, loses {losses}")
    return out


def _plot(table, path, log=print):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plot (pip install matplotlib)")
        return
    panels = sorted({(t["dataset"], t["protocol"], t["shots"]) for t in table})
    cols = min(4, len(panels))
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.6 * nrows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, panel in zip(axes.flat, panels):
        rows = [t for t in table if (t["dataset"], t["protocol"], t["shots"]) == panel]
        ax.bar(
            range(len(rows)),
            [t["mean"] for t in rows],
            yerr=[t["std"] for t in rows],
            capsize=3,
            color=["#888" if t["baseline"] else "#4a7" for t in rows],
        )
        if rows[0]["floor"] is not None:
            ax.axhline(rows[0]["floor"], color="r", ls="--", lw=1, label="pixel floor")
            ax.legend(loc="lower right", fontsize=7)
        labels = [
            t["row"]
            + "".join(
                f"\n{part}"
                for part in t["variant"].split(", ")
                if part and not part.startswith("lr ") and not part.endswith(" ep")
            )
            for t in rows
        ]
        ax.set_xticks(range(len(rows)), labels, rotation=40, fontsize=6)
        counts = sorted({t["n"] for t in rows})  # seeds per bar
        seeds = f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else f"{counts[0]}"
        ax.set_title(f"{panel[0]} {panel[1]} k={panel[2]} (seeds: {seeds})", fontsize=9)
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    log(f"plot: {path}")


def pending_table(jobs, todo):
    """Markdown table: per (dataset, protocol, k, row), how many of `jobs` are in `todo`
    (still to run), with a total line; what `--dry-run` prints."""

    def cell(job):
        return (job["dataset"], job["protocol"], job.get("shots") or "-", job["row"])

    total, left = Counter(map(cell, jobs)), Counter(map(cell, todo))
    rows = [(*key, n, left[key]) for key, n in total.items()]
    rows.append(("all", "-", "-", "-", len(jobs), len(todo)))
    return "\n".join(
        fewshot.markdown_table(["dataset", "protocol", "k", "row", "jobs", "to run"], rows)
    )


def smoke_args(args):
    tmp = tempfile.mkdtemp()
    args.data_root = fewshot.fake_data_root(tmp)
    args.datasets, args.rows, args.seeds = ["oaks"], ["baseline", "csdnet"], [0]
    args.shots, args.protocols = [2], ["scratch", "transfer"]
    args.config = dict(args.config, epochs=1, pretrain_epochs=1, image_size=32, queue_size=8)
    args.cache_dir = os.path.join(tmp, "packed")
    args.workdir = os.path.join(tmp, "pretrained")
    args.output = os.path.join(tmp, "accuracy.jsonl")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.baselines and not os.path.exists(args.baselines):
        raise SystemExit(
            f"--baselines {args.baselines}: no such file; give a JSON-lines "
            "file of baseline records (e.g. results/study/backend_check.jsonl)"
        )
    extra = fewshot.read_records(args.baselines) if args.baselines else ()
    if args.glance:
        cells = [(d, p, k) for d in args.datasets for p in args.protocols for k in args.shots]
        return glance(fewshot.read_records(args.output), args.config, cells, extra)
    if args.smoke:
        args = smoke_args(args)
    size = args.config.get("image_size", fewshot.DEFAULTS["image_size"])
    if args.jobs:
        with open(args.jobs) as f:
            jobs = json.load(f)
        args.datasets = sorted({j["dataset"] for j in jobs})
        sizes = {(j.get("config") or {}).get("image_size", size) for j in jobs}
        if len(sizes) != 1:
            raise SystemExit(
                f"--jobs {args.jobs}: jobs at several image sizes {sorted(sizes)}; "
                "one file of jobs is packed at one size, so split it by size"
            )
        size = sizes.pop()
    else:
        jobs = grid_jobs(
            args.datasets, args.protocols, args.shots, args.seeds, args.rows, args.config
        )
    if args.dry_run:
        table = pending_table(jobs, fewshot.pending(jobs, args.output, args.workdir))
        print(table)
        return table
    paths = fewshot.pack_all(args.data_root, args.datasets, size, args.cache_dir)
    deadline = time.time() + args.deadline if args.deadline else None
    if args.workers > 1:
        with fewshot.make_pool(args.workers, paths, args.workdir) as pool:
            fewshot.run_pool(jobs, args.output, workdir=args.workdir, pool=pool, deadline=deadline)
    else:
        fewshot.run_pool(jobs, args.output, paths, args.workdir, deadline=deadline)
    return summarize(args.output, args.plot, baselines=extra)


if __name__ == "__main__":
    main()
