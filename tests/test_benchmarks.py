"""Benchmark scripts keep working (--smoke, one backend: the fastest here)."""

import os
import runpy
import sys

import keras
import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "benchmarks")

only_torch = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="benchmark smoke runs use one backend"
)


def _run(script, args, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script] + args)
    return runpy.run_path(os.path.join(ROOT, script), run_name="not_main")["main"](args)


@only_torch
def test_throughput_smoke(monkeypatch):
    result = _run("throughput.py", ["--smoke"], monkeypatch)
    assert result["csdnet_step_s"] > 0 and result["baseline_step_s"] > 0 and result["ratio"] > 0


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
def test_accuracy_smoke(monkeypatch):
    table = _run("accuracy.py", ["--smoke"], monkeypatch)
    assert {(t["protocol"], t["row"]) for t in table} == {
        ("scratch", "baseline"), ("scratch", "csdnet"),
        ("transfer", "baseline"), ("transfer", "csdnet")}
    assert all(0.0 <= t["mean"] <= 1.0 for t in table)
