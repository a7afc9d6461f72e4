import helpers
import keras
import numpy as np
import pytest
from helpers import to_numpy
from layer_checks import all_layers_model

from keras_facegen import layers


def _randomized(model):
    # Non-default weights (random biases, alpha 0.3) so a round trip that resets any would fail.
    for weight in model.weights:
        if weight.trainable:
            weight.assign(np.random.normal(size=weight.shape).astype("float32"))
    model.get_layer("fade").set_alpha(0.3)
    return model


def test_registered_under_the_package_name():
    for cls in (
        layers.PixelNorm,
        layers.MinibatchStdDev,
        layers.EqualizedDense,
        layers.EqualizedConv2D,
        layers.FadeIn,
    ):
        name = f"keras_facegen>{cls.__name__}"
        assert keras.saving.get_registered_name(cls) == name
        assert keras.saving.get_registered_object(name) is cls


def test_save_and_load_in_process(tmp_path):
    model = _randomized(all_layers_model())
    x = np.random.normal(size=(4, 4, 4, 3)).astype("float32")
    expected = to_numpy(model(x))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert float(to_numpy(loaded.get_layer("fade").alpha)) == pytest.approx(0.3)
    np.testing.assert_allclose(to_numpy(loaded(x)), expected, rtol=1e-5, atol=1e-6)


def test_save_and_load_in_a_fresh_process(tmp_path):
    model = _randomized(all_layers_model())
    x = np.random.normal(size=(4, 4, 4, 3)).astype("float32")
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "io.npz", x=x, y=to_numpy(model(x)))
    # The child imports only keras: loading must find the layers through the registered names
    # once keras_facegen.layers is imported, as a user's script would.
    helpers.run_python(
        f"""
        import keras, numpy as np
        import keras_facegen.layers
        model = keras.saving.load_model({str(tmp_path / "model.keras")!r})
        data = np.load({str(tmp_path / "io.npz")!r})
        y = keras.ops.convert_to_numpy(model(data["x"]))
        np.testing.assert_allclose(y, data["y"], rtol=1e-5, atol=1e-6)
        alpha = float(keras.ops.convert_to_numpy(model.get_layer("fade").alpha))
        assert abs(alpha - 0.3) < 1e-7, alpha
        """,
        backend=keras.backend.backend(),
    )
