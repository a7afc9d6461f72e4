"""Smoke runs of the quality studies (``benchmarks/quality``, ``--quick``) and their helpers."""

import sys

import numpy as np
import pytest
from helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks" / "quality"))

import common  # noqa: E402

# The script is under test, not the library: once per CI (the TensorFlow pass).
pytestmark = pytest.mark.once


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    # One folder (and model cache) for the module: ranking, offsets and coverage share a GAN.
    return tmp_path_factory.mktemp("quality")


def _run(module_name, out, *extra):
    module = __import__(module_name)
    return module.main(["--quick", "--out", str(out), *extra])


def test_colour_stats_hand_computed():
    red = np.full((1, 2, 2, 3), -1.0)
    red[..., 0] = 1.0  # pure red: brightness 1/3, saturation 1
    grey = np.zeros((1, 2, 2, 3))  # mid grey: brightness 0.5, saturation 0
    assert common.colour_stats(red) == pytest.approx((1 / 3, 1.0))
    assert common.colour_stats(grey) == pytest.approx((0.5, 0.0))


def test_markdown_table():
    text = common.markdown_table([{"a": 1.23456, "b": "x"}, {"a": 2}])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1.235 | x |", "| 2 |  |"]


def test_matching_quick(out):
    table = _run("matching", out)
    arms = [row["arm"] for row in table]
    assert arms == ["with matching", "plain", "real (held out)"]
    for row in table[:2]:
        assert np.isfinite(row["SWD (mean)"]) and row["SWD (mean)"] > 0
        assert 0 <= row["brightness"] <= 1 and 0 <= row["saturation"] <= 1
    text = (out / "matching_face64_small_quick.md").read_text()
    assert "| with matching |" in text and "backend" in text
    assert (out / "matching_face64_small_swd_quick.png").stat().st_size > 1000


def test_ranking_quick(out):
    rows = _run("ranking", out)
    assert [r["subset"] for r in rows][-1] == "real (held out)"
    top, random, bottom = rows[:3]
    assert top["mean D score"] >= random["mean D score"] >= bottom["mean D score"]
    assert all(0.0 <= r["broken rate"] <= 1.0 for r in rows)
    assert (out / "ranking_sheet_quick.png").is_file()


def test_offsets_quick(out):
    rows = _run("offsets", out)
    assert rows[0]["offset"] == "none" and rows[-1]["offset"] == "real (held out)"
    assert {r["offset"] for r in rows[1:-1]} == {
        "D top-k minus bottom-k",
        "detector good minus bad",
    }
    assert all(np.isfinite(r["SWD x1e3"]) for r in rows)


def test_coverage_quick(out):
    rows, hair_rows, calibration = _run("coverage", out)
    assert [r["attribute"] for r in rows] == list(common.CONTINUOUS_ATTRIBUTES)
    assert [r["real faces"] for r in calibration] == ["blur 1", "blur 2", "resample 0.25"]
    for row in rows:
        assert row["std ratio"] == pytest.approx(row["generated std"] / row["real std"])
    assert sum(r["real"] for r in hair_rows) == pytest.approx(1.0)
    assert sum(r["generated"] for r in hair_rows) == pytest.approx(1.0)
    assert (out / "coverage_attributes_quick.png").is_file()


def test_broken_face_detector_is_calibrated_on_real_faces(out):
    import keras

    classifier = common.study_classifier(32, out, seed=0, num_images=64, epochs=1)
    assert isinstance(classifier, keras.Model)
    detector = common.BrokenFaceDetector(classifier, 32, 0, num_reference=48, num_calibration=40)
    # By construction 5% of the calibration faces lie beyond the 95% quantile: 2 of 40.
    assert np.mean(detector.real_distances > detector.threshold) == pytest.approx(0.05)
    noise = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3))
    assert detector.rate(noise) == 1.0


def test_recipes_quick(out):
    rows = _run("recipes", out, "--skip", "pggan")
    assert [r["recipe"] for r in rows] == ["face64_small", "keras-io DCGAN", "real (held out)"]
    for row in rows[:-1]:
        assert row["images shown"] == 72
        assert np.isfinite(row["SWD x1e3"]) and 0 <= row["MS-SSIM"] <= 1


@pytest.mark.slow
def test_recipes_pggan_arm_quick(out):
    # Progressive growing traces one train step per phase: slower than the other arms.
    rows = _run("recipes", out, "--presets", "", "--skip", "keras")
    assert [r["recipe"] for r in rows] == ["PGGAN", "real (held out)"]
    assert rows[0]["images shown"] >= 72
    assert np.isfinite(rows[0]["SWD x1e3"])


def test_limited_data_quick(out):
    import limited_data

    rows = _run("limited_data", out)
    assert [(r["faces"], r["arm"]) for r in rows] == [
        (16, "none"),
        (16, "diffaugment"),
        (16, "ada"),
    ]
    for row in rows:
        assert np.isfinite(row["SWD held-out (end)"]) and row["SWD train (end)"] > 0
        assert row["nearest train / held-out"] > 0
    assert rows[0]["p (end)"] == 0.0 and rows[1]["p (end)"] == 1.0
    assert 0.0 <= rows[2]["p (end)"] <= 1.0 and -1.0 <= rows[2]["r_t (end)"] <= 1.0
    assert (out / "limited_data_16_quick.png").stat().st_size > 1000
    assert "| 16 | ada |" in (out / "limited_data_quick.md").read_text()
    # The memorisation check: a fake equal to a training face has ratio 0.
    train = np.random.default_rng(0).normal(size=(4, 2, 2, 3))
    held = np.random.default_rng(1).normal(size=(4, 2, 2, 3))
    assert limited_data.nearest_ratio(train[:2], train, held) == 0.0
