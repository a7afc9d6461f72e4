"""``python -m keras_facegen.cli``: the ``keras-facegen`` command."""

import sys

from keras_facegen.cli import main

if __name__ == "__main__":
    sys.exit(main())
