"""Warnings that point at the user's line, whatever the call depth."""

import os
import sys
import warnings

# Frames in these packages are library frames; the warning skips past them.
_LIBRARIES = ("keras_csdnet", "keras", "keras_hub", "tensorflow", "jax", "torch", "optree")


def _library_dirs():
    dirs = []
    for name in _LIBRARIES:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            dirs.append(os.path.dirname(os.path.abspath(module.__file__)) + os.sep)
    return tuple(dirs)


def warn_user(message, category=UserWarning):
    """`warnings.warn` attributed to the first frame outside the libraries.

    The warning names the user's line (e.g. the `CSDNet(...)` call) however
    many keras_csdnet, Keras or backend frames lie between, on any backend.
    """
    internal = _library_dirs()
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(internal):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level + 1)
