"""Progressive-GAN builders: architecture facts, stage views, growth continuity, bad arguments."""

import math

import keras
import numpy as np
import pytest
from helpers import to_numpy

from keras_facegen.layers import EqualizedConv2D, EqualizedDense, FadeIn, MinibatchStdDev, PixelNorm
from keras_facegen.models import (
    fade_layers,
    pggan_discriminator,
    pggan_generator,
    pggan_resolutions,
    pggan_stage,
)
from keras_facegen.models.pggan import ChannelBias

SMALL = {"fmap_base": 64, "fmap_max": 16}
LATENT = 8


def _randomize_biases(model, seed=0):
    # Biases start at zero; non-zero ones make every path of the graph visible in the output.
    rng = np.random.default_rng(seed)
    for variable in model.trainable_variables:
        if variable.name == "bias":
            variable.assign(rng.normal(0, 0.3, variable.shape).astype("float32"))


def _pool2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def test_layers_are_only_library_layers_and_parameter_free_keras_layers():
    g = pggan_generator(32, latent_dim=LATENT, **SMALL)
    d = pggan_discriminator(32, **SMALL)
    ours = (EqualizedConv2D, EqualizedDense, PixelNorm, MinibatchStdDev, FadeIn, ChannelBias)
    for layer in g.layers + d.layers:
        if isinstance(layer, ours):
            continue
        assert not layer.weights, layer.name
        assert not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))


def test_channels_follow_the_reference_formula():
    g = pggan_generator(128, latent_dim=512)  # fmap_base 8192, fmap_max 512
    d = pggan_discriminator(128)

    def nf(stage):
        return min(int(8192 / 2.0**stage), 512)

    for res in (8, 16, 32, 64, 128):
        stage = int(math.log2(res)) - 1
        assert g.get_layer(f"g_{res}x{res}_conv0").filters == nf(stage)
        assert g.get_layer(f"g_{res}x{res}_conv1").filters == nf(stage)
        assert d.get_layer(f"d_{res}x{res}_conv0").filters == nf(stage)
        assert d.get_layer(f"d_{res}x{res}_conv1").filters == nf(stage - 1)
        assert d.get_layer(f"d_{res}x{res}_from_rgb").filters == nf(stage)
        assert g.get_layer(f"g_{res}x{res}_to_rgb").gain == 1.0
    assert [nf(s) for s in (5, 6)] == [256, 128]
    assert g.get_layer("g_4x4_dense").units == 512 * 16
    assert g.get_layer("g_4x4_dense").gain == pytest.approx(math.sqrt(2) / 4)
    assert d.get_layer("d_4x4_output").units == 1
    assert d.get_layer("d_4x4_output").gain == 1.0
    assert d.get_layer("d_4x4_dense").units == nf(0) == 512
    assert tuple(g.output.shape) == (None, 128, 128, 3)
    assert tuple(d.output.shape) == (None, 1)


def test_generator_matches_a_numpy_forward_pass_at_4x4():
    g = pggan_generator(8, latent_dim=LATENT, **SMALL)
    _randomize_biases(g)
    g4 = pggan_stage(g, 4)
    z = np.random.default_rng(1).standard_normal((3, LATENT)).astype("float32")

    def pn(x):
        return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-8)

    def lrelu(x):
        return np.where(x >= 0, x, 0.2 * x)

    dense = g.get_layer("g_4x4_dense")
    w = to_numpy(dense.kernel) * math.sqrt(2) / 4 / math.sqrt(LATENT)
    # One bias per channel of the 4x4 map (the reference's `apply_bias` after the reshape).
    bias = to_numpy(g.get_layer("g_4x4_bias").bias)
    assert dense.bias is None and bias.shape == (16,)
    x = pn(lrelu((pn(z) @ w).reshape(3, 4, 4, -1) + bias))
    conv = g.get_layer("g_4x4_conv")
    k = to_numpy(conv.kernel) * math.sqrt(2) / math.sqrt(9 * x.shape[-1])
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = np.zeros((3, 4, 4, k.shape[-1]), "float32")
    for i in range(3):
        for j in range(3):
            y += np.einsum("nhwc,cf->nhwf", padded[:, i : i + 4, j : j + 4], k[i, j])
    x = pn(lrelu(y + to_numpy(conv.bias)))
    rgb = g.get_layer("g_4x4_to_rgb")
    expected = x @ to_numpy(rgb.kernel)[0, 0] / math.sqrt(x.shape[-1]) + to_numpy(rgb.bias)
    np.testing.assert_allclose(to_numpy(g4(z)), expected, rtol=1e-4, atol=1e-5)


def test_stage_views_share_the_full_networks_layers():
    g = pggan_generator(32, latent_dim=LATENT, **SMALL)
    d = pggan_discriminator(32, **SMALL)
    assert pggan_resolutions(g) == pggan_resolutions(d) == [4, 8, 16, 32]
    for res in (4, 8, 16):
        gv, dv = pggan_stage(g, res), pggan_stage(d, res)
        assert tuple(gv.output.shape) == (None, res, res, 3)
        assert tuple(dv.input.shape) == (None, res, res, 3)
        full_ids = {id(v) for v in g.weights}
        assert {id(v) for v in gv.weights} <= full_ids
        assert {id(v) for v in dv.weights} <= {id(v) for v in d.weights}
        assert pggan_resolutions(gv) == [r for r in (4, 8, 16, 32) if r <= res]
    # Writing through a view writes the full network.
    view = pggan_stage(g, 8)
    view.get_layer("g_8x8_conv0").bias.assign(np.full((16,), 2.0, "float32"))
    np.testing.assert_array_equal(to_numpy(g.get_layer("g_8x8_conv0").bias), 2.0)
    assert sorted(fade_layers(d)) == [8, 16, 32]


@pytest.mark.parametrize("resolution", [8, 16])
def test_grown_generator_at_alpha_0_is_the_upsampled_previous_stage(resolution):
    g = pggan_generator(16, latent_dim=LATENT, **SMALL)
    _randomize_biases(g)
    z = np.random.default_rng(2).standard_normal((4, LATENT)).astype("float32")
    fade = fade_layers(g)[resolution]
    previous = to_numpy(pggan_stage(g, resolution // 2)(z))
    upsampled = previous.repeat(2, axis=1).repeat(2, axis=2)
    fade.alpha.assign(0.0)
    grown = to_numpy(pggan_stage(g, resolution)(z))
    np.testing.assert_allclose(grown, upsampled, atol=1e-5, rtol=0)
    fade.alpha.assign(0.5)  # the new block really is blended in (so the check above can fail)
    assert np.abs(to_numpy(pggan_stage(g, resolution)(z)) - upsampled).max() > 1e-3


@pytest.mark.parametrize("resolution", [8, 16])
def test_grown_discriminator_at_alpha_0_scores_the_pooled_image_as_before(resolution):
    d = pggan_discriminator(16, **SMALL)
    _randomize_biases(d)
    x = np.random.default_rng(3).uniform(-1, 1, (4, resolution, resolution, 3)).astype("float32")
    fade = fade_layers(d)[resolution]
    previous = to_numpy(pggan_stage(d, resolution // 2)(_pool2(x)))
    fade.alpha.assign(0.0)
    grown = to_numpy(pggan_stage(d, resolution)(x))
    np.testing.assert_allclose(grown, previous, atol=1e-5, rtol=1e-5)
    fade.alpha.assign(0.5)
    assert np.abs(to_numpy(pggan_stage(d, resolution)(x)) - previous).max() > 1e-4


def test_built_networks_are_the_full_resolution_networks():
    g = pggan_generator(8, latent_dim=LATENT, **SMALL)
    assert all(float(to_numpy(f.alpha)) == 1.0 for f in fade_layers(g).values())
    assert pggan_stage(g, 8).count_params() == g.count_params()


def test_saved_network_reloads_with_its_stage_views(tmp_path):
    g = pggan_generator(8, latent_dim=LATENT, **SMALL)
    _randomize_biases(g)
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.saving.load_model(path)
    z = np.ones((2, LATENT), "float32")
    np.testing.assert_allclose(to_numpy(loaded(z)), to_numpy(g(z)), atol=1e-6)
    np.testing.assert_allclose(
        to_numpy(pggan_stage(loaded, 4)(z)), to_numpy(pggan_stage(g, 4)(z)), atol=1e-6
    )


@pytest.mark.parametrize("resolution", [4, 12, 48, 2048, 64.0, True])
def test_bad_resolution_is_a_value_error(resolution):
    with pytest.raises(ValueError, match="resolution must be a power of two"):
        pggan_generator(resolution, latent_dim=LATENT, **SMALL)
    with pytest.raises(ValueError, match="resolution must be a power of two"):
        pggan_discriminator(resolution, **SMALL)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dim": 0}, "latent_dim must be a positive integer; received latent_dim=0"),
        ({"fmap_base": 0}, "fmap_base"),
        ({"fmap_max": -1}, "fmap_max"),
        ({"fmap_decay": -1.0}, "fmap_decay"),
        ({"channels": 0}, "channels"),
    ],
)
def test_bad_generator_arguments_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pggan_generator(8, **{"latent_dim": LATENT, **SMALL, **kwargs})


def test_bad_stage_or_model_is_a_value_error():
    g = pggan_generator(8, latent_dim=LATENT, **SMALL)
    with pytest.raises(ValueError, match=r"one of the network's stages \[4, 8\]; received"):
        pggan_stage(g, 16)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="pggan_generator or pggan_discriminator"):
        pggan_stage(other, 4)
    with pytest.raises(ValueError, match="mbstd_group_size"):
        pggan_discriminator(8, mbstd_group_size=0, **SMALL)
