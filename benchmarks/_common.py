"""Pieces shared by the throughput benchmarks (``train_throughput.py``, ``pggan_throughput.py``).

* :func:`reference_gan_base`: the plumbing of a keras-io style GAN driven by ``fit`` (two
  optimizers, two loss trackers, the per-backend ``train_step`` dispatch, and the JAX state
  threading); each benchmark writes only its reference train step on top of it.
* :func:`run_worker`: runs a benchmark's worker in a fresh process for one backend and reads the
  JSON line it prints last.

Keras is imported inside the functions, so a parent process can start workers on other backends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


class OptimizerPair:
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


def reference_gan_base(generator, discriminator, make_optimizer):
    """The base class of a benchmark's reference GAN (a ``keras.Model`` run by ``fit``).

    A subclass writes ``_step_tf(real)`` and ``_step_torch(real)``, each returning
    ``(d_loss, g_loss)`` after one discriminator and one generator step, and
    ``_step_jax(state, real)`` returning ``(logs, state)``: it reads its values with
    :meth:`_jax_values` and hands the new ones to :meth:`_jax_result`.

    Args:
        generator: The generator network.
        discriminator: The discriminator network.
        make_optimizer: Returns a new optimizer (called once per player).

    Returns:
        The class (Keras is imported here, in the process that runs it).
    """
    import keras

    class ReferenceGANBase(keras.Model):
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

        def compile(self, run_eagerly=False):
            super().compile(run_eagerly=run_eagerly)
            self.d_optimizer, self.g_optimizer = make_optimizer(), make_optimizer()
            self.d_optimizer.build(discriminator.trainable_variables)
            self.g_optimizer.build(generator.trainable_variables)
            if keras.backend.backend() == "jax":
                self.optimizer = OptimizerPair(self.g_optimizer, self.d_optimizer)

        def train_step(self, *args):
            backend = keras.backend.backend()
            if backend == "jax":
                state, data = args
                return self._step_jax(state, keras.utils.unpack_x_y_sample_weight(data)[0])
            real = keras.utils.unpack_x_y_sample_weight(args[0])[0]
            step = self._step_tf if backend == "tensorflow" else self._step_torch
            d_loss, g_loss = step(real)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {m.name: m.result() for m in self.metrics}

        def _jax_values(self, state):
            """Each player's variable values, the seed and the optimizers' values in ``state``."""
            trainable, non_trainable, optimizer_values, metric_values = state

            def pick(values, variables, wanted):
                position = {id(v): i for i, v in enumerate(variables)}
                return [values[position[id(v)]] for v in wanted]

            nt_vars = self.non_trainable_variables
            ngo = len(self.g_optimizer.variables)
            return {
                "g_tv": pick(trainable, self.trainable_variables, generator.trainable_variables),
                "d_tv": pick(
                    trainable, self.trainable_variables, discriminator.trainable_variables
                ),
                "g_ntv": pick(non_trainable, nt_vars, generator.non_trainable_variables),
                "d_ntv": pick(non_trainable, nt_vars, discriminator.non_trainable_variables),
                "seed": pick(non_trainable, nt_vars, [self.seed_generator.state])[0],
                "g_ov": optimizer_values[:ngo],
                "d_ov": optimizer_values[ngo:],
                "metric_values": metric_values,
            }

        def _jax_result(self, values, d_loss, g_loss):
            """``(logs, state)`` from the step's new values (the keys of :meth:`_jax_values`)."""
            mapping = list(zip(self.metrics_variables, values["metric_values"]))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                self.d_loss_tracker.update_state(d_loss)
                self.g_loss_tracker.update_state(g_loss)
                logs = {m.name: m.result() for m in self.metrics}
            metric_values = [scope.get_current_value(v) for v in self.metrics_variables]
            new_values = dict(zip(map(id, generator.trainable_variables), values["g_tv"]))
            new_values.update(zip(map(id, discriminator.trainable_variables), values["d_tv"]))
            new_values.update(zip(map(id, generator.non_trainable_variables), values["g_ntv"]))
            new_values.update(zip(map(id, discriminator.non_trainable_variables), values["d_ntv"]))
            new_values[id(self.seed_generator.state)] = values["seed"]
            state = (
                [new_values[id(v)] for v in self.trainable_variables],
                [new_values[id(v)] for v in self.non_trainable_variables],
                [*values["g_ov"], *values["d_ov"]],
                metric_values,
            )
            return logs, state

    return ReferenceGANBase


def quick_eager(quick):
    """``run_eagerly`` for a benchmark's models: true for a ``--quick`` run on TensorFlow.

    A smoke run's few tiny steps cost less eagerly than tracing the train step into a
    ``tf.function`` (once per model, and per phase of a ``ProgressiveGAN``), which was most of
    its time. JAX is left compiled: op by op, its first steps are slower than one compilation.

    Args:
        quick: Whether the run is a ``--quick`` smoke run.

    Returns:
        Whether to run eagerly.
    """
    import keras

    return bool(quick) and keras.backend.backend() == "tensorflow"


def block_other_frameworks():
    """Runs this worker process as if TensorFlow and JAX were not installed, but its backend.

    Keras imports them whenever they are installed, on every backend: TensorFlow to seed it
    (``keras.utils.set_random_seed``) and to look for its types when serializing (which
    ``GAN.compile`` does), JAX for its checkpoint callback. In a worker that never runs them
    that costs seconds of start-up on 2 shared cores (TensorFlow 5-15 s, JAX about 1.5 s of
    CPU) and loads their libraries and thread pools into the process. A ``None`` in
    ``sys.modules`` makes ``import tensorflow`` raise ``ImportError``, which Keras reads as "not
    installed" (and a worker that did need it fails loudly). A worker calls this first, before
    it imports Keras: ``import keras`` itself imports JAX on every backend (for its Orbax
    checkpoint callback; about 1 s of a PyTorch worker's 10 s of start-up on 2 cores), so the
    backend is read from ``KERAS_BACKEND`` (which :func:`run_worker` always sets), and from
    Keras only without it.
    """
    backend = os.environ.get("KERAS_BACKEND")
    if not backend:
        import keras

        backend = keras.backend.backend()
    for name in {"tensorflow", "jax"} - {backend}:
        sys.modules.setdefault(name, None)


def run_worker(script, arguments, backend, env=None):
    """Runs ``python script *arguments`` with ``KERAS_BACKEND=backend``; returns its last line.

    Args:
        script: The benchmark file.
        arguments: Its command-line arguments (selecting the worker).
        backend: The Keras backend of the worker process.
        env: More environment variables (the caller's environment is kept); a ``None`` value
            removes that variable.

    Returns:
        The JSON value the worker printed on its last line of output.

    Raises:
        RuntimeError: If the worker fails (with the end of its error output).
    """
    environment = dict(os.environ, KERAS_BACKEND=backend, **(env or {}))
    environment = {k: v for k, v in environment.items() if v is not None}
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    out = subprocess.run(
        [sys.executable, os.path.abspath(script), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"{arguments} on {backend} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def add_fit_timing_options(parser, steps=10, warmup=2):
    """Adds ``--steps``, ``--warmup``, ``--repeats``, ``--batch-size`` and ``--resolution``.

    Args:
        parser: An ``argparse.ArgumentParser``.
        steps: Default batches per timed run.
        warmup: Default untimed batches first (compilation).
    """
    parser.add_argument("--steps", type=int, default=steps, help="batches per timed run")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed batches first")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--batch-size", type=int, default=None, help="the preset's by default")
    parser.add_argument("--resolution", type=int, default=None, help="the preset's by default")


def quick_fit_timing(args):
    """Tiny smoke-test timing settings: 2 steps after 1, one run, batch 4 at 32x32."""
    args.steps, args.warmup, args.repeats, args.batch_size, args.resolution = 2, 1, 1, 4, 32


def fit_timing_arguments(args):
    """The command-line flags that pass ``args``' timing settings on to a worker.

    Args:
        args: Parsed arguments with ``steps``, ``warmup``, ``repeats``, ``batch_size`` and
            ``resolution`` (the last two may be ``None``: the preset's).

    Returns:
        A list of strings for :func:`run_worker`.
    """
    arguments = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    arguments += ["--repeats", str(args.repeats)]
    if args.batch_size:
        arguments += ["--batch-size", str(args.batch_size)]
    if args.resolution:
        arguments += ["--resolution", str(args.resolution)]
    return arguments


def time_preset_fit(preset, steps, warmup, repeats, batch_size=None, resolution=None):
    """Times ``GAN.fit`` on a preset in this process (a benchmark worker calls it).

    Builds ``gan_from_preset(preset)`` (at ``resolution`` if given), fits ``warmup`` untimed
    batches (compilation), then ``repeats`` timed runs of ``steps`` batches of synthetic faces.

    Args:
        preset: A preset name.
        steps: Batches per timed run.
        warmup: Untimed batches first.
        repeats: Timed runs.
        batch_size: Images per batch (default: the preset's).
        resolution: Image size (default: the preset's).

    Returns:
        The fastest run: ``images_per_s``, per-step ``wall_s``, ``user_s``, ``sys_s`` (CPU
        seconds of this process) and ``faults`` (minor page faults), plus ``batch_size``.
    """
    import resource
    import time

    import keras
    import numpy as np

    from keras_facegen import models
    from keras_facegen.data import synthetic_faces

    keras.utils.set_random_seed(0)
    kwargs = {"resolution": resolution} if resolution else {}
    gan = models.gan_from_preset(preset, seed=0, **kwargs)
    size = gan.generator.output_shape[1]
    batch = batch_size or models.get_preset(preset).get("batch_size", 64)
    images, _ = synthetic_faces(batch, resolution=size, seed=0)
    gan.fit(np.resize(images, (batch * warmup, size, size, 3)), batch_size=batch, verbose=0)
    data = np.resize(images, (batch * steps, size, size, 3))
    runs = []
    for _ in range(repeats):
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        gan.fit(data, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        runs.append(
            {
                "images_per_s": batch * steps / wall,
                "wall_s": wall / steps,
                "user_s": (after.ru_utime - before.ru_utime) / steps,
                "sys_s": (after.ru_stime - before.ru_stime) / steps,
                "faults": (after.ru_minflt - before.ru_minflt) / steps,
            }
        )
    best = max(runs, key=lambda r: r["images_per_s"])
    best["batch_size"] = batch
    return best
