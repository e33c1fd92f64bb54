"""TFDS builders for the five UFG leaf datasets, from a manual download.

Importing this module registers `cotton80`, `soy_local`, `soy_gene`,
`soy_ageing` (configs `r1`, `r3`, `r4`, `r5`, `r6`) and `soy_global` with
TensorFlow Datasets. The data cannot be downloaded automatically; each
builder reads a folder in the UFG layout (`images/` and `anno/train.txt`,
`anno/test.txt`, lines `<image path> <1-based label>`) from the manual
directory:

```python
import tensorflow_datasets as tfds
import keras_csdnet.data.ufg_tfds  # registers the builders
ds = tfds.load("cotton80", split="train",
               download_and_prepare_kwargs={"download_config":
                   tfds.download.DownloadConfig(manual_dir="~/ufg")})
```

References:
    Yu et al., "Benchmark Platform for Ultra-Fine-Grained Visual
    Categorization Beyond Human Performance", ICCV 2021.
"""

import os

import tensorflow_datasets as tfds

from keras_csdnet.data.folders import ufg_entries
from keras_csdnet.data.images import read_image

UFG_HOMEPAGE = "https://github.com/XiaohanYu-GU/Ultra-FGVC"

_INSTRUCTIONS = """\
The UFG datasets cannot be downloaded automatically. Get them from
{homepage} (Google Drive / Baidu links in its README), unpack them, and place
the folder of this dataset under your manual directory as:

  <manual_dir>/{folder}/images/...
  <manual_dir>/{folder}/anno/train.txt
  <manual_dir>/{folder}/anno/test.txt

then pass it with
  tfds.download.DownloadConfig(manual_dir="<manual_dir>")
(or `tfds build ... --manual_dir <manual_dir>`).
"""


class _UFGBuilder(tfds.core.GeneratorBasedBuilder):
    """Shared logic: one UFG folder -> train/test splits of (image, label)."""

    VERSION = tfds.core.Version("1.0.0")
    NUM_CLASSES = None
    FOLDER = None

    def _folder(self):
        return self.FOLDER

    def _num_classes(self):
        return self.NUM_CLASSES

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=f"UFG {self._folder()} ultra-fine-grained leaf images (manual download).",
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "label": tfds.features.ClassLabel(num_classes=self._num_classes()),
                    "file_name": tfds.features.Text(),
                }
            ),
            supervised_keys=("image", "label"),
            homepage=UFG_HOMEPAGE,
        )

    def _split_generators(self, dl_manager):
        root = os.path.join(dl_manager.manual_dir, self._folder())
        if not os.path.isfile(os.path.join(root, "anno", "train.txt")):
            raise AssertionError(
                f"UFG data for {self.name!r} not found at {root!r}.\n"
                + _INSTRUCTIONS.format(homepage=UFG_HOMEPAGE, folder=self._folder())
            )
        train, _, test, _ = ufg_entries(root, self._num_classes())
        return {"train": self._generate_examples(train), "test": self._generate_examples(test)}

    def _generate_examples(self, entries):
        for path, label in entries:
            yield path, {"image": read_image(path), "label": label, "file_name": path}


def _manual_instructions(folder):
    return _INSTRUCTIONS.format(homepage=UFG_HOMEPAGE, folder=folder)


class Cotton80(_UFGBuilder):
    """UFG Cotton80: 80 cotton cultivars, 3 train / 3 test images each."""

    NUM_CLASSES, FOLDER = 80, "Cotton80"
    MANUAL_DOWNLOAD_INSTRUCTIONS = _manual_instructions("Cotton80")


class SoyLocal(_UFGBuilder):
    """UFG SoyLocal: 200 soybean cultivars, 3 train / 3 test images each."""

    NUM_CLASSES, FOLDER = 200, "SoyLocal"
    MANUAL_DOWNLOAD_INSTRUCTIONS = _manual_instructions("SoyLocal")


class SoyGene(_UFGBuilder):
    """UFG SoyGene: 1110 soybean cultivars, 12,763 train / 11,143 test images."""

    NUM_CLASSES, FOLDER = 1110, "SoyGene"
    MANUAL_DOWNLOAD_INSTRUCTIONS = _manual_instructions("SoyGene")


class SoyGlobal(_UFGBuilder):
    """UFG SoyGlobal: 1938 soybean cultivars, 5,814 train / 5,814 test images."""

    NUM_CLASSES, FOLDER = 1938, "SoyGlobal"
    MANUAL_DOWNLOAD_INSTRUCTIONS = _manual_instructions("SoyGlobal")


class SoyAgeingConfig(tfds.core.BuilderConfig):
    """One SoyAgeing subset (R1, R3, R4, R5 or R6)."""


class SoyAgeing(_UFGBuilder):
    """UFG SoyAgeing: 198 cultivars per subset; configs r1, r3, r4, r5, r6."""

    NUM_CLASSES = 198
    BUILDER_CONFIGS = [
        SoyAgeingConfig(name=f"r{i}", description=f"SoyAgeing-R{i}") for i in (1, 3, 4, 5, 6)
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = _INSTRUCTIONS.format(
        homepage=UFG_HOMEPAGE, folder="SoyAgeing-R<1|3|4|5|6>"
    )

    def _folder(self):
        return f"SoyAgeing-{self.builder_config.name.upper()}"


UFG_BUILDERS = {
    "cotton80": Cotton80,
    "soy_local": SoyLocal,
    "soy_gene": SoyGene,
    "soy_ageing": SoyAgeing,
    "soy_global": SoyGlobal,
}
