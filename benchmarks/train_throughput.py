"""Images per second of ``GAN.fit`` on the DCGAN presets at their real widths, per backend.

For each preset (``default``: ``dcgan_generator(latent_dim=64, resolution=32)`` and the
``dcgan64`` discriminator at 32x32; ``dcgan64``; ``face96``; ``face64_small``) and each backend,
every *side* runs in its own process and reports images/s of ``fit``:

* ``gan``: ``keras_facegen.models.GAN`` with the preset's networks as built by the library (its
  transposed convolutions are :class:`keras_facegen.layers.SubpixelConv2DTranspose`, its
  strided convolutions :class:`keras_facegen.layers.SpaceToDepthConv2D`, both with
  ``implementation="auto"``).
* ``keras``: the same, with the transposed and strided convolutions computed by Keras' own
  ``conv_transpose`` / ``conv`` (``implementation="keras"``: the library before those layers).
* ``subpixel``: the same, with the sub-pixel and space-to-depth computations forced on every
  backend.
* ``reference``: a plain GAN written the way the Keras GAN examples write it, on the same
  networks (see :func:`reference_model`), driven by the same ``fit``: ``gan / reference`` is what
  ``GAN``'s pluggable train step costs.

All sides use the non-saturating loss without matching terms (the work the reference does),
one logit, Adam(2e-4, 0.5), one D and one G step per batch, the same NumPy images. Each process
warms up (compiles) on two batches, then times ``--repeats`` runs of ``--steps`` batches; the
table shows the best run and the spread (slowest run / best run - 1). Ratios: each backend's
``gan`` images/s over TensorFlow's (``jax/tf``, ``torch/tf``), ``gan / keras`` and
``gan / reference``.

    python benchmarks/train_throughput.py                           # all presets and backends
    python benchmarks/train_throughput.py --presets default --backends jax,tensorflow
    python benchmarks/train_throughput.py --sides gan,keras --steps 3 --repeats 3
    python benchmarks/train_throughput.py --quick   # smoke test: tiny, this backend, in-process

The full default run takes an hour or more on a busy 2-core CPU (``dcgan64`` dominates).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from _common import reference_gan_base, run_worker

BACKENDS = ("tensorflow", "jax", "torch")
PRESETS = ("default", "dcgan64", "face96", "face64_small")
SIDES = ("gan", "keras", "subpixel", "reference")
# Batch sizes that keep a timed step around a second or two on a 2-core CPU.
BATCH_SIZES = {"default": 64, "dcgan64": 16, "face96": 16, "face64_small": 32, "tiny": 4}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument(
        "--sides", default="gan,keras,reference", help=f"comma-separated, of {', '.join(SIDES)}"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="override the per-preset one")
    parser.add_argument("--steps", type=int, default=3, help="batches per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per process")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: tiny network, active backend, in-process"
    )
    parser.add_argument(
        "--jax-loop",
        action="store_true",
        help="JAX reference side: also time a hand-written jitted loop without fit",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON lines")
    parser.add_argument("--worker", nargs=2, metavar=("PRESET", "SIDE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _models(preset, side):
    from keras_facegen.layers import SpaceToDepthConv2D, SubpixelConv2DTranspose
    from keras_facegen.models import dcgan_discriminator, dcgan_generator

    if preset == "default":
        g = dcgan_generator(latent_dim=64, resolution=32)
        d = dcgan_discriminator(resolution=32, logits=1)
    elif preset == "tiny":
        g = dcgan_generator(latent_dim=8, resolution=16, filters=[16, 8], kernel_size=5)
        d = dcgan_discriminator(resolution=16, filters=[8, 16], kernel_size=5, logits=1)
    else:
        g = dcgan_generator(preset)
        d = dcgan_discriminator(preset, logits=1)
    # "keras": Keras' own conv_transpose / strided conv (the library before the fast layers);
    # "subpixel": the sub-pixel and space-to-depth computations forced on every backend.
    transposed = [layer for layer in g.layers if isinstance(layer, SubpixelConv2DTranspose)]
    strided = [layer for layer in d.layers if isinstance(layer, SpaceToDepthConv2D)]
    for layer in transposed:
        layer.implementation = {"keras": "keras", "subpixel": "subpixel"}.get(side, "auto")
    for layer in strided:
        layer.implementation = {"keras": "keras", "subpixel": "space_to_depth"}.get(side, "auto")
    return g, d, bool(transposed or strided)


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


def reference_model(generator, discriminator, latent_dim):
    """A keras-io style GAN: a ``keras.Model`` with a custom ``train_step``, driven by ``fit``.

    TensorFlow: ``GradientTape`` (keras-io "DCGAN overriding train_step"). PyTorch:
    ``backward`` (guide "Customizing what happens in fit() with PyTorch"). JAX: a stateless
    ``train_step(self, state, data)`` with ``stateless_call``, ``jax.value_and_grad`` and
    ``stateless_apply`` (guide "Customizing what happens in fit() with JAX").
    """
    import keras
    from keras import ops

    class ReferenceGAN(reference_gan_base(generator, discriminator, _adam)):
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

            values = self._jax_values(state)
            g_tv, d_tv, g_ntv, d_ntv = (values[k] for k in ("g_tv", "d_tv", "g_ntv", "d_ntv"))
            seed, g_ov, d_ov = values["seed"], values["g_ov"], values["d_ov"]
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

            values.update(g_tv=g_tv, d_tv=d_tv, g_ntv=g_ntv, d_ntv=d_ntv, seed=seed)
            values.update(g_ov=g_ov, d_ov=d_ov)
            return self._jax_result(values, d_loss, g_loss)

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


def run_side(preset, side, batch, steps, repeats, jax_loop=False):
    """Times one side on the active backend (call it in a fresh process); returns a dict."""
    import keras
    import numpy as np

    from keras_facegen.models import GAN

    keras.utils.set_random_seed(0)
    g, d, transposed = _models(preset, side)
    result = {"backend": _backend(), "preset": preset, "side": side, "batch_size": batch}
    if side in ("keras", "subpixel") and not transposed:
        return {**result, "skipped": "no transposed or strided convolutions"}
    resolution = g.output_shape[1]
    images = (
        np.random.default_rng(0)
        .uniform(-1, 1, (max(steps, 2) * batch, resolution, resolution, 3))
        .astype("float32")
    )
    latent_dim = g.input_shape[-1]
    if side == "reference":
        model = reference_model(g, d, latent_dim)
    else:
        model = GAN(g, d, loss="non_saturating", seed=0)
    model.compile()
    measure = _fit_timer(model, images, batch, steps)
    runs = [measure() for _ in range(repeats)]
    if jax_loop and side == "reference" and _backend() == "jax":
        loop = jax_reference_timer(g, d, latent_dim, images, batch, steps)
        result["jax_loop_images_per_s"] = round(max(loop() for _ in range(repeats)), 2)
    return {
        **result,
        "steps": steps,
        "images_per_s": round(max(runs), 2),
        "runs": [round(r, 2) for r in runs],
        "spread": round(max(runs) / min(runs) - 1, 3),
        "load_average": round(os.getloadavg()[0], 1),
    }


def _run_worker(preset, side, backend, args):
    command = ["--worker", preset, side, "--steps", str(args.steps), "--repeats", str(args.repeats)]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    if args.jax_loop:
        command.append("--jax-loop")
    return run_worker(__file__, command, backend)


def _split(value, allowed, name):
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown or not items:
        raise SystemExit(f"--{name} must list some of {', '.join(allowed)}; received {value!r}.")
    return items


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        preset, side = args.worker
        batch = args.batch_size or BATCH_SIZES[preset]
        result = run_side(preset, side, batch, args.steps, args.repeats, args.jax_loop)
        print(json.dumps(result))
        return [result]
    sides = _split(args.sides, SIDES, "sides")
    if args.quick:  # Smoke test: a tiny network, the active backend, every side in this process.
        results = [run_side("tiny", side, BATCH_SIZES["tiny"], 1, 1) for side in sides]
        print(table(results))
        return results
    presets = _split(args.presets, PRESETS, "presets")
    backends = _split(args.backends, BACKENDS, "backends")
    results = []
    for preset in presets:
        for backend in backends:
            for side in sides:
                result = _run_worker(preset, side, backend, args)
                results.append(result)
                if args.json:
                    print(json.dumps(result), flush=True)
    if not args.json:
        print(table(results))
    return results


def table(results):
    """Formats worker results as a Markdown table (one row per preset and backend)."""
    by_key = {(r["preset"], r["backend"], r["side"]): r for r in results}
    rows = [
        "| preset | backend | batch | GAN.fit img/s (spread) | vs TF | keras convs "
        "img/s | GAN / keras | subpixel img/s | reference img/s | GAN / reference |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def speed(r):
        if r is None or "images_per_s" not in r:
            return None
        return r["images_per_s"]

    def fmt(value, spread=None):
        if value is None:
            return "-"
        return f"{value:.1f}" + (f" ({100 * spread:.0f}%)" if spread is not None else "")

    def ratio(a, b):
        return "-" if a is None or b is None else f"{a / b:.2f}"

    keys = dict.fromkeys((r["preset"], r["backend"]) for r in results)
    for preset, backend in keys:
        gan = by_key.get((preset, backend, "gan"))
        ours = speed(gan)
        tf = speed(by_key.get((preset, "tensorflow", "gan")))
        keras_side = speed(by_key.get((preset, backend, "keras")))
        subpixel = speed(by_key.get((preset, backend, "subpixel")))
        reference = speed(by_key.get((preset, backend, "reference")))
        batch = next(r["batch_size"] for r in results if r["preset"] == preset)
        cells = [
            preset,
            backend,
            str(batch),
            fmt(ours, gan.get("spread") if gan else None),
            ratio(ours, tf),
            fmt(keras_side),
            ratio(ours, keras_side),
            fmt(subpixel),
            fmt(reference),
            ratio(ours, reference),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
