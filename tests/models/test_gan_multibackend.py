"""GAN checks that start subprocesses on named backends (run once, in CI's TensorFlow pass)."""

import gan_fixtures as F
import numpy as np
import pytest
from helpers import BACKENDS, TEST_XLA_FLAGS, backend, run_python

pytestmark = pytest.mark.multibackend

SIZE = 16

_ONE_STEP = """
import keras, numpy as np
import gan_fixtures as F
from keras_facegen import losses
from keras_facegen.models import GAN

data = np.load({inputs!r})
g = F.tiny_generator(size=16)
d = F.tiny_discriminator(size=16, logits=2, batch_norm=True)
g.set_weights([data[f"g{{i}}"] for i in range(len(g.weights))])
d.set_weights([data[f"d{{i}}"] for i in range(len(d.weights))])
gan = GAN(g, d, loss="two_class_softmax", d_steps=1,
          matching=[losses.FeatureMatching(1.0), losses.MeanImageMatching(0.5)])
gan.compile(generator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
            discriminator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
logs = gan.train_on_batch(data["images"], data["latents"], return_dict=True)
out = {{f"g{{i}}": keras.ops.convert_to_numpy(v) for i, v in enumerate(g.weights)}}
out.update({{f"d{{i}}": keras.ops.convert_to_numpy(v) for i, v in enumerate(d.weights)}})
out.update({{k: np.asarray(v) for k, v in logs.items()}})
np.savez({output!r}, **out)
"""


def test_one_train_step_gives_the_same_weights_on_every_backend(tmp_path):
    g = F.tiny_generator(size=SIZE)
    d = F.tiny_discriminator(size=SIZE, logits=2, batch_norm=True)
    rng = np.random.default_rng(0)
    inputs = {f"g{i}": np.asarray(w) for i, w in enumerate(g.get_weights())}
    inputs.update({f"d{i}": np.asarray(w) for i, w in enumerate(d.get_weights())})
    inputs["images"] = F.face_like_images(8, size=SIZE)
    inputs["latents"] = rng.standard_normal((8, F.LATENT_DIM)).astype("float32")
    np.savez(tmp_path / "inputs.npz", **inputs)

    results = {}
    for name in BACKENDS:
        output = str(tmp_path / f"{name}.npz")
        code = _ONE_STEP.format(inputs=str(tmp_path / "inputs.npz"), output=output)
        if name == backend():
            # This process's own backend steps here (a fresh interpreter would import it again).
            exec(compile(code, "<one train step>", "exec"), {})
        else:
            run_python(code, backend=name, without_tensorflow=name != "tensorflow")
        results[name] = dict(np.load(output))
    reference = results["tensorflow"]
    assert not np.allclose(reference["g0"], inputs["g0"])  # the step did something
    assert not np.allclose(reference["d0"], inputs["d0"])
    for name in ("jax", "torch"):
        assert set(results[name]) == set(reference)
        for key, value in reference.items():
            np.testing.assert_allclose(
                results[name][key],
                value,
                atol=1e-4,
                rtol=1e-4,
                err_msg=f"{key} differs between tensorflow and {name}",
            )


_JAX_DATA_PARALLEL = """
import keras, numpy as np, jax
import gan_fixtures as F
from keras_facegen import losses
from keras_facegen.models import GAN

assert len(jax.devices("cpu")) == 2, jax.devices()
images = F.face_like_images(8)
latents = np.random.default_rng(0).standard_normal((8, F.LATENT_DIM)).astype("float32")

def run(distribution):
    if distribution is not None:
        keras.distribution.set_distribution(distribution)
    g, d = F.tiny_generator(seed=3), F.tiny_discriminator(seed=4, batch_norm=True)
    gan = GAN(g, d, matching=[losses.FeatureMatching(1.0)], ema_decay=0.5)
    gan.compile()
    history = gan.fit(images, latents, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return gan, history.history

_, single = run(None)
gan, parallel = run(keras.distribution.DataParallel(devices=keras.distribution.list_devices("cpu")))
kernel = gan.discriminator.weights[0].value
assert len(kernel.sharding.device_set) == 2, kernel.sharding
for key in single:
    np.testing.assert_allclose(parallel[key], single[key], rtol=1e-4, err_msg=key)
# Sampled latents (no injection) also run under the distribution.
history = gan.fit(images, batch_size=8, epochs=1, verbose=0)
assert np.all(np.isfinite(history.history["d_loss"]))
assert gan.counter_values() == {"iterations": 3, "images_seen": 24}, gan.counter_values()
print("ok", parallel)
"""


def test_jax_data_parallel_on_two_cpu_devices_matches_one_device():
    result = run_python(
        _JAX_DATA_PARALLEL,
        backend="jax",
        env={"XLA_FLAGS": f"{TEST_XLA_FLAGS} --xla_force_host_platform_device_count=2"},
        without_tensorflow=True,
    )
    assert "ok" in result.stdout


_TF_MIRRORED = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
import gan_fixtures as F
from keras_facegen import losses
from keras_facegen.models import GAN

images = F.face_like_images(8)
latents = np.random.default_rng(0).standard_normal((8, F.LATENT_DIM)).astype("float32")

def build():
    # No BatchNorm: per-replica batch statistics would differ from one device by design.
    g = F.tiny_generator(seed=3, batch_norm=False)
    d = F.tiny_discriminator(seed=4)
    # Batch-mean terms (mean-image / feature matching) are per replica too, so only per-sample
    # terms can match a one-device run exactly.
    gan = GAN(g, d, penalties=[losses.R1Penalty(1.0)], ema_decay=0.5)
    gan.compile()
    return gan

single = build()
h1 = single.fit(images, latents, batch_size=8, epochs=2, shuffle=False, verbose=0).history
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
with strategy.scope():
    mirrored = build()
h2 = mirrored.fit(images, latents, batch_size=8, epochs=2, shuffle=False, verbose=0).history
for key in h1:
    np.testing.assert_allclose(h2[key], h1[key], rtol=1e-4, err_msg=key)
for a, b in zip(single.weights, mirrored.weights):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5, err_msg=a.path)
h3 = mirrored.fit(images, batch_size=8, epochs=1, verbose=0).history
assert np.all(np.isfinite(h3["d_loss"]))
# The image counter adds the global batch (summed over replicas), once per step.
assert mirrored.counter_values() == {"iterations": 3, "images_seen": 24}, mirrored.counter_values()
print("ok", h2)
"""


def test_tf_mirrored_strategy_on_two_cpu_devices_matches_one_device():
    result = run_python(_TF_MIRRORED, backend="tensorflow")
    assert "ok" in result.stdout
