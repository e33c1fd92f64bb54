"""Datasets: built-in synthetic cultivars, image folders, UFG, few-shot splits."""

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
from keras_csdnet.data.folders import ImageFolderSplits
from keras_csdnet.data.folders import detect_layout
from keras_csdnet.data.folders import load_image_folder
from keras_csdnet.data.images import load_image
from keras_csdnet.data.pipeline import make_dataset
from keras_csdnet.data.pipeline import train_augmentation
from keras_csdnet.data.sampler import carve_validation
from keras_csdnet.data.sampler import few_shot_split

__all__ += [
    "ImageFolderSplits",
    "carve_validation",
    "detect_layout",
    "few_shot_split",
    "load_image",
    "load_image_folder",
    "make_dataset",
    "train_augmentation",
]
