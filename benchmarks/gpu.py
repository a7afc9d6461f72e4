"""GPU throughput and model FLOP utilisation of ``GAN.fit`` against a plain PyTorch loop.

For each model (``dcgan64``: the classic DCGAN preset at 64x64; ``pggan128``: the paper-width
progressive GAN at its final 128x128 stage, stable phase, alpha = 1) and each precision
(``fp32``; ``bf16`` = ``keras.mixed_precision.set_global_policy("mixed_bfloat16")``, set before
the networks are built), every *side* runs in its own process:

* ``library (jax)`` / ``library (torch)``: ``GAN.fit`` / ``ProgressiveGAN.fit`` as users run it
  (``gan_from_preset``; the PGGAN with its EMA off, since the reference keeps none).
* ``torch loop``: a hand-written PyTorch loop on the same Keras networks (with
  ``KERAS_BACKEND=torch`` a Keras model is a ``torch.nn.Module``), ``torch.optim.Adam`` over
  their trainable weights, ``torch.autograd``: the non-saturating loss for ``dcgan64``;
  WGAN-GP (lambda 10) + drift (0.001) for ``pggan128``, one D step then one G step.

Each process warms up (compiles) on ``--warmup`` untimed steps, then times ``--repeats`` runs
of ``--steps`` steps (the device synchronized before the clock stops) and keeps the best.

**FLOPs** are counted analytically from the networks' layers (``Conv2D``,
``Conv2DTranspose``, ``Dense`` and the library's ``EqualizedConv2D``, ``EqualizedDense``,
``SubpixelConv2DTranspose``, ``SpaceToDepthConv2D``): 2 x the multiply-adds of the
mathematical convolution or product each computes, whatever computation the layer picks
(normalizations, activations, pooling and the optimizer are left out). With ``F_G`` / ``F_D``
the forward FLOPs per image and a pass with its backward counted as 3 forwards (the backward
computes input and weight gradients, 2 forwards' worth), per image of the batch:

* non-saturating (``dcgan64``): ``F_G`` (D's fakes) + ``2 x 3 F_D`` (D on real and fake)
  + ``3 F_G + 3 F_D`` (G step) = ``4 F_G + 9 F_D``;
* WGAN-GP (``pggan128``): the above plus the penalty's ``9 F_D`` (a forward and an input
  gradient, ``3 F_D``, differentiated again: ``2 x 3 F_D``) = ``4 F_G + 18 F_D``.

``MFU = FLOPs per step / (seconds per step x peak FLOP/s)``, the peak from ``--peak-tflops``
or a table of known devices (see :data:`PEAK_TFLOPS`; fp32 uses the TF32 tensor-core peak,
which cuDNN and XLA use for fp32 convolutions by default); "n/a" on a CPU or unknown device.

    python benchmarks/gpu.py                                    # everything, on the GPU
    python benchmarks/gpu.py --models dcgan64 --precision bf16 --backends torch
    python benchmarks/gpu.py --quick                            # CPU smoke test (tiny)

The workers never import TensorFlow (a GPU machine may not have it), nor JAX on PyTorch: they
block those imports (``_common.block_other_frameworks``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from _common import block_other_frameworks, run_worker

MODELS = ("dcgan64", "pggan128")
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}
LIBRARY_BACKENDS = ("jax", "torch")
REFERENCE = "torch loop"
DEFAULT_BATCH = {"dcgan64": 64, "pggan128": 16}

PEAK_TFLOPS: dict[str, dict[str, float]] = {
    # Dense (no sparsity) tensor-core peaks from NVIDIA's data sheets; "fp32" is TF32.
    "H100 PCIe": {"bf16": 756.0, "fp32": 378.0},
    "H100": {"bf16": 989.0, "fp32": 494.0},
    "H200": {"bf16": 989.0, "fp32": 494.0},
    "A100": {"bf16": 312.0, "fp32": 156.0},
}
"""Peak TFLOP/s per device-name fragment (first match wins) and precision.

``fp32`` is the TF32 tensor-core peak (H100 / H200 SXM 494, A100 156; without tensor cores
67 and 19.5), since cuDNN and XLA run fp32 convolutions as TF32 by default.
"""

STEP_RULES = {
    "dcgan64": ("non-saturating", 4, 9),
    "pggan128": ("WGAN-GP", 4, 18),
}
"""Per model: the loss and the multiples of ``F_G`` and ``F_D`` in one step's FLOPs per image."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The parsed arguments (``--quick`` applied).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="jax,torch", help="library sides: jax,torch")
    parser.add_argument("--models", default=",".join(MODELS), help="dcgan64,pggan128")
    parser.add_argument("--precision", default="fp32,bf16", help="fp32,bf16")
    parser.add_argument("--no-reference", action="store_true", help="skip the torch loop")
    parser.add_argument("--batch-size", type=int, default=None, help="dcgan64 64, pggan128 16")
    parser.add_argument("--steps", type=int, default=20, help="train steps per timed run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps (compilation)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak")
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    parser.add_argument("--quick", action="store_true", help="tiny settings (CPU smoke test)")
    parser.add_argument("--worker", choices=("library", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.repeats = 2, 1, 1
        args.batch_size = args.batch_size or 4
    for name, values, allowed in (
        ("backends", args.backends, LIBRARY_BACKENDS),
        ("models", args.models, MODELS),
        ("precision", args.precision, tuple(PRECISIONS)),
    ):
        unknown = [v for v in values.split(",") if v not in allowed]
        if unknown:
            parser.error(f"--{name}: unknown {unknown}; choose from {list(allowed)}")
    return args


# === FLOP counting ===


def _input_shape(layer: Any) -> tuple[int | None, ...] | None:
    """The input shape ``layer`` was built with, or ``None``."""
    config = layer.get_build_config() if layer.built else None
    shape = (config or {}).get("input_shape")
    return tuple(shape) if shape is not None else None


def layer_flops(layer: Any) -> int:
    """Forward FLOPs per example of one layer: 2 x the multiply-adds of its linear map.

    Convolutions count every kernel tap at every output position (zero padding included) of
    the mathematical convolution; a transposed convolution counts every input position times
    every kernel tap, however the layer computes it (sub-pixel, space-to-depth, Keras' own).

    Args:
        layer: A built Keras layer.

    Returns:
        The FLOPs, 0 for layers without a convolution or dense product (or not built).
    """
    import math

    import keras

    from keras_facegen.layers import EqualizedConv2D, EqualizedDense

    shape = _input_shape(layer)
    if shape is None:
        return 0
    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, height, width, channels = shape
        kh, kw = layer.kernel_size
        return 2 * height * width * channels * kh * kw * layer.filters
    if isinstance(layer, (keras.layers.Conv2D, EqualizedConv2D)):
        _, out_h, out_w, filters = layer.compute_output_shape(shape)
        kh, kw = layer.kernel_size
        groups = getattr(layer, "groups", 1)
        return 2 * out_h * out_w * filters * kh * kw * (shape[-1] // groups)
    if isinstance(layer, (keras.layers.Dense, EqualizedDense)):
        rows = math.prod(shape[1:-1])
        return 2 * rows * shape[-1] * layer.units
    return 0


def forward_flops(model: Any) -> int:
    """Forward FLOPs per example of a model: :func:`layer_flops` over its layers.

    Nested models are walked; a layer reached twice counts once (each is called once per
    forward pass in the library's networks, including the progressive GAN's at its full
    resolution).

    Args:
        model: A built Keras model.

    Returns:
        FLOPs per example.

    Example:
        >>> forward_flops(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))
        24
    """
    seen: set[int] = set()

    def walk(layer: Any) -> int:
        if id(layer) in seen:
            return 0
        seen.add(id(layer))
        inner = getattr(layer, "layers", None)
        if inner is not None:
            return sum(walk(child) for child in inner)
        return layer_flops(layer)

    return walk(model)


def step_flops(model: str, generator_flops: int, discriminator_flops: int, batch: int) -> int:
    """FLOPs of one train step of ``batch`` images (the rule of :data:`STEP_RULES`).

    Args:
        model: ``"dcgan64"`` or ``"pggan128"``.
        generator_flops: ``F_G``, forward FLOPs per image.
        discriminator_flops: ``F_D``, forward FLOPs per image.
        batch: Images per step.

    Returns:
        ``batch x (a F_G + b F_D)``.
    """
    _, g_passes, d_passes = STEP_RULES[model]
    return batch * (g_passes * generator_flops + d_passes * discriminator_flops)


def peak_tflops(device: str, precision: str) -> float | None:
    """The device's peak TFLOP/s at ``precision`` from :data:`PEAK_TFLOPS`, if known."""
    for fragment, peaks in PEAK_TFLOPS.items():
        if fragment.lower() in device.lower():
            return peaks[precision]
    return None


# === Workers (run in their own process) ===


def _config(model: str, quick: bool, batch: int, phase_images: int) -> dict[str, Any]:
    """The preset the model runs (tiny widths with ``quick``)."""
    from keras_facegen import models

    config = models.get_preset(model)
    if model == "dcgan64":
        if quick:
            config["resolution"] = 16
            config["generator"]["filters"] = [16, 8]
            config["discriminator"]["filters"] = [8, 16]
        return config
    if quick:
        config["resolution"] = 8
        for role in ("generator", "discriminator"):
            config[role].update(fmap_base=32, fmap_max=8)
    resolutions = [4 * 2**i for i in range(config["resolution"].bit_length() - 2)]
    config["schedule"] = {
        "fade_images": phase_images,
        "stable_images": phase_images,
        "batch_sizes": dict.fromkeys(resolutions, batch),
    }
    config["ema_decay"] = None
    return config


def _device(backend: str) -> str:
    """The accelerator's name, or ``"CPU"``."""
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    import jax

    device = jax.devices()[0]
    return "CPU" if device.platform == "cpu" else device.device_kind


def _timing(seconds, args, batch, generator, discriminator, backend):
    """A worker's JSON result: best run time, settings, forward FLOPs per image, device."""
    return {
        "seconds": seconds,
        "steps": args.steps,
        "batch": batch,
        "g_flops": forward_flops(generator),
        "d_flops": forward_flops(discriminator),
        "device": _device(backend),
    }


def _synchronize(backend: str, variable: Any) -> None:
    """Waits for the device to finish the work queued so far."""
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
    else:
        import jax

        jax.block_until_ready(variable.value)


def _time(run: Any, steps: int, warmup: int, repeats: int, sync: Any) -> float:
    """Best wall seconds of ``repeats`` calls ``run(steps)`` after ``run(warmup)``."""
    run(warmup)
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(steps)
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def _images(count: int, resolution: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (count, resolution, resolution, 3)).astype("float32")


def library_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Times ``GAN.fit`` (``ProgressiveGAN.fit`` at its last stage) in this process.

    Args:
        args: The worker's arguments (``--model``, ``--precision``, ``--batch-size``, ...).

    Returns:
        ``seconds`` (best timed run), ``steps``, ``batch``, the forward FLOPs ``g_flops`` /
        ``d_flops`` per image and ``device``.
    """
    import keras
    import numpy as np

    from keras_facegen import models

    backend = keras.backend.backend()
    batch = args.batch_size
    phase_images = batch * (args.warmup + args.steps * args.repeats + 1)
    config = _config(args.model, args.quick, batch, phase_images)
    size = config["resolution"]
    keras.utils.set_random_seed(0)
    gan = models.gan_from_preset(config, seed=0)
    if args.model == "dcgan64":
        images = _images(batch, size)

        def run(steps: int) -> None:
            data = np.resize(images, (batch * steps, size, size, 3))
            gan.fit(data, batch_size=batch, epochs=1, verbose=0, shuffle=False)

        generator, discriminator = gan.generator, gan.discriminator
    else:
        from keras_facegen.models.phases import phases

        last = [p for p in phases(gan.schedule) if p.stage.resolution == size][-1]
        gan.images_seen.assign(last.first)  # the final stage's stable phase, alpha = 1
        images = _images(2 * batch, size)
        position = {"seen": last.first}

        def run(steps: int) -> None:
            position["seen"] += steps * batch
            gan.fit(images, until=position["seen"], verbose=0)

        generator, discriminator = gan.generator.network, gan.discriminator.network
    weight = generator.trainable_variables[0]
    seconds = _time(
        run, args.steps, args.warmup, args.repeats, lambda: _synchronize(backend, weight)
    )
    return _timing(seconds, args, batch, generator, discriminator, backend)


def reference_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Times a plain PyTorch loop on the same Keras networks (``KERAS_BACKEND=torch``).

    Args:
        args: The worker's arguments.

    Returns:
        The keys of :func:`library_worker`.
    """
    import keras
    import torch
    import torch.nn.functional as F

    from keras_facegen import models

    batch = args.batch_size
    config = _config(args.model, args.quick, batch, batch)
    size, latent_dim = config["resolution"], config["latent_dim"]
    keras.utils.set_random_seed(0)
    if args.model == "dcgan64":
        generator = models.dcgan_generator(config)
        discriminator = models.dcgan_discriminator(config)
    else:
        generator = models.pggan_generator(size, latent_dim=latent_dim, **config["generator"])
        discriminator = models.pggan_discriminator(size, **config["discriminator"])
    g_params = [v.value for v in generator.trainable_variables]
    d_params = [v.value for v in discriminator.trainable_variables]
    adam = config["optimizer"]
    options = {
        "lr": adam["learning_rate"],
        "betas": (adam["beta_1"], adam["beta_2"]),
        "eps": adam.get("epsilon", 1e-7),
    }
    g_optimizer = torch.optim.Adam(g_params, **options)
    d_optimizer = torch.optim.Adam(d_params, **options)
    device = g_params[0].device
    host_images = torch.from_numpy(_images(batch, size))

    def scores(images: Any) -> Any:
        return discriminator(images, training=True).float().reshape(-1)

    def d_loss_value(real: Any, fake: Any) -> Any:
        real_scores, fake_scores = scores(real), scores(fake)
        if args.model == "dcgan64":
            return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()
        eps = torch.rand(real.shape[0], 1, 1, 1, device=device)
        mixed = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
        (grads,) = torch.autograd.grad(scores(mixed).sum(), mixed, create_graph=True)
        norms = torch.sqrt(grads.square().sum(dim=(1, 2, 3)) + 1e-12)
        penalty = (norms - 1.0).square().mean()
        drift = real_scores.square().mean()
        return fake_scores.mean() - real_scores.mean() + 10.0 * penalty + 0.001 * drift

    def g_loss_value(fake_scores: Any) -> Any:
        if args.model == "dcgan64":
            return F.softplus(-fake_scores).mean()
        return -fake_scores.mean()

    def step() -> None:
        real = host_images.to(device, non_blocking=True)  # a host batch each step, as fit
        with torch.no_grad():
            fake = generator(torch.randn(batch, latent_dim, device=device), training=True)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss_value(real, fake).backward()
        d_optimizer.step()
        for p in d_params:
            p.requires_grad_(False)
        g_optimizer.zero_grad(set_to_none=True)
        fake = generator(torch.randn(batch, latent_dim, device=device), training=True)
        g_loss_value(scores(fake)).backward()
        g_optimizer.step()
        for p in d_params:
            p.requires_grad_(True)

    def run(steps: int) -> None:
        for _ in range(steps):
            step()

    seconds = _time(run, args.steps, args.warmup, args.repeats, lambda: _synchronize("torch", None))
    return _timing(seconds, args, batch, generator, discriminator, "torch")


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Inside the fresh process: set the precision, run the side, return its result."""
    block_other_frameworks()
    import keras

    keras.mixed_precision.set_global_policy(PRECISIONS[args.precision])
    run = library_worker if args.worker == "library" else reference_worker
    return run(args)


# === The parent ===


def _one_line(error: Exception) -> str:
    """The last non-empty line of a worker's error output."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def run_side(side: str, backend: str, model: str, precision: str, args: argparse.Namespace):
    """One side in a fresh process; its row (``error`` set if it failed).

    Args:
        side: ``"library"`` or ``"reference"``.
        backend: The worker's Keras backend.
        model: A name of :data:`MODELS`.
        precision: ``"fp32"`` or ``"bf16"``.
        args: The parent's arguments.

    Returns:
        A dict: ``model``, ``side``, ``precision``, ``batch``, and the measurements
        (``images_per_s``, ``ms_per_step``, ``step_flops``, ``tflops``, ``mfu``, ``device``)
        or ``error`` (one line).
    """
    batch = args.batch_size or DEFAULT_BATCH[model]
    name = REFERENCE if side == "reference" else f"library ({backend})"
    row: dict[str, Any] = {"model": model, "side": name, "precision": precision, "batch": batch}
    arguments = ["--worker", side, "--model", model, "--precision", precision]
    arguments += ["--batch-size", str(batch), "--steps", str(args.steps)]
    arguments += ["--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    if args.quick:
        arguments.append("--quick")
    try:
        result = run_worker(__file__, arguments, backend)
    except RuntimeError as error:
        return {**row, "error": _one_line(error)}
    seconds_per_step = result["seconds"] / result["steps"]
    flops = step_flops(model, result["g_flops"], result["d_flops"], batch)
    peak = args.peak_tflops or peak_tflops(result["device"], precision)
    achieved = flops / seconds_per_step / 1e12
    row.update(
        images_per_s=batch / seconds_per_step,
        ms_per_step=1e3 * seconds_per_step,
        g_flops=result["g_flops"],
        d_flops=result["d_flops"],
        step_flops=flops,
        tflops=achieved,
        mfu=achieved / peak if peak else None,
        peak_tflops=peak,
        device=result["device"],
    )
    return row


def _ratios(rows: list[dict[str, Any]]) -> None:
    """Adds ``vs_reference``: img/s over the torch loop's for the same model and precision."""
    reference = {
        (r["model"], r["precision"]): r["images_per_s"]
        for r in rows
        if r["side"] == REFERENCE and "error" not in r
    }
    for r in rows:
        base = reference.get((r["model"], r["precision"]))
        r["vs_reference"] = r["images_per_s"] / base if base and "error" not in r else None


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the rows."""
    lines = [
        "| model | side | precision | batch | img/s | ms/step | TFLOP/s | MFU | vs torch loop |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        head = f"| {r['model']} | {r['side']} | {r['precision']} | {r['batch']} "
        if "error" in r:
            lines.append(head + f"| failed: {r['error']} | | | | |")
            continue
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        ratio = f"{r['vs_reference']:.2f}" if r["vs_reference"] is not None else "-"
        lines.append(
            head + f"| {r['images_per_s']:.1f} | {r['ms_per_step']:.1f} | {r['tflops']:.3g} "
            f"| {mfu} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Runs every model x precision x side; prints the table (and JSON with ``--json``).

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).

    Returns:
        The rows (empty in a worker process).
    """
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return []
    load_before = os.getloadavg()[0]
    rows = []
    for model in args.models.split(","):
        for precision in args.precision.split(","):
            for backend in args.backends.split(","):
                rows.append(run_side("library", backend, model, precision, args))
            if not args.no_reference:
                rows.append(run_side("reference", "torch", model, precision, args))
    _ratios(rows)
    load_after = os.getloadavg()[0]
    devices = sorted({r["device"] for r in rows if "device" in r})
    print(
        f"device: {', '.join(devices) or 'unknown'}; load average {load_before:.2f} -> "
        f"{load_after:.2f}; {args.steps} steps x best of {args.repeats}, {args.warmup} warm-up"
    )
    print(
        "MFU = FLOPs per step / (seconds per step x peak FLOP/s); FLOPs per step = batch x "
        "(4 F_G + 9 F_D) for dcgan64, batch x (4 F_G + 18 F_D) for pggan128 "
        "(F = forward FLOPs per image; fp32 peak = TF32 tensor cores)"
    )
    for model in args.models.split(","):
        counted = next((r for r in rows if r["model"] == model and "g_flops" in r), None)
        if counted:
            print(
                f"{model}: F_G = {counted['g_flops'] / 1e9:.4g} GFLOP, "
                f"F_D = {counted['d_flops'] / 1e9:.4g} GFLOP per image"
            )
    print(table(rows))
    if args.json:
        print(json.dumps({"load_average": [load_before, load_after], "rows": rows}))
    return rows


if __name__ == "__main__":
    main()
