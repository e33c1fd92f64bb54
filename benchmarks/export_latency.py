"""Exported file sizes and single-image CPU latency: Keras vs TFLite, CSDNet vs plain.

    KERAS_BACKEND=tensorflow python benchmarks/export_latency.py \
        --backbones resnet50 mobilenet_v3_small --image-size 224 --runs 30
    KERAS_BACKEND=tensorflow python benchmarks/export_latency.py --smoke

For each backbone: a CSDNet (all modules on) and the plain baseline with the
*same* backbone and head weights; Keras `predict` on one image, and the
TFLite file (float32, float16, int8) with the LiteRT interpreter on one
image; medians of `--runs` calls after warm-up. Weights are random (latency
does not depend on them); int8 is calibrated on synthetic cultivar images.
"""

import argparse
import json
import os
import statistics
import tempfile
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbones", nargs="+", default=["resnet50", "mobilenet_v3_small"])
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2, help="LiteRT interpreter threads")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.backbones, args.image_size, args.runs = ["mobilenet_v3_small"], 32, 3
    return args


def median_time(fn, runs, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tflite_latency(path, image, runs, threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    inp = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(inp["index"], [1] + list(image.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], image[None].astype(inp["dtype"]))
    return median_time(interpreter.invoke, runs)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_csdnet
    from keras_csdnet.data import synthetic_cultivar_arrays

    if keras.backend.backend() != "tensorflow":
        raise SystemExit("Run with KERAS_BACKEND=tensorflow (TFLite conversion in-process).")
    size = args.image_size
    (calibration, _), (samples, _) = synthetic_cultivar_arrays(10, size, 3, 2, seed=0)
    image = samples[0].astype("float32")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backbones:
            csdnet = keras_csdnet.CSDNet(backbone=name, num_classes=20, image_size=size, seed=0)
            plain = keras_csdnet.CSDNet(
                backbone=name, num_classes=20, image_size=size, ssdp=False, ddl=False, ssdt=False
            )
            plain.backbone.set_weights(csdnet.backbone.get_weights())
            plain.head.set_weights(csdnet.head.get_weights())
            row = {"backbone": name, "image_size": size}
            for label, model in (("csdnet", csdnet), ("plain", plain)):
                row[f"{label}_keras_predict_ms"] = 1e3 * median_time(
                    lambda m=model: m.predict(image[None], verbose=0), args.runs
                )
                for quant in (None, "float16", "int8"):
                    out = os.path.join(tmp, f"{name}_{label}_{quant or 'float32'}.tflite")
                    report = keras_csdnet.export(
                        model,
                        out,
                        format="tflite",
                        quantization=quant,
                        representative_data=calibration if quant == "int8" else None,
                        sample_images=samples,
                        check=False,
                    )
                    key = f"{label}_tflite_{quant or 'float32'}"
                    row[f"{key}_mb"] = round(report["size_bytes"] / 1e6, 2)
                    row[f"{key}_ms"] = 1e3 * tflite_latency(out, image, args.runs, args.threads)
                    row[f"{key}_top1_agreement"] = report["top1_agreement"]
            row["csdnet_over_plain_keras"] = (
                row["csdnet_keras_predict_ms"] / row["plain_keras_predict_ms"]
            )
            row["csdnet_over_plain_tflite_float32"] = (
                row["csdnet_tflite_float32_ms"] / row["plain_tflite_float32_ms"]
            )
            row = {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
            print(json.dumps(row))
            rows.append(row)
    return rows


if __name__ == "__main__":
    main()
