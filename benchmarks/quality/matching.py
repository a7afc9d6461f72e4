"""Study: feature matching + mean-image matching vs the plain adversarial game.

Trains one preset twice from the same seed, with and without its matching terms, measuring the
sliced Wasserstein distance to held-out faces and the colour drift (mean brightness and HSV
saturation of generated vs real faces) over training. The face DCGAN this library follows added
the two terms against colour drift / whitening of plain DCGAN training; this checks the claim.

    python benchmarks/quality/matching.py            # face96 preset at its 96x96
    python benchmarks/quality/matching.py --preset face64_small --steps 800
    python benchmarks/quality/matching.py --quick    # smoke test (seconds)
"""

from __future__ import annotations

import common


def parse_args(argv=None):
    parser = common.base_parser(__doc__.split("\n")[0])
    parser.add_argument("--preset", default="face96")
    parser.add_argument("--resolution", type=int, default=None, help="default: the preset's")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--num-images", type=int, default=4096, help="training faces")
    parser.add_argument("--num-eval", type=int, default=256, help="held-out real / generated")
    args = parser.parse_args(argv)
    if args.quick:
        args.preset, args.resolution, args.batch_size = "face64_small", 32, 8
        args.steps, args.eval_every = 2, 1
        args.num_images, args.num_eval = 64, 16
    return args


def main(argv=None):
    args = parse_args(argv)
    common.setup(args)
    from keras_facegen.models import gan_from_preset, get_preset

    config = get_preset(args.preset)
    resolution = args.resolution or config["resolution"]
    batch_size = args.batch_size or config["batch_size"]
    images = common.faces(args.num_images, resolution, args.seed)[0]
    real = common.held_out(args.num_eval, resolution, args.seed)
    real_brightness, real_saturation = common.colour_stats(real)

    runs = {}
    for arm, matching in (("with matching", True), ("plain", False)):
        gan = gan_from_preset(args.preset, matching=matching, resolution=resolution, seed=args.seed)
        common.quick_eager(gan, args)
        rows, seconds = common.train_with_figures(
            gan,
            images,
            real,
            args.steps,
            batch_size,
            args.eval_every,
            args.seed,
            common.swd_settings(args),
        )
        runs[arm] = (rows, seconds)
        print(f"{arm}: {len(rows)} evaluations, {seconds:.0f} s training", flush=True)

    table = []
    for arm, (rows, seconds) in runs.items():
        last = rows[-1]
        levels = {k: v for k, v in last.items() if k.startswith("swd_")}
        table.append(
            {
                "arm": arm,
                "SWD (mean)": last["swd"],
                **{f"SWD {k[4:]}": v for k, v in levels.items()},
                "best SWD": min(r["swd"] for r in rows[1:] or rows),
                "brightness": last["brightness"],
                "saturation": last["saturation"],
                "max brightness drift": max(
                    abs(r["brightness"] - real_brightness) for r in rows[1:] or rows
                ),
                "max saturation drift": max(
                    abs(r["saturation"] - real_saturation) for r in rows[1:] or rows
                ),
                "train s": seconds,
            }
        )
    table.append(
        {
            "arm": "real (held out)",
            "SWD (mean)": common.swd_floor(real, args.seed, common.swd_settings(args)),
            "brightness": real_brightness,
            "saturation": real_saturation,
        }
    )
    steps_rows = []
    for arm, (rows, _) in runs.items():
        for r in rows:
            steps_rows.append(
                {
                    "arm": arm,
                    "step": r["step"],
                    "SWD": r["swd"],
                    "brightness": r["brightness"],
                    "saturation": r["saturation"],
                }
            )
    settings = {
        "preset": args.preset,
        "resolution": resolution,
        "batch": batch_size,
        "steps": args.steps,
        "eval every": args.eval_every,
        "training faces": args.num_images,
        "eval faces": args.num_eval,
        "seed": args.seed,
        "SWD": "x1e3, " + ", ".join(f"{k}={v}" for k, v in common.swd_settings(args).items()),
    }
    body = (
        common.markdown_table(table) + "\n\nOver training:\n\n" + common.markdown_table(steps_rows)
    )
    if not args.no_plots:
        stem = f"matching_{args.preset}"
        series = {
            arm: ([r["step"] for r in rows], [r["swd"] for r in rows])
            for arm, (rows, _) in runs.items()
        }
        common.plot_lines(
            common.out_name(args, f"{stem}_swd"),
            series,
            "train step",
            "SWD x1e3 (mean of levels)",
            f"{args.preset}: SWD to held-out faces",
        )
        for stat, real_value in (("brightness", real_brightness), ("saturation", real_saturation)):
            series = {
                arm: ([r["step"] for r in rows], [r[stat] for r in rows])
                for arm, (rows, _) in runs.items()
            }
            common.plot_lines(
                common.out_name(args, f"{stem}_{stat}"),
                series,
                "train step",
                f"mean {stat}",
                f"{args.preset}: {stat} of generated faces",
                hlines={"real": real_value},
            )
        body += f"\n\nPlots: `{stem}_swd.png`, `{stem}_brightness.png`, `{stem}_saturation.png`."
    common.report(
        args, f"matching_{args.preset}", "Feature + mean-image matching vs plain", settings, body
    )
    return table


if __name__ == "__main__":
    main()
