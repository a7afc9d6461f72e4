"""Tests for keras_facegen.data.image_folder / load_images on real files written with Pillow."""

import warnings

import numpy as np
import pytest
from PIL import Image

from keras_facegen.data import image_folder, list_image_files, load_images

# Backend-independent (TensorFlow pass only): load_images is Pillow code and image_folder a tf.data
# pipeline on every backend.
pytestmark = pytest.mark.backend_independent

RED = (200, 40, 0)
BLUE = (0, 40, 200)


def two_colour(width, height, split):
    """Columns [0, split) RED, the rest BLUE."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:, :split] = RED
    pixels[:, split:] = BLUE
    return pixels


def solid(size, colour, mode="RGB"):
    return Image.new(mode, size, colour)


@pytest.fixture
def folder(tmp_path):
    """A nested folder with every supported format, odd modes, and two broken files."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    # 12x8, crop keeps columns 2..9: red 2..6, blue 7..9 (see test_crop_and_area_resize).
    Image.fromarray(two_colour(12, 8, 7)).save(tmp_path / "a" / "00_two_colour.png")
    solid((20, 20), (10, 200, 30)).save(tmp_path / "01_green.jpg", quality=95)
    solid((16, 16), (255, 255, 0)).save(tmp_path / "a" / "b" / "02_yellow.webp", lossless=True)
    solid((9, 9), (0, 0, 255)).save(tmp_path / "03_blue.bmp")
    solid((8, 8), 128, mode="L").save(tmp_path / "a" / "04_gray.png")
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[:, :4] = (255, 0, 0, 0)  # transparent: composited over white
    rgba[:, 4:] = (0, 0, 0, 255)  # opaque black
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a" / "b" / "05_rgba.png")
    solid((30, 10), (250, 250, 250)).save(tmp_path / "06_WIDE.PNG")
    solid((8, 8), (1, 2, 3)).save(tmp_path / "07_upper.JPEG", quality=95)
    palette = solid((8, 8), (90, 60, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.save(tmp_path / "08_palette.png")

    # Broken: a JPEG cut in half, and a text file posing as a PNG.
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "a" / "09_truncated.jpg", quality=90)
    data = (tmp_path / "a" / "09_truncated.jpg").read_bytes()
    (tmp_path / "a" / "09_truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "10_text.png").write_text("not an image")
    # Ignored: not an image extension.
    (tmp_path / "notes.txt").write_text("hello")
    return tmp_path


def load_quietly(path, resolution):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = load_images(path, resolution)
    return images, caught


def test_list_image_files_recursive_case_insensitive(folder):
    names = [f.relative_to(folder).as_posix() for f in list_image_files(folder)]
    assert names == [
        "01_green.jpg",
        "03_blue.bmp",
        "06_WIDE.PNG",
        "07_upper.JPEG",
        "08_palette.png",
        "10_text.png",
        "a/00_two_colour.png",
        "a/04_gray.png",
        "a/09_truncated.jpg",
        "a/b/02_yellow.webp",
        "a/b/05_rgba.png",
    ]


def test_load_images_counts_shapes_and_one_warning(folder):
    images, caught = load_quietly(folder, 4)
    assert images.shape == (9, 4, 4, 3) and images.dtype == np.uint8
    assert len(caught) == 1
    message = str(caught[0].message)
    assert issubclass(caught[0].category, UserWarning)
    assert "Skipped 2 unreadable image file(s) of 11" in message
    assert "10_text.png" in message and "a/09_truncated.jpg" in message
    assert caught[0].filename == __file__  # the warning points at the caller's line


def test_colour_modes_and_formats(folder):
    images, _ = load_quietly(folder, 4)
    green, blue, wide, upper, palette, two, gray, yellow, rgba = images
    np.testing.assert_allclose(green.reshape(-1, 3).mean(0), (10, 200, 30), atol=4)
    assert (blue == (0, 0, 255)).all()  # bmp, 9x9 box-resized to 4x4
    assert (wide == 250).all()  # 30x10, cropped to its centre
    np.testing.assert_allclose(upper.reshape(-1, 3).mean(0), (1, 2, 3), atol=3)
    assert (palette == (90, 60, 30)).all()
    assert (two[:, :2] == RED).all() and (two[:, 3] == BLUE).all()
    assert (gray == 128).all()  # grayscale repeated over RGB
    assert (yellow == (255, 255, 0)).all()  # lossless webp from a nested folder
    # Transparent red composites to white; opaque black stays black.
    assert (rgba[:, :2] == 255).all() and (rgba[:, 2:] == 0).all()


def test_crop_and_area_resize_by_hand(tmp_path):
    Image.fromarray(two_colour(12, 8, 7)).save(tmp_path / "img.png")
    (image,) = load_images(tmp_path, 4)
    # Centre crop: columns 2..9 (5 red, 3 blue). Box resize 8 -> 4 averages 2x2 blocks:
    # output column 2 covers source columns 6 (red) and 7 (blue).
    expected = np.empty((4, 4, 3))
    expected[:, :2] = RED
    expected[:, 2] = [(r + b) / 2 for r, b in zip(RED, BLUE, strict=True)]
    expected[:, 3] = BLUE
    np.testing.assert_allclose(image, expected, atol=1)

    dataset = image_folder(tmp_path, 4, batch_size=1, shuffle=False)
    (batch,) = list(dataset.as_numpy_iterator())
    assert batch.dtype == np.float32 and batch.shape == (1, 4, 4, 3)
    np.testing.assert_allclose(batch[0], expected / 127.5 - 1, atol=1 / 127.5)


def test_image_folder_batches(folder):
    with pytest.warns(UserWarning, match="Skipped 2 unreadable"):
        dataset = image_folder(folder, 8, batch_size=4, seed=0)
    batches = list(dataset.as_numpy_iterator())
    assert [b.shape for b in batches] == [(4, 8, 8, 3), (4, 8, 8, 3)]  # 9 images, 1 dropped
    assert int(dataset.cardinality()) == 2
    for batch in batches:
        assert batch.dtype == np.float32
        assert batch.min() >= -1.0 and batch.max() <= 1.0

    with pytest.warns(UserWarning):
        kept = image_folder(folder, 8, batch_size=4, drop_remainder=False, shuffle=False)
    batches = list(kept.as_numpy_iterator())
    assert [b.shape[0] for b in batches] == [4, 4, 1]
    # Unshuffled batches follow the sorted file order: the first is the green JPEG.
    np.testing.assert_allclose(
        batches[0][0].mean((0, 1)), np.array([10, 200, 30]) / 127.5 - 1, atol=0.05
    )


def test_shuffle_is_seeded_and_reshuffles(tmp_path):
    for value in range(12):
        solid((4, 4), (value * 20, 0, 0)).save(tmp_path / f"{value:02d}.png")

    def epoch_order(dataset):
        return [int(round((b[0, 0, 0, 0] + 1) * 127.5 / 20)) for b in dataset.as_numpy_iterator()]

    ordered = image_folder(tmp_path, 4, batch_size=1, shuffle=False)
    assert epoch_order(ordered) == list(range(12))
    first = image_folder(tmp_path, 4, batch_size=1, seed=3)
    second = image_folder(tmp_path, 4, batch_size=1, seed=3)
    epoch_one, epoch_two = epoch_order(first), epoch_order(first)
    assert sorted(epoch_one) == list(range(12))
    assert epoch_one == epoch_order(second)
    assert epoch_one != list(range(12)) and epoch_one != epoch_two


def test_missing_path_raises(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match="existing folder.*nope"):
        load_images(missing, 8)
    with pytest.raises(ValueError, match="nope"):
        image_folder(missing, 8)


def test_file_instead_of_folder_raises(tmp_path):
    solid((4, 4), (1, 1, 1)).save(tmp_path / "x.png")
    with pytest.raises(ValueError, match="must be a folder.*x.png"):
        load_images(tmp_path / "x.png", 8)


def test_empty_folder_raises(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match=f"{tmp_path.name}.*holds no image files"):
        image_folder(tmp_path, 8)


def test_no_readable_image_raises(tmp_path):
    (tmp_path / "fake.png").write_text("text")
    (tmp_path / "fake2.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ValueError, match="none could be read.*fake.png"):
        load_images(tmp_path, 8)


def test_bad_arguments_raise(tmp_path):
    solid((4, 4), (1, 1, 1)).save(tmp_path / "x.png")
    with pytest.raises(
        ValueError, match="resolution must be a positive integer; received resolution=0"
    ):
        load_images(tmp_path, 0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer; received batch_"):
        image_folder(tmp_path, 4, batch_size=0)
    with pytest.raises(ValueError, match="`seed` must be an int or None"):
        image_folder(tmp_path, 4, seed=1.5)
    with pytest.raises(ValueError, match="`batch_size` is 2 but .* only 1 readable"):
        image_folder(tmp_path, 4, batch_size=2)
    with pytest.raises(ValueError, match="num_workers must be a positive integer; received num_"):
        load_images(tmp_path, 4, num_workers=0)
