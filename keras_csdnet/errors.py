"""Errors the library raises besides `ValueError` for bad arguments."""


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (see `NonFiniteLossGuard`)."""
