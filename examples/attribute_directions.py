"""Attribute directions that work: find "turn the head" and "smile" in a GAN's latent space.

1. Train a small attribute classifier on the built-in synthetic faces (their labels are known;
   most of them softened with ``data.softened_copies``, as generated faces are soft)
   and report its held-out error.
2. Train a DCGAN on the same faces (or load one with ``--generator``).
3. Generate faces, label them with the classifier, and find each attribute's direction with
   ``keras_facegen.latent.attribute_direction`` (mean difference and linear), plus a
   "conditional" one: the linear direction with the other attributes' directions projected out.
   The classifier also reads control attributes (``--controls``, skin tone and hair length by
   default), so the sweep shows what else a direction changes.
4. Sweep: add ``s * direction`` to fresh latents for several scales ``s`` (in standard
   deviations of the latent prior along the direction), generate, classify, and check that the
   mean prediction rises with ``s``. Prints a table and writes ``results.json``.
5. Save one strip per attribute: rows are faces, columns the sweep's scales.

    python examples/attribute_directions.py              # trains: ~10 min on a laptop CPU
    python examples/attribute_directions.py --generator outputs/attribute_directions/generator.keras

A smoke test that runs in seconds (the numbers mean nothing):

    python examples/attribute_directions.py --steps 20 --classifier-steps 20 --resolution 16
        --filters 8,8 --num-train 256 --classifier-faces 256 --num-labelled 64 --num-sweep 8 --eager
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_facegen import data, latent, losses, models, sampling
from keras_facegen.models.attributes import (
    attribute_classifier,
    attribute_targets,
    conditional_direction,
    direction_sweep,
    predict_attributes,
)

METHODS = ("mean_difference", "linear", "conditional")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--generator", default=None, help="A trained generator .keras file (default: train one)."
    )
    parser.add_argument(
        "--classifier", default=None, help="A trained classifier .keras file (default: train)."
    )
    parser.add_argument("--preset", default="face64_small", help="DCGAN preset to train.")
    parser.add_argument("--resolution", type=int, default=32, help="Image size when training.")
    parser.add_argument(
        "--filters",
        default=None,
        help="Comma-separated generator filters overriding the preset's (the discriminator "
        "uses them reversed), e.g. 8,8 for a smoke test.",
    )
    parser.add_argument("--steps", type=int, default=3000, help="GAN training steps.")
    parser.add_argument("--batch-size", type=int, default=64, help="Training batch size.")
    parser.add_argument("--ema", type=float, default=0.999, help="Generator EMA decay (0: off).")
    parser.add_argument(
        "--num-train", type=int, default=8192, help="Synthetic faces to train the GAN on."
    )
    parser.add_argument(
        "--attributes", default="yaw,smile", help="Comma-separated attributes to study."
    )
    parser.add_argument(
        "--controls",
        default="skin_tone,hair_length",
        help="Comma-separated attributes the classifier also reads, to see what else a "
        "direction changes (empty: none).",
    )
    parser.add_argument(
        "--classifier-steps", type=int, default=1500, help="Classifier training steps."
    )
    parser.add_argument(
        "--classifier-faces", type=int, default=6000, help="Labelled faces for the classifier."
    )
    parser.add_argument("--num-labelled", type=int, default=2000, help="Generated faces labelled.")
    parser.add_argument("--num-sweep", type=int, default=256, help="Fresh latents per scale.")
    parser.add_argument(
        "--scales", default="-2,-1,0,1,2", help="Comma-separated sweep scales (latent stds)."
    )
    parser.add_argument(
        "--strip-method", default="conditional", choices=METHODS, help="Direction in the strips."
    )
    parser.add_argument("--strip-rows", type=int, default=4, help="Faces (rows) per strip.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of data, latents and training.")
    parser.add_argument(
        "--eager",
        action="store_true",
        help="Run train steps eagerly (no tf.function compile): faster for a handful of steps "
        "on TensorFlow and PyTorch, as in a smoke test; slower on JAX, which then compiles op "
        "by op.",
    )
    parser.add_argument("--out-dir", default="outputs/attribute_directions", help="Output folder.")
    return parser.parse_args(argv)


def _int_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _float_list(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


class RandomBatches(keras.utils.PyDataset):
    """``steps`` random batches of images (with replacement), reproducible from a seed."""

    def __init__(self, images: np.ndarray, batch_size: int, steps: int, seed: int) -> None:
        super().__init__()
        self.images = images
        self.batch_size = batch_size
        self.steps = steps
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> np.ndarray:
        return self.images[self.rng.integers(0, len(self.images), self.batch_size)]


class _Targets(RandomBatches):
    """Random batches of ``(images, targets)`` for the classifier."""

    def __init__(self, images, targets, batch_size, steps, seed) -> None:
        super().__init__(images, batch_size, steps, seed)
        self.targets = targets

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        pick = self.rng.integers(0, len(self.images), self.batch_size)
        return self.images[pick], self.targets[pick]


def _fit_in_chunks(model: keras.Model, make_data: Any, steps: int, label: str) -> None:
    # A few "epochs" of random batches, so progress is printed while it trains.
    chunks = max(1, min(10, steps // 100))
    done = 0
    for chunk in range(chunks):
        count = steps * (chunk + 1) // chunks - done
        if count <= 0:
            continue
        history = model.fit(make_data(count, chunk), epochs=1, verbose=0)
        done += count
        logs = ", ".join(f"{k} {v[-1]:.4f}" for k, v in history.history.items())
        print(f"  {label} step {done}/{steps}: {logs}", flush=True)


def train_classifier(args: argparse.Namespace, names: list[str], resolution: int) -> Any:
    """Trains the attribute classifier; returns it and its held-out errors."""
    images, attributes = data.synthetic_faces(args.classifier_faces, resolution, seed=args.seed + 1)
    targets = attribute_targets(attributes, names)
    held_out = max(1, len(images) // 10)
    train_x, test_x = images[held_out:], images[:held_out]
    train_y, test_y = targets[held_out:], targets[:held_out]
    # Generated faces are softer than the synthetic ones: trained on crisp faces only, the
    # classifier reads softness as a frontal head. Softened copies keep it honest.
    train_x = data.softened_copies(train_x, seed=args.seed + 2)
    classifier = attribute_classifier(resolution, attributes=names)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", run_eagerly=args.eager)

    def make_data(count: int, chunk: int) -> keras.utils.PyDataset:
        return _Targets(train_x, train_y, args.batch_size, count, args.seed + 100 + chunk)

    print(f"training the attribute classifier ({args.classifier_steps} steps) ...", flush=True)
    _fit_in_chunks(classifier, make_data, args.classifier_steps, "classifier")
    predictions = predict_attributes(classifier, test_x)
    error = {
        name: {
            "mae": float(np.mean(np.abs(predictions[:, i] - test_y[:, i]))),
            # What always guessing the mean would score: the error only means something
            # next to it.
            "baseline_mae": float(np.mean(np.abs(test_y[:, i] - train_y[:, i].mean()))),
            "correlation": float(np.corrcoef(predictions[:, i], test_y[:, i])[0, 1]),
        }
        for i, name in enumerate(names)
    }
    for name, e in error.items():
        print(
            f"  held-out {name}: MAE {e['mae']:.3f} (guessing the mean: {e['baseline_mae']:.3f}),"
            f" correlation {e['correlation']:.3f}"
        )
    return classifier, error


def train_generator(args: argparse.Namespace, out_dir: Path) -> tuple[Any, str]:
    """Trains a DCGAN on synthetic faces; saves and returns its generator."""
    preset = models.get_preset(args.preset)
    preset["resolution"] = args.resolution
    if args.filters:
        filters = _int_list(args.filters)
        preset["generator"]["filters"] = filters
        preset["discriminator"]["filters"] = filters[::-1]
    generator = models.dcgan_generator(preset=preset)
    discriminator = models.dcgan_discriminator(preset=preset)
    matching = []
    weights = preset.get("matching", {})
    if "feature_matching" in weights:
        matching.append(losses.FeatureMatching(weights["feature_matching"]))
    if "mean_image_matching" in weights:
        matching.append(losses.MeanImageMatching(weights["mean_image_matching"]))
    gan = models.GAN(
        generator,
        discriminator,
        loss=preset["loss"],
        matching=matching,
        latent_distribution=preset["latent_distribution"],
        ema_decay=args.ema or None,
        seed=args.seed,
    )
    optimizer = preset["optimizer"]

    def adam() -> keras.optimizers.Optimizer:
        return keras.optimizers.Adam(
            optimizer["learning_rate"], beta_1=optimizer["beta_1"], beta_2=optimizer["beta_2"]
        )

    gan.compile(generator_optimizer=adam(), discriminator_optimizer=adam(), run_eagerly=args.eager)
    images, _ = data.synthetic_faces(args.num_train, args.resolution, seed=args.seed)
    print(
        f"training a {args.preset} DCGAN at {args.resolution}x{args.resolution} "
        f"({args.steps} steps of {args.batch_size}) ...",
        flush=True,
    )
    start = time.time()

    def make_data(count: int, chunk: int) -> keras.utils.PyDataset:
        return RandomBatches(images, args.batch_size, count, args.seed + 1000 + chunk)

    _fit_in_chunks(gan, make_data, args.steps, "gan")
    print(f"  trained in {time.time() - start:.0f} s")
    if gan.ema_decay is not None:
        # Saved generators carry the averaged weights: smoother faces than the last step's.
        for weight, average in zip(generator.trainable_variables, gan.ema_weights, strict=True):
            weight.assign(average.value)
    out_dir.mkdir(parents=True, exist_ok=True)
    generator.save(out_dir / "generator.keras")
    discriminator.save(out_dir / "discriminator.keras")
    return generator, preset["latent_distribution"]


def load_classifier(path: str) -> Any:
    import keras_facegen.layers  # noqa: F401  (registers the custom layers for loading)

    return keras.models.load_model(path, compile=False)


def main(args: argparse.Namespace) -> dict[str, Any]:
    keras.utils.set_random_seed(args.seed)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    studied = [n.strip() for n in args.attributes.split(",") if n.strip()]
    controls = [n.strip() for n in args.controls.split(",") if n.strip() and n not in studied]
    names = studied + controls
    scales = _float_list(args.scales)

    # === A generator ===
    if args.generator is not None:
        generator = models.load_generator(args.generator, argument="--generator")
        # A saved face DCGAN does not record its prior; this library's face presets use the
        # uniform box [-1, 1] (see keras_facegen.models.presets).
        distribution = models.get_preset(args.preset)["latent_distribution"]
        generator_path = args.generator
    else:
        generator, distribution = train_generator(args, out_dir)
        generator_path = str(out_dir / "generator.keras")
    _, latent_dim = latent.as_generator(generator)
    resolution = int(generator.output_shape[1])

    # === The attribute classifier (on the generator's resolution) ===
    if args.classifier is not None:
        classifier = load_classifier(args.classifier)
        classifier_error = None
    else:
        classifier, classifier_error = train_classifier(args, names, resolution)
        classifier.save(out_dir / "classifier.keras")

    # === Label generated faces and find the directions ===
    labelled = latent.sample_latents(args.num_labelled, latent_dim, distribution, seed=args.seed)
    faces = latent.generate_images(generator, labelled)
    labels = predict_attributes(classifier, faces)
    # One unit of scale is the prior's standard deviation along any unit direction; uniform
    # latents are clipped back into their box after moving.
    step = 1.0 if distribution == "normal" else 1.0 / math.sqrt(3.0)
    clip = None if distribution == "normal" else 1.0
    fresh = latent.sample_latents(args.num_sweep, latent_dim, distribution, seed=args.seed + 1)

    results: dict[str, Any] = {
        "generator": generator_path,
        "latent_dim": latent_dim,
        "latent_distribution": distribution,
        "resolution": resolution,
        "classifier_error": classifier_error,
        "attributes": studied,
        "controls": controls,
        "generated_label_mean": {n: float(labels[:, i].mean()) for i, n in enumerate(names)},
        "generated_label_std": {n: float(labels[:, i].std()) for i, n in enumerate(names)},
        "scales": scales,
        "scale_unit": f"{step:.4f} latent units (the prior's std along a unit direction)",
        "num_labelled": args.num_labelled,
        "num_sweep": args.num_sweep,
        "directions": {},
    }
    linear = {
        name: latent.attribute_direction(labelled, labels[:, i], method="linear")
        for i, name in enumerate(names)
    }
    directions: dict[str, dict[str, np.ndarray]] = {}
    for i, name in enumerate(studied):
        results["directions"][name] = {}
        directions[name] = {}
        for method in METHODS:
            if method == "conditional":
                others = [linear[other] for other in names if other != name]
                direction = conditional_direction(
                    linear[name], np.reshape(others, (-1, latent_dim))
                )
            else:
                direction = latent.attribute_direction(labelled, labels[:, i], method=method)
            sweep = direction_sweep(
                generator,
                classifier,
                direction,
                fresh,
                scales,
                step=step,
                clip=clip,
                attribute_names=names,
            )
            directions[name][method] = direction
            summary = sweep.as_dict()["attributes"]
            results["directions"][name][method] = {
                "direction": [float(v) for v in direction],
                "mean_prediction": summary[name]["mean"],
                "std_prediction": summary[name]["std"],
                "monotonic": summary[name]["monotonic"],
                "rise": summary[name]["mean"][-1] - summary[name]["mean"][0],
                # What else moves: each other classifier output's mean at every scale.
                "other_attributes": {
                    other: summary[other]["mean"] for other in names if other != name
                },
            }

    # === Tables ===
    header = "direction".ljust(26) + "".join(f"s={s:+g}".rjust(8) for s in scales)
    print(f"\nmean classifier prediction of the attribute vs scale (M={args.num_sweep} faces)")
    print(header + "  monotonic")
    for name in studied:
        for method in METHODS:
            row = results["directions"][name][method]
            cells = "".join(f"{v:8.3f}" for v in row["mean_prediction"])
            print(f"{name} / {method}".ljust(26) + cells + f"  {row['monotonic']}")
    print("\nchange of every classifier output from the lowest to the highest scale")
    print("direction".ljust(26) + "".join(n.rjust(12) for n in names))
    for name in studied:
        for method in METHODS:
            row = results["directions"][name][method]
            changes = [
                row["rise"]
                if other == name
                else row["other_attributes"][other][-1] - row["other_attributes"][other][0]
                for other in names
            ]
            cells = "".join(f"{v:+12.3f}" for v in changes)
            print(f"{name} / {method}".ljust(26) + cells)

    # === Strips: rows are faces, columns the scales ===
    strips = {}
    rows = max(1, min(args.strip_rows, args.num_sweep))
    for name in studied:
        direction = directions[name][args.strip_method]
        moved = np.stack(
            [
                latent.apply_offset(fresh[:rows], direction, scale=s * step, clip=clip)
                for s in scales
            ],
            axis=1,
        ).reshape(rows * len(scales), latent_dim)
        images = latent.generate_images(generator, moved)
        strips[name] = sampling.save_image(images, out_dir / f"strip_{name}.png", rows=rows)

    results_path = out_dir / "results.json"
    results["strips"] = {n: str(p) for n, p in strips.items()}
    results_path.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {results_path} and " + ", ".join(str(p) for p in strips.values()))
    return {"results": results, "results_path": results_path, "strips": strips}


if __name__ == "__main__":
    main(parse_args())
