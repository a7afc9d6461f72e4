"""GAN core second pass: relativistic losses, evaluate, batch checks, unused variables,
learning-rate callbacks, EMA warm-up (active backend)."""

import gan_fixtures as F
import keras
import numpy as np
import pytest
from helpers import to_numpy
from keras import ops

from keras_facegen import losses
from keras_facegen.models import GAN


def _sigmoid_xent(logits, label):
    return np.mean(np.maximum(logits, 0) - logits * label + np.log1p(np.exp(-np.abs(logits))))


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _latents(num, seed=0):
    return np.random.default_rng(seed).standard_normal((num, F.LATENT_DIM)).astype("float32")


# === 1. Relativistic custom losses ===


def _rasgan_d(real_logits, fake_logits):
    r, f = losses.realness(real_logits), losses.realness(fake_logits)
    return ops.mean(ops.softplus(-(r - ops.mean(f)))) + ops.mean(ops.softplus(f - ops.mean(r)))


def _rasgan_g(fake_logits, real_logits):
    r, f = losses.realness(real_logits), losses.realness(fake_logits)
    return ops.mean(ops.softplus(-(f - ops.mean(r)))) + ops.mean(ops.softplus(r - ops.mean(f)))


def test_relativistic_custom_loss_gets_real_logits_in_the_generator_step():
    loss = losses.CustomAdversarialLoss(_rasgan_d, _rasgan_g, name="rasgan")
    assert loss.needs_real_logits
    assert not losses.CustomAdversarialLoss(_rasgan_d, lambda f: ops.mean(f)).needs_real_logits
    assert not losses.get("non_saturating").needs_real_logits
    gan = GAN(F.tiny_generator(batch_norm=False), F.tiny_discriminator(), loss=loss, seed=0)
    gan.compile(**F.fast_compile_kwargs())
    images, z = F.face_like_images(8), _latents(8)
    fake = to_numpy(gan.generator(z))
    logs = gan.train_on_batch(images, z, return_dict=True)
    # The generator step sees the discriminator after its update.
    r = to_numpy(gan.discriminator(images)).ravel()
    f = to_numpy(gan.discriminator(fake)).ravel()
    expected = np.mean(_softplus(-(f - r.mean()))) + np.mean(_softplus(r - f.mean()))
    np.testing.assert_allclose(float(logs["g_loss"]), expected, rtol=1e-4)
    history = gan.fit(images, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])


# === 3. evaluate / validation_data ===


def _gan_for_evaluate(**kwargs):
    return GAN(
        F.tiny_generator(batch_norm=True),
        F.tiny_discriminator(batch_norm=True),
        penalties=[losses.R1Penalty(2.0), losses.GradientPenalty(1.0)],
        matching=[losses.MeanImageMatching(0.5), losses.FeatureMatching(1.0)],
        seed=0,
        **kwargs,
    )


def _all_state(gan):
    return [to_numpy(v).copy() for v in gan.variables + gan.optimizer.variables]


def test_evaluate_computes_losses_and_terms_without_updating_anything():
    gan = _gan_for_evaluate()
    gan.compile(**F.fast_compile_kwargs())
    images, z = F.face_like_images(8), _latents(8)
    before = _all_state(gan)
    logs = gan.evaluate(images, z, batch_size=8, verbose=0, return_dict=True)
    for a, b in zip(before, _all_state(gan)):
        np.testing.assert_array_equal(a, b)  # weights, BN statistics, seed state, counters
    # Inference mode: the same numbers as the models called directly.
    fake = to_numpy(gan.generator(z, training=False))
    real_logits = to_numpy(gan.discriminator(images, training=False)).ravel()
    fake_logits = to_numpy(gan.discriminator(fake, training=False)).ravel()
    adversarial_d = _sigmoid_xent(real_logits, 1.0) + _sigmoid_xent(fake_logits, 0.0)
    mean_image = 0.5 * 0.5 * np.sum((fake.mean(0) - images.mean(0)) ** 2)
    np.testing.assert_allclose(logs["mean_image_matching"], mean_image, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(
        logs["g_loss"],
        _sigmoid_xent(fake_logits, 1.0) + mean_image + logs["feature_matching"],
        rtol=1e-4,
    )
    assert logs["r1_penalty"] > 0 and logs["gradient_penalty"] > 0
    np.testing.assert_allclose(
        logs["d_loss"], adversarial_d + logs["r1_penalty"] + logs["gradient_penalty"], rtol=1e-4
    )
    # Without latents: sampled ones, and still nothing changes (the seed state is put back).
    logs2 = gan.evaluate(images, batch_size=4, verbose=0, return_dict=True)
    assert set(logs2) == set(logs) and all(np.isfinite(v) for v in logs2.values())
    for a, b in zip(before, _all_state(gan)):
        np.testing.assert_array_equal(a, b)


def test_fit_with_validation_data_logs_val_entries_and_leaves_training_unchanged():
    images, val = F.face_like_images(8), F.face_like_images(4, seed=3)
    runs = []
    for validation in (None, val):
        gan = _gan_for_evaluate()
        gan.compile(**F.fast_compile_kwargs())
        history = gan.fit(
            images, batch_size=4, epochs=2, verbose=0, shuffle=False, validation_data=validation
        )
        runs.append((history.history, [to_numpy(w) for w in gan.generator.weights]))
    keys = {"d_loss", "g_loss", "r1_penalty", "gradient_penalty"}
    keys |= {"mean_image_matching", "feature_matching"}
    assert set(runs[1][0]) == keys | {f"val_{k}" for k in keys}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in runs[1][0].values())
    for a, b in zip(runs[0][1], runs[1][1]):  # validation altered no training random number
        np.testing.assert_allclose(a, b, atol=1e-6)


# === 4. fit(images, labels) ===


@pytest.mark.parametrize(
    "second",
    [
        np.arange(8),  # integer labels
        np.zeros((8, 1), "float32"),  # one float label per image
        np.zeros((8, F.LATENT_DIM), "int32"),  # integer "latents"
        np.zeros((8, F.LATENT_DIM + 1), "float32"),  # wrong latent size
    ],
)
def test_fit_refuses_labels_or_badly_shaped_latents(second):
    gan = GAN(F.tiny_generator(), F.tiny_discriminator(), seed=0)
    gan.compile(**F.fast_compile_kwargs())
    with pytest.raises(ValueError, match=r"latents must be floats of shape \(N, 4\).*no labels"):
        gan.fit(F.face_like_images(8), second, batch_size=4, epochs=1, verbose=0)


def test_fit_still_accepts_latents_of_the_right_shape():
    gan = GAN(F.tiny_generator(), F.tiny_discriminator(), seed=0)
    gan.compile(**F.fast_compile_kwargs())
    history = gan.fit(F.face_like_images(8), _latents(8), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])


# === 5. Variables without a gradient stay put ===


@keras.saving.register_keras_serializable(package="test_gan_second_pass")
class _Unused(keras.layers.Layer):
    """Holds a weight that the output does not depend on."""

    def build(self, input_shape):
        self.unused = self.add_weight(shape=(3,), initializer="ones", name="unused")

    def call(self, x):
        return x


def test_a_variable_without_gradient_is_not_decayed_or_moved():
    z = keras.Input((F.LATENT_DIM,))
    base = F.tiny_generator(batch_norm=False)
    generator = keras.Model(z, _Unused(name="holder")(base(z)))
    images = keras.Input((8, 8, 3))
    base_d = F.tiny_discriminator()
    discriminator = keras.Model(images, base_d(_Unused(name="holder_d")(images)))
    gan = GAN(generator, discriminator, seed=0)
    gan.compile(
        generator_optimizer=keras.optimizers.AdamW(1e-2, weight_decay=0.5),
        discriminator_optimizer=keras.optimizers.AdamW(1e-2, weight_decay=0.5),
        **F.fast_compile_kwargs(),
    )
    g_used = to_numpy(base.weights[0]).copy()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        gan.fit(F.face_like_images(8), batch_size=4, epochs=1, verbose=0)
    np.testing.assert_array_equal(to_numpy(generator.get_layer("holder").unused), np.ones(3))
    np.testing.assert_array_equal(to_numpy(discriminator.get_layer("holder_d").unused), np.ones(3))
    assert not np.allclose(to_numpy(base.weights[0]), g_used)  # the used ones did train


# === 6. Learning-rate callbacks ===


def test_learning_rate_scheduler_and_reduce_on_plateau_move_both_players():
    gan = GAN(F.tiny_generator(), F.tiny_discriminator(), seed=0)
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(1e-3),
        discriminator_optimizer=keras.optimizers.Adam(4e-3),
        **F.fast_compile_kwargs(),
    )
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(
                (
                    float(to_numpy(self.model.generator_optimizer.learning_rate)),
                    float(to_numpy(self.model.discriminator_optimizer.learning_rate)),
                )
            )

    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3 * 0.5**epoch)
    history = gan.fit(
        F.face_like_images(8), batch_size=4, epochs=3, verbose=0, callbacks=[schedule, Record()]
    )
    np.testing.assert_allclose(seen, [(1e-3, 4e-3), (5e-4, 2e-3), (2.5e-4, 1e-3)], rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], [1e-3, 5e-4, 2.5e-4], rtol=1e-6)
    # The optimizers' state (JAX: the loop's state written back) holds the last rates.
    np.testing.assert_allclose(float(to_numpy(gan.optimizer.learning_rate)), 2.5e-4, rtol=1e-6)

    seen.clear()
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="d_loss", mode="min", factor=0.5, patience=0, min_delta=1e9, verbose=0
    )
    gan.fit(F.face_like_images(8), batch_size=4, epochs=2, verbose=0, callbacks=[plateau, Record()])
    # The first epoch sets the best value; each later one reduces both rates.
    np.testing.assert_allclose(seen, [(2.5e-4, 1e-3), (1.25e-4, 5e-4)], rtol=1e-5)


# === 7. EMA warm-up ===


def test_ema_warmup_equals_the_ramped_average_computed_independently():
    gan = GAN(F.tiny_generator(batch_norm=False), F.tiny_discriminator(), ema_decay=0.9, seed=0)
    gan.compile(**F.fast_compile_kwargs())
    assert gan.ema_warmup
    expected = [to_numpy(v).astype("float64") for v in gan.generator.trainable_variables]
    images = F.face_like_images(4)
    for step in range(12):
        gan.train_on_batch(images)
        decay = min(0.9, (1 + step) / (10 + step))
        weights = [to_numpy(v) for v in gan.generator.trainable_variables]
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights)]
        np.testing.assert_allclose(float(to_numpy(gan.ema_decay_at(step))), decay, rtol=1e-6)
    for average, reference in zip(gan.ema_weights, expected):
        np.testing.assert_allclose(to_numpy(average), reference, atol=1e-6)
    # Without warm-up the first steps use the full decay.
    assert float(
        to_numpy(
            GAN(
                F.tiny_generator(), F.tiny_discriminator(), ema_decay=0.9, ema_warmup=False
            ).ema_decay_at(0)
        )
    ) == pytest.approx(0.9)


# === 10. Per-player optimizers in presets ===


def test_presets_may_give_each_player_its_own_optimizer():
    from keras_facegen.models import get_preset
    from keras_facegen.models.factory import gan_from_preset, player_optimizers_from_preset

    preset = get_preset("face64_small")
    # The old single entry stays the default of both players.
    g, d = player_optimizers_from_preset(preset)
    assert g is not d and type(g) is type(d)
    base_lr = preset["optimizer"]["learning_rate"]
    assert float(to_numpy(g.learning_rate)) == pytest.approx(base_lr)
    assert float(to_numpy(d.learning_rate)) == pytest.approx(base_lr)

    preset["discriminator_optimizer"] = {"learning_rate": base_lr / 4}
    preset["generator_optimizer"] = {"name": "sgd", "learning_rate": 0.01}
    gan = gan_from_preset(preset, resolution=32, seed=0)
    d_opt, g_opt = gan.discriminator_optimizer, gan.generator_optimizer
    assert type(d_opt).__name__ == "Adam" and type(g_opt).__name__ == "SGD"
    assert float(to_numpy(d_opt.learning_rate)) == pytest.approx(base_lr / 4)
    assert float(d_opt.beta_1) == pytest.approx(preset["optimizer"]["beta_1"])  # merged
    assert float(to_numpy(g_opt.learning_rate)) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="discriminator_optimizer"):
        player_optimizers_from_preset({**preset, "discriminator_optimizer": 1e-4})


def test_a_preset_term_takes_a_weight_or_its_constructor_arguments():
    from keras_facegen.models import get_preset
    from keras_facegen.models.factory import gan_from_preset

    preset = get_preset("face64_small")
    preset["penalties"] = {"r1_penalty": {"gamma": 10.0, "every": 16}}
    preset["matching"] = {"feature_matching": 0.5}
    gan = gan_from_preset(preset, resolution=32, seed=0, compile=False)
    (r1,) = gan.penalties
    assert (type(r1).__name__, r1.gamma, r1.every) == ("R1Penalty", 10.0, 16)
    assert gan.matching[0].weight == 0.5
    preset["penalties"] = {"r1_penalty": {"gamma": 10.0, "every": 0}}
    with pytest.raises(ValueError, match=r"every=0; expected an integer >= 1"):
        gan_from_preset(preset, resolution=32, seed=0, compile=False)
