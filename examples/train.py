"""Train CSDNet on the built-in synthetic cultivars, evaluate it, save it.

The backend comes from the environment only:

    KERAS_BACKEND=jax python examples/train.py            # or tensorflow, torch
    python examples/train.py --smoke                      # about a minute
    python examples/train.py --no-ssdp --no-ddl --no-ssdt # the plain baseline
"""

import argparse
import time

import keras
import numpy as np

import keras_csdnet


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="resnet18",
                   help=f"one of {keras_csdnet.backbones.known_backbones()}")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--classes", type=int, default=20, help="number of cultivars")
    p.add_argument("--train-per-class", type=int, default=3)
    p.add_argument("--test-per-class", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--output", default="csdnet_cultivars.keras",
                   help="where to save the trained model (.keras)")
    p.add_argument("--no-ssdp", action="store_true", help="switch SSDP off")
    p.add_argument("--no-ddl", action="store_true", help="switch DDL off")
    p.add_argument("--no-ssdt", action="store_true", help="switch SSDT off")
    p.add_argument("--smoke", action="store_true",
                   help="tiny run (few classes, 2 epochs) to check the set-up")
    args = p.parse_args(argv)
    if args.smoke:
        args.classes = min(args.classes, 5)
        args.epochs = min(args.epochs, 2)
        args.image_size = min(args.image_size, 64)
        args.test_per_class = min(args.test_per_class, 2)
    return args


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    print(f"backend: {keras.backend.backend()}  keras {keras.__version__}  "
          f"keras_csdnet {keras_csdnet.__version__}")
    train, test = keras_csdnet.data.synthetic_cultivars(
        num_classes=args.classes,
        image_size=args.image_size,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class,
        seed=args.seed,
        batch_size=args.batch_size,
    )
    model = keras_csdnet.CSDNet(
        backbone=args.backbone,
        num_classes=args.classes,
        image_size=args.image_size,
        ssdp=not args.no_ssdp,
        ddl=not args.no_ddl,
        ssdt=not args.no_ssdt,
        learning_rate=args.learning_rate,
        seed=args.seed,
        class_names=train.class_names,
    )
    switches = [n for n, on in (("ssdp", model.ssdp), ("ddl", model.ddl),
                                ("ssdt", model.ssdt)) if on]
    print(f"data: {args.classes} synthetic cultivars, {args.train_per_class} train / "
          f"{args.test_per_class} test images per class, {args.image_size} px")
    print(f"model: CSDNet({args.backbone}) modules: {', '.join(switches) or 'none (baseline)'}")

    start = time.time()
    model.fit(train, epochs=args.epochs, verbose=2)
    train_time = time.time() - start
    result = model.evaluate(test, verbose=0, return_dict=True)
    chance = 1.0 / args.classes
    print(f"training time: {train_time:.1f} s")
    print(f"test accuracy: {result['accuracy']:.4f} (chance {chance:.4f}), "
          f"test loss {result['loss']:.4f}")

    images, labels = next(iter(test))
    predicted = np.argmax(model.predict(images[:3], verbose=0), axis=-1)
    for p, y in zip(predicted, labels[:3].numpy()):
        print(f"  predicted {model.class_names[p]:40s} true {model.class_names[y]}")
    model.save(args.output)
    print(f"saved: {args.output}")
    return result


if __name__ == "__main__":
    main()
