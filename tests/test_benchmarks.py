"""Benchmark scripts keep working (--smoke, one backend: the fastest here)."""

import json
import os
import runpy
import sys

import keras
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

only_torch = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="benchmark smoke runs use one backend"
)


def _run(script, args, monkeypatch):
    """`python -m benchmarks.<script>` with `args`, in this process."""
    monkeypatch.setattr(sys, "argv", [script] + args)
    module = "benchmarks." + script.removesuffix(".py")
    return runpy.run_module(module, run_name="not_main")["main"](args)


class _Killed(Exception):
    """Stands for a process killed at the end of an epoch."""


def _kill_after(epochs):
    """A callback that raises `_Killed` once `epochs` epochs have ended."""

    def on_epoch_end(epoch, logs=None):
        if epoch + 1 == epochs:
            raise _Killed

    return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


@only_torch
def test_throughput_smoke(monkeypatch):
    result = _run("throughput.py", ["--smoke"], monkeypatch)
    assert result["csdnet_step_s"] > 0 and result["baseline_step_s"] > 0 and result["ratio"] > 0
    assert result["csdnet_latency_ms"] > 0 and result["latency_ratio"] > 0
    # Peak memory of a separate process per model, above what the imports took.
    assert result["csdnet_peak_mb"] > 0 and result["baseline_peak_mb"] > 0


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the graph profiler is TensorFlow's"
)
def test_throughput_counts_inference_flops_of_a_finer_pattern_map():
    from benchmarks import throughput

    args = throughput.parse_args(["--smoke", "--pattern-stride", "16"])
    size = args.image_size
    assert throughput.settings(args, "csdnet")["pattern_stride"] == 16
    assert "pattern_stride" not in throughput.settings(args, "baseline")
    counts = {}
    for name in ("baseline", "csdnet"):
        model = throughput.build(args, name, 0)
        model.build((None, size, size, 3))
        counts[name] = throughput.inference_flops(model, size)
    # SSDP adds a little work to the one raw pass; never a second backbone pass.
    assert counts["baseline"] > 1e6
    assert 1.0 < counts["csdnet"] / counts["baseline"] < 1.05


@only_torch
def test_ssdp_latency_smoke(monkeypatch):
    result = _run("ssdp_latency.py", ["--smoke"], monkeypatch)
    assert result["feature_shape"] == [1, 4, 4, 8]
    assert all(result[k] > 0 for k in ("trivial_ms", "convolutions_ms", "ssdp_ms"))


@only_torch
def test_input_pipeline_smoke(monkeypatch):
    (row,) = _run("input_pipeline.py", ["--smoke"], monkeypatch)
    assert row["cold_img_per_s"] > 0 and row["cached_img_per_s"] > 0


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TFLite conversion runs in-process on TF"
)
def test_export_latency_smoke(monkeypatch):
    (row,) = _run("export_latency.py", ["--smoke"], monkeypatch)
    assert row["csdnet_tflite_float32_ms"] > 0 and row["plain_keras_predict_ms"] > 0
    assert row["csdnet_tflite_int8_mb"] < row["csdnet_tflite_float32_mb"]


@only_torch
def test_accuracy_smoke(monkeypatch, capsys):
    table = _run("accuracy.py", ["--smoke"], monkeypatch)
    progress = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("progress ")
    ]
    assert any(
        " scratch k=" in line and " csdnet " in line and "val_accuracy" in line for line in progress
    )  # each training job says how far it is
    assert {(t["protocol"], t["row"]) for t in table} == {
        ("scratch", "baseline"),
        ("scratch", "csdnet"),
        ("transfer", "baseline"),
        ("transfer", "csdnet"),
    }
    assert all(0.0 <= t["mean"] <= 1.0 for t in table)
    assert all(t["floor"] is not None for t in table)  # measured on each split


@only_torch
def test_study_smoke(monkeypatch):
    """Sweep on validation -> selection -> test grid, end to end on fake data."""
    selection, table = _run("study.py", ["--smoke"], monkeypatch)
    assert set(selection["chosen_schedules"]) == {"scratch"}
    assert "alpha" in selection["knob_scores"] and "default" in selection["knob_scores"]
    assert {t["row"] for t in table} == set(
        ["baseline", "+ssdp", "+ssdp+ddl", "csdnet", "ddl_only", "ssdt_only"]
    )


def test_progress_callback_logs_first_every_nth_and_last_epoch():
    from benchmarks import fewshot

    lines = []
    callback = fewshot.progress_callback("job", 25, every=10, start=0.0, log=lines.append)
    for epoch in range(25):
        callback.on_epoch_end(epoch, {"loss": 1.5, "val_accuracy": 0.25, "accuracy": 0.5})
    assert [line.split(": epoch ")[1].split(" ")[0] for line in lines] == [
        "1/25",
        "10/25",
        "20/25",
        "25/25",
    ]
    assert lines[0].startswith("progress job: epoch 1/25 loss 1.5000 val_accuracy 0.2500 (")
    assert fewshot.job_label(
        dict(
            dataset="oaks", protocol="scratch", shots=3, seed=2, row="csdnet", config={"epochs": 80}
        )
    ) == ("oaks scratch k=3 seed 2 csdnet (80 ep)")


def test_worker_pool_reports_a_dead_worker_and_goes_on():
    """A worker killed outside Python (here `os._exit`; on a GPU, a runtime crash) costs
    only its own job: it comes back with an `error`, and a new worker takes the rest."""
    from benchmarks import fewshot

    with fewshot.WorkerPool(1, initializer=abs, initargs=(0,), poll=0.2) as pool:
        (lost,) = pool.imap_unordered(os._exit, [3])
        assert lost["job"] == 3 and "exit code 3" in lost["error"]
        assert sorted(pool.imap_unordered(abs, [-1, -2, 3])) == [1, 2, 3]
    record = fewshot._lost({"seed": 1, "deadline": 5.0}, -9)
    assert record["seed"] == 1 and "deadline" not in record and "-9" in record["error"]


def test_pixel_floor_is_nearest_class_mean_without_the_pixel_sized_array():
    import numpy as np
    from PIL import Image

    from benchmarks import fewshot

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 20, 20), dtype=np.uint8)
    labels = np.repeat(np.arange(5), 6)
    train, test = (np.arange(0, 30, 2), labels[::2]), (np.arange(1, 30, 2), labels[1::2])
    got = fewshot.pixel_floor(dict(images=images), train, test, size=8)

    small = np.stack(
        [
            np.asarray(Image.fromarray(i).resize((8, 8), Image.BILINEAR), np.float64).reshape(-1)
            for i in images
        ]
    )
    means = np.stack([small[train[0]][train[1] == c].mean(0) for c in range(5)])
    naive = ((small[test[0]][:, None] - means[None]) ** 2).sum(-1).argmin(1)
    assert got == float((naive == test[1]).mean())


def test_fewshot_uses_the_library_pipeline():
    """Training batches are the library's FewShotSequence; grey packs become RGB crops."""
    import numpy as np

    from benchmarks import fewshot
    from keras_csdnet.data import FewShotSequence

    images = np.random.default_rng(0).integers(0, 256, (4, 41, 41), np.uint8)
    sequence = fewshot.make_sequence({"images": images}, np.arange(4), np.arange(4) % 2, 36, 4, 1)
    assert isinstance(sequence, FewShotSequence)
    out, _ = sequence[0]
    assert out.shape == (4, 36, 36, 3) and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], out[..., 2])  # grey stays grey
    center = fewshot.center_crop(images, 36)
    assert center.shape == (4, 36, 36, 3)
    assert np.array_equal(center[0, :, :, 0], images[0, 2:38, 2:38])


def test_accuracy_paired_differences_match_rows_to_their_own_baseline():
    """Each row is compared with the baseline of the same seed, schedule and checkpoint."""
    from benchmarks import accuracy

    def rec(row, seed, acc, **config):
        return dict(
            dataset="oaks",
            protocol="transfer",
            shots=3,
            seed=seed,
            row=row,
            config=dict(dict(learning_rate=3e-4, epochs=80), **config),
            test_accuracy=acc,
        )

    records = [
        rec("baseline", 0, 0.50, _pretrained="cpu"),
        rec("baseline", 1, 0.60, _pretrained="cpu"),
        rec("baseline", 0, 0.90, _pretrained="h100"),  # another checkpoint: not its pair
        rec("csdnet", 0, 0.55, mask_mode="erase", _pretrained="cpu"),
        rec("csdnet", 1, 0.58, mask_mode="erase", _pretrained="cpu"),
        rec("csdnet", 2, 0.99, mask_mode="erase", _pretrained="cpu"),  # no baseline: left out
        {k: v for k, v in rec("baseline", 2, 0.0).items() if k != "test_accuracy"},  # a sweep
    ]
    (pair,) = accuracy.paired(records)
    assert pair["row"] == "csdnet" and pair["n"] == 2 and pair["wins"] == 1
    assert abs(pair["mean"] - 0.015) < 1e-9 and abs(pair["std"] - 0.0495) < 1e-3

    # A baseline rerun on the rows' backend pairs with them where it exists (seed 0).
    rerun = [dict(records[0], test_accuracy=0.45, backend="tensorflow")]
    rows = [dict(r, backend="tensorflow") if r["row"] == "csdnet" else r for r in records]
    (pair,) = accuracy.paired(rows, baselines=rerun)
    assert pair["n"] == 2 and abs(pair["mean"] - 0.04) < 1e-9
    assert "/ tensorflow" in pair["backends"] and "/ ?" in pair["backends"]

    # The sweep compares validation scores the same way; its records have no test score.
    sweep = [
        dict(r, val_tail=v, sweep=True)
        for r, v in zip(
            [records[6], rec("csdnet", 2, 0.0, mask_mode="erase", beta=0.1)], [0.4, 0.45]
        )
    ]
    sweep = [{k: v for k, v in r.items() if k != "test_accuracy"} for r in sweep]
    assert accuracy.paired(sweep) == []
    (pair,) = accuracy.paired(sweep, metric="val_tail")
    assert pair["n"] == 1 and abs(pair["mean"] - 0.05) < 1e-9 and pair["wins"] == 1

    # A baseline is what had every module off, whatever its row is called: a hand-written
    # "baseline" job that switched SSDT on is a row paired with the plain baseline.
    ssdt_on = rec("baseline", 0, 0.70, _pretrained="cpu", ssdt=True)
    (pair,) = accuracy.paired(records[:2] + [ssdt_on])
    assert (pair["row"], pair["n"]) == ("baseline", 1) and "ssdt on" in pair["variant"]
    assert abs(pair["mean"] - 0.20) < 1e-9
    plain = rec("csdnet", 0, 0.61, _pretrained="cpu", ssdp=False, ddl=False, ssdt=False)
    (pair,) = accuracy.paired([plain, records[3]])  # the all-off "csdnet" is the baseline
    assert pair["variant"].endswith("erase") and abs(pair["mean"] - (0.55 - 0.61)) < 1e-9


def test_accuracy_pairs_each_row_with_a_baseline_of_its_own_backend():
    """Extra baselines (reruns on another backend) pair with that backend's rows only,
    and `summarize` prints the test and validation differences side by side."""
    from benchmarks import accuracy

    def rec(row, seed, acc, val, backend, **config):
        return dict(
            dataset="leaves99",
            protocol="scratch",
            shots=5,
            seed=seed,
            row=row,
            config=dict(dict(learning_rate=3e-4, epochs=80), **config),
            test_accuracy=acc,
            val_tail=val,
            backend=backend,
        )

    records = [
        rec("baseline", 0, 0.50, 0.40, "jax"),
        rec("baseline", 1, 0.60, 0.50, "jax"),
        rec("csdnet", 0, 0.55, 0.42, "tensorflow", mask_mode="erase"),
        rec("csdnet", 1, 0.58, 0.51, "tensorflow", mask_mode="erase"),
        rec("ddl_only", 0, 0.52, 0.45, "jax"),
    ]
    rerun = [rec("baseline", 0, 0.45, 0.30, "tensorflow")]  # seed 1 has none: falls back
    pairs = {p["row"]: p for p in accuracy.paired(records, baselines=rerun)}
    assert abs(pairs["csdnet"]["mean"] - (0.10 - 0.02) / 2) < 1e-9
    assert pairs["csdnet"]["wins"] == 1
    assert pairs["csdnet"]["backends"] == "tensorflow / jax, tensorflow / tensorflow"
    assert abs(pairs["ddl_only"]["mean"] - 0.02) < 1e-9  # its own (JAX) baseline
    assert pairs["ddl_only"]["backends"] == "jax / jax"
    # Without the extra baselines every row pairs with the baseline in the records.
    alone = {p["row"]: p for p in accuracy.paired(records)}
    assert abs(alone["csdnet"]["mean"] - (0.05 - 0.02) / 2) < 1e-9

    # A sweep (other seeds, a larger validation split, no test score) of the same settings
    # stays out of the validation column beside the test difference.
    for row, val in (("baseline", 0.10), ("csdnet", 0.90)):
        sweep = rec(
            row,
            100,
            0.0,
            val,
            "tensorflow",
            val_shots=2,
            **({"mask_mode": "erase"} if row == "csdnet" else {}),
        )
        records.append(dict({k: v for k, v in sweep.items() if k != "test_accuracy"}, sweep=True))
    lines = []
    table = accuracy.summarize(None, records=records, log=lines.append, baselines=rerun)
    assert {t["row"]: t["baseline"] for t in table} == {
        "baseline": True,
        "csdnet": False,
        "ddl_only": False,
    }
    off = rec("csdnet", 0, 0.5, 0.4, "jax", ssdp=False, ddl=False, ssdt=False)
    (t,) = accuracy.summarize(None, records=[off], log=lambda *a: None)
    assert t["baseline"]  # every module off: a baseline, whatever the row is called
    header = lines.index(next(line for line in lines if "mean difference" in line))
    assert "validation (`val_tail`) difference" in lines[header]
    (row,) = [
        line for line in lines[header:] if line.startswith("| leaves99 | scratch | 5 | csdnet")
    ]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[5:10] == ["+0.040", "0.085", "2", "1", "+0.065 ± 0.078 (2 of 2)"]


def test_accuracy_val_predicts_test_counts_sign_agreement_per_row():
    """Rows whose validation lead is small or large are counted apart, with the sign
    agreement of their validation and test differences."""
    from benchmarks import accuracy

    def rec(row, seed, acc, val, dataset):
        return dict(
            dataset=dataset,
            protocol="scratch",
            shots=3,
            seed=seed,
            row=row,
            config=dict(learning_rate=3e-4, epochs=80),
            test_accuracy=acc,
            val_tail=val,
            backend="jax",
        )

    records = []
    # (row, dataset): mean val difference, mean test difference over 2 seeds.
    for (row, data), (dv, dt) in {
        ("ddl_only", "a"): (0.10, 0.08),  # large, agrees
        ("ssdt_only", "a"): (0.01, -0.02),  # small, disagrees
        ("ddl_only", "b"): (-0.02, -0.01),
    }.items():  # small, agrees
        for seed in (0, 1):
            records += [
                rec("baseline", seed, 0.5, 0.5, data),
                rec(row, seed, 0.5 + dt, 0.5 + dv, data),
            ]
    out = accuracy.val_predicts_test(records, min_seeds=2)
    assert out["n"] == 3 and out["large"] == 1 and out["large_agree"] == 1
    assert out["small"] == 2 and out["small_agree"] == 1
    assert out["val_ahead"] == 2 and abs(out["val_minus_test"] - 0.04 / 3) < 1e-9
    assert out["correlation"] > 0.9
    assert accuracy.val_predicts_test(records, min_seeds=3)["n"] == 0


def test_accuracy_grid_drops_settings_that_cannot_act_on_a_job():
    """Equal models get equal configs, so a rerun of the grid skips what is already done."""
    from benchmarks import accuracy

    config = dict(learning_rate=3e-4, epochs=80, mask_mode="erase", _pretrained="gpu-2")
    jobs = accuracy.grid_jobs(
        ["oaks"],
        ["scratch", "transfer"],
        [3],
        [0],
        ["baseline", "csdnet"],
        config,
        log=lambda _: None,
    )
    by = {(j["protocol"], j["row"]): j["config"] for j in jobs}
    assert by[("pretrain", "baseline")] == {}
    assert by[("scratch", "baseline")] == dict(learning_rate=3e-4, epochs=80)
    assert by[("scratch", "csdnet")] == dict(learning_rate=3e-4, epochs=80, mask_mode="erase")
    assert by[("transfer", "baseline")] == dict(learning_rate=3e-4, epochs=80, _pretrained="gpu-2")
    # Every CSDNet knob a sweep may set, the SSDT direction included.
    knobbed = dict(epochs=80, distill_direction="raw_to_aug")
    assert accuracy.row_config(knobbed, "scratch", "baseline") == dict(epochs=80)
    from benchmarks import fewshot

    assert fewshot.variant(dict(row="csdnet", config=knobbed)) == (
        "80 ep, distill_direction raw_to_aug"
    )
    assert fewshot.variant(dict(row="+ssdp", config=knobbed)) == "80 ep"
    filled = dict(epochs=80, mask_mode="erase", mask_fill="border")
    assert accuracy.row_config(filled, "scratch", "baseline") == dict(epochs=80)
    assert fewshot.variant(dict(row="+ssdp", config=filled)) == "80 ep, erase, mask_fill border"
    assert fewshot.variant(dict(row="ssdt_only", config=filled)) == "80 ep"
    assert accuracy.row_config(dict(filled, ssdp=False), "scratch", "baseline") == dict(epochs=80)
    # A module switched off (or on) against the row is named, and its knobs go.
    assert fewshot.variant(dict(row="csdnet", config=dict(filled, ssdp=False))) == (
        "80 ep, ssdp off"
    )
    assert fewshot.variant(dict(row="ddl_only", config=dict(ssdt=True, beta=0.5))) == (
        "ssdt on, beta 0.5"
    )
    assert by[("transfer", "csdnet")] == config


def test_study_sweep_summary_pairs_configs_with_the_baseline_on_the_same_seeds(tmp_path):
    """The sweep table gives mean ± std over seeds and each config minus the baseline."""
    import json

    from benchmarks import study

    def rec(row, seed, val, **knobs):
        return dict(
            dataset="oaks",
            protocol="scratch",
            shots=3,
            seed=seed,
            row=row,
            sweep=True,
            val_tail=val,
            config=dict(val_shots=2, learning_rate=3e-4, epochs=80, **knobs),
        )

    path = tmp_path / "sweep.jsonl"
    records = [
        rec("baseline", 100, 0.50),
        rec("baseline", 101, 0.60),
        rec("csdnet", 100, 0.55, mask_mode="erase"),
        rec("csdnet", 101, 0.58, mask_mode="erase"),
        rec("csdnet", 100, 0.70, mask_mode="keep"),  # one seed: no paired line
        # a module switched off: its own row, still paired with the baseline
        rec("csdnet", 100, 0.52, ssdp=False),
        rec("csdnet", 101, 0.66, ssdp=False),
        dict(rec("csdnet", 101, 0.99, mask_mode="erase"), dataset="orl_faces"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    lines = []
    rows = study.summarize_sweep(str(path), log=lines.append)
    assert sorted((r["dataset"], r["row"], len(r["scratch"])) for r in rows) == [
        ("oaks", "baseline", 2),
        ("oaks", "csdnet", 1),
        ("oaks", "csdnet", 2),
        ("oaks", "csdnet", 2),
        ("orl_faces", "csdnet", 1),
    ]  # datasets are not mixed
    assert any("0.565 ± 0.021 (2)" in line for line in lines)
    erase, off = [line for line in lines if line.startswith("| oaks | scratch | csdnet")]
    assert "erase" in erase and "| +0.015 | 0.049 | 2 | 1 |" in erase
    assert "ssdp off" in off and "| +0.040 | 0.028 | 2 | 2 |" in off


def test_accuracy_dry_run_counts_what_a_rerun_would_run(tmp_path, monkeypatch, capsys):
    """`--dry-run` counts the grid's jobs with no record per cell and trains nothing."""
    from benchmarks import accuracy
    from benchmarks import fewshot

    config = dict(epochs=80, mask_mode="erase")
    jobs = accuracy.grid_jobs(
        ["oaks"], ["scratch"], [3], [0, 1], ["baseline", "csdnet"], config, log=lambda _: None
    )
    output = tmp_path / "records.jsonl"
    done = [jobs[0], dict(jobs[3], config=dict(config, epochs=40))]  # second: other settings
    output.write_text("".join(json.dumps(dict(j, test_accuracy=0.5)) + "\n" for j in done))
    todo = fewshot.pending(jobs, str(output), str(tmp_path))
    assert [fewshot.job_key(j) for j in todo] == [fewshot.job_key(j) for j in jobs[1:]]
    table = _run(
        "accuracy.py",
        [
            "--dry-run",
            "--datasets",
            "oaks",
            "--seeds",
            "0",
            "1",
            "--rows",
            "baseline",
            "csdnet",
            "--config",
            json.dumps(config),
            "--output",
            str(output),
            "--data-root",
            str(tmp_path / "absent"),
        ],
        monkeypatch,
    )
    assert "| oaks | scratch | 3 | baseline | 2 | 1 |" in table.splitlines()
    assert "| oaks | scratch | 3 | csdnet | 2 | 2 |" in table.splitlines()
    assert table.splitlines()[-1] == "| all | - | - | - | 4 | 3 |"
    assert table in capsys.readouterr().out
    assert not (tmp_path / "absent").exists()

    # A pretraining job counts only while a transfer job still needs its checkpoint.
    jobs = accuracy.grid_jobs(
        ["oaks"], ["transfer"], [3], [0, 1], ["baseline"], config, log=lambda _: None
    )
    output.write_text(json.dumps(dict(jobs[2], test_accuracy=0.5)) + "\n")
    todo = fewshot.pending(jobs, str(output), str(tmp_path))
    assert [(j["protocol"], j["seed"]) for j in todo] == [("pretrain", 1), ("transfer", 1)]

    # A job a killed run left a training state for goes first (after pretraining).
    jobs = accuracy.grid_jobs(
        ["oaks"], ["scratch"], [3], [0, 1, 2], ["baseline"], config, log=lambda _: None
    )
    state = os.path.join(fewshot.resume_dir(jobs[2], str(tmp_path)), "state.json")
    os.makedirs(os.path.dirname(state))
    open(state, "w").close()
    output.write_text("")
    todo = fewshot.pending(jobs, str(output), str(tmp_path))
    assert [j["seed"] for j in todo] == [2, 0, 1]


def test_accuracy_glance_shows_each_cell_of_the_study_config(tmp_path, monkeypatch, capsys):
    """`--glance`: per cell run with the study's config, the baseline and each column's
    per-seed lead over it; other settings and other checkpoints stay out."""
    from benchmarks import accuracy

    config = dict(learning_rate=3e-4, epochs=80, mask_mode="erase", _pretrained="cpu")
    jobs = accuracy.grid_jobs(
        ["oaks"],
        ["scratch", "transfer"],
        [3],
        [0, 1],
        ["baseline", "csdnet", "ssdt_only"],
        config,
        log=lambda _: None,
    )
    scores = {
        ("scratch", "baseline"): (0.50, 0.60),
        ("scratch", "csdnet"): (0.55, 0.58),
        ("scratch", "ssdt_only"): (0.40, 0.45),
        ("transfer", "baseline"): (0.70, 0.80),
        ("transfer", "csdnet"): (0.72, 0.81),
    }  # transfer SSDT alone: not run
    records = [
        dict(j, classes=38, test_accuracy=scores[j["protocol"], j["row"]][j["seed"]])
        for j in jobs
        if (j["protocol"], j["row"]) in scores
    ]
    scratch_base = [r for r in records if r["protocol"] == "scratch" and r["row"] == "baseline"]
    records += [
        dict(
            r,
            row="csdnet",
            config=dict(r["config"], ssdp=False),
            test_accuracy=r["test_accuracy"] + 0.1,
        )
        for r in scratch_base
    ]
    records += [
        dict(r, shots=5, config=dict(r["config"], learning_rate=1e-3)) for r in scratch_base
    ]  # k = 5 only with another learning rate: no cell
    records += [
        dict(r, config=dict(r["config"], _pretrained="h100"), test_accuracy=0.1)
        for r in records
        if r["protocol"] == "transfer" and r["row"] == "baseline"
    ]
    output = tmp_path / "records.jsonl"
    output.write_text("".join(json.dumps(r) + "\n" for r in records))

    cells = _run(
        "accuracy.py",
        [
            "--glance",
            "--datasets",
            "oaks",
            "--protocols",
            "scratch",
            "transfer",
            "--shots",
            "3",
            "5",
            "--config",
            json.dumps(config),
            "--output",
            str(output),
        ],
        monkeypatch,
    )
    assert [(c["protocol"], c["shots"]) for c in cells] == [("scratch", 3), ("transfer", 3)]
    scratch, transfer = cells
    assert abs(transfer["baseline"]["mean"] - 0.75) < 1e-9  # the "cpu" checkpoint's
    off = scratch["columns"]["`ssdp=False`"]
    assert (off["n"], off["wins"]) == (2, 2) and abs(off["mean"] - 0.1) < 1e-9
    assert transfer["columns"]["`ssdp=False`"] is None
    out = capsys.readouterr().out.splitlines()
    assert (
        "| oaks (38) | scratch | 3 | 0.550 ± 0.071 | +0.015 ± 0.049 (1/2) | "
        "+0.100 ± 0.000 (2/2) | -0.125 ± 0.035 (0/2) | not run |"
    ) in out
    assert (
        "| oaks (38) | transfer | 3 | 0.750 ± 0.071 | +0.015 ± 0.007 (2/2) | not run | "
        "not run | not run |"
    ) in out
    assert "full CSDNet (default, `erase`): 2 cells, wins 1, level 1, loses 0" in out
    assert "SSDT alone: 1 cells, wins 0, level 0, loses 1" in out


def test_fit_resumable_continues_a_killed_run_as_if_never_stopped(tmp_path):
    """A run killed after an epoch and called again (a new process would build the model
    anew) trains only the epochs left and ends where one uninterrupted run ends: same
    logs, same best-validation weights, same queue and random-view state."""
    import numpy as np
    from conftest import tiny_model

    from benchmarks import fewshot

    rng = np.random.default_rng(0)
    data = dict(images=rng.integers(0, 256, (12, 36, 36), dtype=np.uint8))
    labels = np.arange(12) % 3
    x_val = fewshot.center_crop(data["images"][:6], 32)

    def run(state_dir, callbacks=(), log=None, save_every=0):
        keras.utils.set_random_seed(0)
        model = tiny_model()
        sequence = fewshot.make_sequence(data, np.arange(12), labels, 32, 4, seed=0)
        fit = fewshot.fit_resumable(
            model,
            sequence,
            4,
            state_dir,
            monitor="val_accuracy",
            callbacks=callbacks,
            log=log,
            verbose=0,
            validation_data=(x_val, labels[:6]),
            save_every=save_every,
        )
        return model, fit

    straight, straight_fit = run(None)
    # Saves are at most every `save_every` seconds: none before this kill.
    with pytest.raises(_Killed):
        run(str(tmp_path / "rarely"), [_kill_after(2)], save_every=3600)
    assert not os.path.exists(tmp_path / "rarely")
    state_dir = str(tmp_path / "state")
    with pytest.raises(_Killed):
        run(state_dir, [_kill_after(2)])
    assert sorted(os.listdir(state_dir))[-1] == "state.json"
    lines = []
    resumed, fit = run(state_dir, log=lines.append)
    assert fit["resumed_from"] == 2 and lines == [f"resumed at epoch 2/4 from {state_dir}"]
    assert straight_fit["resumed_from"] == 0 and fit["seconds"] > 0
    assert fit["best_epoch"] == straight_fit["best_epoch"]
    assert set(fit["history"]) == set(straight_fit["history"])
    for key, values in straight_fit["history"].items():
        assert len(fit["history"][key]) == 4
        np.testing.assert_allclose(fit["history"][key], values, rtol=1e-4, atol=1e-5)
    for a, b in zip(resumed.variables, straight.variables):  # incl. queue, seed state
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a),
            keras.ops.convert_to_numpy(b),
            rtol=1e-4,
            atol=1e-5,
            err_msg=a.path,
        )

    # A state another model wrote is refused with what to do, not loaded half-way.
    with pytest.raises(ValueError, match="Delete that folder"):
        keras.utils.set_random_seed(0)
        fewshot.fit_resumable(
            tiny_model(queue_size=8),
            fewshot.make_sequence(data, np.arange(12), labels, 32, 4, 0),
            4,
            state_dir,
            verbose=0,
        )


@only_torch
def test_run_job_resumes_a_killed_job_and_cleans_up(tmp_path, monkeypatch):
    """A job whose process dies after an epoch is continued by the rerun: its record
    says `resumed_from`, has every epoch's validation score, and the state is gone."""
    from benchmarks import fewshot

    paths = fewshot.pack_all(
        fewshot.fake_data_root(str(tmp_path / "data")), ["oaks"], 32, str(tmp_path / "packed")
    )
    job = dict(
        dataset="oaks",
        protocol="scratch",
        shots=2,
        seed=0,
        row="csdnet",
        config=dict(epochs=3, image_size=32, queue_size=8),
    )
    progress = fewshot.progress_callback

    workdir = str(tmp_path / "work")
    monkeypatch.setattr(fewshot, "SAVE_EVERY_S", 0)  # every epoch (these take a second)
    monkeypatch.setattr(fewshot, "progress_callback", lambda *a, **k: _kill_after(2))
    with pytest.raises(_Killed):
        fewshot.run_job(job, paths, workdir)
    assert os.path.exists(os.path.join(fewshot.resume_dir(job, workdir), "state.json"))
    monkeypatch.setattr(fewshot, "progress_callback", progress)
    record = fewshot.run_job(job, paths, workdir)
    assert record["resumed_from"] == 2 and len(record["val_curve"]) == 3
    assert record["batch_order"] == "sequence" and 0.0 <= record["test_accuracy"] <= 1.0
    assert not os.path.exists(fewshot.resume_dir(job, workdir))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_worker_pool_workers_end_when_their_pool_process_is_killed(tmp_path):
    """A pool killed with SIGKILL leaves no worker training on (it would share its job's
    saved state with the rerun's worker)."""
    import signal
    import subprocess
    import time

    ready = tmp_path / "ready"
    owner = tmp_path / "owner.py"
    owner.write_text(
        "import os, time\nfrom benchmarks import fewshot\n"
        "if __name__ == '__main__':  # spawned workers import this file too\n"
        f"    pool = fewshot.WorkerPool(1, initializer=os.mkdir, initargs=({str(ready)!r},))\n"
        "    print(pool._workers[0]['process'].pid, flush=True)\n"
        "    list(pool.imap_unordered(time.sleep, [120]))\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO)  # the repository root: `benchmarks` imports
    process = subprocess.Popen(
        [sys.executable, str(owner)], stdout=subprocess.PIPE, text=True, env=env
    )
    worker = int(process.stdout.readline())

    def running(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
        except FileNotFoundError:
            return False

    end = time.time() + 60
    while not ready.exists() and time.time() < end:  # the worker is up, past its set-up
        time.sleep(0.2)
    assert ready.exists() and running(worker)
    process.send_signal(signal.SIGKILL)
    process.wait()
    end = time.time() + 20
    while running(worker) and time.time() < end:
        time.sleep(0.2)
    assert not running(worker)


def test_summary_pairs_each_setting_with_its_baseline_per_seed(tmp_path):
    from benchmarks import summary

    def record(row, seed, score, **config):
        return dict(
            dataset="oaks",
            protocol="scratch",
            shots=3,
            seed=seed,
            row=row,
            config=dict(image_size=128, epochs=40, **config),
            test_accuracy=score,
        )

    records = [record("baseline", s, 0.5 + 0.1 * s) for s in range(3)]
    records += [record("csdnet", s, 0.55 + 0.1 * s) for s in range(3)]
    records += [record("csdnet", s, [0.4, 0.7, 0.6][s], pattern_stride=16) for s in range(3)]
    unscored = record("csdnet", 0, 0.9, mask_mode="erase")
    del unscored["test_accuracy"]  # a validation-only run is not a test score
    records.append(unscored)
    paths = {}
    for name, rows in (("grid", records), ("empty", [])):
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "summary.csv"
    argv = ["--records", str(paths["grid"]), "--validation", str(paths["empty"])]
    summary.main(argv + ["--baselines", "--output", str(out)])
    import csv

    with open(out) as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == summary.COLUMNS
    by_setting = {r["setting"]: r for r in table}
    assert set(by_setting) == {"baseline", "csdnet", "csdnet pattern_stride=16"}
    base, default, finer = (by_setting[k] for k in by_setting)
    assert (base["is_default"], default["is_default"], finer["is_default"]) == (
        "False",
        "True",
        "False",
    )
    assert default["seeds"] == "3" and default["image_size"] == "128"
    assert float(default["paired_diff_mean"]) == pytest.approx(0.05)
    assert float(default["paired_diff_std"]) == pytest.approx(0.0, abs=1e-9)
    assert default["seeds_ahead"] == "3" and default["metric"] == "test_accuracy"
    # Per seed: 0.4 - 0.5, 0.7 - 0.6, 0.6 - 0.7 -> one seed ahead.
    assert float(finer["paired_diff_mean"]) == pytest.approx(-0.1 / 3, abs=1e-4)
    assert finer["seeds_ahead"] == "1"
    assert float(base["mean"]) == pytest.approx(0.6) and base["paired_diff_mean"] == "0.0"
    with pytest.raises(SystemExit):
        summary.main(["--records", str(tmp_path / "missing.jsonl")])
