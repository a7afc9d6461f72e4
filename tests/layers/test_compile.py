import keras
import numpy as np
from helpers import to_numpy
from layer_checks import LinearLoss, all_layers_model


def test_jit_compiled_predict_matches_eager():
    x = np.random.normal(size=(4, 4, 4, 3)).astype("float32")
    model = all_layers_model()
    eager = to_numpy(model(x))
    model.compile(jit_compile=True)
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), eager, atol=1e-5)


def test_compiled_fit_step_trains_every_weight():
    # On torch jit_compile=True is torch.compile (Inductor): ~20 s of CPU to compile a train step,
    # too slow for the suite, so torch trains eagerly here (its default); the compiled predict
    # above traces every layer with torch.compile.
    jit_compile = keras.backend.backend() != "torch"
    x = np.random.normal(size=(4, 4, 4, 3)).astype("float32")
    upstream = np.random.normal(size=(4, 1)).astype("float32")
    model = all_layers_model()
    expected_loss = float(np.sum(upstream * to_numpy(model(x))))
    before = [to_numpy(w).copy() for w in model.trainable_weights]
    model.compile(keras.optimizers.SGD(0.01), LinearLoss(), jit_compile=jit_compile)
    # shuffle=False: MinibatchStdDev's groups depend on the order of the batch.
    history = model.fit(x, upstream, batch_size=4, epochs=1, shuffle=False, verbose=0)
    # The loss is computed before the update, with the weights the eager call used.
    np.testing.assert_allclose(history.history["loss"][0], expected_loss, rtol=1e-5, atol=1e-5)
    assert len(before) == 7  # 2 convs with bias, 1 without, the dense kernel and bias
    for old, new in zip(before, model.trainable_weights, strict=True):
        assert np.abs(to_numpy(new) - old).max() > 1e-6
