"""Walk the latent hypersphere of Google's pretrained ProGAN (TF-Hub) and save it as a GIF.

Loads ``progan-128`` through ``keras_facegen.hub.load_progan``, interpolates on the hypersphere
between two random latents, writes the frames as an animated GIF and, with ``--project``,
recovers the latent of one generated face by gradient descent and saves target vs
reconstruction side by side. Works whatever ``KERAS_BACKEND`` says: TensorFlow runs the module.

Offline? Pre-fill the TF-Hub cache first (see docs/hub.md) and pass ``--cache-dir``.

    python examples/tfhub_progan.py --out tfhub_progan --project
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_facegen.hub import DEFAULT_PROGAN_HANDLE, HubModuleUnavailableError, load_progan
from keras_facegen.latent import interpolate_hypersphere
from keras_facegen.sampling import save_gif, save_image


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line (every flag has a default that runs on a laptop)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handle", default=DEFAULT_PROGAN_HANDLE, help="TF-Hub URL or folder.")
    parser.add_argument(
        "--cache-dir", default=None, help="TF-Hub cache root (default: $TFHUB_CACHE_DIR)."
    )
    parser.add_argument("--steps", type=int, default=25, help="Frames of the interpolation.")
    parser.add_argument("--out", default="tfhub_progan_out", help="Output folder.")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the two end latents.")
    parser.add_argument("--frame-ms", type=int, default=100, help="Milliseconds per GIF frame.")
    parser.add_argument(
        "--project", action="store_true", help="Also recover the latent of a generated face."
    )
    parser.add_argument("--project-steps", type=int, default=200, help="Adam steps for --project.")
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> dict[str, Path]:
    """Runs the example; returns the files it wrote by name."""
    generator = load_progan(args.handle, cache_dir=args.cache_dir)
    print(f"Loaded {generator}")
    out = Path(args.out)
    written: dict[str, Path] = {}

    v1, v2 = generator.sample_latents(2, seed=args.seed)
    path = interpolate_hypersphere(v1, v2, args.steps)
    frames = generator.generate(path)
    written["gif"] = save_gif(frames, out / "hypersphere.gif", duration=args.frame_ms)

    if args.project:
        target = generator.generate(1, seed=args.seed + 1)
        latents, history = generator.project(
            target, steps=args.project_steps, seed=args.seed + 2, return_history=True
        )
        reconstruction = generator(latents)
        print(f"Projection loss: {history[0]:.1f} -> {history[-1]:.1f}")
        written["projection"] = save_image(
            np.concatenate([target, reconstruction]), out / "projection.png", rows=1
        )

    for name, file in written.items():
        print(f"Wrote {name}: {file}")
    return written


if __name__ == "__main__":
    try:
        main(parse_args())
    except HubModuleUnavailableError as error:
        sys.exit(str(error))
