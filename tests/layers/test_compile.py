import keras
import numpy as np

from helpers import to_numpy
from layer_checks import LinearLoss, all_layers_model


def test_jit_compiled_predict_matches_eager():
    model = all_layers_model()
    x = np.random.normal(size=(8, 4, 4, 3)).astype("float32")
    eager = to_numpy(model(x))
    model.compile(jit_compile=True)
    np.testing.assert_allclose(model.predict(x, batch_size=8, verbose=0), eager, atol=1e-5)


def test_jit_compiled_fit_step_matches_eager_fit_step():
    if keras.backend.backend() == "torch":
        # jit_compile=True is torch.compile (Inductor): ~20 s to compile a train step on CPU.
        # The compiled predict above covers tracing these layers with torch.compile.
        return
    x = np.random.normal(size=(4, 4, 4, 3)).astype("float32")
    upstream = np.random.normal(size=(4, 1)).astype("float32")
    trained = []
    for jit_compile in (False, True):
        keras.utils.set_random_seed(7)
        model = all_layers_model()
        model.compile(keras.optimizers.SGD(0.01), LinearLoss(), jit_compile=jit_compile)
        model.fit(x, upstream, batch_size=4, epochs=2, verbose=0)
        trained.append([to_numpy(w) for w in model.trainable_weights])
    for eager, compiled in zip(*trained, strict=True):
        np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-5)
