"""Fewer broken faces with a "good minus bad" offset, found by the discriminator.

Samples faces, marks the lowest-scoring ones (the discriminator's "real" probability) as bad and
the highest-scoring ones as good, averages their hex codes, and adds the difference of the two
average codes to fresh latents. Prints the mean score before and after and saves both grids and
the ranked worst/best sheet.

    python examples/offset_vectors.py                      # untrained face64_small networks
    python examples/offset_vectors.py --model gen.keras --discriminator disc.keras
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from keras_facegen import latent, sampling


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="A generator .keras file (default: build).")
    parser.add_argument(
        "--discriminator", default=None, help="A discriminator .keras file (default: build)."
    )
    parser.add_argument(
        "--preset", default="face64_small", help="DCGAN preset built for missing networks."
    )
    parser.add_argument("--num-samples", type=int, default=64, help="Faces to rank.")
    parser.add_argument("--top-k", type=int, default=8, help="Faces counted as good / as bad.")
    parser.add_argument("--num-fresh", type=int, default=16, help="Fresh faces to shift.")
    parser.add_argument("--scale", type=float, default=1.0, help="Multiplier of the offset.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the ranked latents.")
    parser.add_argument("--batch-size", type=int, default=16, help="Images per network call.")
    parser.add_argument("--out-dir", default="outputs/offset_vectors", help="Output folder.")
    return parser.parse_args(argv)


def load_network(path: str | None, preset: str, kind: str) -> Any:
    from keras_facegen import models

    if kind == "generator":
        if path is not None:
            return models.load_generator(path, argument="--model")
        return models.dcgan_generator(preset=preset)
    if path is not None:
        return models.load_discriminator(path, argument="--discriminator")
    return models.dcgan_discriminator(preset=preset)


def main(args: argparse.Namespace) -> dict[str, Any]:
    generator = load_network(args.model, args.preset, "generator")
    discriminator = load_network(args.discriminator, args.preset, "discriminator")
    _, latent_dim = latent.as_generator(generator)

    ranking = sampling.rank_by_discriminator(
        generator,
        discriminator,
        num_samples=args.num_samples,
        top_k=args.top_k,
        seed=args.seed,
        batch_size=args.batch_size,
        distribution="uniform",
    )
    good_code = latent.average_codes(latent.encode_hex(ranking.highest_latents))
    bad_code = latent.average_codes(latent.encode_hex(ranking.lowest_latents))
    offset = latent.offset_vector(good_code, bad_code)
    print(f"average good code: {good_code}")
    print(f"average bad code:  {bad_code}")

    fresh = latent.sample_latents(args.num_fresh, latent_dim, "uniform", seed=args.seed + 1)
    shifted = latent.apply_offset(fresh, offset, scale=args.scale, clip=1.0)
    before = latent.generate_images(generator, fresh, batch_size=args.batch_size)
    after = latent.generate_images(generator, shifted, batch_size=args.batch_size)
    score_before = float(sampling.score_images(discriminator, before, args.batch_size).mean())
    score_after = float(sampling.score_images(discriminator, after, args.batch_size).mean())
    print(f"mean discriminator score: before {score_before:.4f}, after {score_after:.4f}")

    out_dir = Path(args.out_dir)
    rows = max(1, math.isqrt(args.num_fresh))
    paths = {
        "before": sampling.save_image(before, out_dir / "before.png", rows=rows),
        "after": sampling.save_image(after, out_dir / "after.png", rows=rows),
        "ranked": sampling.save_ranked_sheet(ranking, out_dir / "ranked.png", top_k=args.top_k),
    }
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return {
        "good_code": good_code,
        "bad_code": bad_code,
        "offset": offset,
        "score_before": score_before,
        "score_after": score_after,
        **paths,
    }


if __name__ == "__main__":
    main(parse_args())
