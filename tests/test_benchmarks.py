"""Benchmark scripts keep working (--smoke, one backend: the fastest here)."""

import os
import runpy
import sys

import keras
import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "benchmarks")

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="benchmark smoke runs use one backend"
)


def _run(script, args, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script] + args)
    return runpy.run_path(os.path.join(ROOT, script), run_name="not_main")["main"](args)


def test_throughput_smoke(monkeypatch):
    result = _run("throughput.py", ["--smoke"], monkeypatch)
    assert result["csdnet_step_s"] > 0 and result["baseline_step_s"] > 0 and result["ratio"] > 0


def test_input_pipeline_smoke(monkeypatch):
    (row,) = _run("input_pipeline.py", ["--smoke"], monkeypatch)
    assert row["cold_img_per_s"] > 0 and row["cached_img_per_s"] > 0
