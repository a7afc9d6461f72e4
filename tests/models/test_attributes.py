"""Tests of keras_facegen.models.attributes: the classifier builder and the direction sweep."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest

from keras_facegen.models.attributes import (
    DirectionSweep,
    attribute_classifier,
    attribute_targets,
    conditional_direction,
    direction_sweep,
    predict_attributes,
)


def _constant_generator(z):
    """Every pixel of image i equals tanh(z[i, 0]): a 4x4 RGB face whose "brightness" is z0."""
    z = np.asarray(keras.ops.convert_to_numpy(z), dtype=np.float32)
    return np.broadcast_to(np.tanh(z[:, :1, None, None]), (len(z), 4, 4, 3)).copy()


def _mean_pixel(images):
    images = np.asarray(keras.ops.convert_to_numpy(images))
    return np.stack([images.mean(axis=(1, 2, 3)), -images.mean(axis=(1, 2, 3))], axis=1)


def test_classifier_shapes_names_and_layers():
    model = attribute_classifier(32, attributes=("yaw", "smile", "hair_length"), filters=(4, 8))
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 3)
    assert model.attribute_names == ("yaw", "smile", "hair_length")
    assert [layer.name for layer in model.layers if "conv" in layer.name] == [
        "block0_conv",
        "block1_conv",
    ]
    # 3x3x3x4 + 4, 3x3x4x8 + 8, then 8x8x8 flattened features -> 3 outputs.
    assert model.count_params() == (108 + 4) + (288 + 8) + (512 * 3 + 3)
    out = keras.ops.convert_to_numpy(model(np.zeros((2, 32, 32, 3), "float32")))
    assert out.shape == (2, 3)
    assert out.dtype == np.float32


def test_classifier_rejects_bad_arguments():
    with pytest.raises(ValueError, match="too small"):
        attribute_classifier(8, filters=(4, 4, 4, 4))
    with pytest.raises(ValueError, match="distinct attribute names"):
        attribute_classifier(16, attributes=("yaw", "yaw"))
    with pytest.raises(ValueError, match="filters"):
        attribute_classifier(16, filters=(4, 0))
    with pytest.raises(ValueError, match="resolution"):
        attribute_classifier(0)


def test_classifier_learns_a_linear_target_quickly():
    # Brightness is a trivial "attribute": 60 Adam steps must fit it well.
    rng = np.random.default_rng(0)
    level = rng.uniform(-1, 1, 128).astype("float32")
    images = np.broadcast_to(level[:, None, None, None], (128, 16, 16, 3)).copy()
    model = attribute_classifier(16, attributes=("brightness",), filters=(4, 8))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.fit(images, level[:, None], batch_size=32, epochs=15, verbose=0)
    predictions = predict_attributes(model, images, batch_size=100)
    assert predictions.shape == (128, 1)
    assert np.mean(np.abs(predictions[:, 0] - level)) < 0.1


def test_attribute_targets_stacks_columns_in_order():
    targets = attribute_targets(
        {"yaw": [0.5, -1.0], "smile": np.array([0.25, 1.0])}, ["smile", "yaw"]
    )
    np.testing.assert_array_equal(targets, np.array([[0.25, 0.5], [1.0, -1.0]], "float32"))
    assert targets.dtype == np.float32
    with pytest.raises(ValueError, match="has no"):
        attribute_targets({"yaw": [0.0]}, ["smile"])
    with pytest.raises(ValueError, match="one value per image"):
        attribute_targets({"yaw": [0.0], "smile": [0.0, 1.0]}, ["yaw", "smile"])


def test_predict_attributes_batches_match_one_call():
    images = np.linspace(-1, 1, 7 * 4 * 4 * 3, dtype="float32").reshape(7, 4, 4, 3)
    whole = predict_attributes(_mean_pixel, images, batch_size=7)
    batched = predict_attributes(_mean_pixel, images, batch_size=3)
    np.testing.assert_allclose(batched, whole, rtol=1e-6)
    np.testing.assert_allclose(whole[:, 0], images.mean(axis=(1, 2, 3)), rtol=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        predict_attributes(_mean_pixel, images, batch_size=0)


def test_direction_sweep_matches_hand_computed_means():
    latents = np.array([[0.0, 0.5], [0.5, -0.5], [-0.5, 0.0]], "float32")
    direction = np.array([1.0, 0.0], "float32")
    step = 1.0 / math.sqrt(3.0)
    sweep = direction_sweep(
        _constant_generator,
        _mean_pixel,
        direction,
        latents,
        scales=(-2, 0, 2),
        step=step,
        clip=1.0,
        attribute_names=("brightness", "darkness"),
        keep_images=True,
        batch_size=2,
    )
    expected = [np.tanh(np.clip(latents[:, 0] + s * step, -1, 1)).mean() for s in (-2.0, 0.0, 2.0)]
    np.testing.assert_allclose(sweep.means("brightness"), expected, rtol=1e-5)
    np.testing.assert_allclose(sweep.means("darkness"), -np.array(expected), rtol=1e-5)
    np.testing.assert_allclose(sweep.scales, [-2.0, 0.0, 2.0])
    assert sweep.images.shape == (3, 3, 4, 4, 3)
    assert sweep.std_predictions.shape == (3, 2)
    assert sweep.is_monotonic("brightness")
    assert not sweep.is_monotonic("darkness")
    assert sweep.is_monotonic(0)

    summary = json.loads(json.dumps(sweep.as_dict()))
    assert summary["scales"] == [-2.0, 0.0, 2.0]
    assert summary["attributes"]["brightness"]["monotonic"] is True
    assert summary["attributes"]["darkness"]["monotonic"] is False
    np.testing.assert_allclose(summary["attributes"]["brightness"]["mean"], expected, rtol=1e-5)


def test_direction_sweep_flat_direction_is_not_strictly_monotonic():
    latents = np.zeros((4, 2), "float32")
    sweep = direction_sweep(
        _constant_generator, _mean_pixel, [0.0, 1.0], latents, scales=(-1, 0, 1)
    )
    # The generator ignores z[1]: every scale gives the same faces.
    np.testing.assert_allclose(sweep.means(0), [0.0, 0.0, 0.0], atol=1e-7)
    assert not sweep.is_monotonic(0)
    assert sweep.is_monotonic(0, strict=False)
    assert sweep.attribute_names == ("0", "1")
    assert sweep.images is None


def test_direction_sweep_rejects_bad_arguments():
    latents = np.zeros((2, 2), "float32")
    with pytest.raises(ValueError, match="scales"):
        direction_sweep(_constant_generator, _mean_pixel, [1.0, 0.0], latents, scales=())
    with pytest.raises(ValueError, match="step"):
        direction_sweep(_constant_generator, _mean_pixel, [1.0, 0.0], latents, step=0.0)
    with pytest.raises(ValueError, match="attribute_names"):
        direction_sweep(
            _constant_generator, _mean_pixel, [1.0, 0.0], latents, attribute_names=("a",)
        )
    with pytest.raises(ValueError, match="latent"):
        direction_sweep(_constant_generator, _mean_pixel, [1.0, 0.0, 0.0], latents)
    with pytest.raises(ValueError, match="Unknown attribute"):
        DirectionSweep(
            scales=np.zeros(1),
            mean_predictions=np.zeros((1, 1)),
            std_predictions=np.zeros((1, 1)),
            attribute_names=("a",),
        ).means("b")


def test_conditional_direction_projects_out_other_directions():
    rng = np.random.default_rng(3)
    others = rng.standard_normal((2, 6))
    direction = rng.standard_normal(6)
    cleaned = conditional_direction(direction, others)
    assert cleaned.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(cleaned), 1.0, rtol=1e-6)
    np.testing.assert_allclose(others @ cleaned, [0.0, 0.0], atol=1e-6)
    # What is left is the residual of a least-squares fit of `direction` on `others`.
    coef, *_ = np.linalg.lstsq(others.T, direction, rcond=None)
    residual = direction - others.T @ coef
    np.testing.assert_allclose(cleaned, residual / np.linalg.norm(residual), atol=1e-6)
    # Nothing to remove: the direction is only normalised.
    np.testing.assert_allclose(conditional_direction([3.0, 4.0], np.zeros((0, 2))), [0.6, 0.8])
    np.testing.assert_allclose(conditional_direction([1.0, 1.0], [0.0, 2.0]), [1.0, 0.0])
    with pytest.raises(ValueError, match="span"):
        conditional_direction([1.0, 2.0], [[2.0, 4.0]])
    with pytest.raises(ValueError, match="size"):
        conditional_direction([1.0, 2.0], [[1.0, 0.0, 0.0]])
