"""Study: does a "good minus bad" latent offset reduce broken faces?

The face DCGAN this library follows moved random latents by ``mean(good) - mean(bad)`` (faces a
person liked minus broken ones) to get fewer broken faces. Here "good" and "bad" are chosen
without a person, two ways: by the discriminator's ranking (top-k / bottom-k of
``--num-rank`` samples) and by the broken-face detector itself (nearest / farthest from the
real-face manifold). The offset is then applied to *fresh* latents (another seed) at several
scales, clipped to the latent box for uniform latents, and the broken-face rate, the sliced
Wasserstein distance to held-out faces and the MS-SSIM diversity are measured. "Broken" is
defined in ``common.BrokenFaceDetector``: farther from the real-face manifold (k-NN distance in
the attribute classifier's feature map) than 95% of held-out real faces.

    python benchmarks/quality/offsets.py
    python benchmarks/quality/offsets.py --quick
"""

from __future__ import annotations

import common
import numpy as np


def parse_args(argv=None):
    parser = common.base_parser(__doc__.split("\n")[0])
    common.add_trained_gan_args(parser)
    parser.add_argument("--num-rank", type=int, default=1024, help="samples to pick good/bad")
    parser.add_argument("--top-k", type=int, default=64, help="good and bad latents each")
    parser.add_argument("--num-test", type=int, default=256, help="fresh latents measured")
    parser.add_argument("--scales", default="0.5,1,2")
    args = parser.parse_args(argv)
    if args.quick:
        common.quick_trained_gan_args(args)
        args.num_rank, args.top_k, args.num_test, args.scales = 32, 8, 16, "1"
    return args


def main(argv=None):
    args = parse_args(argv)
    common.setup(args)
    from keras_facegen.latent import apply_offset, generate_images, offset_vector, sample_latents
    from keras_facegen.metrics import mean_ms_ssim, sliced_wasserstein_distance
    from keras_facegen.sampling import rank_by_discriminator, score_images

    gan, classifier, resolution, settings = common.study_models(args)
    k = args.top_k
    detector = common.BrokenFaceDetector(
        classifier,
        resolution,
        args.seed,
        num_reference=max(4 * k, 64),
        num_calibration=max(2 * k, 32),
    )
    distribution = gan.latent_distribution
    clip = 1.0 if distribution == "uniform" else None
    ranking = rank_by_discriminator(
        gan.generator,
        gan.discriminator,
        num_samples=args.num_rank,
        top_k=k,
        seed=args.seed + 21,
        distribution=distribution,
    )
    by_discriminator = offset_vector(ranking.highest_latents, ranking.lowest_latents)
    order = np.argsort(detector.distances(ranking.images))  # nearest to the manifold first
    by_detector = offset_vector(ranking.latents[order[:k]], ranking.latents[order[-k:]])

    fresh = sample_latents(args.num_test, gan.latent_dim, distribution, seed=args.seed + 22)
    real = common.held_out(args.num_test, resolution, args.seed)
    kwargs = common.swd_settings(args)

    def measure(name, scale, latents):
        images = generate_images(gan.generator, latents)
        return {
            "offset": name,
            "scale": scale,
            "broken rate": detector.rate(images),
            "SWD x1e3": sliced_wasserstein_distance(real, images, seed=args.seed, **kwargs).mean,
            "MS-SSIM (diversity)": mean_ms_ssim(images, num_pairs=200, seed=args.seed),
            "mean D score": float(score_images(gan.discriminator, images).mean()),
        }

    rows = [measure("none", 0.0, fresh)]
    scales = [float(s) for s in args.scales.split(",")]
    for name, offset in (
        ("D top-k minus bottom-k", by_discriminator),
        ("detector good minus bad", by_detector),
    ):
        for scale in scales:
            rows.append(measure(name, scale, apply_offset(fresh, offset, scale=scale, clip=clip)))
    rows.append(
        {
            "offset": "real (held out)",
            "broken rate": detector.rate(common.held_out(args.num_test, resolution, args.seed + 5)),
            "SWD x1e3": common.swd_floor(real, args.seed, kwargs),
            "MS-SSIM (diversity)": mean_ms_ssim(real, num_pairs=200, seed=args.seed),
        }
    )
    norms = np.linalg.norm(by_discriminator) * np.linalg.norm(by_detector)
    cosine = float(by_discriminator @ by_detector / (norms + 1e-12))
    body = common.markdown_table(rows)
    body += (
        f"\n\nOffset norms: D-ranked {np.linalg.norm(by_discriminator):.3g}, detector-ranked "
        f"{np.linalg.norm(by_detector):.3g} (latent size {gan.latent_dim}, {distribution}); "
        f"cosine between them {cosine:+.3f}."
        "\nThe detector-ranked row picks good/bad with the same criterion it is scored by (on "
        "other latents): an upper bound for what an offset can do, not an independent check."
    )
    if not args.no_plots:
        series = {}
        for name in ("D top-k minus bottom-k", "detector good minus bad"):
            points = [rows[0]] + [r for r in rows if r["offset"] == name]
            series[name] = ([r["scale"] for r in points], [r["broken rate"] for r in points])
        path = common.out_name(args, "offsets_broken_rate")
        common.plot_lines(
            path,
            series,
            "offset scale",
            "broken-face rate",
            "Broken faces vs offset scale",
            hlines={"real": rows[-1]["broken rate"]},
        )
        body += f"\n\nPlot: `{path.name}`."
    settings.update(
        {"ranked samples": args.num_rank, "k": k, "fresh latents": args.num_test, "SWD": kwargs}
    )
    common.report(args, "offsets", "Good-minus-bad offset vectors", settings, body)
    return rows


if __name__ == "__main__":
    main()
