"""The `csdnet` command line: train, evaluate, predict, export, visualize.

    csdnet train --synthetic --output runs/demo --epochs 5
    csdnet train DATA_DIR --output runs/oaks --shots 3 --image-size 128
    csdnet evaluate runs/oaks
    csdnet predict runs/oaks photo.jpg photos/ --top-k 3
    csdnet export runs/oaks --format tflite --quantization dynamic_int8
    csdnet visualize runs/oaks --compare runs/oaks_baseline

The backend is Keras' own choice, from `KERAS_BACKEND`. Every command takes
`--help`; it exits 0 on success and, on an error, non-zero with one line
naming the problem and the fix (set `CSDNET_TRACEBACK=1` for the traceback).
`python -m keras_csdnet` is the same program.
"""

import argparse
import os
import sys
import warnings

from keras_csdnet.cli.errors import CommandError

COMMANDS = ("train", "evaluate", "predict", "export", "visualize")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser():
    from keras_csdnet.cli import evaluate
    from keras_csdnet.cli import export
    from keras_csdnet.cli import predict
    from keras_csdnet.cli import train
    from keras_csdnet.cli import visualize

    top = _Parser(
        prog="csdnet",
        description="CSDNet for ultra-fine-grained visual categorization: train, evaluate, "
        "predict, export, visualize. The backend comes from KERAS_BACKEND.",
    )
    subparsers = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in (train, evaluate, predict, export, visualize):
        module.add_parser(subparsers)
    return top


def _one_line(error):
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def main(argv=None):
    """Runs one command; returns its exit status (0 success, 1 error, 2 bad usage)."""
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 2
    from keras_csdnet.errors import MissingExtraError
    from keras_csdnet.errors import NonFiniteLossError
    from keras_csdnet.export import ExportParityError

    expected = (
        CommandError,
        ValueError,
        MissingExtraError,
        NonFiniteLossError,
        ExportParityError,
        OSError,
    )
    prog = f"csdnet {args.command}"
    # Keras says this of every tf.data input; the datasets here are shuffled already.
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except expected as e:
        if os.environ.get("CSDNET_TRACEBACK"):
            raise
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug: still one line, with how to see more
        if os.environ.get("CSDNET_TRACEBACK"):
            raise
        print(
            f"{prog}: internal error: {type(e).__name__}: {_one_line(e)} "
            "(set CSDNET_TRACEBACK=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


def console():
    """The `csdnet` console script."""
    sys.exit(main())
