"""The TensorFlow side of `export` under another backend (a subprocess protocol).

`export` runs `KERAS_BACKEND=tensorflow python -m keras_csdnet.export.worker
MODEL OUTPUT --report REPORT.json ...`; the worker writes the report, or
`{"error": ..., "error_type": ...}`, to `REPORT.json`. It is the protocol
between two Python processes, not a command for users.
"""

import argparse
import json
import sys

import numpy as np

from keras_csdnet.export import FORMATS
from keras_csdnet.export import QUANTIZATIONS
from keras_csdnet.export import ExportParityError
from keras_csdnet.export import export


def main(argv=None):
    p = argparse.ArgumentParser(description="keras_csdnet export worker (TensorFlow backend).")
    p.add_argument("model")
    p.add_argument("output")
    p.add_argument("--format", default="saved_model", choices=FORMATS)
    p.add_argument("--quantization", default=None, choices=[q for q in QUANTIZATIONS if q])
    p.add_argument("--representative", help=".npy images for int8 calibration")
    p.add_argument("--samples", help=".npy images for the parity check")
    p.add_argument("--num-samples", type=int, default=64)
    p.add_argument("--report", help="write the report (or the error) to this JSON file")
    p.add_argument("--no-check", action="store_true")
    args = p.parse_args(argv)
    import keras

    if keras.backend.backend() != "tensorflow":
        sys.exit("Run with KERAS_BACKEND=tensorflow.")
    load = lambda f: np.load(f) if f else None  # noqa: E731
    try:
        report = export(
            args.model,
            args.output,
            args.format,
            args.quantization,
            load(args.representative),
            load(args.samples),
            args.num_samples,
            not args.no_check,
        )
    except (ValueError, ExportParityError) as e:
        report = {"error": str(e), "error_type": type(e).__name__}
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
