import keras
import numpy as np
import pytest
from helpers import to_numpy
from layer_checks import MIXED_POLICIES, input_gradient, keras_layer_test

from keras_facegen.layers import FadeIn


def test_blends_old_and_new():
    old = np.array([[0.0, 2.0, -4.0]], "float32")
    new = np.array([[4.0, 2.0, 4.0]], "float32")
    fade = FadeIn()
    np.testing.assert_array_equal(to_numpy(fade([old, new])), old)  # alpha = 0 by default
    fade.alpha.assign(0.25)
    np.testing.assert_allclose(to_numpy(fade([old, new])), [[1.0, 2.0, -2.0]])
    fade.set_alpha(1)
    np.testing.assert_array_equal(to_numpy(fade([old, new])), new)
    x, y = np.random.normal(size=(2, 2, 3, 4, 5)).astype("float32")
    np.testing.assert_allclose(to_numpy(FadeIn(alpha=0.7)([x, y])), 0.3 * x + 0.7 * y, atol=1e-6)


def test_alpha_is_a_non_trainable_scalar_weight():
    fade = FadeIn(alpha=0.5)
    assert fade.alpha.shape == () and not fade.alpha.trainable
    assert fade.trainable_weights == [] and fade.non_trainable_weights == [fade.alpha]
    assert float(to_numpy(fade.alpha)) == 0.5


def test_input_gradients_are_one_minus_alpha_and_alpha():
    x, upstream = np.random.normal(size=(2, 3, 4)).astype("float32")
    other = np.ones_like(x)
    fade = FadeIn(alpha=0.25)
    _, grad_old = input_gradient(lambda t: fade([t, other]), x, upstream)
    _, grad_new = input_gradient(lambda t: fade([other, t]), x, upstream)
    np.testing.assert_allclose(grad_old, 0.75 * upstream, rtol=1e-6)
    np.testing.assert_allclose(grad_new, 0.25 * upstream, rtol=1e-6)


@pytest.mark.parametrize("policy", MIXED_POLICIES)
def test_mixed_precision(policy):
    fade = FadeIn(alpha=0.5, dtype=policy)
    y = fade([np.zeros((2, 3), "float32"), np.full((2, 3), 3.0, "float32")])
    assert fade.alpha.dtype == "float32"
    assert keras.backend.standardize_dtype(y.dtype) == fade.compute_dtype
    np.testing.assert_array_equal(to_numpy(y).astype("float32"), 1.5)


def test_assigned_alpha_reaches_a_compiled_predict_function():
    old_in, new_in = keras.Input((2,)), keras.Input((2,))
    fade = FadeIn()
    model = keras.Model([old_in, new_in], fade([old_in, new_in]))
    old, new = np.zeros((2, 2), "float32"), np.ones((2, 2), "float32")
    np.testing.assert_array_equal(model.predict([old, new], verbose=0), 0.0)
    fade.set_alpha(0.75)
    np.testing.assert_array_equal(model.predict([old, new], verbose=0), 0.75)


def test_keras_layer_suite():
    keras_layer_test(
        FadeIn,
        {"alpha": 0.3},
        input_shape=[(2, 3, 3, 2), (2, 3, 3, 2)],
        expected_output_shape=(2, 3, 3, 2),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=1,
        run_training_check=False,
    )


def test_config_and_output_shape():
    fade = FadeIn(alpha=0.4, name="fade")
    fade.set_alpha(0.9)
    config = fade.get_config()
    assert config["alpha"] == 0.4 and config["name"] == "fade"
    assert float(to_numpy(FadeIn.from_config(config).alpha)) == pytest.approx(0.4)
    assert fade.compute_output_shape([(None, 4, 3), (2, None, 3)]) == (2, 4, 3)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), "0.5", None, True])
def test_rejects_alpha_outside_unit_interval(alpha):
    message = r"`alpha` to be a number in \[0, 1\].*alpha="
    with pytest.raises(ValueError, match=message):
        FadeIn(alpha=alpha)
    fade = FadeIn(alpha=0.2)
    with pytest.raises(ValueError, match=message):
        fade.set_alpha(alpha)
    assert float(to_numpy(fade.alpha)) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        ([(2, 4, 4, 3), (2, 4, 4, 6)], r"same shape.*old.shape=\(2, 4, 4, 3\).*\(2, 4, 4, 6\)"),
        ([(2, 4, 4, 3), (2, 4, 3)], r"same shape.*old.shape=\(2, 4, 4, 3\) and new.shape="),
        ([(2, 4, 4, 3)], r"FadeIn expects a list of two inputs `\[old, new\]`"),
        ((2, 4, 4, 3), r"FadeIn expects a list of two inputs"),
    ],
)
def test_rejects_bad_input_shapes(shapes, message):
    with pytest.raises(ValueError, match=message):
        FadeIn().build(shapes)


def test_mismatch_is_caught_in_a_functional_model():
    with pytest.raises(ValueError, match=r"same shape.*\(None, 8, 8, 3\).*\(None, 4, 4, 3\)"):
        FadeIn()([keras.Input((8, 8, 3)), keras.Input((4, 4, 3))])
