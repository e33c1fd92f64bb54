"""The second view of an image, by name: `CSDNet(view="discrepancy" | "random")`.

A view is a `keras.layers.Layer` with a `needs_pattern` attribute (True: it is
called as `view(images, pattern)` with SSDP's pattern map; False: as
`view(images)`) and a `check_pattern_shape(pattern_shape, image_size)`
method that warns when the map makes the view degenerate. Register a new
one with `register_view(name, layer_class)`; its constructor takes `seed=`.
"""

import keras

from keras_csdnet.layers.discrepancy_view import DiscrepancyView
from keras_csdnet.layers.random_view import RandomView
from keras_csdnet.utils.registry import Registry

VIEWS = Registry("view", "view")


def register_view(name, layer_class):
    """Registers `layer_class` (a view layer class) as `CSDNet(view=name)`."""
    VIEWS.register(name, layer_class)


def make_view(view, seed=None, **settings):
    """A view layer from a registered name (with `settings`) or a view layer.

    Args:
        view: a name in `VIEWS` or a view `keras.layers.Layer`.
        seed: int or None, the seed of a view built from its name.
        **settings: the view class's constructor arguments (e.g.
            `mask_mode="crop"`), for a view built from its name.
    """
    if isinstance(view, keras.layers.Layer):
        if settings:
            raise ValueError(
                f"Pass view settings ({sorted(settings)}) to the view layer itself, "
                f"not beside `view={type(view).__name__}(...)`."
            )
        if not hasattr(view, "needs_pattern"):
            raise ValueError(
                f"`view={type(view).__name__}(...)` is not a view layer: it needs a "
                "`needs_pattern` attribute and a `check_pattern_shape` method "
                "(see keras_csdnet.views)."
            )
        return view
    return VIEWS.get(view)(seed=seed, **settings)


register_view("discrepancy", DiscrepancyView)
register_view("random", RandomView)
