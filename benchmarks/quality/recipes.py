"""Study: recipes at equal images shown. This library's presets vs the Keras DCGAN example vs PGGAN.

Every arm trains on the same synthetic faces (64x64 by default) for the same number of images
shown, then generates faces from fixed latents that are compared with held-out faces: sliced
Wasserstein distance, MS-SSIM diversity (next to the held-out faces' own figure) and training
wall time.

Arms:

* ``face64_small`` (and any ``--presets``): this library's preset, as ``gan_from_preset`` builds
  it (two-logit softmax loss, feature and mean-image matching, Adam 2e-4 / 0.5).
* ``keras-io DCGAN``: the recipe of the Keras example "DCGAN to generate face images"
  (keras-io ``examples/generative/dcgan_overriding_train_step.py``), written out below: latent
  128 (normal), generator ``Dense(8*8*128) -> ConvT(128, 4, s2) -> ConvT(256, 4, s2) ->
  ConvT(512, 4, s2)`` (LeakyReLU 0.2 each) ``-> Conv(3, 5, sigmoid)``, discriminator
  ``Conv(64, 4, s2) -> Conv(128, 4, s2) -> Conv(128, 4, s2)`` (LeakyReLU 0.2) ``-> Flatten ->
  Dropout(0.2) -> Dense(1)``, plain non-saturating loss, ``Adam(1e-4)`` for both, batch 32. Two
  changes to fit the library: the sigmoid output is mapped to [-1, 1] (``2 sigmoid - 1``, the
  same functions) and the discriminator gives a logit (the example's sigmoid + binary
  cross-entropy is the same loss); the example's 5% label noise is not reproduced.
  ``--keras-width-divisor`` divides its filter counts (the full widths cost ~8 GFLOP per image
  in the last transposed convolution; too slow for a CPU study).
* ``PGGAN``: ``keras_facegen.models.ProgressiveGAN`` at 64x64 with the paper's loss (WGAN-GP +
  drift), optimizer and EMA, grown 4 -> 64 with equal fade and stable phases that add up to the
  same images shown, and narrow networks (``--pggan-fmap-base``). Skipped with a message if the
  model is not available.

    python benchmarks/quality/recipes.py
    python benchmarks/quality/recipes.py --quick
"""

from __future__ import annotations

import time

import common


def parse_args(argv=None):
    parser = common.base_parser(__doc__.split("\n")[0])
    parser.add_argument("--presets", default="face64_small", help="comma-separated preset names")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--images-shown", type=int, default=16000)
    parser.add_argument("--num-images", type=int, default=8192, help="training faces")
    parser.add_argument("--num-eval", type=int, default=256)
    parser.add_argument("--keras-width-divisor", type=int, default=4)
    parser.add_argument("--pggan-fmap-base", type=int, default=1024)
    parser.add_argument("--pggan-fmap-max", type=int, default=128)
    parser.add_argument("--skip", default="", help="comma-separated arms to skip: keras,pggan")
    args = parser.parse_args(argv)
    if args.quick:
        args.resolution, args.images_shown, args.num_images, args.num_eval = 32, 72, 64, 16
        args.keras_width_divisor, args.pggan_fmap_base, args.pggan_fmap_max = 16, 64, 16
    return args


def keras_example_gan(resolution, width_divisor, seed):
    """The keras-io face DCGAN recipe (see the module docstring) as a ``GAN``."""
    import keras
    from keras import layers

    from keras_facegen.models import GAN

    def w(filters):
        return max(1, filters // width_divisor)

    start = resolution // 8
    latent_dim = 128
    generator = keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(start * start * w(128)),
            layers.Reshape((start, start, w(128))),
            layers.Conv2DTranspose(w(128), kernel_size=4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2DTranspose(w(256), kernel_size=4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2DTranspose(w(512), kernel_size=4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(3, kernel_size=5, padding="same", activation="sigmoid"),
            layers.Rescaling(2.0, offset=-1.0),  # [0, 1] -> the library's [-1, 1]
        ],
        name="keras_io_generator",
    )
    discriminator = keras.Sequential(
        [
            keras.Input(shape=(resolution, resolution, 3)),
            layers.Conv2D(w(64), kernel_size=4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(w(128), kernel_size=4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(w(128), kernel_size=4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(1),  # a logit: sigmoid + BCE is the non-saturating loss on logits
        ],
        name="keras_io_discriminator",
    )
    gan = GAN(
        generator, discriminator, loss="non_saturating", latent_distribution="normal", seed=seed
    )
    gan.compile(
        generator_optimizer=keras.optimizers.Adam(learning_rate=1e-4),
        discriminator_optimizer=keras.optimizers.Adam(learning_rate=1e-4),
    )
    return gan


def train_steps(gan, images, steps, batch_size, seed):
    from keras_facegen.data.batches import ShuffledBatches

    batches = ShuffledBatches(images, batch_size=batch_size, seed=seed)
    started = time.perf_counter()
    gan.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - started


def pggan_arm(args, images):
    """Trains the progressive GAN; returns ``(gan, seconds, note)`` or ``None`` with a message."""
    try:
        from keras_facegen.models import (
            ProgressiveGAN,
            ProgressiveSchedule,
            pggan_discriminator,
            pggan_generator,
        )
    except ImportError as error:
        print(f"PGGAN arm skipped: keras_facegen.models.ProgressiveGAN unavailable ({error}).")
        return None
    res = args.resolution
    schedule = ProgressiveSchedule(res, fade_images=1, stable_images=1)
    phases = 2 * len(schedule.resolutions) - 1  # stable at 4, then fade + stable per doubling
    per_phase = max(1, args.images_shown // phases)
    batch = 8 if args.quick else 32
    schedule = ProgressiveSchedule(
        res,
        fade_images=per_phase,
        stable_images=per_phase,
        batch_sizes={r: batch for r in schedule.resolutions},
    )
    generator = pggan_generator(
        res, latent_dim=128, fmap_base=args.pggan_fmap_base, fmap_max=args.pggan_fmap_max
    )
    discriminator = pggan_discriminator(
        res, fmap_base=args.pggan_fmap_base, fmap_max=args.pggan_fmap_max
    )
    gan = ProgressiveGAN(generator, discriminator, schedule=schedule, seed=args.seed)
    gan.compile()
    common.quick_eager(gan, args)
    started = time.perf_counter()
    gan.fit(images, verbose=0)
    seconds = time.perf_counter() - started
    note = f"{phases} phases x {per_phase} images, batch {batch}, EMA 0.999 samples"
    return gan, seconds, note


def main(argv=None):
    args = parse_args(argv)
    common.setup(args)
    from keras_facegen.metrics import mean_ms_ssim, sliced_wasserstein_distance
    from keras_facegen.models import gan_from_preset, get_preset

    images = common.faces(args.num_images, args.resolution, args.seed)[0]
    real = common.held_out(args.num_eval, args.resolution, args.seed)
    kwargs = common.swd_settings(args)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    rows = []

    def evaluate(name, fake, seconds, steps, batch, shown, note=""):
        rows.append(
            {
                "recipe": name,
                "images shown": shown,
                "steps": steps,
                "batch": batch,
                "SWD x1e3": sliced_wasserstein_distance(real, fake, seed=args.seed, **kwargs).mean,
                "MS-SSIM": mean_ms_ssim(fake, num_pairs=200, seed=args.seed),
                "train s": seconds,
                "notes": note,
            }
        )
        print(f"{name}: {rows[-1]}", flush=True)

    for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
        batch = get_preset(preset)["batch_size"] if not args.quick else 8
        steps = max(1, args.images_shown // batch)
        gan = common.quick_eager(
            gan_from_preset(preset, resolution=args.resolution, seed=args.seed), args
        )
        seconds = train_steps(gan, images, steps, batch, args.seed)
        evaluate(
            preset,
            gan.generate(args.num_eval, seed=args.seed + 41),
            seconds,
            steps,
            batch,
            steps * batch,
            "library preset",
        )
    if "keras" not in skip:
        batch = 8 if args.quick else 32
        steps = max(1, args.images_shown // batch)
        gan = common.quick_eager(
            keras_example_gan(args.resolution, args.keras_width_divisor, args.seed), args
        )
        seconds = train_steps(gan, images, steps, batch, args.seed)
        evaluate(
            "keras-io DCGAN",
            gan.generate(args.num_eval, seed=args.seed + 41),
            seconds,
            steps,
            batch,
            steps * batch,
            f"filters / {args.keras_width_divisor}",
        )
    if "pggan" not in skip:
        result = pggan_arm(args, images)
        if result is not None:
            gan, seconds, note = result
            fake = gan.generate(args.num_eval, seed=args.seed + 41, ema=True)
            counters = gan.counter_values()
            evaluate(
                "PGGAN",
                fake,
                seconds,
                int(counters["iterations"]),
                "see notes",
                int(counters["images_seen"]),
                note,
            )
    rows.append(
        {
            "recipe": "real (held out)",
            "SWD x1e3": common.swd_floor(real, args.seed, kwargs),
            "MS-SSIM": mean_ms_ssim(real, num_pairs=200, seed=args.seed),
        }
    )
    settings = {
        "resolution": args.resolution,
        "images shown": args.images_shown,
        "training faces": args.num_images,
        "eval faces": args.num_eval,
        "seed": args.seed,
        "SWD": kwargs,
    }
    body = common.markdown_table(rows)
    body += "\n\nMS-SSIM: mean over 200 random pairs of generated faces; lower is more diverse."
    common.report(args, "recipes", "Recipes at equal images shown", settings, body)
    return rows


if __name__ == "__main__":
    main()
