"""Datasets: the built-in synthetic cultivars (more loaders to come)."""

from keras_csdnet.data.synthetic import cultivar_names
from keras_csdnet.data.synthetic import cultivar_traits
from keras_csdnet.data.synthetic import synthetic_cultivar_arrays
from keras_csdnet.data.synthetic import synthetic_cultivars

__all__ = [
    "cultivar_names",
    "cultivar_traits",
    "synthetic_cultivar_arrays",
    "synthetic_cultivars",
]
