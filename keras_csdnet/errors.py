"""Errors the library raises besides `ValueError` for bad arguments."""


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (see `NonFiniteLossGuard`)."""


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
