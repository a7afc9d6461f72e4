"""crop_faces on real photographs shipped in scikit-image (astronaut: Eileen Collins, NASA)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import run_python
from PIL import Image
from skimage import data as photos

from keras_facegen.data import faces

# Backend-independent (TensorFlow pass only): face detection and cropping are OpenCV and Pillow
# code.
pytestmark = pytest.mark.backend_independent


@pytest.fixture(scope="module")
def astronaut():
    return photos.astronaut()


@pytest.fixture(scope="module")
def rotated(astronaut):
    # PIL turns counter-clockwise: the right eye (image right) ends up higher.
    return np.asarray(Image.fromarray(astronaut).rotate(15, resample=Image.Resampling.BICUBIC))


def _distance(face):
    return math.dist(face.left_eye, face.right_eye)


def test_detects_the_astronauts_face_and_eyes(astronaut):
    found = faces.detect_faces(astronaut)
    assert len(found) == 1
    x, y, w, h = found[0].box
    # Hand-measured on the photo: the face spans about x 180-270, y 70-165.
    assert 165 <= x <= 195 and 55 <= y <= 85 and 80 <= w <= 110 and 80 <= h <= 110
    assert found[0].eyes_found
    (lx, ly), (rx, ry) = found[0].left_eye, found[0].right_eye
    assert 195 <= lx <= 210 and 238 <= rx <= 252 and 95 <= ly <= 108 and 95 <= ry <= 108
    assert abs(found[0].eye_angle) < 5


def test_no_face_in_photos_without_people():
    for name in ("coffee", "chelsea", "rocket"):
        assert faces.detect_faces(getattr(photos, name)()) == [], name


def test_rotated_photo_is_levelled(astronaut, rotated):
    face = faces.detect_faces(rotated)[0]
    assert -20 < face.eye_angle < -8  # the eye line follows the 15-degree turn
    crop = faces.aligned_crop(rotated, face, 128)
    again = faces.detect_faces(crop, min_size=24)[0]
    assert again.eyes_found and abs(again.eye_angle) < 5
    # Eyes land where the FFHQ-like crop puts them: a quarter of the side apart, centred,
    # a little above the middle.
    assert _distance(again) == pytest.approx(128 / 4, rel=0.2)
    mid_x = (again.left_eye[0] + again.right_eye[0]) / 2
    mid_y = (again.left_eye[1] + again.right_eye[1]) / 2
    assert abs(mid_x - 63.5) < 8 and 50 < mid_y < 66
    # And the levelled crop looks like the crop of the upright photo.
    upright = faces.aligned_crop(astronaut, faces.detect_faces(astronaut)[0], 128)
    unaligned = np.asarray(Image.fromarray(rotated).crop((130, 40, 290, 200)).resize((128, 128)))
    aligned_error = np.abs(crop.astype(float) - upright).mean()
    assert aligned_error < 0.5 * np.abs(unaligned.astype(float) - upright).mean()


def test_crop_scale_sets_the_eye_distance(astronaut):
    face = faces.detect_faces(astronaut)[0]
    wide = faces.aligned_crop(astronaut, face, 128, scale=4.0)
    tight = faces.aligned_crop(astronaut, face, 128, scale=2.5)
    assert _distance(faces.detect_faces(wide, min_size=24)[0]) == pytest.approx(32, rel=0.2)
    assert _distance(faces.detect_faces(tight, min_size=24)[0]) == pytest.approx(51, rel=0.2)


def _photo_folder(tmp_path, astronaut, rotated):
    folder = tmp_path / "photos"
    (folder / "2019").mkdir(parents=True)
    Image.fromarray(astronaut).save(folder / "astronaut.jpg", quality=95)
    Image.fromarray(rotated).save(folder / "2019" / "tilted.png")
    Image.fromarray(photos.coffee()).save(folder / "coffee.png")
    Image.fromarray(photos.chelsea()).save(folder / "cat.jpg")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def test_crop_faces_writes_counts_resumes_and_is_deterministic(tmp_path, astronaut, rotated):
    folder = _photo_folder(tmp_path, astronaut, rotated)
    out = tmp_path / "crops"
    calls = []
    report = faces.crop_faces(folder, 64, out, progress=lambda d, n: calls.append((d, n)))
    assert sorted(p.name for p in report.written) == ["2019_tilted.png", "astronaut.png"]
    assert sorted(p.name for p in report.no_face) == ["cat.jpg", "coffee.png"]
    assert [p.name for p in report.unreadable] == ["broken.jpg"]
    assert calls == [(i, 5) for i in range(1, 6)]
    with Image.open(out / "astronaut.png") as crop:
        assert crop.size == (64, 64) and crop.mode == "RGB"
    first = (out / "astronaut.png").read_bytes()
    again = faces.crop_faces(folder, 64, out)
    assert again.written == [] and len(again.existing) == 2
    (out / "astronaut.png").unlink()
    third = faces.crop_faces(folder, 64, out)
    assert [p.name for p in third.written] == ["astronaut.png"]
    assert (out / "astronaut.png").read_bytes() == first
    assert not list(out.glob("*.partial.png"))


def test_all_faces_numbers_each_face(tmp_path, astronaut):
    two = np.concatenate([astronaut, astronaut[:, :, ::-1]], axis=1)  # two people side by side
    path = tmp_path / "pair.png"
    Image.fromarray(two).save(path)
    report = faces.crop_faces([path], 32, tmp_path / "out", all_faces=True)
    assert sorted(p.name for p in report.written) == ["pair_0.png", "pair_1.png"]
    largest = faces.crop_faces([path], 32, tmp_path / "one")
    assert [p.name for p in largest.written] == ["pair.png"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        faces.crop_faces([tmp_path / "missing.jpg"], 64, tmp_path / "out")
    with pytest.raises(ValueError, match="resolution"):
        faces.crop_faces([], 0, tmp_path / "out")
    with pytest.raises(ValueError, match="scale=0.5"):
        faces.crop_faces([], 64, tmp_path / "out", scale=0.5)


def test_missing_opencv_names_the_extra():
    run_python(
        """
        import sys
        sys.modules["cv2"] = None  # as if opencv-python-headless were not installed
        from keras_facegen.data import faces
        try:
            faces.crop_faces([], 64, "out")
        except ImportError as error:
            assert "keras-facegen[faces]" in str(error), error
        else:
            raise AssertionError("no ImportError")
        """,
        backend="jax",  # NumPy and OpenCV code: the lightest start-up (TensorFlow hidden)
        without_tensorflow=True,
    )
