"""SampleGrid and exact-resume checkpoints (active backend)."""

import gan_fixtures as F
import keras
import numpy as np
import pytest
from helpers import to_numpy
from PIL import Image

from keras_facegen import callbacks, losses
from keras_facegen.models import GAN


def _gan(**kwargs):
    gan = GAN(
        F.tiny_generator(seed=11),
        F.tiny_discriminator(seed=12, batch_norm=True),
        matching=[losses.MeanImageMatching(0.5)],
        ema_decay=0.5,
        seed=3,
        **kwargs,
    )
    gan.compile(**F.fast_compile_kwargs())
    return gan


def _state(gan):
    return [to_numpy(v).copy() for v in gan.variables + gan.optimizer.variables]


def test_sample_grid_writes_pngs_of_fixed_latents(tmp_path):
    gan = _gan()
    grid = callbacks.SampleGrid(tmp_path / "samples", every_n_steps=2, num_images=4, seed=5)
    gan.fit(F.face_like_images(16), batch_size=4, epochs=1, verbose=0, callbacks=[grid])
    assert [p.name for p in grid.written] == ["step_0000002.png", "step_0000004.png"]
    image = np.asarray(Image.open(grid.written[-1]))
    assert image.shape == (2 * 10 + 2, 2 * 10 + 2, 3)  # 2x2 cells of 8 px, 2 px padding
    expected = gan.generate(4, seed=5)[0]
    cell = image[2:10, 2:10].astype("float32") / 127.5 - 1.0
    np.testing.assert_allclose(cell, expected, atol=1.5 / 127.5)
    with pytest.raises(ValueError, match="every_n_steps=0"):
        callbacks.SampleGrid(tmp_path, every_n_steps=0)


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path):
    images = F.face_like_images(8)
    uninterrupted = _gan()
    uninterrupted.fit(images, batch_size=4, epochs=3, shuffle=False, verbose=0)

    first = _gan()
    checkpoint = callbacks.GANCheckpoint(tmp_path / "ckpt", every_n_steps=1)
    first.fit(images, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[checkpoint])
    assert checkpoint.exists()

    resumed = _gan()  # a fresh process would build the same objects
    initial_epoch = callbacks.resume_from(resumed, tmp_path / "ckpt")
    assert initial_epoch == 2
    assert int(to_numpy(resumed.optimizer.iterations)) == 4
    assert resumed.counter_values() == {"iterations": 4, "images_seen": 16}
    resumed.fit(
        images, batch_size=4, epochs=3, initial_epoch=initial_epoch, shuffle=False, verbose=0
    )
    for a, b in zip(_state(uninterrupted), _state(resumed)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    gan = _gan()
    path = callbacks.save_checkpoint(gan, tmp_path, epoch=1)
    before = path.read_bytes()
    gan.fit(F.face_like_images(4), batch_size=4, epochs=1, verbose=0)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(callbacks.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        callbacks.save_checkpoint(gan, tmp_path, epoch=2)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]
    monkeypatch.undo()
    assert callbacks.resume_from(_gan(), tmp_path) == 1


def test_missing_or_mismatched_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint.npz"):
        callbacks.resume_from(_gan(), tmp_path / "nowhere")
    callbacks.save_checkpoint(_gan(), tmp_path, epoch=0)
    other = GAN(F.tiny_generator(), F.tiny_discriminator())
    other.compile()
    with pytest.raises(ValueError, match="variables"):
        callbacks.resume_from(other, tmp_path)
    with pytest.raises(ValueError, match="compiled"):
        callbacks.save_checkpoint(GAN(F.tiny_generator(), F.tiny_discriminator()), tmp_path, 0)
    assert keras.ops.convert_to_numpy(_gan().optimizer.iterations) == 0


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="one step per execution on torch")
def test_callbacks_name_files_by_the_real_step_under_steps_per_execution(tmp_path, monkeypatch):
    gan = GAN(F.tiny_generator(seed=11), F.tiny_discriminator(seed=12), seed=3)
    gan.compile(steps_per_execution=2, **F.fast_compile_kwargs())
    grid = callbacks.SampleGrid(tmp_path / "samples", every_n_steps=2, num_images=4, seed=5)
    saved_at = []
    save = callbacks.save_checkpoint

    def recording_save(model, directory, epoch):
        saved_at.append(model.counter_values()["iterations"])
        return save(model, directory, epoch)

    monkeypatch.setattr(callbacks, "save_checkpoint", recording_save)
    checkpoint = callbacks.GANCheckpoint(
        tmp_path / "ckpt", every_n_steps=4, save_on_epoch_end=False
    )
    # 8 steps in 4 executions of 2: Keras calls on_train_batch_end 4 times.
    gan.fit(F.face_like_images(32), batch_size=4, epochs=1, verbose=0, callbacks=[grid, checkpoint])
    assert [p.name for p in grid.written] == [f"step_{s:07d}.png" for s in (2, 4, 6, 8)]
    assert saved_at == [4, 8]
    with np.load(checkpoint.path) as data:
        assert int(data["step"]) == 8 and int(data["images_seen"]) == 32


def test_checkpoint_keys_are_stable_paths_independent_of_auto_names():
    first, second = _gan(), _gan()  # the second's layers are auto-named dense_2, conv2d_2...
    assert first.generator.layers[1].name != second.generator.layers[1].name
    keys = list(callbacks.state_variables(first))
    assert keys == list(callbacks.state_variables(second))
    assert len(keys) == len(set(keys)) == len(first.variables) + len(first.optimizer.variables)
    for key in (
        "generator/dense/kernel",
        "generator_ema/dense/kernel",
        "discriminator/dense/bias",
        "gan/iterations",
        "gan/images_seen",
        "generator_optimizer/dense/kernel/momentum",
        "discriminator_optimizer/conv2d/kernel/velocity",
        "discriminator_optimizer/iteration",
    ):
        assert key in keys, key
    state = callbacks.state_variables(first)
    assert state["generator/dense/kernel"] is first.generator.layers[1].kernel
    assert state["generator_ema/dense/kernel"] is first.ema_weights[0]


def _grown_generator():
    # The tiny generator plus a layer with a name of its own at the end.
    base = F.tiny_generator(seed=11)
    out = keras.layers.Conv2D(3, 1, name="extra_rgb")(base.output)
    return keras.Model(base.input, out, name="tiny_generator")


def test_resume_into_a_gan_that_gained_a_layer(tmp_path):
    gan = _gan()
    gan.fit(F.face_like_images(8), batch_size=4, epochs=1, verbose=0)
    callbacks.save_checkpoint(gan, tmp_path, epoch=1)
    saved = callbacks.state_variables(gan)

    grown = GAN(
        _grown_generator(),
        F.tiny_discriminator(seed=12, batch_norm=True),
        matching=[losses.MeanImageMatching(0.5)],
        ema_decay=0.5,
        seed=3,
    )
    grown.compile(**F.fast_compile_kwargs())
    new_kernel = to_numpy(grown.generator.get_layer("extra_rgb").kernel).copy()
    with pytest.raises(ValueError, match=r"missing variables \[generator_ema/extra_rgb/kernel"):
        callbacks.resume_from(grown, tmp_path)
    with pytest.warns(UserWarning, match="generator/extra_rgb/kernel"):
        assert callbacks.resume_from(grown, tmp_path, strict=False) == 1
    state = callbacks.state_variables(grown)
    for key, variable in saved.items():
        np.testing.assert_array_equal(to_numpy(state[key]), to_numpy(variable), err_msg=key)
    np.testing.assert_array_equal(
        to_numpy(grown.generator.get_layer("extra_rgb").kernel), new_kernel
    )
    assert grown.counter_values() == {"iterations": 2, "images_seen": 8}
    # And the other way round: the grown GAN's checkpoint has keys the small one lacks.
    callbacks.save_checkpoint(grown, tmp_path / "grown", epoch=1)
    with pytest.raises(ValueError, match=r"unexpected variables \[generator_ema/extra_rgb/kernel"):
        callbacks.resume_from(_gan(), tmp_path / "grown")


def test_format_1_checkpoints_still_load(tmp_path):
    gan = _gan()
    gan.fit(F.face_like_images(8), batch_size=4, epochs=1, verbose=0)
    state = callbacks.state_variables(gan)
    positional = [v for k, v in state.items() if not k.startswith(("gan/iterations", "gan/images"))]
    arrays = {f"v{i}": to_numpy(v) for i, v in enumerate(positional)}
    arrays.update(epoch=np.array(1), step=np.array(2), format_version=np.array(1))
    np.savez(tmp_path / callbacks.CHECKPOINT_FILE, **arrays)
    resumed = _gan()
    with pytest.warns(UserWarning, match="format-1"):
        assert callbacks.resume_from(resumed, tmp_path) == 1
    assert resumed.counter_values() == {"iterations": 2, "images_seen": 0}
    for a, b in zip(_state(gan), _state(resumed)):
        if a.shape:
            np.testing.assert_array_equal(a, b)
