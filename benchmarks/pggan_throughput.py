"""Images per second of ``ProgressiveGAN`` per stage against a plain WGAN-GP train step.

For every stage resolution ``r`` both sides train the same stage networks
(``pggan_stage(pggan_generator(...), r)`` and the discriminator's, same initial weights, same
``Adam(1e-3, beta_1=0, beta_2=0.99, epsilon=1e-8)``, same batch size) with ``fit`` on the same
``ShuffledBatches`` stream:

* **ProgressiveGAN**: the library's train step at that stage, in its fade phase (``alpha``
  computed from ``images_seen`` in the step, the real batch blended, FadeIn alphas assigned),
  WGAN-GP (lambda 10) + drift (0.001) through the GAN core's losses and per-backend
  ``_minimize``; EMA off by default (``--ema`` turns it on) since the reference has none.
* **reference**: a straightforward single-resolution WGAN-GP ``train_step`` written here from
  Keras primitives, the way the Keras guides write custom GAN steps: ``GradientTape`` with a
  nested tape for the penalty (TensorFlow), ``torch.autograd.grad(create_graph=True)`` +
  ``backward`` (PyTorch), ``stateless_call`` + ``jax.grad`` inside ``jax.value_and_grad`` +
  ``stateless_apply`` (JAX). One D step (real and fake scored separately, gradient penalty on
  a random mix, drift on the real scores), then one G step.

Each side runs in its own process (``--worker``) per backend; the timed steps follow untimed
warm-up steps (compilation), and each side keeps the best of ``--repeats`` timed runs.

    python benchmarks/pggan_throughput.py                   # active KERAS_BACKEND
    python benchmarks/pggan_throughput.py --all-backends    # one process per backend and side
    python benchmarks/pggan_throughput.py --quick           # smoke test (tiny, seconds)

``--quick``: 4x4 and 8x8 stages of tiny networks (``fmap_base`` 32, ``fmap_max`` 8), batch 4,
2 timed steps after 1, one run; on TensorFlow both sides run their steps eagerly (tracing each
stage's ``tf.function`` was most of a quick run).

Prints ``ratio = ProgressiveGAN images/s / reference images/s`` per stage (target >= 1.0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from _common import block_other_frameworks, quick_eager, reference_gan_base, run_worker

BACKENDS = ("tensorflow", "jax", "torch")
LATENT_DIM = 64


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all-backends", action="store_true", help="run once per backend")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test settings")
    parser.add_argument("--resolution", type=int, default=32, help="largest stage")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--fmap-base", type=int, default=512, help="pggan64_small: 512")
    parser.add_argument("--fmap-max", type=int, default=64, help="pggan64_small: 64")
    parser.add_argument("--steps", type=int, default=10, help="timed train steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (compilation)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per side and stage")
    parser.add_argument("--ema", action="store_true", help="ProgressiveGAN keeps its EMA")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--worker", choices=("progressive", "reference"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.resolution, args.steps, args.warmup, args.repeats = 8, 2, 1, 1
        args.fmap_base, args.fmap_max, args.batch_size = 32, 8, 4
    return args


def _stages(args):
    stages, res = [], 4
    while res <= args.resolution:
        stages.append(res)
        res *= 2
    return stages


def _adam():
    import keras

    return keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.99, epsilon=1e-8)


def _networks(args):
    import keras

    from keras_facegen.models import pggan_discriminator, pggan_generator

    keras.utils.set_random_seed(0)
    kwargs = {"fmap_base": args.fmap_base, "fmap_max": args.fmap_max}
    return (
        pggan_generator(args.resolution, latent_dim=LATENT_DIM, **kwargs),
        pggan_discriminator(args.resolution, **kwargs),
    )


def _images(args, resolution):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (64, resolution, resolution, 3)).astype("float32")


# === The reference: a plain WGAN-GP train step ===


def reference_model(generator, discriminator):
    """A keras-io style WGAN-GP: a ``keras.Model`` with a custom ``train_step``, run by ``fit``."""
    import keras
    from keras import ops

    def d_loss_value(real_scores, fake_scores, gp):
        real_scores, fake_scores = ops.reshape(real_scores, (-1,)), ops.reshape(fake_scores, (-1,))
        drift = 0.001 * ops.mean(ops.square(real_scores))
        return ops.mean(fake_scores) - ops.mean(real_scores) + 10.0 * gp + drift

    def penalty(grads):
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2, 3)) + 1e-12)
        return ops.mean(ops.square(norms - 1.0))

    class PlainWGANGP(reference_gan_base(generator, discriminator, _adam)):
        def _noise(self, n):
            z = keras.random.normal((n, LATENT_DIM), seed=self.seed_generator)
            eps = keras.random.uniform((n, 1, 1, 1), seed=self.seed_generator)
            return z, eps

        def _step_tf(self, real):
            import tensorflow as tf

            n = ops.shape(real)[0]
            z, eps = self._noise(n)
            fake = ops.stop_gradient(generator(z, training=True))
            with tf.GradientTape() as tape:
                mixed = eps * real + (1.0 - eps) * fake
                with tf.GradientTape() as inner:
                    inner.watch(mixed)
                    mixed_score = ops.sum(discriminator(mixed, training=True))
                gp = penalty(inner.gradient(mixed_score, mixed))
                d_loss = d_loss_value(
                    discriminator(real, training=True), discriminator(fake, training=True), gp
                )
            weights = discriminator.trainable_weights
            self.d_optimizer.apply(tape.gradient(d_loss, weights), weights)
            z, _ = self._noise(n)
            with tf.GradientTape() as tape:
                g_loss = -ops.mean(discriminator(generator(z, training=True), training=True))
            weights = generator.trainable_weights
            self.g_optimizer.apply(tape.gradient(g_loss, weights), weights)
            return d_loss, g_loss

        def _step_torch(self, real):
            import torch

            n = ops.shape(real)[0]
            z, eps = self._noise(n)
            with torch.no_grad():
                fake = generator(z, training=True)
            mixed = (eps * real + (1.0 - eps) * fake).detach().requires_grad_(True)
            (grads,) = torch.autograd.grad(
                discriminator(mixed, training=True).sum(), mixed, create_graph=True
            )
            d_loss = d_loss_value(
                discriminator(real, training=True),
                discriminator(fake, training=True),
                penalty(grads),
            )
            self.zero_grad()
            d_loss.backward()
            with torch.no_grad():
                weights = discriminator.trainable_weights
                self.d_optimizer.apply([v.value.grad for v in weights], weights)
            z, _ = self._noise(n)
            self.zero_grad()
            g_loss = -discriminator(generator(z, training=True), training=True).mean()
            g_loss.backward()
            with torch.no_grad():
                weights = generator.trainable_weights
                self.g_optimizer.apply([v.value.grad for v in weights], weights)
            return d_loss.detach(), g_loss.detach()

        def _step_jax(self, state, real):
            import jax

            values = self._jax_values(state)
            g_tv, d_tv, g_ntv, d_ntv = (values[k] for k in ("g_tv", "d_tv", "g_ntv", "d_ntv"))
            seed, g_ov, d_ov = values["seed"], values["g_ov"], values["d_ov"]
            n = real.shape[0]
            with keras.StatelessScope(state_mapping=[(self.seed_generator.state, seed)]) as rng:
                z, eps = self._noise(n)
                z2, _ = self._noise(n)
            seed = rng.get_current_value(self.seed_generator.state)

            def scores(d_tv, images):
                out, _ = discriminator.stateless_call(d_tv, d_ntv, images, training=True)
                return out

            def d_loss_fn(d_tv):
                fake, _ = generator.stateless_call(g_tv, g_ntv, z, training=True)
                fake = jax.lax.stop_gradient(fake)
                mixed = eps * real + (1.0 - eps) * fake
                grads = jax.grad(lambda x: scores(d_tv, x).sum())(mixed)
                return d_loss_value(scores(d_tv, real), scores(d_tv, fake), penalty(grads))

            d_loss, grads = jax.value_and_grad(d_loss_fn)(d_tv)
            d_tv, d_ov = self.d_optimizer.stateless_apply(d_ov, grads, d_tv)

            def g_loss_fn(g_tv):
                fake, _ = generator.stateless_call(g_tv, g_ntv, z2, training=True)
                return -scores(d_tv, fake).mean()

            g_loss, grads = jax.value_and_grad(g_loss_fn)(g_tv)
            g_tv, g_ov = self.g_optimizer.stateless_apply(g_ov, grads, g_tv)

            values.update(g_tv=g_tv, d_tv=d_tv, g_ntv=g_ntv, d_ntv=d_ntv, seed=seed)
            values.update(g_ov=g_ov, d_ov=d_ov)
            return self._jax_result(values, d_loss, g_loss)

    return PlainWGANGP()


# === Workers ===


def _time_fit(fit, steps, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fit(steps)
        best = min(best, time.perf_counter() - start)
    return best


def progressive_worker(args):
    """images/s of ProgressiveGAN per stage, in its fade phase."""
    from keras_facegen.models import ProgressiveGAN, ProgressiveSchedule
    from keras_facegen.models.progressive import phases

    generator, discriminator = _networks(args)
    stages = _stages(args)
    batch = args.batch_size
    # Long phases, so every timed step of a stage is in its fade.
    phase_images = batch * (args.warmup + args.steps * args.repeats) * 4
    schedule = ProgressiveSchedule(
        args.resolution,
        fade_images=phase_images,
        stable_images=phase_images,
        batch_sizes=dict.fromkeys(stages, batch),
    )
    gan = ProgressiveGAN(
        generator, discriminator, schedule=schedule, ema_decay=0.999 if args.ema else None, seed=0
    )
    gan.compile(run_eagerly=quick_eager(args.quick))
    images = _images(args, args.resolution)
    first = {}
    for phase in phases(schedule):
        first.setdefault(phase.stage.resolution, phase.first)
    results = {}
    for res in stages:
        gan.images_seen.assign(first[res])
        position = {"seen": first[res]}

        def fit(steps, position=position):
            position["seen"] += steps * batch
            gan.fit(images, until=position["seen"], verbose=0)

        fit(args.warmup)
        seconds = _time_fit(fit, args.steps, args.repeats)
        results[res] = args.steps * batch / seconds
    return results


def reference_worker(args):
    """images/s of the plain WGAN-GP step on each stage's networks."""
    from keras_facegen.data.batches import ShuffledBatches
    from keras_facegen.models import pggan_stage

    generator, discriminator = _networks(args)
    batch = args.batch_size
    results = {}
    for res in _stages(args):
        model = reference_model(pggan_stage(generator, res), pggan_stage(discriminator, res))
        model.compile(run_eagerly=quick_eager(args.quick))
        images = _images(args, args.resolution)
        position = {"start": 0}

        def fit(steps, model=model, images=images, res=res, position=position):
            batches = ShuffledBatches(
                images, batch, seed=0, start=position["start"], resolution=res
            )
            model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
            position["start"] += steps

        fit(args.warmup)
        seconds = _time_fit(fit, args.steps, args.repeats)
        results[res] = args.steps * batch / seconds
    return results


def _run_worker(backend, side, argv):
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    result = run_worker(__file__, [*argv, "--worker", side, "--json"], backend, env)
    return {int(k): v for k, v in result.items()}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.worker:
        block_other_frameworks()
        worker = progressive_worker if args.worker == "progressive" else reference_worker
        print(json.dumps(worker(args)))
        return None
    import keras

    backends = BACKENDS if args.all_backends else (keras.backend.backend(),)
    argv = [a for a in argv if a != "--all-backends"]
    report = {}
    for backend in backends:
        ours = _run_worker(backend, "progressive", argv)
        plain = _run_worker(backend, "reference", argv)
        report[backend] = {
            res: {
                "progressive_images_per_s": round(ours[res], 2),
                "reference_images_per_s": round(plain[res], 2),
                "ratio": round(ours[res] / plain[res], 3),
            }
            for res in ours
        }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if args.json:
        print(json.dumps({"load_average": load, "results": report}))
        return report
    print(
        f"batch {args.batch_size}, fmap_base {args.fmap_base}, fmap_max {args.fmap_max}, "
        f"{args.steps} timed steps x {args.repeats}; load average {load:.1f}"
    )
    for backend, stages in report.items():
        for res, row in stages.items():
            print(
                f"{backend:<10} {res:>4}x{res:<4} "
                f"ProgressiveGAN {row['progressive_images_per_s']:8.1f} img/s  "
                f"reference {row['reference_images_per_s']:8.1f} img/s  "
                f"ratio {row['ratio']:.3f}"
            )
    return report


if __name__ == "__main__":
    main()
