"""Images per second of ``GAN.fit`` against a plain reference GAN trained with ``fit``, per backend.

The reference is written the way the Keras GAN examples write it: a ``keras.Model`` subclass
with a straightforward custom ``train_step``, driven by the same ``fit`` (TensorFlow:
``GradientTape``, keras-io "DCGAN overriding train_step"; PyTorch: ``backward``, guide
"Customizing what happens in fit() with PyTorch"; JAX: a stateless ``train_step(state, data)``
with ``stateless_call``, ``jax.value_and_grad`` and ``stateless_apply``, guide "Customizing what
happens in fit() with JAX", with both optimizers' variables threaded as ``model.optimizer``).
Both sides use the same networks (same initial weights), the same Adam optimizers, the
non-saturating loss with the discriminator called separately on the real and the fake batch,
one D step and one G step, and the same NumPy input to ``fit``; so the ratio measures what
``GAN``'s pluggable train step costs, not ``fit`` itself. ``--jax-loop`` also times a
hand-written jitted JAX loop over device-resident batches, without ``fit`` (no data adapter,
callbacks or state bookkeeping): ``GAN.fit / loop`` shows what ``fit`` itself costs.

The default networks are ``dcgan64`` at 64x64 with filter counts divided by ``--width`` (8:
generator 128-64-32-16, discriminator 8-16-32-64, about ``face64_small``'s size), big enough that
a step takes a good fraction of a second on a CPU, so per-step Python overhead is in the
ratio but does not dominate it. Timings alternate the two sides and keep each one's best of
``--repeats`` runs; the printed load average says how busy the machine was.

    python benchmarks/train_throughput.py                # active KERAS_BACKEND
    python benchmarks/train_throughput.py --all-backends # one subprocess per backend
    python benchmarks/train_throughput.py --quick        # smoke test (tiny, seconds)

Prints ``ratio = GAN images/s / reference images/s`` (target >= 1.0). On JAX both sides use
``upsample="nearest"`` generators by default: transposed-convolution gradients are ~30x slower
on CPU with XLA.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all-backends", action="store_true", help="run once per backend")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test settings")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="timed train steps")
    parser.add_argument("--width", type=int, default=8, help="divide dcgan64 filter counts by this")
    parser.add_argument("--upsample", default=None, help="transpose | nearest")
    parser.add_argument("--repeats", type=int, default=3, help="alternating timed runs per side")
    parser.add_argument(
        "--jax-loop",
        action="store_true",
        help="JAX: also time a hand-written jitted loop without fit (shows fit's own overhead)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    return parser.parse_args(argv)


def _models(args):
    from keras_facegen.models import dcgan_discriminator, dcgan_generator

    g_filters = [max(4, f // args.width) for f in (1024, 512, 256, 128)]
    d_filters = [max(4, f // args.width) for f in (64, 128, 256, 512)]
    depth = 4 if args.resolution >= 64 else 2
    upsample = args.upsample or ("nearest" if _backend() == "jax" else "transpose")
    g = dcgan_generator(
        "dcgan64", resolution=args.resolution, filters=g_filters[-depth:], upsample=upsample
    )
    d = dcgan_discriminator("dcgan64", resolution=args.resolution, filters=d_filters[:depth])
    return g, d


def _backend():
    import keras

    return keras.backend.backend()


def _adam():
    import keras

    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def _bce(logits, label):
    from keras import ops

    logits = ops.cast(ops.reshape(logits, (-1,)), "float32")
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, label), logits, from_logits=True))


class _OptimizerPair:
    """Both reference optimizers as the one ``model.optimizer`` Keras' JAX ``fit`` threads.

    Keras' JAX ``fit`` passes ``model.optimizer.variables`` through ``train_step(state, data)``
    and back; a GAN with two optimizers has to expose both optimizers' variables that way. This
    is the least plumbing any JAX GAN driven by ``fit`` needs.
    """

    def __init__(self, g_optimizer, d_optimizer):
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.built = True

    def build(self, var_list):
        pass

    @property
    def variables(self):
        return list(self.g_optimizer.variables) + list(self.d_optimizer.variables)


def reference_model(generator, discriminator, latent_dim):
    """A keras-io style GAN: a ``keras.Model`` with a custom ``train_step``, driven by ``fit``.

    TensorFlow: ``GradientTape`` (keras-io "DCGAN overriding train_step"). PyTorch:
    ``backward`` (guide "Customizing what happens in fit() with PyTorch"). JAX: a stateless
    ``train_step(self, state, data)`` with ``stateless_call``, ``jax.value_and_grad`` and
    ``stateless_apply`` (guide "Customizing what happens in fit() with JAX").
    """
    import keras
    from keras import ops

    class ReferenceGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = generator, discriminator
            self.seed_generator = keras.random.SeedGenerator(0)
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
            self.built = True

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self):
            super().compile()
            self.d_optimizer, self.g_optimizer = _adam(), _adam()
            self.d_optimizer.build(discriminator.trainable_variables)
            self.g_optimizer.build(generator.trainable_variables)
            if _backend() == "jax":
                self.optimizer = _OptimizerPair(self.g_optimizer, self.d_optimizer)

        def _step_tf(self, real):
            import tensorflow as tf

            n = ops.shape(real)[0]
            z = keras.random.normal((n, latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake = ops.stop_gradient(self.generator(z, training=True))
                d_loss = _bce(self.discriminator(real, training=True), 1.0) + _bce(
                    self.discriminator(fake, training=True), 0.0
                )
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply(grads, self.discriminator.trainable_weights)
            z = keras.random.normal((n, latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                g_loss = _bce(
                    self.discriminator(self.generator(z, training=True), training=True), 1.0
                )
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply(grads, self.generator.trainable_weights)
            return d_loss, g_loss

        def _step_torch(self, real):
            import torch

            n = ops.shape(real)[0]
            z = keras.random.normal((n, latent_dim), seed=self.seed_generator)
            self.zero_grad()
            fake = ops.stop_gradient(self.generator(z, training=True))
            d_loss = _bce(self.discriminator(real, training=True), 1.0) + _bce(
                self.discriminator(fake, training=True), 0.0
            )
            d_loss.backward()
            with torch.no_grad():
                weights = self.discriminator.trainable_weights
                self.d_optimizer.apply([v.value.grad for v in weights], weights)
            z = keras.random.normal((n, latent_dim), seed=self.seed_generator)
            self.zero_grad()
            g_loss = _bce(self.discriminator(self.generator(z, training=True), training=True), 1.0)
            g_loss.backward()
            with torch.no_grad():
                weights = self.generator.trainable_weights
                self.g_optimizer.apply([v.value.grad for v in weights], weights)
            return d_loss.detach(), g_loss.detach()

        def _step_jax(self, state, real):
            import jax

            trainable, non_trainable, optimizer_values, metric_values = state

            def pick(values, variables, wanted):
                position = {id(v): i for i, v in enumerate(variables)}
                return [values[position[id(v)]] for v in wanted]

            g_tv = pick(trainable, self.trainable_variables, generator.trainable_variables)
            d_tv = pick(trainable, self.trainable_variables, discriminator.trainable_variables)
            nt_vars = self.non_trainable_variables
            g_ntv = pick(non_trainable, nt_vars, generator.non_trainable_variables)
            d_ntv = pick(non_trainable, nt_vars, discriminator.non_trainable_variables)
            (seed,) = pick(non_trainable, nt_vars, [self.seed_generator.state])
            ngo = len(self.g_optimizer.variables)
            g_ov, d_ov = optimizer_values[:ngo], optimizer_values[ngo:]
            n = real.shape[0]

            def latents(seed):
                z = keras.random.normal((n, latent_dim), seed=seed)
                return z, jax.random.fold_in(seed, 1)

            def d_loss_fn(d_tv, d_ntv, g_ntv, z):
                fake, g_ntv = generator.stateless_call(g_tv, g_ntv, z, training=True)
                fake = jax.lax.stop_gradient(fake)
                real_logits, d_ntv = discriminator.stateless_call(d_tv, d_ntv, real, training=True)
                fake_logits, d_ntv = discriminator.stateless_call(d_tv, d_ntv, fake, training=True)
                return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0), (d_ntv, g_ntv)

            def g_loss_fn(g_tv, g_ntv, d_ntv, z):
                fake, g_ntv = generator.stateless_call(g_tv, g_ntv, z, training=True)
                logits, d_ntv = discriminator.stateless_call(d_tv, d_ntv, fake, training=True)
                return _bce(logits, 1.0), (g_ntv, d_ntv)

            z, seed = latents(seed)
            (d_loss, (d_ntv, g_ntv)), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(
                d_tv, d_ntv, g_ntv, z
            )
            d_tv, d_ov = self.d_optimizer.stateless_apply(d_ov, grads, d_tv)
            z, seed = latents(seed)
            (g_loss, (g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(
                g_tv, g_ntv, d_ntv, z
            )
            g_tv, g_ov = self.g_optimizer.stateless_apply(g_ov, grads, g_tv)

            mapping = list(zip(self.metrics_variables, metric_values))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                self.d_loss_tracker.update_state(d_loss)
                self.g_loss_tracker.update_state(g_loss)
                logs = {m.name: m.result() for m in self.metrics}
            metric_values = [scope.get_current_value(v) for v in self.metrics_variables]
            new_values = dict(zip(map(id, generator.trainable_variables), g_tv))
            new_values.update(zip(map(id, discriminator.trainable_variables), d_tv))
            new_values.update(zip(map(id, generator.non_trainable_variables), g_ntv))
            new_values.update(zip(map(id, discriminator.non_trainable_variables), d_ntv))
            new_values[id(self.seed_generator.state)] = seed
            state = (
                [new_values[id(v)] for v in self.trainable_variables],
                [new_values[id(v)] for v in nt_vars],
                [*g_ov, *d_ov],
                metric_values,
            )
            return logs, state

        def train_step(self, *args):
            if _backend() == "jax":
                state, real = args
                return self._step_jax(state, real[0] if isinstance(real, tuple) else real)
            (real,) = args
            if isinstance(real, tuple):
                real = real[0]
            step = self._step_tf if _backend() == "tensorflow" else self._step_torch
            d_loss, g_loss = step(real)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {m.name: m.result() for m in self.metrics}

    return ReferenceGAN()


def jax_reference_timer(generator, discriminator, latent_dim, images, batch, steps):
    """A hand-written jitted JAX GAN step (stateless_call + value_and_grad + stateless_apply).

    Compiles it, then returns a function measuring images/s over ``steps`` steps.
    """
    import jax
    import keras

    g_opt, d_opt = _adam(), _adam()
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)

    def d_loss_fn(d_tv, d_ntv, g_tv, g_ntv, real, z):
        fake, g_ntv = generator.stateless_call(g_tv, g_ntv, z, training=True)
        fake = jax.lax.stop_gradient(fake)
        real_logits, d_ntv = discriminator.stateless_call(d_tv, d_ntv, real, training=True)
        fake_logits, d_ntv = discriminator.stateless_call(d_tv, d_ntv, fake, training=True)
        return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0), (d_ntv, g_ntv)

    def g_loss_fn(g_tv, g_ntv, d_tv, d_ntv, z):
        fake, g_ntv = generator.stateless_call(g_tv, g_ntv, z, training=True)
        logits, d_ntv = discriminator.stateless_call(d_tv, d_ntv, fake, training=True)
        return _bce(logits, 1.0), (g_ntv, d_ntv)

    @jax.jit
    def step(state, real, key):
        g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov = state
        k1, k2 = jax.random.split(key)
        z = jax.random.normal(k1, (real.shape[0], latent_dim))
        (d_loss, (d_ntv, g_ntv)), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(
            d_tv, d_ntv, g_tv, g_ntv, real, z
        )
        d_tv, d_ov = d_opt.stateless_apply(d_ov, grads, d_tv)
        z = jax.random.normal(k2, (real.shape[0], latent_dim))
        (g_loss, (g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(
            g_tv, g_ntv, d_tv, d_ntv, z
        )
        g_tv, g_ov = g_opt.stateless_apply(g_ov, grads, g_tv)
        return (g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov), d_loss + g_loss

    def values(vs):
        return [v.value for v in vs]

    state = (
        values(generator.trainable_variables),
        values(generator.non_trainable_variables),
        values(discriminator.trainable_variables),
        values(discriminator.non_trainable_variables),
        values(g_opt.variables),
        values(d_opt.variables),
    )
    batches = [images[i * batch : (i + 1) * batch] for i in range(len(images) // batch)]
    keys = list(jax.random.split(jax.random.PRNGKey(0), steps))
    carry = {"state": step(state, batches[0], keys[0])[0]}  # compile

    def measure():
        state = carry["state"]
        start = time.perf_counter()
        for i in range(steps):
            state, loss = step(state, batches[i % len(batches)], keys[i])
        keras.ops.convert_to_numpy(loss)
        carry["state"] = state
        return steps * batch / (time.perf_counter() - start)

    return measure


def _fit_timer(model, images, batch, steps):
    model.fit(images[: 2 * batch], batch_size=batch, epochs=1, verbose=0)  # compile / warm up

    def measure():
        start = time.perf_counter()
        model.fit(images[: steps * batch], batch_size=batch, epochs=1, verbose=0, shuffle=False)
        return steps * batch / (time.perf_counter() - start)

    return measure


def run(args):
    import keras
    import numpy as np

    from keras_facegen.models import GAN

    keras.utils.set_random_seed(0)
    images = (
        np.random.default_rng(0)
        .uniform(-1, 1, (max(args.steps, 2) * args.batch_size, args.resolution, args.resolution, 3))
        .astype("float32")
    )
    g, d = _models(args)
    latent_dim = g.input_shape[-1]
    weights = (g.get_weights(), d.get_weights())

    gan = GAN(g, d, loss="non_saturating", seed=0)
    gan.compile()
    measure_ours = _fit_timer(gan, images, args.batch_size, args.steps)

    g.set_weights(weights[0])
    d.set_weights(weights[1])
    ref = reference_model(g, d, latent_dim)
    ref.compile()
    measure_reference = _fit_timer(ref, images, args.batch_size, args.steps)
    measure_loop = None
    if _backend() == "jax" and args.jax_loop:
        measure_loop = jax_reference_timer(g, d, latent_dim, images, args.batch_size, args.steps)
    # Alternate the sides and keep each one's best run: on a shared machine, load changes
    # between runs would otherwise decide the ratio.
    ours, reference, loop = 0.0, 0.0, 0.0
    for _ in range(args.repeats):
        ours = max(ours, measure_ours())
        reference = max(reference, measure_reference())
        if measure_loop is not None:
            loop = max(loop, measure_loop())
    extra = {}
    if measure_loop is not None:
        extra = {
            "jax_loop_images_per_s": round(loop, 2),
            "ratio_to_jax_loop": round(ours / loop, 3),
        }
    return {
        "backend": _backend(),
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "gan_images_per_s": round(ours, 2),
        "reference_images_per_s": round(reference, 2),
        "ratio": round(ours / reference, 3),
        "load_average": round(os.getloadavg()[0], 1),
        **extra,
    }


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.resolution, args.batch_size, args.steps, args.width, args.repeats = 16, 8, 2, 32, 1
    if args.all_backends:
        forwarded = [
            a for a in (argv if argv is not None else sys.argv[1:]) if a != "--all-backends"
        ]
        results = []
        for backend in BACKENDS:
            env = dict(os.environ, KERAS_BACKEND=backend)
            out = subprocess.run(
                [sys.executable, __file__, *forwarded, "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
        for r in results:
            print(_line(r))
        return results
    result = run(args)
    print(json.dumps(result) if args.json else _line(result))
    return [result]


def _line(r):
    line = (
        f"{r['backend']:>10}: GAN.fit {r['gan_images_per_s']:8.1f} img/s, reference fit "
        f"{r['reference_images_per_s']:8.1f} img/s, ratio {r['ratio']:.2f} "
        f"({r['resolution']}x{r['resolution']}, batch {r['batch_size']}, {r['steps']} steps, "
        f"load {r['load_average']})"
    )
    if "jax_loop_images_per_s" in r:
        line += (
            f"\n{'':>10}  plain jitted loop without fit {r['jax_loop_images_per_s']:8.1f} img/s, "
            f"GAN.fit / loop {r['ratio_to_jax_loop']:.2f}"
        )
    return line


if __name__ == "__main__":
    main()
