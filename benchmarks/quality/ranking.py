"""Study: does the discriminator's ranking pick better faces? Top-k vs random vs bottom-k.

A trained generator draws ``--num-samples`` faces; the discriminator's "real" probability sorts
them. The top-k, a random k and the bottom-k are compared with k held-out real faces by the
sliced Wasserstein distance and by the broken-face rate (see ``common.BrokenFaceDetector``: a
face farther from the real-face manifold than 95% of held-out real faces).

    python benchmarks/quality/ranking.py
    python benchmarks/quality/ranking.py --quick
"""

from __future__ import annotations

import common
import numpy as np


def parse_args(argv=None):
    parser = common.base_parser(__doc__.split("\n")[0])
    common.add_trained_gan_args(parser)
    parser.add_argument("--num-samples", type=int, default=1024)
    parser.add_argument("--top-k", type=int, default=128)
    args = parser.parse_args(argv)
    if args.quick:
        common.quick_trained_gan_args(args)
        args.num_samples, args.top_k = 48, 16
    return args


def main(argv=None):
    args = parse_args(argv)
    common.setup(args)
    from keras_facegen.metrics import sliced_wasserstein_distance
    from keras_facegen.sampling import rank_by_discriminator

    gan, classifier, resolution, settings = common.study_models(args)
    k = args.top_k
    detector = common.BrokenFaceDetector(
        classifier, resolution, args.seed, num_reference=max(4 * k, 64), num_calibration=2 * k
    )
    ranking = rank_by_discriminator(
        gan.generator,
        gan.discriminator,
        num_samples=args.num_samples,
        top_k=k,
        seed=args.seed + 11,
        distribution=gan.latent_distribution,
    )
    real = common.held_out(k, resolution, args.seed)
    pick = np.random.default_rng(args.seed).choice(args.num_samples, k, replace=False)
    subsets = {
        "top-k (highest D score)": (ranking.highest_images, ranking.highest_scores),
        "random k": (ranking.images[pick], ranking.scores[pick]),
        "bottom-k (lowest D score)": (ranking.lowest_images, ranking.lowest_scores),
    }
    kwargs = common.swd_settings(args)
    rows = []
    for name, (images, scores) in subsets.items():
        rows.append(
            {
                "subset": name,
                "mean D score": float(np.mean(scores)),
                "SWD x1e3": sliced_wasserstein_distance(
                    real, images, seed=args.seed, **kwargs
                ).mean,
                "broken rate": detector.rate(images),
            }
        )
    rows.append(
        {
            "subset": "real (held out)",
            "SWD x1e3": common.swd_floor(real, args.seed, kwargs),
            "broken rate": detector.rate(common.held_out(k, resolution, args.seed + 5)),
        }
    )
    correlation = float(np.corrcoef(ranking.scores, detector.distances(ranking.images))[0, 1])
    body = common.markdown_table(rows)
    body += (
        f"\n\nCorrelation of D score with the distance to the real-face manifold over all "
        f"{args.num_samples} samples: {correlation:+.3f} (negative: D prefers faces near the "
        "data)."
        f"\nBroken threshold: {detector.threshold:.3g} (95th percentile of held-out real faces)."
    )
    if not args.no_plots:
        from keras_facegen.sampling import save_ranked_sheet

        path = common.out_name(args, "ranking_sheet")
        save_ranked_sheet(ranking, path, top_k=min(k, 10))
        body += f"\n\nSheet (bottom row: highest scores): `{path.name}`."
    settings.update({"samples": args.num_samples, "k": k, "SWD": kwargs})
    common.report(
        args, "ranking", "Discriminator ranking: top-k vs random vs bottom-k", settings, body
    )
    return rows


if __name__ == "__main__":
    main()
