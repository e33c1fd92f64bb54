"""Train CSDNet, choose the checkpoint on validation data, test it, save it.

Data: the built-in synthetic cultivars, or your own folder (`--data-dir`:
`root/<class>/<image>`, `root/{train,val,test}/<class>/<image>` or the UFG
layout). The backend comes from the environment only:

    KERAS_BACKEND=jax python examples/train.py            # or tensorflow, torch
    python examples/train.py --smoke                      # about a minute
    python examples/train.py --no-ssdp --no-ddl --no-ssdt # the plain baseline
    python examples/train.py --data-dir ../shared/data/leaves99 --shots 3 --val-shots 1

The checkpoint kept is the epoch with the best validation accuracy (the
earliest on ties); the test split is used once, at the end.
"""

import argparse
import time

import keras
import numpy as np

import keras_csdnet


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backbone", default="resnet18", help=f"one of {keras_csdnet.backbones.known_backbones()}"
    )
    # 72 px gives ResNets a 3 x 3 final feature map; at 64 px (2 x 2) XLA on
    # CPU hits a slow path that makes a JAX step 3-4x slower (see benchmarks/).
    p.add_argument("--image-size", type=int, default=72)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--classes", type=int, default=20, help="number of cultivars")
    p.add_argument(
        "--train-per-class", type=int, default=10, help="synthetic data: training images per class"
    )
    p.add_argument(
        "--test-per-class", type=int, default=10, help="synthetic data: test images per class"
    )
    p.add_argument("--data-dir", help="image folder to train on instead of synthetic data")
    p.add_argument(
        "--layout", default="auto", choices=["auto"] + keras_csdnet.data.FOLDER_LAYOUTS.names()
    )
    p.add_argument(
        "--shots",
        type=int,
        default=None,
        help="training images per class (default: 3 for --data-dir pools; "
        "all given training images otherwise)",
    )
    p.add_argument(
        "--resize",
        default="shorter_side",
        choices=["shorter_side", "square"],
        help="--data-dir: resize the shorter side (then crop) or both sides",
    )
    p.add_argument(
        "--val-shots",
        type=int,
        default=None,
        help="validation images per class (default 1; 2 for synthetic data)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="AdamW learning rate (default: CSDNet's, 3e-4)",
    )
    p.add_argument(
        "--output",
        default="csdnet_cultivars.keras",
        help="where to save the trained model (.keras)",
    )
    p.add_argument("--no-ssdp", action="store_true", help="switch SSDP off")
    p.add_argument("--no-ddl", action="store_true", help="switch DDL off")
    p.add_argument("--no-ssdt", action="store_true", help="switch SSDT off")
    p.add_argument(
        "--smoke", action="store_true", help="tiny run (few classes, 2 epochs) to check the set-up"
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.classes = min(args.classes, 5)
        args.epochs = min(args.epochs, 2)
        args.image_size = min(args.image_size, 72)
        args.test_per_class = min(args.test_per_class, 2)
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        return run(args)
    except (ValueError, keras_csdnet.errors.NonFiniteLossError) as e:
        # The library's errors name the problem and the fix: one line, no traceback.
        raise SystemExit(f"error: {e}") from None


def run(args):
    keras.utils.set_random_seed(args.seed)
    print(
        f"backend: {keras.backend.backend()}  keras {keras.__version__}  "
        f"keras_csdnet {keras_csdnet.__version__}"
    )
    if args.data_dir:
        layout = (
            keras_csdnet.data.detect_layout(args.data_dir) if args.layout == "auto" else args.layout
        )
        shots = args.shots if args.shots is not None else (3 if layout == "classes" else None)
        train, val, test, names = keras_csdnet.data.load_image_folder(
            args.data_dir,
            layout=layout,
            image_size=args.image_size,
            shots=shots,
            val_shots=1 if args.val_shots is None else args.val_shots,
            seed=args.seed,
            batch_size=args.batch_size,
            resize=args.resize,
        )
        print(
            f"data: {args.data_dir} ({layout} layout), {len(names)} classes, "
            f"{train.num_images} train / {val.num_images} validation / "
            f"{test.num_images} test images, {args.image_size} px"
        )
    else:
        train, val, test = keras_csdnet.data.synthetic_cultivars(
            num_classes=args.classes,
            image_size=args.image_size,
            train_per_class=args.train_per_class,
            test_per_class=args.test_per_class,
            val_per_class=2 if args.val_shots is None else args.val_shots,
            seed=args.seed,
            batch_size=args.batch_size,
        )
        names = train.class_names
        print(
            f"data: {len(names)} synthetic cultivars, {train.num_images} train / "
            f"{val.num_images} validation / {test.num_images} test images, "
            f"{args.image_size} px"
        )
    optional = {} if args.learning_rate is None else dict(learning_rate=args.learning_rate)
    model = keras_csdnet.CSDNet(
        backbone=args.backbone,
        num_classes=len(names),
        image_size=args.image_size,
        ssdp=not args.no_ssdp,
        ddl=not args.no_ddl,
        ssdt=not args.no_ssdt,
        seed=args.seed,
        class_names=names,
        **optional,
    )
    switches = [
        n for n, on in (("ssdp", model.ssdp), ("ddl", model.ddl), ("ssdt", model.ssdt)) if on
    ]
    print(f"model: CSDNet({args.backbone}) modules: {', '.join(switches) or 'none (baseline)'}")

    callbacks, selection = [], "last epoch (no validation images)"
    if val.num_images:
        best = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=args.epochs + 1, restore_best_weights=True
        )
        callbacks.append(best)
    start = time.time()
    model.fit(
        train,
        epochs=args.epochs,
        verbose=2,
        callbacks=callbacks,
        validation_data=val if val.num_images else None,
    )
    train_time = time.time() - start
    if val.num_images:
        selection = (
            f"epoch {best.best_epoch + 1}, best validation accuracy "
            f"{best.best:.4f}; chosen on validation, never on test"
        )
    result = model.evaluate(test, verbose=0, return_dict=True)
    chance = 1.0 / len(names)
    print(f"training time: {train_time:.1f} s")
    print(f"checkpoint: {selection}")
    print(
        f"test accuracy: {result['accuracy']:.4f} (chance {chance:.4f}), "
        f"test loss {result['loss']:.4f}"
    )

    images, labels = next(iter(test))
    predicted = np.argmax(model.predict(images[:3], verbose=0), axis=-1)
    for p, y in zip(predicted, np.asarray(labels[:3])):
        print(f"  predicted {model.class_names[p]:40s} true {model.class_names[y]}")
    model.save(args.output)
    print(f"saved: {args.output}")
    return result


if __name__ == "__main__":
    main()
