"""Shared pieces of the quality studies: data, training with figures, classifiers, tables, plots.

Every study trains on the built-in synthetic faces (``seed``) and measures against held-out
faces drawn with another seed (``seed + 1000``), so the "real" set is never trained on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "docs" / "benchmarks"
HELD_OUT_SEED_OFFSET = 1000
CALIBRATION_SEED_OFFSET = 2000

#: Attributes the study classifier regresses; hair colour is one-hot over the six palette
#: classes (regressed with MSE, read back with argmax).
CONTINUOUS_ATTRIBUTES = ("yaw", "smile", "hair_length", "skin_tone")


def base_parser(description: str) -> argparse.ArgumentParser:
    """Flags every study shares."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke settings")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="plots and tables go here")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, weights and latents")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder for trained models shared between studies (default: a temp folder)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the matplotlib figures")
    parser.add_argument("--swd-projections", type=int, default=128, help="directions per repeat")
    parser.add_argument("--swd-repeats", type=int, default=4, help="repeats of the directions")
    return parser


def swd_settings(args: argparse.Namespace) -> dict[str, int]:
    """SWD arguments: 128 neighbourhoods per image and level, ``--swd-*`` directions."""
    if args.quick:
        return {"num_neighbourhoods": 16, "num_projections": 32, "num_repeats": 1}
    return {
        "num_neighbourhoods": 128,
        "num_projections": args.swd_projections,
        "num_repeats": args.swd_repeats,
    }


def setup(args: argparse.Namespace) -> None:
    """Seeds everything, creates the output folders."""
    import keras

    keras.utils.set_random_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.cache is None:
        args.cache = Path(tempfile.gettempdir()) / "keras_facegen_quality"
    args.cache.mkdir(parents=True, exist_ok=True)


def quick_eager(gan: Any, args: argparse.Namespace) -> Any:
    """With ``--quick`` on TensorFlow, ``gan`` runs its steps eagerly; returns it.

    A smoke run trains a few tiny steps per model: tracing the train step into a
    ``tf.function`` (once per GAN, once per phase of a ``ProgressiveGAN``) was most of its time,
    and the steps cost less eagerly. JAX stays compiled (op by op its first steps are slower).
    """
    import keras

    if args.quick and keras.backend.backend() == "tensorflow":
        gan.run_eagerly = True
    return gan


def environment() -> dict[str, Any]:
    """Backend, versions and hardware, printed with every table."""
    import keras

    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        load = float("nan")
    return {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), load {load:.1f}",
    }


def faces(num: int, resolution: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Synthetic faces and their attributes."""
    from keras_facegen.data import synthetic_faces

    return synthetic_faces(num, resolution=resolution, seed=seed)


def held_out(num: int, resolution: int, seed: int) -> np.ndarray:
    """Real faces never trained on (seed ``seed + 1000``)."""
    return faces(num, resolution, seed + HELD_OUT_SEED_OFFSET)[0]


def swd_floor(real: np.ndarray, seed: int, swd_kwargs: dict[str, Any]) -> float:
    """SWD between ``real`` and as many other held-out real faces: the figure's noise floor."""
    from keras_facegen.metrics import sliced_wasserstein_distance

    other = faces(len(real), real.shape[1], seed + CALIBRATION_SEED_OFFSET + 2)[0]
    return sliced_wasserstein_distance(real, other, seed=seed, **swd_kwargs).mean


# === Training with figures ===


def colour_stats(images: np.ndarray) -> tuple[float, float]:
    """Mean brightness (mean RGB in [0, 1]) and mean HSV saturation of images in [-1, 1]."""
    rgb = np.clip((np.asarray(images, np.float64) + 1.0) / 2.0, 0.0, 1.0)
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    saturation = np.where(high > 1e-6, (high - low) / np.maximum(high, 1e-6), 0.0)
    return float(rgb.mean()), float(saturation.mean())


def train_with_figures(
    gan: Any,
    images: np.ndarray,
    real_eval: np.ndarray,
    steps: int,
    batch_size: int,
    eval_every: int,
    seed: int,
    swd_kwargs: dict[str, Any],
    metrics: Sequence[str] = ("swd",),
) -> tuple[list[dict[str, float]], float]:
    """Trains ``steps`` steps, measuring at step 0 and every ``eval_every`` steps.

    Returns:
        ``(rows, train_seconds)``: one row per evaluation with ``step``, the metrics' figures,
        and ``brightness`` / ``saturation`` of the generated images (fixed latents, as many as
        ``real_eval``); the seconds spent training (evaluations excluded).
    """
    from keras_facegen.data.batches import ShuffledBatches
    from keras_facegen.metrics import EvaluateQuality

    class QualityAndColour(EvaluateQuality):
        def compute(self, fake: Any) -> dict[str, float]:
            figures = super().compute(fake)
            figures["brightness"], figures["saturation"] = colour_stats(fake)
            return figures

    quality = QualityAndColour(
        real_eval,
        every_n_steps=eval_every,
        metrics=metrics,
        seed=seed,
        swd_kwargs=swd_kwargs,
        ms_ssim_pairs=200,
    )
    quality.set_model(gan)
    quality.on_train_begin()
    quality.evaluate(0)
    batches = ShuffledBatches(images, batch_size=batch_size, seed=seed)
    started = time.perf_counter()
    gan.fit(
        batches,
        steps_per_epoch=eval_every,
        epochs=-(-steps // eval_every),
        shuffle=False,
        verbose=0,
        callbacks=[quality],
    )
    total = time.perf_counter() - started
    eval_seconds = sum(r["seconds"] for r in quality.history[1:])
    return [dict(r) for r in quality.history], total - eval_seconds


# === The attribute classifier and the broken-face detector ===


def attribute_columns(attributes: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Targets: the continuous attributes and a one-hot hair colour."""
    from keras_facegen.data.synthetic_faces import HAIR_PALETTE

    columns = {name: attributes[name].astype(np.float32) for name in CONTINUOUS_ATTRIBUTES}
    for index, (colour, _) in enumerate(HAIR_PALETTE):
        columns[f"hair_{colour}"] = (attributes["hair_color"] == index).astype(np.float32)
    names = list(columns)
    return np.stack([columns[n] for n in names], axis=1), names


def softness_calibration(classifier: Any, real: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """Spread (std) of each continuous attribute on softened real faces / on the sharp ones.

    A ratio near 1 means softness alone does not shrink the classifier's readings, so a
    narrow generated spread is the generator's, not the classifier's.
    """
    from keras_facegen.data import soften
    from keras_facegen.models import predict_attributes

    rng = np.random.default_rng(seed)
    sharp = predict_attributes(classifier, real).std(axis=0)
    rows = []
    for kind, strength in (("blur", 1.0), ("blur", 2.0), ("resample", 0.25)):
        softened = np.stack([soften(image, kind, strength, rng) for image in real])
        spread = predict_attributes(classifier, softened).std(axis=0)
        row: dict[str, Any] = {"real faces": f"{kind} {strength:g}"}
        for i, name in enumerate(CONTINUOUS_ATTRIBUTES):
            row[f"{name} std ratio"] = float(spread[i] / max(sharp[i], 1e-8))
        rows.append(row)
    return rows


def study_classifier(
    resolution: int, cache: Path, seed: int, num_images: int, epochs: int, quiet: bool = True
) -> Any:
    """The attribute classifier of the studies, trained once per setting and cached.

    Trained on :func:`keras_facegen.data.softened_copies` of the faces, so that it reads
    generated faces, which are softer than the synthetic ones, as it reads real faces.
    """
    import keras

    from keras_facegen.data import softened_copies
    from keras_facegen.models import attribute_classifier

    path = cache / f"classifier_r{resolution}_n{num_images}_e{epochs}_s{seed}_soft.keras"
    if path.is_file():
        model = keras.saving.load_model(path)
        model.attribute_names = tuple(json.loads(path.with_suffix(".json").read_text()))
        return model
    images, attributes = faces(num_images, resolution, seed + 3000)
    images = softened_copies(images, seed + 3001)
    targets, names = attribute_columns(attributes)
    model = attribute_classifier(resolution, attributes=names)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(images, targets, batch_size=64, epochs=epochs, verbose=0 if quiet else 2)
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps(names))
    model.attribute_names = tuple(names)
    return model


def classifier_error(classifier: Any, resolution: int, seed: int, num: int = 256) -> dict:
    """Held-out accuracy of the classifier on real faces (so readers can judge its labels)."""
    from keras_facegen.models import predict_attributes

    images, attributes = faces(num, resolution, seed + CALIBRATION_SEED_OFFSET + 1)
    targets, names = attribute_columns(attributes)
    predictions = predict_attributes(classifier, images)
    out = {}
    for i, name in enumerate(names[: len(CONTINUOUS_ATTRIBUTES)]):
        out[f"{name}_corr"] = float(np.corrcoef(predictions[:, i], targets[:, i])[0, 1])
    hair = slice(len(CONTINUOUS_ATTRIBUTES), len(names))
    out["hair_color_accuracy"] = float(
        np.mean(predictions[:, hair].argmax(axis=1) == targets[:, hair].argmax(axis=1))
    )
    return out


def feature_model(classifier: Any) -> Any:
    """The classifier up to its flattened last feature map (the manifold's coordinates)."""
    import keras

    return keras.Model(classifier.input, classifier.get_layer("flatten").output)


class BrokenFaceDetector:
    """ "Broken" = farther from the real-face manifold than 95% of held-out real faces are.

    Distance: the mean Euclidean distance to the ``k`` nearest reference real faces in the
    attribute classifier's last feature map (the flattened input of its dense head), features
    standardized per dimension on the reference set. The threshold is the ``quantile`` of the
    same distance for held-out *real* faces (another seed), so real faces are "broken" 5% of
    the time by construction and a generator that matches the data scores about 5%.
    """

    def __init__(
        self,
        classifier: Any,
        resolution: int,
        seed: int,
        num_reference: int,
        num_calibration: int,
        k: int = 5,
        quantile: float = 0.95,
    ) -> None:
        from keras_facegen.metrics import extract_features

        self.extractor = feature_model(classifier)
        self.k = k
        reference = faces(num_reference, resolution, seed + CALIBRATION_SEED_OFFSET)[0]
        features = extract_features(self.extractor, reference, batch_size=64)
        self.mean = features.mean(axis=0)
        self.scale = features.std(axis=0) + 1e-6
        self.reference = (features - self.mean) / self.scale
        calibration = held_out(num_calibration, resolution, seed + 7)
        self.real_distances = self.distances(calibration)
        self.threshold = float(np.quantile(self.real_distances, quantile))

    def distances(self, images: np.ndarray) -> np.ndarray:
        """Mean distance to the k nearest reference faces, per image."""
        from keras_facegen.metrics import extract_features

        features = (
            extract_features(self.extractor, images, batch_size=64) - self.mean
        ) / self.scale
        squared = (
            (features**2).sum(axis=1)[:, None]
            + (self.reference**2).sum(axis=1)[None, :]
            - 2.0 * features @ self.reference.T
        )
        nearest = np.sort(np.maximum(squared, 0.0), axis=1)[:, : self.k]
        return np.sqrt(nearest).mean(axis=1)

    def broken(self, images: np.ndarray) -> np.ndarray:
        """Boolean per image."""
        return self.distances(images) > self.threshold

    def rate(self, images: np.ndarray) -> float:
        """Fraction of broken images."""
        return float(self.broken(images).mean())


# === Trained GANs, cached between studies ===


def trained_gan(
    preset: str,
    steps: int,
    batch_size: int | None,
    seed: int,
    cache: Path,
    num_images: int,
    resolution: int | None = None,
    matching: bool = True,
) -> tuple[Any, float]:
    """A GAN trained on synthetic faces from a preset, loaded from the cache when present.

    Returns:
        ``(gan, train_seconds)`` (seconds as measured when it was trained).
    """
    import keras

    import keras_facegen.layers  # noqa: F401 (registers custom objects)
    from keras_facegen.data.batches import ShuffledBatches
    from keras_facegen.models import gan_from_preset, get_preset

    config = get_preset(preset)
    resolution = resolution or config["resolution"]
    batch_size = batch_size or config["batch_size"]
    name = f"gan_{preset}_r{resolution}_b{batch_size}_t{steps}_n{num_images}_s{seed}_m{matching:d}"
    path = cache / f"{name}.keras"
    info_path = cache / f"{name}.json"
    if path.is_file() and info_path.is_file():
        gan = keras.saving.load_model(path)
        return gan, float(json.loads(info_path.read_text())["train_seconds"])
    images = faces(num_images, resolution, seed)[0]
    gan = gan_from_preset(preset, matching=matching, resolution=resolution, seed=seed)
    batches = ShuffledBatches(images, batch_size=batch_size, seed=seed)
    started = time.perf_counter()
    gan.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - started
    gan.sync_state()
    gan.save(path)
    info_path.write_text(json.dumps({"train_seconds": seconds, "steps": steps}))
    return gan, seconds


# === Output ===


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub markdown table; floats with 4 significant digits."""
    columns = list(columns or rows[0].keys())

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def report(
    args: argparse.Namespace, name: str, title: str, settings: dict[str, Any], body: str
) -> str:
    """Prints and saves the study's markdown (``<out>/<name>.md``)."""
    env = environment()
    text = "\n".join(
        [
            f"### {title}",
            "",
            "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + ".",
            "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + ".",
            "",
            body,
            "",
        ]
    )
    print(text)
    suffix = "_quick" if args.quick else ""
    (args.out / f"{name}{suffix}.md").write_text(text)
    return text


def plot_lines(
    path: Path,
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    xlabel: str,
    ylabel: str,
    title: str,
    hlines: dict[str, float] | None = None,
) -> Path:
    """A line plot of several ``{label: (x, y)}`` series (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for label, (x, y) in series.items():
        ax.plot(x, y, marker="o", markersize=3, label=label)
    for label, value in (hlines or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1, color="grey")
        ax.annotate(label, (0.01, value), xycoords=("axes fraction", "data"), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def out_name(args: argparse.Namespace, stem: str, ext: str = "png") -> Path:
    """``<out>/<stem>[_quick].<ext>``: quick runs never overwrite the documented figures."""
    return args.out / f"{stem}{'_quick' if args.quick else ''}.{ext}"


def flush() -> None:
    sys.stdout.flush()


# === The trained generator the ranking, offset and coverage studies share ===


def add_trained_gan_args(parser: argparse.ArgumentParser) -> None:
    """Flags of the shared trained GAN and classifier (one cached model for three studies)."""
    parser.add_argument("--preset", default="face64_small")
    parser.add_argument("--resolution", type=int, default=None, help="default: the preset's")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    parser.add_argument("--steps", type=int, default=1500, help="GAN train steps")
    parser.add_argument("--num-images", type=int, default=8192, help="training faces")
    parser.add_argument("--classifier-images", type=int, default=8000)
    parser.add_argument("--classifier-epochs", type=int, default=12)


def quick_trained_gan_args(args: argparse.Namespace) -> None:
    """Smoke-test sizes for :func:`add_trained_gan_args` flags."""
    args.resolution, args.batch_size, args.steps, args.num_images = 32, 8, 3, 64
    args.classifier_images, args.classifier_epochs = 128, 1


def study_models(args: argparse.Namespace) -> tuple[Any, Any, int, dict[str, Any]]:
    """``(gan, classifier, resolution, settings)`` for the studies on a trained generator."""
    from keras_facegen.models import get_preset

    config = get_preset(args.preset)
    resolution = args.resolution or config["resolution"]
    batch_size = args.batch_size or config["batch_size"]
    gan, seconds = trained_gan(
        args.preset, args.steps, batch_size, args.seed, args.cache, args.num_images, resolution
    )
    classifier = study_classifier(
        resolution, args.cache, args.seed, args.classifier_images, args.classifier_epochs
    )
    settings = {
        "preset": args.preset,
        "resolution": resolution,
        "batch": batch_size,
        "GAN steps": args.steps,
        "training faces": args.num_images,
        "GAN train s": round(seconds),
        "classifier": f"{args.classifier_images} faces x {args.classifier_epochs} epochs",
        "seed": args.seed,
    }
    return gan, classifier, resolution, settings
