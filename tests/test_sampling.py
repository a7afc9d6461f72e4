import keras
import numpy as np
import pytest
from PIL import Image

from keras_facegen.latent import generate_images
from keras_facegen.sampling import (
    Ranking,
    image_grid,
    rank_by_discriminator,
    ranked_sheet,
    save_gif,
    save_image,
    save_ranked_sheet,
    score_images,
    to_uint8,
)

LATENT_DIM = 3


def tiny_generator():
    model = keras.Sequential(
        [
            keras.Input((LATENT_DIM,)),
            keras.layers.Dense(2 * 2 * 3, activation="tanh"),
            keras.layers.Reshape((2, 2, 3)),
        ]
    )
    kernel = np.random.default_rng(0).normal(size=(LATENT_DIM, 12)).astype("float32")
    model.layers[0].set_weights([kernel, np.zeros(12, "float32")])
    return model


def sum_discriminator(num_logits=1):
    """Logit = sum of pixels (1 logit) or logits (-s/2, s/2) whose l1 - l0 is s (2 logits)."""
    model = keras.Sequential(
        [keras.Input((2, 2, 3)), keras.layers.Flatten(), keras.layers.Dense(num_logits)]
    )
    if num_logits == 1:
        kernel = np.ones((12, 1), "float32")
    else:
        kernel = np.stack([-0.5 * np.ones(12), 0.5 * np.ones(12)], axis=1).astype("float32")
    model.layers[-1].set_weights([kernel, np.zeros(num_logits, "float32")])
    return model


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_score_images_one_and_two_logits():
    images = np.random.default_rng(1).uniform(-1, 1, (5, 2, 2, 3)).astype("float32")
    expected = sigmoid(images.reshape(5, -1).sum(1))
    np.testing.assert_allclose(score_images(sum_discriminator(1), images), expected, rtol=1e-5)
    np.testing.assert_allclose(
        score_images(sum_discriminator(2), images, batch_size=2), expected, rtol=1e-5
    )
    with pytest.raises(ValueError, match="received logits of shape"):
        score_images(lambda x: np.zeros((len(x), 3)), images)
    with pytest.raises(ValueError, match="non-empty batch"):
        score_images(sum_discriminator(1), images[0])


def test_rank_by_discriminator_sorts_by_real_probability():
    generator = tiny_generator()
    ranking = rank_by_discriminator(
        generator, sum_discriminator(1), num_samples=12, top_k=3, seed=5, batch_size=5
    )
    assert isinstance(ranking, Ranking)
    assert ranking.images.shape == (12, 2, 2, 3) and ranking.latents.shape == (12, LATENT_DIM)
    z = np.random.default_rng(5).standard_normal((12, LATENT_DIM)).astype("float32")
    scores = sigmoid(generate_images(generator, z).reshape(12, -1).sum(1))
    order = np.argsort(scores)
    np.testing.assert_allclose(ranking.scores, scores[order], rtol=1e-5)
    np.testing.assert_allclose(ranking.latents, z[order])
    np.testing.assert_allclose(ranking.images, generate_images(generator, z[order]), atol=1e-6)
    np.testing.assert_allclose(ranking.lowest_scores, scores[order[:3]], rtol=1e-5)
    np.testing.assert_allclose(ranking.highest_scores, scores[order[::-1][:3]], rtol=1e-5)
    np.testing.assert_allclose(ranking.highest_latents, z[order[::-1][:3]])
    assert ranking.lowest_images.shape == ranking.highest_images.shape == (3, 2, 2, 3)
    np.testing.assert_allclose(ranking.lowest_latents, z[order[:3]])


def test_one_and_two_logit_rankings_are_identical():
    generator = tiny_generator()
    z = np.random.default_rng(9).uniform(-1, 1, (10, LATENT_DIM)).astype("float32")
    one = rank_by_discriminator(generator, sum_discriminator(1), top_k=4, latents=z)
    two = rank_by_discriminator(generator, sum_discriminator(2), top_k=4, latents=z)
    np.testing.assert_array_equal(one.latents, two.latents)
    np.testing.assert_allclose(one.scores, two.scores, rtol=1e-5)


def test_rank_bad_inputs():
    generator, disc = tiny_generator(), sum_discriminator()
    with pytest.raises(ValueError, match="top_k must be at most num_samples"):
        rank_by_discriminator(generator, disc, num_samples=4, top_k=5)
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        rank_by_discriminator(generator, disc, num_samples=4, top_k=0)
    with pytest.raises(ValueError, match="Pass num_samples"):
        rank_by_discriminator(generator, disc)
    with pytest.raises(ValueError, match="does not match the 2 latents"):
        rank_by_discriminator(generator, disc, 3, 1, latents=np.zeros((2, LATENT_DIM)))
    with pytest.raises(ValueError, match="latent_dim=3"):
        rank_by_discriminator(generator, disc, top_k=1, latents=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="latent size"):
        rank_by_discriminator(lambda z: z, disc, 3, 1)


def test_to_uint8():
    np.testing.assert_array_equal(
        to_uint8(np.array([-1.0, -2.0, 0.0, 1.0, 3.0])), [0, 0, 128, 255, 255]
    )
    np.testing.assert_array_equal(to_uint8(np.array([0, 7, 255])), [0, 7, 255])
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        to_uint8(np.array([-1, 300]))
    with pytest.raises(ValueError, match="non-finite"):
        to_uint8(np.array([np.nan]))


def test_image_grid_layout():
    images = np.stack([np.full((2, 3, 1), v, "uint8") for v in (10, 20, 30)])
    grid = image_grid(images, rows=2, padding=1, pad_value=255)
    # 2 rows x 2 cols of 2x3 cells with 1-pixel padding: (2*3+1, 2*4+1).
    assert grid.shape == (7, 9, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[1:3, 1:4], 10)
    np.testing.assert_array_equal(grid[1:3, 5:8], 20)
    np.testing.assert_array_equal(grid[4:6, 1:4], 30)
    np.testing.assert_array_equal(grid[4:6, 5:8], 255)  # empty cell
    np.testing.assert_array_equal(grid[0], 255)
    np.testing.assert_array_equal(grid[:, 4], 255)
    floats = image_grid(np.zeros((2, 2, 2, 3)) - 1.0, rows=1, padding=0)
    np.testing.assert_array_equal(floats, np.zeros((2, 4, 3)))


IMAGE_GRID_BAD_INPUTS_CASES = [
    ({"rows": 4}, r"rows must be an integer in \[1, 3\]"),
    ({"padding": -1}, "padding must be an integer >= 0; received padding=-1"),
    ({"pad_value": 256}, r"pad_value must be an integer in \[0, 255\]"),
]


def test_image_grid_bad_inputs():
    for kwargs, match in IMAGE_GRID_BAD_INPUTS_CASES:
        with pytest.raises(ValueError, match=match):
            image_grid(np.zeros((3, 2, 2, 3)), **kwargs)


def test_image_grid_bad_shapes():
    with pytest.raises(ValueError, match="C = 1 or 3"):
        image_grid(np.zeros((3, 2, 2, 4)))
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        image_grid(np.zeros((2, 2)))


def test_save_image_png_and_jpeg(tmp_path):
    image = np.zeros((4, 6, 3), "float32")
    image[:, :3] = 1.0
    path = save_image(image, tmp_path / "a" / "b" / "face.png")
    back = np.asarray(Image.open(path))
    assert back.shape == (4, 6, 3)
    np.testing.assert_array_equal(back[:, :3], 255)
    np.testing.assert_array_equal(back[:, 3:], 128)
    jpeg = save_image(np.full((8, 8, 3), 200, "uint8"), tmp_path / "face.JPG")
    with Image.open(jpeg) as picture:
        assert picture.format == "JPEG"
        assert np.abs(np.asarray(picture).astype(int) - 200).max() <= 2
    grid = save_image(np.zeros((4, 5, 5, 3)), tmp_path / "grid.png", rows=2, padding=1)
    assert np.asarray(Image.open(grid)).shape == (13, 13, 3)
    with pytest.raises(ValueError, match=r"path must end in one of \['.jpeg', '.jpg', '.png'\]"):
        save_image(image, tmp_path / "face.bmp")


def test_save_gif_frames_and_duration(tmp_path):
    frames = np.stack([np.full((4, 4, 3), v, "uint8") for v in (0, 60, 120, 180, 240)])
    path = save_gif(frames, tmp_path / "out" / "walk.gif", duration=80, loop=0)
    with Image.open(path) as gif:
        assert gif.n_frames == 5
        assert gif.info["loop"] == 0
        durations, colours = [], []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
            colours.append(np.asarray(gif.convert("RGB"))[0, 0, 0])
    assert durations == [80] * 5
    np.testing.assert_allclose(colours, [0, 60, 120, 180, 240], atol=4)
    floats = save_gif(
        [np.full((2, 2, 3), v, "float32") for v in (-1.0, 1.0)],
        tmp_path / "f.gif",
        duration=[100, 200],
        loop=None,
    )
    with Image.open(floats) as gif:
        assert gif.n_frames == 2 and "loop" not in gif.info
        gif.seek(1)
        assert gif.info["duration"] == 200


def test_save_gif_bad_inputs(tmp_path):
    frames = np.zeros((3, 2, 2, 3))
    with pytest.raises(ValueError, match="path must end in one of"):
        save_gif(frames, tmp_path / "x.png")
    with pytest.raises(ValueError, match="one number or one per frame"):
        save_gif(frames, tmp_path / "x.gif", duration=[10, 20])
    with pytest.raises(ValueError, match="positive milliseconds"):
        save_gif(frames, tmp_path / "x.gif", duration=0)
    with pytest.raises(ValueError, match="loop must be an integer >= 0; received loop=-1"):
        save_gif(frames, tmp_path / "x.gif", loop=-1)


def test_ranked_sheet_rows(tmp_path):
    generator, disc = tiny_generator(), sum_discriminator()
    ranking = rank_by_discriminator(generator, disc, 8, 3, seed=0)
    sheet = ranked_sheet(ranking, top_k=3, padding=0)
    assert sheet.shape == (4, 6, 3)
    np.testing.assert_array_equal(sheet[:2, :2], to_uint8(ranking.images[0]))
    np.testing.assert_array_equal(sheet[:2, 4:6], to_uint8(ranking.images[2]))
    np.testing.assert_array_equal(sheet[2:, :2], to_uint8(ranking.images[-1]))
    np.testing.assert_array_equal(sheet[2:, 4:6], to_uint8(ranking.images[-3]))
    direct = ranked_sheet(generator, disc, top_k=3, num_samples=8, seed=0, padding=0)
    np.testing.assert_array_equal(direct, sheet)
    path = save_ranked_sheet(generator, tmp_path / "sheet.png", disc, top_k=2, num_samples=4)
    assert np.asarray(Image.open(path)).shape == (2 * 2 + 3 * 2, 2 * 2 + 3 * 2, 3)
    with pytest.raises(ValueError, match="top_k must be at most the 8 ranked samples"):
        ranked_sheet(ranking, top_k=9)
    with pytest.raises(ValueError, match="needs a discriminator"):
        ranked_sheet(generator)


def test_rank_uses_generator_latent_distribution():
    model = tiny_generator()

    class Wrapper:
        latent_dim = LATENT_DIM
        latent_distribution = "uniform"

        def __call__(self, z):
            return keras.ops.convert_to_numpy(model(z))

    ranking = rank_by_discriminator(Wrapper(), sum_discriminator(), 6, 2, seed=4)
    expected = np.random.default_rng(4).uniform(-1, 1, (6, LATENT_DIM)).astype("float32")
    np.testing.assert_allclose(np.sort(ranking.latents, axis=0), np.sort(expected, axis=0))
    normal = rank_by_discriminator(
        Wrapper(), sum_discriminator(), 6, 2, seed=4, distribution="normal"
    )
    assert np.abs(normal.latents).max() > 1.0


def test_training_grids_and_sampling_grids_are_one_function(tmp_path):
    from keras_facegen.callbacks import SampleGrid

    # Values exactly between two grey levels: half-up (0.5 -> 1) and half-even rounding differ.
    images = ((np.arange(256) + 0.5) / 127.5 - 1.0).astype("float32").reshape(4, 8, 8, 1)

    class Model:
        latent_dim = 2

        def generate(self, latents, ema=False):
            return images

    callback = SampleGrid(tmp_path, every_n_steps=1, num_images=4, rows=2)
    callback.set_model(Model())
    callback._latents = np.zeros((4, 2), "float32")
    with Image.open(callback.write(7)) as written:
        pixels = np.asarray(written)
    np.testing.assert_array_equal(pixels, image_grid(images, rows=2))


def test_labelled_ranked_sheet():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (6, 32, 32, 3)).astype("float32")
    scores = np.linspace(0.1, 0.9, 6).astype("float32")
    ranking = Ranking(images, np.zeros((6, 2), "float32"), scores, 3)
    plain = ranked_sheet(ranking, top_k=3)
    sheet = ranked_sheet(ranking, top_k=3, labels=True)
    assert plain.shape == (2 * 32 + 3 * 2, 3 * 32 + 4 * 2, 3)
    height, width = sheet.shape[:2]
    label_width = width - plain.shape[1]
    strip = (height - plain.shape[0]) // 2  # the score strip under each row
    assert label_width > 20 and strip >= 8
    # The faces sit where the layout puts them: worst (lowest) first, best (highest) second.
    uint8 = to_uint8(images)
    for row, order in enumerate(([0, 1, 2], [5, 4, 3])):
        top = 2 + row * (32 + strip + 2)
        for col, index in enumerate(order):
            left = label_width + 2 + col * (32 + 2)
            np.testing.assert_array_equal(sheet[top : top + 32, left : left + 32], uint8[index])
        # Text: the row name in the left column and a score under every face.
        assert sheet[top : top + 32, :label_width].max() > 200
        for col in range(3):
            left = label_width + 2 + col * (32 + 2)
            assert sheet[top + 32 : top + 32 + strip, left : left + 32].max() > 200
    # The two row names differ ("worst" / "best"), so their pixels differ.
    first = sheet[2 : 2 + 32, :label_width]
    second = sheet[2 + 32 + strip + 2 : 2 + 2 * 32 + strip + 2, :label_width]
    assert not np.array_equal(first, second)
