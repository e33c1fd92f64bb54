"""`python -m keras_csdnet`: the `csdnet` command line."""

import sys

from keras_csdnet.cli import main

sys.exit(main())
