"""Parity of an exported model with Keras: the rule and the error."""

import numpy as np

FLOAT32_ATOL = 1e-4
TOP1_AGREEMENT = {"float16": 0.99, "dynamic_int8": 0.99, "int8": 0.97}


class ExportParityError(RuntimeError):
    """The exported model's outputs disagree with Keras beyond the thresholds."""


def check_parity(reference, exported, quantization):
    """Compares logits `(N, K)`: float32 max |diff| <= 1e-4 and same top-1; else top-1.

    Returns a dict with `max_abs_diff`, `top1_agreement`, `rule` and `passed`.
    """
    max_abs = float(np.max(np.abs(reference - exported)))
    agreement = float(np.mean(reference.argmax(-1) == exported.argmax(-1)))
    if quantization is None:
        passed = max_abs <= FLOAT32_ATOL and agreement == 1.0
        rule = f"max |logit diff| <= {FLOAT32_ATOL} and same top-1"
    else:
        passed = agreement >= TOP1_AGREEMENT[quantization]
        rule = f"top-1 agreement >= {TOP1_AGREEMENT[quantization]:.0%}"
    return {
        "max_abs_diff": max_abs,
        "top1_agreement": agreement,
        "rule": rule,
        "passed": bool(passed),
    }


def raise_if_failed(report, format, quantization):
    """Raises `ExportParityError` when `report["passed"]` is False."""
    if not report["passed"]:
        raise ExportParityError(
            f"Exported {format} ({quantization or 'float32'}) disagrees with Keras: "
            f"max |diff| {report['max_abs_diff']:.3g}, top-1 agreement "
            f"{report['top1_agreement']:.1%} (rule: {report['rule']})."
        )
