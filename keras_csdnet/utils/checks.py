"""Argument checks shared by the layers: one message style for every setting."""

import numbers

import numpy as np


def as_int(value):
    """NumPy integers (e.g. `np.int64(3)` from `len(np.unique(y))`) as Python ints."""
    return int(value) if isinstance(value, np.integer) else value


def check_int(name, value, low=1, odd=False):
    """Returns `value` as an int, or raises a `ValueError` naming `name`."""
    value = as_int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"`{name}` must be an int >= {low}, got {value!r}.")
    if odd and value % 2 == 0:
        raise ValueError(f"`{name}` must be odd, got {value}.")
    return int(value)


def check_number(name, value, low=None, high=None, low_open=False, high_open=False):
    """Returns `value` as a float in the given range, or raises a `ValueError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{name}` must be a number, got {value!r}.")
    bad = (low is not None and (value <= low if low_open else value < low)) or (
        high is not None and (value >= high if high_open else value > high)
    )
    if bad or value != value:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(
            f"`{name}={value}` is out of range; it must be in "
            f"{lo}{low if low is not None else '-inf'}, "
            f"{high if high is not None else 'inf'}{hi}."
        )
    return float(value)


def check_choice(name, value, choices):
    """Returns `value` if it is one of `choices`, or raises a `ValueError`."""
    if value not in choices:
        raise ValueError(f"Unknown `{name}={value!r}`; use one of {tuple(choices)}.")
    return value
