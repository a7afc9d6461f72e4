"""Study: mode coverage. Are attributes distributed in generated faces as in the data?

The attribute classifier (trained on labelled synthetic faces) labels generated faces and
held-out real faces alike, so its own bias affects both sides. Continuous attributes (yaw,
smile, hair length, skin tone) are compared by mean, standard deviation and the 1-d Wasserstein
distance between the two sets of predictions; hair colour (six classes, argmax of the one-hot
outputs) by class frequencies and their total variation distance. A generator that drops modes
shows a narrower spread or missing hair colours.

    python benchmarks/quality/coverage.py
    python benchmarks/quality/coverage.py --quick
"""

from __future__ import annotations

import common
import numpy as np


def parse_args(argv=None):
    parser = common.base_parser(__doc__.split("\n")[0])
    common.add_trained_gan_args(parser)
    parser.add_argument("--num-samples", type=int, default=1024)
    args = parser.parse_args(argv)
    if args.quick:
        common.quick_trained_gan_args(args)
        args.num_samples = 32
    return args


def wasserstein_1d(a, b):
    """W1 between two equal-size samples: mean |sorted a - sorted b|."""
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


def main(argv=None):
    args = parse_args(argv)
    common.setup(args)
    from keras_facegen.data.synthetic_faces import HAIR_PALETTE
    from keras_facegen.models import predict_attributes

    gan, classifier, resolution, settings = common.study_models(args)
    n = args.num_samples
    fake = gan.generate(n, seed=args.seed + 31)
    real = common.held_out(n, resolution, args.seed)
    pred_fake = predict_attributes(classifier, fake)
    pred_real = predict_attributes(classifier, real)
    accuracy = common.classifier_error(classifier, resolution, args.seed)

    rows = []
    for i, name in enumerate(common.CONTINUOUS_ATTRIBUTES):
        rows.append(
            {
                "attribute": name,
                "real mean": float(pred_real[:, i].mean()),
                "generated mean": float(pred_fake[:, i].mean()),
                "real std": float(pred_real[:, i].std()),
                "generated std": float(pred_fake[:, i].std()),
                "std ratio": float(pred_fake[:, i].std() / max(pred_real[:, i].std(), 1e-8)),
                "W1": wasserstein_1d(pred_real[:, i], pred_fake[:, i]),
                "classifier corr. (real)": accuracy[f"{name}_corr"],
            }
        )
    hair = slice(len(common.CONTINUOUS_ATTRIBUTES), None)
    classes = len(HAIR_PALETTE)
    freq_real = np.bincount(pred_real[:, hair].argmax(axis=1), minlength=classes) / n
    freq_fake = np.bincount(pred_fake[:, hair].argmax(axis=1), minlength=classes) / n
    hair_rows = [
        {"hair colour": colour, "real": float(freq_real[i]), "generated": float(freq_fake[i])}
        for i, (colour, _) in enumerate(HAIR_PALETTE)
    ]
    tv = 0.5 * float(np.abs(freq_real - freq_fake).sum())
    body = common.markdown_table(rows) + "\n\n" + common.markdown_table(hair_rows)
    body += (
        f"\n\nHair colour total variation distance: {tv:.3f}; classifier hair-colour accuracy "
        f"on real faces: {accuracy['hair_color_accuracy']:.3f}."
    )
    calibration = common.softness_calibration(classifier, real, args.seed)
    body += (
        "\n\nClassifier check: spread of its readings on softened real faces / on the sharp "
        "ones (near 1: softness alone does not narrow a spread).\n\n"
        + common.markdown_table(calibration)
    )
    if not args.no_plots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 5, figsize=(15, 3), dpi=100)
        for i, name in enumerate(common.CONTINUOUS_ATTRIBUTES):
            bins = np.linspace(
                min(pred_real[:, i].min(), pred_fake[:, i].min()),
                max(pred_real[:, i].max(), pred_fake[:, i].max()),
                21,
            )
            axes[i].hist(pred_real[:, i], bins=bins, alpha=0.5, label="real")
            axes[i].hist(pred_fake[:, i], bins=bins, alpha=0.5, label="generated")
            axes[i].set_title(name)
        x = np.arange(classes)
        axes[4].bar(x - 0.2, freq_real, 0.4, label="real")
        axes[4].bar(x + 0.2, freq_fake, 0.4, label="generated")
        axes[4].set_xticks(x, [c for c, _ in HAIR_PALETTE], rotation=45, fontsize=7)
        axes[4].set_title("hair colour")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        path = common.out_name(args, "coverage_attributes")
        fig.savefig(path)
        plt.close(fig)
        body += f"\n\nPlot: `{path.name}`."
    settings.update({"samples": n})
    common.report(
        args, "coverage", "Mode coverage: attributes of generated vs real faces", settings, body
    )
    return rows, hair_rows, calibration


if __name__ == "__main__":
    main()
