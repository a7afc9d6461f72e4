import doctest
import importlib

import pytest

MODULES = ("pixel_norm", "minibatch_std_dev", "equalized_dense", "equalized_conv2d", "fade_in")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"keras_facegen.layers.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3
    assert result.failed == 0
