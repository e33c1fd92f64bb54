"""Datasets: built-in synthetic cultivars, image folders, UFG, few-shot splits."""

from keras_csdnet.data.augment import augment_batch
from keras_csdnet.data.augment import augment_image
from keras_csdnet.data.folders import FOLDER_LAYOUTS
from keras_csdnet.data.folders import ImageFolderSplits
from keras_csdnet.data.folders import detect_layout
from keras_csdnet.data.folders import load_image_folder
from keras_csdnet.data.folders import register_layout
from keras_csdnet.data.images import load_image
from keras_csdnet.data.pipeline import make_dataset
from keras_csdnet.data.pipeline import seeded_passes
from keras_csdnet.data.sampler import carve_validation
from keras_csdnet.data.sampler import few_shot_split
from keras_csdnet.data.sequence import FewShotSequence
from keras_csdnet.data.synthetic import cultivar_names
from keras_csdnet.data.synthetic import cultivar_traits
from keras_csdnet.data.synthetic import synthetic_cultivar_arrays
from keras_csdnet.data.synthetic import synthetic_cultivars

__all__ = [
    "FOLDER_LAYOUTS",
    "FewShotSequence",
    "augment_batch",
    "augment_image",
    "ImageFolderSplits",
    "carve_validation",
    "cultivar_names",
    "cultivar_traits",
    "detect_layout",
    "few_shot_split",
    "load_image",
    "load_image_folder",
    "make_dataset",
    "register_layout",
    "seeded_passes",
    "synthetic_cultivar_arrays",
    "synthetic_cultivars",
]
