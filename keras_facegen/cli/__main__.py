"""``python -m keras_facegen.cli``: the ``keras-facegen`` command."""

import sys

from keras_facegen.cli import main

sys.exit(main())
