import helpers
import keras
import numpy as np
import pytest

from keras_facegen import losses, models
from keras_facegen.models import dcgan_discriminator, dcgan_generator, get_preset

NARROW = [8, 8, 4, 4]


def layer_shapes(model, names):
    return {name: tuple(model.get_layer(name).output.shape[1:]) for name in names}


@pytest.mark.parametrize("resolution", [32, 64, 96, 128, 256])
def test_output_shapes(resolution):
    base = resolution // 16
    for upsample in ("transpose", "nearest"):
        generator = dcgan_generator(
            latent_dim=4, resolution=resolution, filters=NARROW, kernel_size=3, upsample=upsample
        )
        assert generator.input_shape == (None, 4)
        assert generator.output_shape == (None, resolution, resolution, 3)
        assert tuple(generator.get_layer("reshape").output.shape[1:]) == (base, base, 8)
    discriminator = dcgan_discriminator(resolution=resolution, filters=NARROW[::-1], kernel_size=3)
    assert discriminator.input_shape == (None, resolution, resolution, 3)
    assert discriminator.output_shape == (None, 1)
    assert tuple(discriminator.get_layer("features").output.shape[1:]) == (base, base, 8)


@pytest.mark.parametrize(
    "upsample, normalization",
    [("transpose", "batch"), ("nearest", "pixel"), ("transpose", "layer"), ("nearest", None)],
)
def test_forward_pass_is_in_range_and_discriminator_accepts_it(upsample, normalization):
    generator = dcgan_generator(
        latent_dim=3,
        resolution=32,
        filters=[8, 4],
        kernel_size=3,
        normalization=normalization,
        upsample=upsample,
        channels=1,
    )
    discriminator = dcgan_discriminator(
        resolution=32,
        filters=[4, 8],
        kernel_size=3,
        normalization=normalization,
        logits=2,
        channels=1,
    )
    # Large latents drive tanh into saturation; the output must still stay within [-1, 1].
    latents = np.random.default_rng(0).normal(scale=50.0, size=(4, 3)).astype("float32")
    images = helpers.to_numpy(generator(latents, training=True))
    assert images.shape == (4, 32, 32, 1)
    assert images.dtype == np.float32
    assert np.all(np.abs(images) <= 1.0)
    assert np.std(images) > 0
    logits = helpers.to_numpy(discriminator(images, training=False))
    assert logits.shape == (4, 2)
    assert np.all(np.isfinite(logits))


def test_normalization_layers():
    kinds = {}
    for normalization in ["batch", "pixel", "layer", None, "none"]:
        generator = dcgan_generator(
            latent_dim=2, resolution=8, filters=[4, 4], normalization=normalization
        )
        norms = [layer for layer in generator.layers if layer.name.endswith("_norm")]
        kinds[normalization] = {type(layer).__name__ for layer in norms}
        assert len(norms) in (0, 2)
    assert kinds == {
        "batch": {"BatchNormalization"},
        "pixel": {"PixelNorm"},
        "layer": {"GroupNormalization"},
        None: set(),
        "none": set(),
    }
    # No normalization on the discriminator's first block, whatever the setting.
    discriminator = dcgan_discriminator(resolution=16, filters=[4, 4, 4], normalization="batch")
    names = {layer.name for layer in discriminator.layers}
    assert "block1_norm" not in names
    assert {"block2_norm", "block3_norm"} <= names
    assert discriminator.get_layer("block1_conv").use_bias
    assert not discriminator.get_layer("block2_conv").use_bias


@pytest.fixture(scope="module")
def face96():
    # Built once: creating weights is the slow part (each new shape compiles on JAX).
    return dcgan_generator("face96"), dcgan_discriminator("face96")


def test_face96_layer_shapes(face96):
    generator, discriminator = face96
    assert generator.name == "face96_generator"
    assert generator.input_shape == (None, 16)
    assert layer_shapes(generator, ["reshape", "block1_conv", "block2_conv", "block3_conv"]) == {
        "reshape": (6, 6, 216),
        "block1_conv": (12, 12, 144),
        "block2_conv": (24, 24, 96),
        "block3_conv": (48, 48, 64),
    }
    assert generator.output_shape == (None, 96, 96, 3)
    assert isinstance(generator.get_layer("block1_conv"), keras.layers.Conv2DTranspose)
    assert generator.get_layer("block1_conv").kernel_size == (5, 5)
    assert layer_shapes(
        discriminator, ["block1_conv", "block2_conv", "block3_conv", "features"]
    ) == {
        "block1_conv": (48, 48, 64),
        "block2_conv": (24, 24, 96),
        "block3_conv": (12, 12, 144),
        "features": (6, 6, 216),
    }
    assert discriminator.output_shape == (None, 2)
    assert losses.FeatureMatching().feature_layer in {layer.name for layer in discriminator.layers}


def test_face96_parameter_counts(face96):
    k = 5 * 5
    batch_norm = 4  # gamma, beta, moving mean, moving variance per channel
    generator_params = (
        16 * 6 * 6 * 216
        + batch_norm * 216  # dense (no bias before batch norm) + norm
        + k * 216 * 144
        + batch_norm * 144
        + k * 144 * 96
        + batch_norm * 96
        + k * 96 * 64
        + batch_norm * 64
        + k * 64 * 3
        + 3  # output conv keeps its bias
    )
    discriminator_params = (
        k * 3 * 64
        + 64  # first conv: no normalization, so a bias
        + k * 64 * 96
        + batch_norm * 96
        + k * 96 * 144
        + batch_norm * 144
        + k * 144 * 216
        + batch_norm * 216
        + 6 * 6 * 216 * 2
        + 2
    )
    assert face96[0].count_params() == generator_params == 1_408_099
    assert face96[1].count_params() == discriminator_params == 1_299_042


def test_dcgan64_and_face64_small_presets():
    dcgan64 = get_preset("dcgan64")
    assert dcgan64["generator"]["filters"] == [1024, 512, 256, 128]
    assert dcgan64["discriminator"]["filters"] == [64, 128, 256, 512]
    assert (dcgan64["resolution"], dcgan64["discriminator"]["logits"]) == (64, 1)
    # The full-width dcgan64 (12.7M parameters) is slow to initialize; narrow filters keep the
    # preset's latent size, resolution ladder and kernel size.
    generator = dcgan_generator("dcgan64", filters=[8, 8, 4, 4])
    assert generator.input_shape == (None, 100)
    assert tuple(generator.get_layer("reshape").output.shape[1:]) == (4, 4, 8)
    assert tuple(generator.get_layer("block3_conv").output.shape[1:]) == (32, 32, 4)
    assert generator.output_shape == (None, 64, 64, 3)
    assert generator.get_layer("block1_conv").kernel_size == (4, 4)
    discriminator = dcgan_discriminator("dcgan64", filters=[4, 4, 8, 8])
    assert tuple(discriminator.get_layer("features").output.shape[1:]) == (4, 4, 8)
    assert discriminator.output_shape == (None, 1)
    # No preset: the dcgan64 values.
    default = dcgan_generator(filters=[8, 8, 4, 4])
    assert default.name == "dcgan_generator"
    assert default.count_params() == generator.count_params()

    small = dcgan_generator("face64_small")
    assert small.input_shape == (None, 16)
    assert small.output_shape == (None, 64, 64, 3)
    assert isinstance(small.get_layer("block1_upsample"), keras.layers.UpSampling2D)
    assert dcgan_discriminator("face64_small").output_shape == (None, 2)
    small_preset = get_preset("face64_small")
    assert small_preset["batch_size"] == 32
    assert small_preset["matching"] == {"feature_matching": 0.01, "mean_image_matching": 0.01}


def test_presets_carry_trainer_facts_and_are_copies():
    face96 = get_preset("face96")
    assert face96["latent_dim"] == 16
    assert face96["latent_distribution"] == "uniform"
    assert face96["batch_size"] == 128
    assert face96["optimizer"]["learning_rate"] == 2e-4
    assert face96["optimizer"]["beta_1"] == 0.5
    assert face96["loss"] == "two_class_softmax"
    assert face96["matching"] == {"feature_matching": 0.1, "mean_image_matching": 0.1}
    small = get_preset("face64_small")
    assert (small["optimizer"]["learning_rate"], small["optimizer"]["beta_1"]) == (4e-4, 0.5)
    dcgan64 = get_preset("dcgan64")
    assert (dcgan64["latent_dim"], dcgan64["latent_distribution"]) == (100, "normal")
    assert dcgan64["loss"] == "non_saturating"
    for name in models.preset_names():
        preset = get_preset(name)
        assert isinstance(losses.get(preset["loss"]), losses.AdversarialLoss)
    face96["generator"]["filters"].append(1)
    assert get_preset("face96")["generator"]["filters"] == [216, 144, 96, 64]


def test_keyword_arguments_override_the_preset():
    generator = dcgan_generator(
        "face96",
        latent_dim=8,
        resolution=48,
        filters=[16, 8, 4],
        upsample="nearest",
        normalization=None,
    )
    assert generator.input_shape == (None, 8)
    assert tuple(generator.get_layer("reshape").output.shape[1:]) == (6, 6, 16)
    assert generator.output_shape == (None, 48, 48, 3)
    assert not any(layer.name.endswith("_norm") for layer in generator.layers)
    # The preset's kernel size stays.
    assert generator.get_layer("block1_conv").kernel_size == (5, 5)
    preset = get_preset("face96")
    preset["discriminator"]["filters"] = [4, 4, 4, 4]
    assert dcgan_discriminator(preset, logits=1).output_shape == (None, 1)
    assert dcgan_discriminator(preset).get_layer("features").output.shape[-1] == 4


@pytest.mark.parametrize("normalization", ["batch", "pixel", "layer"])
def test_config_round_trip(normalization):
    for build in (dcgan_generator, dcgan_discriminator):
        kwargs = {"latent_dim": 3} if build is dcgan_generator else {"logits": 2}
        model = build(
            resolution=16, filters=[4, 4], kernel_size=3, normalization=normalization, **kwargs
        )
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
        restored.set_weights(model.get_weights())
        shape = (2, 3) if build is dcgan_generator else (2, 16, 16, 3)
        x = np.random.default_rng(1).uniform(-1, 1, size=shape).astype("float32")
        np.testing.assert_allclose(
            helpers.to_numpy(restored(x)), helpers.to_numpy(model(x)), rtol=1e-5, atol=1e-6
        )
        assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]


def test_save_and_load_keras_file(tmp_path):
    model = dcgan_generator("face64_small", filters=[8, 4, 4, 4], normalization="pixel")
    path = tmp_path / "generator.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    latents = np.random.default_rng(2).uniform(-1, 1, size=(2, 16)).astype("float32")
    np.testing.assert_allclose(
        helpers.to_numpy(loaded(latents)), helpers.to_numpy(model(latents)), rtol=1e-5, atol=1e-6
    )


BAD_ARGUMENTS = [
    (dcgan_generator, {"resolution": 100}, r"resolution=100 .*multiple of 16 from 32"),
    (dcgan_generator, {"resolution": 16}, r"resolution=16 .*integer >= 2"),
    (dcgan_discriminator, {"resolution": 42, "filters": [4, 4]}, r"multiple of 4 from 8"),
    (dcgan_generator, {"latent_dim": 0}, "latent_dim=0"),
    (dcgan_discriminator, {"minibatch_std": 0}, "minibatch_std=0"),
    (dcgan_generator, {"latent_dim": 2.5}, "latent_dim=2.5"),
    (dcgan_generator, {"filters": []}, r"filters=\[\]"),
    (dcgan_generator, {"filters": [8, -1]}, r"filters=\[8, -1\]"),
    (dcgan_discriminator, {"filters": "64"}, "filters='64'"),
    (dcgan_generator, {"kernel_size": 0}, "kernel_size=0"),
    (dcgan_discriminator, {"kernel_size": (3, 3, 3)}, r"kernel_size=\(3, 3, 3\)"),
    (dcgan_generator, {"normalization": "instance"}, "normalization='instance'"),
    (dcgan_discriminator, {"normalization": "group"}, "normalization='group'"),
    (dcgan_generator, {"upsample": "bilinear"}, "upsample='bilinear'"),
    (dcgan_discriminator, {"logits": 3}, "logits=3"),
    (dcgan_discriminator, {"channels": 0}, "channels=0"),
    (dcgan_generator, {"preset": "face128"}, r"preset='face128'.*'dcgan64', 'face96'"),
    (dcgan_discriminator, {"preset": 96}, "preset=96"),
    (dcgan_generator, {"preset": {"latent_dim": 4}}, "no 'generator' entry"),
]


def test_bad_arguments():
    # One test rather than a parametrization: each case is instant, a test's teardown is not.
    for build, kwargs, message in BAD_ARGUMENTS:
        with pytest.raises(ValueError, match=message):
            build(**kwargs)


def test_get_preset_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"preset='face128'.*'face96'.*'face64_small'"):
        get_preset("face128")


def _plain_transpose_copy(generator):
    """The generator as built before SubpixelConv2DTranspose: plain keras Conv2DTranspose."""
    from keras_facegen.layers import SubpixelConv2DTranspose

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, SubpixelConv2DTranspose):
            config.pop("implementation")
            return keras.layers.Conv2DTranspose.from_config(config)
        return layer.__class__.from_config(config)

    plain = keras.models.clone_model(generator, clone_function=clone)
    plain.set_weights(generator.get_weights())
    return plain


def test_transpose_blocks_are_subpixel_layers_computing_conv2d_transpose():
    from keras_facegen.layers import SubpixelConv2DTranspose

    generator = dcgan_generator(latent_dim=5, resolution=24, filters=[8, 6, 4], kernel_size=5)
    blocks = [generator.get_layer(f"block{i}_conv") for i in (1, 2, 3)]
    assert all(isinstance(layer, SubpixelConv2DTranspose) for layer in blocks)
    assert [layer.implementation for layer in blocks] == ["auto"] * 3
    plain = _plain_transpose_copy(generator)
    assert type(plain.get_layer("block1_conv")) is keras.layers.Conv2DTranspose
    latents = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    expected = helpers.to_numpy(plain(latents, training=True))
    for implementation in ("subpixel", "keras"):
        for layer in blocks:
            layer.implementation = implementation
        np.testing.assert_allclose(
            helpers.to_numpy(generator(latents, training=True)), expected, atol=1e-5
        )


def test_generators_saved_with_plain_conv2d_transpose_still_load(tmp_path):
    generator = dcgan_generator(latent_dim=4, resolution=16, filters=[8, 4], kernel_size=4)
    old = _plain_transpose_copy(generator)
    old.save(tmp_path / "old.keras")
    loaded = keras.saving.load_model(tmp_path / "old.keras")
    assert type(loaded.get_layer("block1_conv")) is keras.layers.Conv2DTranspose
    latents = np.random.default_rng(1).normal(size=(2, 4)).astype("float32")
    expected = helpers.to_numpy(old(latents))
    np.testing.assert_allclose(helpers.to_numpy(loaded(latents)), expected, atol=1e-6)
    # The weights move between the two layer classes as they are (same shapes and order).
    fresh = dcgan_generator(latent_dim=4, resolution=16, filters=[8, 4], kernel_size=4)
    fresh.set_weights(loaded.get_weights())
    np.testing.assert_allclose(helpers.to_numpy(fresh(latents)), expected, atol=1e-5)


def _plain_conv_copy(discriminator):
    """The discriminator as built before SpaceToDepthConv2D: plain keras Conv2D."""
    from keras_facegen.layers import SpaceToDepthConv2D

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, SpaceToDepthConv2D):
            config.pop("implementation")
            return keras.layers.Conv2D.from_config(config)
        return layer.__class__.from_config(config)

    plain = keras.models.clone_model(discriminator, clone_function=clone)
    plain.set_weights(discriminator.get_weights())
    return plain


def test_discriminator_blocks_are_space_to_depth_layers_computing_conv2d():
    from keras_facegen.layers import SpaceToDepthConv2D

    discriminator = dcgan_discriminator(resolution=24, filters=[4, 6, 8], kernel_size=5)
    blocks = [discriminator.get_layer(f"block{i}_conv") for i in (1, 2, 3)]
    assert all(isinstance(layer, SpaceToDepthConv2D) for layer in blocks)
    assert [layer.implementation for layer in blocks] == ["auto"] * 3
    plain = _plain_conv_copy(discriminator)
    assert type(plain.get_layer("block1_conv")) is keras.layers.Conv2D
    images = np.random.default_rng(0).uniform(-1, 1, size=(3, 24, 24, 3)).astype("float32")
    expected = helpers.to_numpy(plain(images, training=True))
    for implementation in ("space_to_depth", "keras"):
        for layer in blocks:
            layer.implementation = implementation
        np.testing.assert_allclose(
            helpers.to_numpy(discriminator(images, training=True)), expected, atol=1e-5
        )


def test_discriminators_saved_with_plain_conv2d_still_load(tmp_path):
    discriminator = dcgan_discriminator(resolution=16, filters=[4, 8], kernel_size=4)
    old = _plain_conv_copy(discriminator)
    old.save(tmp_path / "old.keras")
    loaded = keras.saving.load_model(tmp_path / "old.keras")
    assert type(loaded.get_layer("block1_conv")) is keras.layers.Conv2D
    images = np.random.default_rng(1).uniform(-1, 1, size=(2, 16, 16, 3)).astype("float32")
    expected = helpers.to_numpy(old(images))
    np.testing.assert_allclose(helpers.to_numpy(loaded(images)), expected, atol=1e-6)
    # The weights move between the two layer classes as they are (same shapes and order).
    fresh = dcgan_discriminator(resolution=16, filters=[4, 8], kernel_size=4)
    fresh.set_weights(loaded.get_weights())
    np.testing.assert_allclose(helpers.to_numpy(fresh(images)), expected, atol=1e-5)


def test_minibatch_std_feeds_the_batch_spread_to_the_logits():
    d = dcgan_discriminator(resolution=32, filters=[4, 8], logits=1, minibatch_std=2)
    assert layer_shapes(d, ["features", "minibatch_std"]) == {
        "features": (8, 8, 8),
        "minibatch_std": (8, 8, 9),
    }
    # Two identical images per group: zero spread, so the extra channel is 0 (a constant
    # input to the logits); differing images give a different logit for the same image.
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(1, 32, 32, 3)).astype("float32")
    y = rng.uniform(-1, 1, size=(1, 32, 32, 3)).astype("float32")
    spread = keras.Model(d.input, d.get_layer("minibatch_std").output)
    same = helpers.to_numpy(spread(np.concatenate([x, x])))
    np.testing.assert_allclose(same[..., -1], 0.0, atol=1e-3)
    varied = helpers.to_numpy(spread(np.concatenate([x, y])))
    assert varied[..., -1].min() > 0.01
    with_twin = helpers.to_numpy(d(np.concatenate([x, x])))[0, 0]
    with_other = helpers.to_numpy(d(np.concatenate([x, y])))[0, 0]
    assert abs(with_twin - with_other) > 1e-4
    # Without it, no such layer.
    plain = dcgan_discriminator(resolution=32, filters=[4, 8], logits=1, minibatch_std=None)
    assert "minibatch_std" not in [layer.name for layer in plain.layers]
    config = d.get_config()
    rebuilt = keras.Model.from_config(config)
    assert rebuilt.get_layer("minibatch_std").group_size == 2
