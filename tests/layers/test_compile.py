import keras
import numpy as np
from helpers import to_numpy
from layer_checks import LinearLoss, all_layers_model


def test_jit_compiled_steps_match_eager():
    x = np.random.normal(size=(4, 4, 4, 3)).astype("float32")
    model = all_layers_model()
    eager = to_numpy(model(x))
    model.compile(jit_compile=True)
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), eager, atol=1e-5)
    if keras.backend.backend() == "torch":
        # There jit_compile=True means torch.compile (Inductor): compiling a train step takes
        # ~20 s of CPU, too slow for the suite; the compiled predict above traced every layer.
        return
    upstream = np.random.normal(size=(4, 1)).astype("float32")
    trained = []
    for jit_compile in (False, True):
        keras.utils.set_random_seed(7)
        model = all_layers_model()
        model.compile(keras.optimizers.SGD(0.01), LinearLoss(), jit_compile=jit_compile)
        model.fit(x, upstream, batch_size=4, epochs=2, verbose=0)
        trained.append([to_numpy(w) for w in model.trainable_weights])
    for eager_weights, compiled_weights in zip(*trained, strict=True):
        np.testing.assert_allclose(compiled_weights, eager_weights, rtol=1e-4, atol=1e-5)
