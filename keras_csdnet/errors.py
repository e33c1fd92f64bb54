"""Errors the library raises besides `ValueError` for bad arguments."""


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (see `NonFiniteLossGuard`)."""


class ImageFileError(ValueError):
    """An image file cannot be used: not an image, truncated, too small or too large.

    `reason` is the problem without the file name (for listings of many files).
    """

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the extra to install."""


def require(module, extra, purpose):
    """Imports `module`, or raises `MissingExtraError` naming `pip install` of `extra`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(
            f"{purpose} needs `{module.split('.')[0]}`, which is not installed: "
            f"pip install 'keras-csdnet[{extra}]'."
        ) from e
