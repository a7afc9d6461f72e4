"""Study: augmentation on small training sets (none vs DiffAugment vs ADA).

Trains ``face64_small`` on 500, 1,000 and 2,000 synthetic faces with each arm, long enough that
the arm without augmentation can overfit, and measures over training: the SWD of generated faces
to the training faces and to held-out faces (a widening gap is memorisation), ADA's ``p`` and
``r_t``, and at the end a nearest-training-image check (how much closer each generated face is to
its nearest training face than to its nearest held-out face; 1 = no memorisation). One plot per
size.

    python benchmarks/quality/limited_data.py                     # the full study (hours on CPU)
    python benchmarks/quality/limited_data.py --sizes 500 --steps 2000
    python benchmarks/quality/limited_data.py --quick             # smoke test (seconds)
"""

from __future__ import annotations

import time

import common
import numpy as np

ARMS = ("none", "diffaugment", "ada")


def parse_args(argv=None):
    parser = common.base_parser(__doc__.split("\n")[0])
    parser.add_argument("--preset", default="face64_small")
    parser.add_argument("--resolution", type=int, default=None, help="default: the preset's")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--num-eval", type=int, default=256, help="generated / held-out faces")
    parser.add_argument("--ada-target", type=float, default=0.6)
    parser.add_argument(
        "--ada-speed",
        type=int,
        default=100_000,
        help="images for p to go 0 -> 1 (the paper's 500k suits runs of millions of images)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.resolution, args.batch_size = 32, 8
        args.sizes, args.steps, args.eval_every, args.num_eval = [16], 4, 2, 16
        args.ada_speed = 64
    return args


def nearest_ratio(fake: np.ndarray, train: np.ndarray, held_out: np.ndarray) -> float:
    """Mean over fakes of (distance to nearest training face) / (to nearest held-out face)."""

    def nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a2 = a.reshape(len(a), -1).astype(np.float64)
        b2 = b.reshape(len(b), -1).astype(np.float64)
        squared = (a2**2).sum(1)[:, None] + (b2**2).sum(1)[None] - 2 * a2 @ b2.T
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    return float(np.mean(nearest(fake, train) / np.maximum(nearest(fake, held_out), 1e-12)))


def run_arm(args, arm, images, held_out, resolution, batch_size):
    """Trains one arm; returns its rows over training and the final generated faces."""
    from keras_facegen.augment import ADA, Augment
    from keras_facegen.data.batches import ShuffledBatches
    from keras_facegen.metrics import sliced_wasserstein_distance
    from keras_facegen.models import gan_from_preset

    augment = {
        "none": None,
        "diffaugment": Augment("diffaugment", seed=args.seed),
        "ada": ADA(target=args.ada_target, speed_images=args.ada_speed, seed=args.seed),
    }[arm]
    gan = gan_from_preset(args.preset, resolution=resolution, seed=args.seed, augment=augment)
    common.quick_eager(gan, args)
    swd = common.swd_settings(args)
    train_eval = images[: args.num_eval]
    batches = ShuffledBatches(images, batch_size=batch_size, seed=args.seed)
    rows, seconds, step = [], 0.0, 0
    p, r_t = 0.0, float("nan")
    while True:
        fake = np.asarray(gan.generate(args.num_eval, seed=args.seed + 7))
        rows.append(
            {
                "step": step,
                "SWD held-out": sliced_wasserstein_distance(
                    held_out, fake, seed=args.seed, **swd
                ).mean,
                "SWD train": sliced_wasserstein_distance(
                    train_eval, fake, seed=args.seed, **swd
                ).mean,
                "p": p,
                "r_t": r_t,
            }
        )
        if step >= args.steps:
            return rows, fake, seconds
        chunk = min(args.eval_every, args.steps - step)
        started = time.perf_counter()
        history = gan.fit(
            batches, steps_per_epoch=chunk, epochs=1, shuffle=False, verbose=0
        ).history
        seconds += time.perf_counter() - started
        step += chunk
        p = float(history.get("aug_p", [0.0])[-1])
        r_t = float(history.get("r_t", [float("nan")])[-1])


def main(argv=None):
    args = parse_args(argv)
    common.setup(args)
    from keras_facegen.models import get_preset

    config = get_preset(args.preset)
    resolution = args.resolution or config["resolution"]
    batch_size = args.batch_size or config["batch_size"]
    held_out = common.held_out(args.num_eval, resolution, args.seed)
    table, curves = [], {}
    for size in args.sizes:
        images = common.faces(size, resolution, args.seed)[0]
        for arm in args.arms:
            rows, fake, seconds = run_arm(args, arm, images, held_out, resolution, batch_size)
            curves[(size, arm)] = rows
            last = rows[-1]
            table.append(
                {
                    "faces": size,
                    "arm": arm,
                    "SWD held-out (end)": last["SWD held-out"],
                    "best SWD held-out": min(r["SWD held-out"] for r in rows[1:] or rows),
                    "SWD train (end)": last["SWD train"],
                    "gap (held-out - train)": last["SWD held-out"] - last["SWD train"],
                    "nearest train / held-out": nearest_ratio(fake, images, held_out),
                    "p (end)": last["p"],
                    "r_t (end)": last["r_t"],
                    "train s": seconds,
                }
            )
            print(f"{size} faces, {arm}: {table[-1]}", flush=True)
    settings = {
        "preset": args.preset,
        "resolution": resolution,
        "batch": batch_size,
        "steps": args.steps,
        "eval every": args.eval_every,
        "eval faces": args.num_eval,
        "ADA target": args.ada_target,
        "ADA speed (images)": args.ada_speed,
        "seed": args.seed,
        "SWD": "x1e3, " + ", ".join(f"{k}={v}" for k, v in common.swd_settings(args).items()),
    }
    over = [{"faces": s, "arm": a, **r} for (s, a), rows in curves.items() for r in rows]
    body = common.markdown_table(table) + "\n\nOver training:\n\n" + common.markdown_table(over)
    if not args.no_plots:
        names = [plot_size(args, size, curves) for size in args.sizes]
        body += "\n\nPlots: " + ", ".join(f"`{n}`" for n in names) + "."
    common.report(args, "limited_data", "Augmentation on small training sets", settings, body)
    return table


def plot_size(args, size, curves):
    """One figure per size: SWD to held-out (solid) and to training faces (dashed); p, r_t."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = common.out_name(args, f"limited_data_{size}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    for arm in args.arms:
        rows = curves[(size, arm)]
        steps = [r["step"] for r in rows]
        (line,) = left.plot(steps, [r["SWD held-out"] for r in rows], marker="o", ms=3, label=arm)
        left.plot(steps, [r["SWD train"] for r in rows], ls="--", color=line.get_color())
        if arm == "ada":
            right.plot(steps, [r["p"] for r in rows], marker="o", ms=3, label="ADA p")
            right.plot(steps, [r["r_t"] for r in rows], ls="--", label="ADA r_t")
    left.set(xlabel="train step", ylabel="SWD x1e3", title=f"{size} faces (dashed: vs training)")
    right.axhline(args.ada_target, color="grey", lw=0.8, label="target")
    right.set(xlabel="train step", title="ADA strength and overfitting heuristic")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path.name


if __name__ == "__main__":
    main()
