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
