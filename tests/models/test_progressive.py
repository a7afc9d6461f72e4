"""ProgressiveGAN: the schedule, a tiny 4 -> 8 -> 16 run, exact resume, EMA, bad configs."""

import keras
import numpy as np
import pytest
from helpers import backend, to_numpy

from keras_facegen.callbacks import resume_from, save_checkpoint, state_variables
from keras_facegen.data import synthetic_faces
from keras_facegen.models import (
    ProgressiveGAN,
    ProgressiveSchedule,
    fade_layers,
    pggan_discriminator,
    pggan_generator,
)
from keras_facegen.models.progressive import phases

SMALL = {"fmap_base": 32, "fmap_max": 8}
LATENT = 8


def _pool2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _networks(resolution, seed=0):
    keras.utils.set_random_seed(seed)
    return (
        pggan_generator(resolution, latent_dim=LATENT, **SMALL),
        pggan_discriminator(resolution, **SMALL),
    )


def _gan(resolution, batch_sizes, seed=0, steps_per_execution=1, **kwargs):
    g, d = _networks(resolution, seed)
    schedule = ProgressiveSchedule(
        resolution, fade_images=8, stable_images=8, batch_sizes=batch_sizes
    )
    gan = ProgressiveGAN(g, d, schedule=schedule, seed=seed, **kwargs)
    gan.compile(steps_per_execution=steps_per_execution)
    return gan


class _Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append((float(logs["alpha"]), int(logs["resolution"]), int(logs["images_seen"])))


# === Schedule ===


def test_schedule_follows_images_seen():
    schedule = ProgressiveSchedule(
        16, fade_images=10, stable_images=20, batch_sizes={4: 8, 8: 4}, learning_rates={16: 3e-3}
    )
    assert [(s.resolution, s.start, s.end) for s in schedule.stages] == [
        (4, 0, 20),
        (8, 20, 50),
        (16, 50, 80),
    ]
    assert schedule.total_images == 80
    expected = {
        0: (4, 1.0, "stable", 8, 1e-3),
        19: (4, 1.0, "stable", 8, 1e-3),
        20: (8, 0.0, "fade", 4, 1e-3),
        23: (8, 0.3, "fade", 4, 1e-3),
        30: (8, 1.0, "stable", 4, 1e-3),
        50: (16, 0.0, "fade", 128, 3e-3),
        57: (16, np.float32(7) / np.float32(10), "fade", 128, 3e-3),
        500: (16, 1.0, "stable", 128, 3e-3),
    }
    for seen, (res, alpha, phase, batch, rate) in expected.items():
        state = schedule(seen)
        assert (state.resolution, state.phase, state.batch_size) == (res, phase, batch), seen
        assert state.alpha == pytest.approx(float(alpha), abs=1e-7)
        assert state.learning_rate == rate


def test_schedule_defaults_are_the_papers():
    schedule = ProgressiveSchedule(128)
    assert (schedule.fade_images, schedule.stable_images) == (600_000, 600_000)
    assert [s.batch_size for s in schedule.stages] == [128, 128, 128, 64, 32, 16]
    assert {s.learning_rate for s in schedule.stages} == {1e-3}
    assert schedule.total_images == 600_000 * 11


def test_phases_run_whole_batches_past_each_boundary():
    schedule = ProgressiveSchedule(8, fade_images=10, stable_images=10, batch_sizes={4: 4, 8: 8})
    assert [(p.stage.resolution, p.kind, p.first, p.steps) for p in phases(schedule)] == [
        (4, "stable", 0, 3),  # 0, 4, 8 -> 12
        (8, "fade", 12, 1),  # 12 -> 20 (fade ends at 20)
        (8, "stable", 20, 2),  # 20, 28 -> 36 (ends at 30)
    ]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fade_images": 0}, "fade_images must be a positive number of images"),
        ({"stable_images": -5}, "received stable_images=-5"),
        ({"resolution": 24}, "resolution must be a power of two"),
        ({"batch_sizes": {8: 0}}, r"batch_sizes\[8\]=0"),
        ({"batch_sizes": {32: 4}}, r"resolutions \[32\] that are not stages"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive number"),
    ],
)
def test_bad_schedules_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ProgressiveSchedule(**{"resolution": 16, **kwargs})


# === Training ===


def _trace_counting(cls):
    class Counting(cls):
        traces = 0

        def _gan_train_step(self, data):
            type(self).traces += 1
            return super()._gan_train_step(data)

    return Counting


def test_tiny_run_follows_the_schedule_exactly():
    images, _ = synthetic_faces(16, resolution=16, seed=0)
    g, d = _networks(16)
    schedule = ProgressiveSchedule(
        16, fade_images=8, stable_images=8, batch_sizes={4: 8, 8: 4, 16: 4}
    )
    gan = _trace_counting(ProgressiveGAN)(g, d, schedule=schedule, seed=0)
    gan.compile()
    recorder = _Recorder()
    gan.fit(images, callbacks=[recorder], verbose=0)

    before, rows = 0, []
    for alpha, res, after in recorder.steps:
        state = schedule(before)
        rows.append((res, after - before, alpha))
        assert (res, after - before) == (state.resolution, state.batch_size), before
        assert alpha == state.alpha, before  # bit-exact: the same float32 arithmetic
        before = after
    assert rows == [
        (4, 8, 1.0),
        (8, 4, 0.0),
        (8, 4, 0.5),
        (8, 4, 1.0),
        (8, 4, 1.0),
        (16, 4, 0.0),
        (16, 4, 0.5),
        (16, 4, 1.0),
        (16, 4, 1.0),
    ]
    assert gan.counter_values() == {"iterations": 9, "images_seen": 40}
    assert gan.resolution == 16
    assert all(float(to_numpy(f.alpha)) == 1.0 for f in fade_layers(g).values())
    assert gan.generate(3, seed=0, ema=True).shape == (3, 16, 16, 3)
    # One trace per stage: the per-step path never recompiles (JAX and TF trace; torch is eager).
    if backend() in ("jax", "tensorflow"):
        assert type(gan).traces == 3


def test_after_the_4x4_stage_growth_continues_it_and_the_ema_of_new_layers_is_initial():
    faces, _ = synthetic_faces(8, resolution=16, seed=1)  # pooled to 8x8 by fit
    gan = _gan(8, {4: 4, 8: 4})
    initial = {v.path: to_numpy(v) for v in gan.generator.trainable_variables}
    gan.fit(faces, until=8, verbose=0)  # the 4x4 stage
    # images_seen = 8 starts the 8x8 fade: the GAN is at its first step (alpha 0).
    assert gan.resolution == 8 and to_numpy(gan.generator.fade_layers[8].alpha) == 0.0

    # EMA: layers not trained yet keep their initial values as their average.
    moved = 0
    for average, weight in zip(gan.ema_weights, gan.generator.trainable_variables):
        if "g_8x8" in weight.path:
            np.testing.assert_allclose(to_numpy(average), initial[weight.path], atol=1e-6)
            np.testing.assert_array_equal(to_numpy(weight), initial[weight.path])
        elif not np.allclose(to_numpy(average), initial[weight.path]):
            moved += 1
    assert moved > 0
    assert gan.generate(2, seed=0, ema=True, resolution=4).shape == (2, 4, 4, 3)
    assert gan.generate(2, seed=0, ema=True, resolution=8).shape == (2, 8, 8, 3)
    assert not np.allclose(gan.generate(2, seed=0, ema=True), gan.generate(2, seed=0))

    # Growth: at alpha 0 the 8x8 networks continue what the 4x4 stage learned.
    z = np.random.default_rng(0).standard_normal((4, LATENT)).astype("float32")
    for network in (gan.generator, gan.discriminator):
        network.fade_layers[8].alpha.assign(0.0)  # the first step of the 8x8 fade
    for ema in (False, True):
        previous = gan.generate(z, resolution=4, ema=ema)
        grown = gan.generate(z, resolution=8, ema=ema)
        np.testing.assert_allclose(grown, previous.repeat(2, 1).repeat(2, 2), atol=1e-5)
    images = _pool2(faces[:4])
    np.testing.assert_allclose(
        to_numpy(gan.discriminator.stage(8)(images)),
        to_numpy(gan.discriminator.stage(4)(_pool2(images))),
        atol=1e-5,
        rtol=1e-5,
    )


def _state(gan):
    gan.sync_state()
    return {key: to_numpy(v) for key, v in state_variables(gan).items()}


def test_interrupted_run_ends_with_the_same_weights(tmp_path):
    images, _ = synthetic_faces(16, resolution=16, seed=2)
    # The uninterrupted run runs 2 steps per compiled call where the backend can: the alpha
    # computed inside the step is exact under steps_per_execution too.
    spe = 2 if backend() in ("jax", "tensorflow") else 1
    uninterrupted = _gan(8, {4: 4, 8: 4}, steps_per_execution=spe)
    uninterrupted.fit(images, until=12, verbose=0)  # one step into the 8x8 fade
    assert uninterrupted.counter_values()["images_seen"] == 12
    save_checkpoint(uninterrupted, tmp_path, epoch=0)  # the "interruption"
    uninterrupted.fit(images, verbose=0)

    resumed = _gan(8, {4: 4, 8: 4}, seed=5)  # other initial weights: all come from the file
    resume_from(resumed, tmp_path)
    assert resumed.resolution == 8  # the stage of the restored images_seen, before fit
    recorder = _Recorder()
    resumed.fit(images, verbose=0, callbacks=[recorder])
    assert [r[:2] for r in recorder.steps] == [(0.5, 8), (1.0, 8), (1.0, 8)]

    expected, actual = _state(uninterrupted), _state(resumed)
    assert set(expected) == set(actual)
    assert any(key.startswith("generator_ema/") for key in expected)
    assert any("fade/alpha" in key for key in expected)
    for key, value in expected.items():
        np.testing.assert_allclose(actual[key], value, rtol=1e-6, atol=1e-6, err_msg=key)


def test_a_split_run_equals_one_fit_call():
    # Stopping and continuing in memory changes nothing either (cheap backends only: the
    # resume test above already covers the compiled ones).
    if backend() != "torch":
        pytest.skip(
            "covered on compiled backends by test_interrupted_run_ends_with_the_same_weights"
        )
    images, _ = synthetic_faces(16, resolution=16, seed=2)
    whole, split = _gan(8, {4: 4, 8: 4}), _gan(8, {4: 4, 8: 4})
    whole.fit(images, verbose=0)
    for until in (4, 12, 16, None):
        split.fit(images, until=until, verbose=0)
    expected, actual = _state(whole), _state(split)
    for key, value in expected.items():
        np.testing.assert_allclose(actual[key], value, rtol=1e-6, atol=1e-6, err_msg=key)


def test_eager_train_step_gives_the_same_weights_as_the_compiled_one():
    # run_eagerly=True (debugging) failed on TensorFlow: the logs returned the images_seen
    # variable itself, which an eager train function cannot pass back.
    images, _ = synthetic_faces(16, resolution=16, seed=3)
    compiled = _gan(8, {4: 4, 8: 4})
    eager = _gan(8, {4: 4, 8: 4})
    eager.compile(run_eagerly=True)
    history = eager.fit(images, verbose=0)
    compiled.fit(images, verbose=0)
    assert (
        eager.counter_values()
        == compiled.counter_values()
        == {
            "iterations": 6,
            "images_seen": 24,
        }
    )
    assert history.history["images_seen"][-1] == 24
    expected, actual = _state(compiled), _state(eager)
    for key, value in expected.items():
        np.testing.assert_allclose(actual[key], value, rtol=1e-5, atol=1e-5, err_msg=key)


def test_saved_progressive_gan_reloads_with_its_schedule_and_counters(tmp_path):
    gan = _gan(8, {4: 4, 8: 4})
    gan.images_seen.assign(12)
    for average in gan.ema_weights:
        average.assign(average.value + 0.5)  # distinguishable from the live weights
    gan.save(tmp_path / "pgan.keras")
    back = keras.saving.load_model(tmp_path / "pgan.keras")
    assert isinstance(back, ProgressiveGAN)
    assert back.schedule == gan.schedule
    assert back.counter_values() == {"iterations": 0, "images_seen": 12}
    z = np.ones((2, LATENT), "float32")
    for ema in (False, True):
        np.testing.assert_allclose(
            back.generate(z, resolution=8, ema=ema), gan.generate(z, resolution=8, ema=ema)
        )


# === Bad configurations ===


def test_bad_configurations_are_value_errors():
    g, d = _networks(16)
    schedule = ProgressiveSchedule(16, fade_images=8, stable_images=8, batch_sizes={4: 6})
    with pytest.raises(ValueError, match=r"4x4 batch size 6 is not divisible .* group"):
        ProgressiveGAN(g, d, schedule=schedule)
    with pytest.raises(ValueError, match="grows to 32x32 but the networks are 16x16"):
        ProgressiveGAN(g, d, schedule=ProgressiveSchedule(32))
    with pytest.raises(ValueError, match="same resolution"):
        ProgressiveGAN(g, pggan_discriminator(8, **SMALL))
    schedule = {"resolution": 16, "fade_images": 8, "stable_images": 8, "batch_sizes": {4: 4}}
    with pytest.raises(ValueError, match="The 16x16 fade would run no train step"):
        ProgressiveGAN(g, d, schedule=schedule)  # default batches of 128 > fade_images
    schedule["batch_sizes"] = {4: 4, 8: 4, 16: 4}
    gan = ProgressiveGAN(g, d, schedule=schedule)
    small = np.zeros((8, 8, 8, 3), "float32")
    with pytest.raises(ValueError, match="Call compile"):
        gan.fit(small)
    gan.compile()
    with pytest.raises(ValueError, match=r"The images are 8x8; the GAN grows to 16x16"):
        gan.fit(small)
    with pytest.raises(ValueError, match=r"shape \(N, S, S, C\)"):
        gan.fit(np.zeros((4, 16, 8, 3), "float32"))
    with pytest.raises(ValueError, match="unsupported arguments: \\['batch_size'\\]"):
        gan.fit(small, batch_size=4)
