"""Morph between two faces: an animated GIF along a latent path and a slerp strip PNG.

The face DCGAN's morph follows the straight line through two latents, extended until a
coordinate reaches ±1 (``--method line``); ``lerp``, ``slerp`` and ``hypersphere`` (the TF-Hub
ProGAN tutorial's walk) go from one face to the other.

    python examples/latent_walk.py                        # untrained face64_small generator
    python examples/latent_walk.py --model gen.keras --code-a 80ff... --code-b 0011...
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from keras_facegen import latent, sampling


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="A generator .keras file (default: build).")
    parser.add_argument(
        "--preset", default="face64_small", help="DCGAN preset built when --model is not given."
    )
    parser.add_argument("--code-a", default=None, help="Hex code of the first face.")
    parser.add_argument("--code-b", default=None, help="Hex code of the second face.")
    parser.add_argument("--seed-a", type=int, default=0, help="Seed of the first face (no code).")
    parser.add_argument("--seed-b", type=int, default=1, help="Seed of the second face (no code).")
    parser.add_argument(
        "--method", default="line", choices=latent.interpolation.MORPH_METHODS, help="Morph path."
    )
    parser.add_argument("--steps", type=int, default=24, help="Frames of the GIF.")
    parser.add_argument("--duration", type=int, default=80, help="Milliseconds per GIF frame.")
    parser.add_argument("--strip-steps", type=int, default=8, help="Images in the slerp strip.")
    parser.add_argument("--batch-size", type=int, default=16, help="Latents per generator call.")
    parser.add_argument("--out-dir", default="outputs/latent_walk", help="Output folder.")
    return parser.parse_args(argv)


def load_generator(model: str | None, preset: str) -> Any:
    from keras_facegen import models

    if model is not None:
        return models.load_generator(model, argument="--model")
    return models.dcgan_generator(preset=preset)


def endpoint(code: str | None, seed: int, latent_dim: int) -> np.ndarray:
    if code is not None:
        return latent.decode_hex(code, latent_dim=latent_dim)
    return latent.sample_latents(1, latent_dim, "uniform", seed=seed)[0]


def main(args: argparse.Namespace) -> dict[str, Path]:
    generator = load_generator(args.model, args.preset)
    _, latent_dim = latent.as_generator(generator)
    a = endpoint(args.code_a, args.seed_a, latent_dim)
    b = endpoint(args.code_b, args.seed_b, latent_dim)
    print(f"face A: {latent.encode_hex(a, clip=True)}")
    print(f"face B: {latent.encode_hex(b, clip=True)}")

    out_dir = Path(args.out_dir)
    path = latent.morph_path(a, b, args.steps, method=args.method)
    frames = latent.generate_images(generator, path, batch_size=args.batch_size)
    gif = sampling.save_gif(frames, out_dir / f"morph_{args.method}.gif", duration=args.duration)

    strip_latents = latent.slerp(a, b, np.linspace(0.0, 1.0, args.strip_steps))
    strip = latent.generate_images(generator, strip_latents, batch_size=args.batch_size)
    png = sampling.save_image(strip, out_dir / "slerp_strip.png", rows=1)
    print(f"wrote {gif} ({args.steps} frames) and {png}")
    return {"gif": gif, "strip": png}


if __name__ == "__main__":
    main(parse_args())
