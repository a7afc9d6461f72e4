"""GAN: the train step, logging, generate, EMA, saving, mixed precision (active backend)."""

import gan_fixtures as F
import keras
import numpy as np
import pytest
from helpers import to_numpy

from keras_facegen import losses
from keras_facegen.models import GAN
from keras_facegen.models.gan import GANOptimizer


def _gan(**kwargs):
    g = kwargs.pop("generator", None) or F.tiny_generator(batch_norm=kwargs.pop("g_bn", True))
    d = kwargs.pop("discriminator", None) or F.tiny_discriminator()
    return GAN(g, d, **kwargs)


def _weights(model):
    return [to_numpy(v).copy() for v in model.weights]


def _sigmoid_xent(logits, label):
    return np.mean(np.maximum(logits, 0) - logits * label + np.log1p(np.exp(-np.abs(logits))))


def test_fit_trains_both_players_and_logs_every_term():
    gan = _gan(
        matching=[losses.FeatureMatching(1.0), losses.MeanImageMatching(0.5)],
        penalties=[losses.R1Penalty(1.0)],
        seed=0,
    )
    gan.compile()
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    history = gan.fit(F.face_like_images(16), batch_size=8, epochs=2, verbose=0)
    keys = {"d_loss", "g_loss", "feature_matching", "mean_image_matching", "r1_penalty"}
    assert set(history.history) == keys
    for values in history.history.values():
        assert len(values) == 2 and np.all(np.isfinite(values))
    assert all(not np.allclose(a, b) for a, b in zip(g0, _weights(gan.generator)) if a.size > 1)
    assert all(not np.allclose(a, b) for a, b in zip(d0, _weights(gan.discriminator)))
    assert int(to_numpy(gan.generator_optimizer.iterations)) == 4
    assert int(to_numpy(gan.discriminator_optimizer.iterations)) == 4
    assert int(to_numpy(gan.optimizer.iterations)) == 4
    assert isinstance(gan.optimizer, GANOptimizer)


def test_d_steps_updates_the_discriminator_more_often():
    gan = _gan(d_steps=3, seed=0)
    gan.compile(**F.fast_compile_kwargs())
    gan.fit(F.face_like_images(8), batch_size=4, epochs=1, verbose=0)
    assert int(to_numpy(gan.discriminator_optimizer.iterations)) == 6
    assert int(to_numpy(gan.generator_optimizer.iterations)) == 2


def test_logged_losses_equal_a_numpy_reference_on_injected_latents():
    # No BatchNorm: G(z) in training mode equals inference mode, so NumPy can recompute it.
    gan = _gan(g_bn=False, matching=[losses.MeanImageMatching(0.5)], seed=0)
    gan.compile(**F.fast_compile_kwargs())
    images = F.face_like_images(8)
    latents = np.random.default_rng(0).standard_normal((8, F.LATENT_DIM)).astype("float32")
    fake = to_numpy(gan.generator(latents))
    real_logits = to_numpy(gan.discriminator(images)).ravel()
    fake_logits = to_numpy(gan.discriminator(fake)).ravel()
    expected_d = _sigmoid_xent(real_logits, 1.0) + _sigmoid_xent(fake_logits, 0.0)

    logs = gan.train_on_batch(images, latents, return_dict=True)
    # The generator step sees the discriminator after its update.
    fake_logits_after = to_numpy(gan.discriminator(fake)).ravel()
    mean_image = 0.5 * 0.5 * np.sum((fake.mean(0) - images.mean(0)) ** 2)
    expected_g = _sigmoid_xent(fake_logits_after, 1.0) + mean_image
    np.testing.assert_allclose(float(logs["d_loss"]), expected_d, rtol=1e-4)
    np.testing.assert_allclose(float(logs["mean_image_matching"]), mean_image, rtol=1e-4)
    np.testing.assert_allclose(float(logs["g_loss"]), expected_g, rtol=1e-4)


def test_injected_latents_make_runs_identical():
    images = F.face_like_images(8)
    latents = np.random.default_rng(1).standard_normal((8, F.LATENT_DIM)).astype("float32")
    results = []
    # Different seed generators and both batch forms: the injected latents must decide.
    for seed, form in ((0, "tuple"), (99, "dict")):
        gan = _gan(generator=F.tiny_generator(seed=5), discriminator=F.tiny_discriminator(seed=6))
        gan.seed_generator = keras.random.SeedGenerator(seed)
        gan.compile(**F.fast_compile_kwargs())
        if form == "tuple":
            gan.fit(images, latents, batch_size=4, epochs=1, shuffle=False, verbose=0)
        else:
            data = {"images": images, "latents": latents}
            gan.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0)
        results.append(_weights(gan.generator) + _weights(gan.discriminator))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_generate_before_fit_is_reproducible_and_bounded():
    gan = _gan(latent_distribution="uniform")
    assert gan.latent_dim == F.LATENT_DIM and gan.latent_distribution == "uniform"
    a = gan.generate(5, seed=3, batch_size=2)
    b = gan.generate(5, seed=3)
    assert a.shape == (5, 8, 8, 3) and a.dtype == np.float32
    assert np.all(np.abs(a) <= 1.0)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert not np.allclose(a, gan.generate(5, seed=4))
    z = np.random.default_rng(3).uniform(-1, 1, (5, F.LATENT_DIM)).astype("float32")
    np.testing.assert_allclose(gan.generate(z), a, atol=1e-6)
    with pytest.raises(ValueError, match="ema_decay"):
        gan.generate(2, ema=True)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        gan.generate(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="batch_size"):
        gan.generate(2, batch_size=0)


def test_ema_weights_follow_the_generator_with_the_given_decay():
    gan = _gan(ema_decay=0.25, ema_warmup=False, seed=0)
    gan.compile(**F.fast_compile_kwargs())
    g0 = [to_numpy(v).copy() for v in gan.generator.trainable_variables]
    np.testing.assert_allclose(to_numpy(gan.ema_weights[0]), g0[0])
    gan.fit(F.face_like_images(4), batch_size=4, epochs=1, verbose=0)
    g1 = [to_numpy(v) for v in gan.generator.trainable_variables]
    for average, before, after in zip(gan.ema_weights, g0, g1):
        np.testing.assert_allclose(to_numpy(average), 0.25 * before + 0.75 * after, atol=1e-6)
    z = np.random.default_rng(0).standard_normal((3, F.LATENT_DIM)).astype("float32")
    ema_images = gan.generate(z, ema=True)
    assert not np.allclose(ema_images, gan.generate(z))
    # EMA weights are non-trainable state of the GAN (saved, threaded on JAX).
    ids = {id(v) for v in gan.non_trainable_variables}
    assert all(id(v) in ids for v in gan.ema_weights)


def test_custom_function_penalty_is_added_and_logged():
    def quarter(inputs):
        return keras.ops.convert_to_tensor(0.25) + 0.0 * keras.ops.mean(inputs.real_logits)

    gan = _gan(g_bn=False, penalties=[quarter], seed=0)
    gan.compile(**F.fast_compile_kwargs())
    images = F.face_like_images(4)
    z = np.random.default_rng(0).standard_normal((4, F.LATENT_DIM)).astype("float32")
    fake = to_numpy(gan.generator(z))
    adversarial = _sigmoid_xent(to_numpy(gan.discriminator(images)).ravel(), 1.0) + _sigmoid_xent(
        to_numpy(gan.discriminator(fake)).ravel(), 0.0
    )
    logs = gan.train_on_batch(images, z, return_dict=True)
    np.testing.assert_allclose(float(logs["quarter"]), 0.25, rtol=1e-6)
    np.testing.assert_allclose(float(logs["d_loss"]), adversarial + 0.25, rtol=1e-4)


@pytest.mark.parametrize("loss", ["wasserstein", "hinge", "least_squares"])
def test_other_losses_with_penalties_train_finitely(loss):
    gan = _gan(loss=loss, penalties=[losses.GradientPenalty(10.0), losses.Drift(1e-3)], seed=0)
    gan.compile(**F.fast_compile_kwargs())
    history = gan.fit(F.face_like_images(8), batch_size=4, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "gradient_penalty", "drift"}
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert history.history["gradient_penalty"][0] > 0.0


def test_two_class_softmax_with_feature_matching():
    gan = _gan(
        discriminator=F.tiny_discriminator(logits=2, batch_norm=True),
        loss="two_class_softmax",
        matching=[losses.FeatureMatching(1.0, layer="features")],
        seed=0,
    )
    gan.compile(**F.fast_compile_kwargs())
    history = gan.fit(F.face_like_images(8), batch_size=4, epochs=1, verbose=0)
    assert history.history["feature_matching"][0] > 0.0
    assert np.isfinite(history.history["g_loss"][0])


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch autograd graphs")
def test_torch_constant_passes_build_no_autograd_graph():
    # D(real) in the generator step only feeds constants (real features for matching): it must
    # run without autograd, so that no graph through the discriminator is built or kept.
    gan = _gan(
        discriminator=F.tiny_discriminator(batch_norm=True),
        matching=[losses.FeatureMatching(1.0)],
        seed=0,
    )
    gan.compile()
    records = []
    discriminate = gan._discriminate

    def recording(images, training=True):
        logits, features = discriminate(images, training=training)
        records.append(bool(logits.requires_grad))
        return logits, features

    gan._discriminate = recording
    gan.train_on_batch(F.face_like_images(8))
    # Discriminator step: D(real), D(fake) differentiated; generator step: D(fake) only.
    assert records == [True, True, True, False]


def test_tf_dataset_and_py_dataset_inputs():
    import tensorflow as tf

    images = F.face_like_images(8)
    gan = _gan(seed=0)
    gan.compile(**F.fast_compile_kwargs())
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(4), epochs=1, verbose=0)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return images[index * 4 : (index + 1) * 4]

    history = gan.fit(Batches(), epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])
    assert int(to_numpy(gan.generator_optimizer.iterations)) == 4


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_without_nans(policy):
    keras.config.set_dtype_policy(policy)
    gan = _gan(matching=[losses.MeanImageMatching(0.1)], ema_decay=0.9, seed=0)
    gan.compile()
    if policy == "mixed_float16":
        assert isinstance(gan.generator_optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(gan.discriminator_optimizer, keras.optimizers.LossScaleOptimizer)
    history = gan.fit(F.face_like_images(8), batch_size=4, epochs=2, verbose=0)
    for values in history.history.values():
        assert np.all(np.isfinite(values))
    assert all(np.all(np.isfinite(to_numpy(v))) for v in gan.generator.weights)
    assert np.all(np.isfinite(gan.generate(2, seed=0, ema=True)))


def test_save_and_load_keras_file_round_trips(tmp_path):
    gan = _gan(
        loss="hinge",
        matching=[losses.FeatureMatching(0.5)],
        penalties=[losses.R1Penalty(2.0)],
        d_steps=2,
        ema_decay=0.5,
        latent_distribution="uniform",
        seed=7,
    )
    gan.compile(generator_optimizer=keras.optimizers.Adam(1e-3))
    gan.fit(F.face_like_images(4), batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, GAN)
    assert loaded.d_steps == 2 and loaded.ema_decay == 0.5 and loaded.seed == 7
    assert loaded.latent_distribution == "uniform"
    assert type(loaded.adversarial_loss).__name__ == "HingeLoss"
    assert [t.name for t in loaded.penalties + loaded.matching] == [
        "r1_penalty",
        "feature_matching",
    ]
    assert loaded.matching[0].weight == 0.5
    for a, b in zip(gan.generate(3, seed=1, ema=True), loaded.generate(3, seed=1, ema=True)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(
        float(to_numpy(loaded.generator_optimizer.learning_rate)), 1e-3, rtol=1e-6
    )
    for a, b in zip(gan.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-7)
    loaded.fit(F.face_like_images(4), batch_size=4, epochs=1, verbose=0)
    assert int(to_numpy(loaded.generator_optimizer.iterations)) == 2

    gen_path = str(tmp_path / "generator.keras")
    gan.generator.save(gen_path)
    generator = keras.saving.load_model(gen_path)
    z = np.zeros((2, F.LATENT_DIM), "float32")
    np.testing.assert_allclose(to_numpy(generator(z)), to_numpy(gan.generator(z)), atol=1e-6)


def test_bad_arguments_raise_value_errors_naming_them():
    g, d = F.tiny_generator(), F.tiny_discriminator()
    for kwargs, pattern in [
        ({"d_steps": 0}, "d_steps=0"),
        ({"latent_distribution": "cauchy"}, "latent_distribution='cauchy'"),
        ({"ema_decay": 1.0}, "ema_decay=1.0"),
        ({"latent_dim": -2}, "latent_dim=-2"),
        ({"loss": 3}, "loss=3"),
        ({"matching": [losses.MeanImageMatching(1.0), losses.MeanImageMatching(2.0)]}, "names"),
        ({"matching": [losses.FeatureMatching(1.0, layer="nope")]}, "nope"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            GAN(g, d, **kwargs)
    with pytest.raises(ValueError, match="generator"):
        GAN("g", d)
    with pytest.raises(ValueError, match="discriminator"):
        GAN(g, d, penalties=[losses.MeanImageMatching(1.0)])
    gan = GAN(g, d)
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="separate optimizer"):
        gan.compile(generator_optimizer=opt, discriminator_optimizer=opt)
