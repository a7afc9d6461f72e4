"""EvaluateQuality: figures every N steps into history, the Keras logs and a CSV."""

import csv

import keras
import numpy as np
import pytest
from gan_fixtures import face_like_images, fast_compile_kwargs, tiny_discriminator, tiny_generator

from keras_facegen.metrics import EvaluateQuality, mean_ms_ssim, sliced_wasserstein_distance
from keras_facegen.models import GAN

SWD = {"num_neighbourhoods": 16, "num_projections": 32, "num_repeats": 1}


def _gan():
    gan = GAN(tiny_generator(size=16), tiny_discriminator(size=16), seed=0)
    gan.compile(**fast_compile_kwargs())
    return gan


def test_logs_figures_every_n_steps(tmp_path):
    gan = _gan()
    real = face_like_images(12, size=16, seed=1)
    path = tmp_path / "quality" / "figures.csv"
    quality = EvaluateQuality(
        real,
        every_n_steps=2,
        metrics=("swd", "ms_ssim"),
        csv_path=path,
        swd_kwargs=SWD,
        ms_ssim_pairs=20,
    )
    history = gan.fit(
        face_like_images(24, size=16),
        batch_size=4,
        epochs=2,
        steps_per_epoch=3,
        verbose=0,
        callbacks=[quality],
    )
    assert [row["step"] for row in quality.history] == [2, 4, 6]
    # The last figures describe the generator as it is now, on the fixed latents.
    fake = quality.generated_images()
    last = quality.history[-1]
    expected = sliced_wasserstein_distance(real, fake, seed=0, **SWD).as_dict()
    for name, value in expected.items():
        assert last[name] == pytest.approx(value)
    assert last["ms_ssim"] == pytest.approx(mean_ms_ssim(fake, num_pairs=20, seed=0))
    # Keras History gets the latest figures at each epoch's end.
    assert history.history["swd"] == pytest.approx(
        [quality.history[0]["swd"], quality.history[-1]["swd"]]
    )
    assert "swd_16" in history.history and "ms_ssim" in history.history
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    assert float(rows[-1]["swd"]) == pytest.approx(last["swd"])
    assert list(rows[0]) == ["step", "swd_16", "swd", "ms_ssim", "seconds"]


def test_steps_continue_across_fit_calls_and_end_is_measured():
    gan = _gan()
    real = face_like_images(8, size=16, seed=1)
    quality = EvaluateQuality(real, every_n_steps=4, swd_kwargs=SWD)
    images = face_like_images(16, size=16)
    gan.fit(images, batch_size=4, epochs=1, steps_per_epoch=3, verbose=0, callbacks=[quality])
    # Step 3 is not a multiple of 4: measured at the end of training.
    assert [row["step"] for row in quality.history] == [3]
    gan.fit(images, batch_size=4, epochs=1, steps_per_epoch=3, verbose=0, callbacks=[quality])
    assert [row["step"] for row in quality.history] == [3, 4, 6]


def test_reexported_from_callbacks():
    from keras_facegen import callbacks

    assert callbacks.EvaluateQuality is EvaluateQuality


def test_feature_metrics(tmp_path):
    gan = _gan()
    real = face_like_images(12, size=16, seed=1)
    extractor = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.AveragePooling2D(4), keras.layers.Flatten()]
    )
    quality = EvaluateQuality(
        real, every_n_steps=2, metrics=("fid", "kid"), feature_extractor=extractor
    )
    gan.fit(
        face_like_images(8, size=16),
        batch_size=4,
        epochs=1,
        steps_per_epoch=2,
        verbose=0,
        callbacks=[quality],
    )
    row = quality.history[-1]
    assert set(row) == {"step", "fid", "kid", "seconds"}
    assert np.isfinite(row["fid"]) and row["fid"] > 0


def test_bad_arguments_give_clear_errors():
    real = face_like_images(8, size=16)
    with pytest.raises(ValueError, match="metrics must be a non-empty list"):
        EvaluateQuality(real, 10, metrics=("swd", "inception_score"))
    with pytest.raises(ValueError, match="need feature_extractor"):
        EvaluateQuality(real, 10, metrics=("fid",))
    with pytest.raises(ValueError, match="every_n_steps must be a positive integer"):
        EvaluateQuality(real, 0)
    with pytest.raises(ValueError, match="num_images must be between 2 and the 8 real images"):
        EvaluateQuality(real, 10, num_images=9)
    bad = real.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="real_images contains 1 NaN"):
        EvaluateQuality(bad, 10)


# === Inside ProgressiveGAN.fit: stages smaller than the reals ===


def _progressive_gan():
    from keras_facegen.models import (
        ProgressiveGAN,
        ProgressiveSchedule,
        pggan_discriminator,
        pggan_generator,
    )

    keras.utils.set_random_seed(0)
    schedule = ProgressiveSchedule(
        16, fade_images=8, stable_images=8, batch_sizes={4: 4, 8: 4, 16: 4}
    )
    gan = ProgressiveGAN(
        pggan_generator(16, latent_dim=8, fmap_base=32, fmap_max=8),
        pggan_discriminator(16, fmap_base=32, fmap_max=8),
        schedule=schedule,
        seed=0,
    )
    gan.compile()
    return gan


def test_full_resolution_compares_upsampled_stage_images_as_the_reference_snapshots():
    real = face_like_images(8, size=16, seed=1)
    quality = EvaluateQuality(real, every_n_steps=1, swd_kwargs=SWD, metrics=("swd", "ms_ssim"))
    fake = face_like_images(8, size=16, seed=2)[:, ::4, ::4]  # 4x4 "stage" images
    upsampled = fake.repeat(4, axis=1).repeat(4, axis=2)
    figures = quality.compute(fake)
    expected = sliced_wasserstein_distance(real, upsampled, seed=0, **SWD).as_dict()
    assert figures["swd"] == pytest.approx(expected["swd"], rel=1e-6)
    assert figures["ms_ssim"] == pytest.approx(mean_ms_ssim(upsampled, num_pairs=200), rel=1e-6)


def test_stage_resolution_pools_the_reals_and_skips_too_small_stages(capsys):
    real = face_like_images(8, size=32, seed=1)
    quality = EvaluateQuality(
        real, every_n_steps=1, swd_kwargs=SWD, metrics=("swd", "ms_ssim"), resolution="stage"
    )
    fake = face_like_images(8, size=16, seed=2)
    pooled = real.reshape(8, 16, 2, 16, 2, 3).mean(axis=(2, 4))
    figures = quality.compute(fake)
    expected = sliced_wasserstein_distance(pooled, fake, seed=0, **SWD).as_dict("swd_stage")
    assert figures == pytest.approx(
        {**expected, "ms_ssim_stage": mean_ms_ssim(fake, num_pairs=200)}, rel=1e-5
    )
    assert quality.compute(fake[:, ::2, ::2]) == {}
    assert quality.compute(fake[:, ::2, ::2]) == {}
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        "EvaluateQuality: swd skipped at 8x8 (it needs images of at least 16x16; "
        "resolution='stage').",
        "EvaluateQuality: ms_ssim skipped at 8x8 (it needs images of at least 16x16; "
        "resolution='stage').",
    ]


def test_evaluate_quality_runs_inside_progressive_fit(tmp_path):
    # Both resolution settings in one progressive run (a run compiles five phases' steps): each
    # callback keeps its own latents, history and CSV file.
    gan = _progressive_gan()
    real = face_like_images(8, size=16, seed=1)
    qualities = {
        resolution: EvaluateQuality(
            real,
            every_n_steps=3,
            swd_kwargs=SWD,
            csv_path=tmp_path / f"quality_{resolution}.csv",
            resolution=resolution,
        )
        for resolution in ("full", "stage")
    }
    gan.fit(face_like_images(16, size=16), verbose=0, callbacks=list(qualities.values()))
    for resolution, quality in qualities.items():
        sizes = [row.get("resolution", 16) for row in quality.history]
        assert sizes[0] == 4 and sizes[-1] == 16, resolution
        key = "swd" if resolution == "full" else "swd_stage"
        measured = [row for row in quality.history if key in row]
        assert measured[-1]["step"] == gan.counter_values()["iterations"], resolution
        if resolution == "stage":
            assert all(row.get("resolution", 16) == 16 for row in measured)
        with (tmp_path / f"quality_{resolution}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(quality.history) and key in rows[0], resolution
