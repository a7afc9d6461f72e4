"""The stride-1 convolution the fast strided layers share: matmul and conv paths, one function."""

import numpy as np
import pytest
from helpers import to_numpy
from layer_checks import input_gradient

from keras_facegen.layers import _strided


def _reference(x, kernel):
    """Valid stride-1 cross-correlation, written out over kernel taps."""
    kh, kw = kernel.shape[:2]
    rows, cols = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[3]))
    for u in range(kh):
        for v in range(kw):
            out += np.einsum("nhwc,cd->nhwd", x[:, u : u + rows, v : v + cols], kernel[u, v])
    return out


@pytest.mark.parametrize("out_channels", [4, _strided.MATMUL_MIN_OUTPUT_CHANNELS])
@pytest.mark.parametrize("kernel_size", [(1, 1), (2, 3)])
def test_conv_valid_matches_the_tap_sum(out_channels, kernel_size):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    kernel = rng.normal(size=(*kernel_size, 3, out_channels)).astype("float32")
    np.testing.assert_allclose(
        to_numpy(_strided.conv_valid(x, kernel)), _reference(x, kernel), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("out_channels", [4, _strided.MATMUL_MIN_OUTPUT_CHANNELS])
def test_conv_valid_input_gradient_matches_the_tap_sum(out_channels):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    kernel = rng.normal(size=(2, 2, 3, out_channels)).astype("float32")
    weights = rng.normal(size=(2, 3, 3, out_channels)).astype("float32")
    # d/dx sum(weights * conv(x)): each tap scatters weights @ kernel[u, v].T back onto x.
    expected = np.zeros_like(x)
    for u in range(2):
        for v in range(2):
            expected[:, u : u + 3, v : v + 3] += weights @ kernel[u, v].T
    _, got = input_gradient(lambda t: _strided.conv_valid(t, kernel), x, weights)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
