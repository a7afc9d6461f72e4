"""GAN.iterations / GAN.images_seen: the GAN's own counters (active backend)."""

import gan_fixtures as F
import keras
import pytest
from helpers import to_numpy

from keras_facegen.models import GAN
from keras_facegen.models.gan import COUNTER_DTYPE


class _RecordingGAN(GAN):
    """Writes what the train step sees of the counters into variables of its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen_images = self.add_weight(
            shape=(), initializer="zeros", dtype=COUNTER_DTYPE, trainable=False, name="seen"
        )
        self.seen_steps = self.add_weight(
            shape=(), initializer="zeros", dtype=COUNTER_DTYPE, trainable=False, name="steps"
        )
        self.seen_sum = self.add_weight(
            shape=(), initializer="zeros", dtype=COUNTER_DTYPE, trainable=False, name="sum"
        )

    def _begin_train_step(self, real):
        self.seen_images.assign(self.images_seen.value)
        self.seen_steps.assign(self.iterations.value)
        # The sum over steps of images_seen at each step's start: exact only if every step
        # sees the value its predecessors left (JAX state threading, steps_per_execution).
        self.seen_sum.assign(self.seen_sum.value + self.images_seen.value)


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_counters_count_steps_and_images_and_the_step_sees_them_before(steps_per_execution):
    if steps_per_execution > 1 and keras.backend.backend() == "torch":
        pytest.skip("Keras' PyTorch trainer runs one step per execution")
    gan = _RecordingGAN(F.tiny_generator(), F.tiny_discriminator(), seed=0)
    # The jitted path (slow to compile on JAX) with several steps per execution only.
    kwargs = {} if steps_per_execution > 1 else F.fast_compile_kwargs()
    gan.compile(steps_per_execution=steps_per_execution, **kwargs)
    assert gan.counter_values() == {"iterations": 0, "images_seen": 0}
    # Batches of 4, 4, 2 images per epoch.
    gan.fit(F.face_like_images(10), batch_size=4, epochs=2, verbose=0)
    assert gan.counter_values() == {"iterations": 6, "images_seen": 20}
    assert int(to_numpy(gan.iterations)) == 6 and int(to_numpy(gan.images_seen)) == 20
    assert int(to_numpy(gan.optimizer.iterations)) == 6
    # The last step (the 2-image batch of epoch 2) started after 5 steps and 18 images.
    assert int(to_numpy(gan.seen_steps)) == 5
    assert int(to_numpy(gan.seen_images)) == 18
    assert int(to_numpy(gan.seen_sum)) == 0 + 4 + 8 + 10 + 14 + 18
    assert gan.iterations.dtype == COUNTER_DTYPE and not gan.iterations.trainable
    ids = {id(v) for v in gan.non_trainable_variables}
    assert id(gan.iterations) in ids and id(gan.images_seen) in ids


def test_train_on_batch_counts_too():
    gan = GAN(F.tiny_generator(), F.tiny_discriminator(), seed=0)
    gan.compile(**F.fast_compile_kwargs())
    gan.train_on_batch(F.face_like_images(3))
    gan.train_on_batch(F.face_like_images(5))
    assert gan.counter_values() == {"iterations": 2, "images_seen": 8}


def test_steps_skipped_by_loss_scaling_still_count():
    keras.config.set_dtype_policy("mixed_float16")
    gan = GAN(F.tiny_generator(), F.tiny_discriminator(), seed=0)
    # A loss scale so large that float16 gradients overflow: the optimizers skip these steps.
    gan.compile(
        **F.fast_compile_kwargs(),
        generator_optimizer=keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(), initial_scale=2.0**40
        ),
        discriminator_optimizer=keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(), initial_scale=2.0**40
        ),
    )
    gan.fit(F.face_like_images(32), batch_size=4, epochs=1, verbose=0)
    skipped = 8 - int(to_numpy(gan.generator_optimizer.iterations))
    assert skipped > 0  # the premise: the generator optimizer did not count every step
    assert gan.counter_values() == {"iterations": 8, "images_seen": 32}
    assert int(to_numpy(gan.optimizer.iterations)) == 8


def test_counters_are_saved_in_keras_files(tmp_path):
    gan = GAN(F.tiny_generator(), F.tiny_discriminator(), ema_decay=0.5, seed=0)
    gan.compile(**F.fast_compile_kwargs())
    gan.fit(F.face_like_images(6), batch_size=4, epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.counter_values() == {"iterations": 2, "images_seen": 6}
    assert loaded.ema_warmup is True
