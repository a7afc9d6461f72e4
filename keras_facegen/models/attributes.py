"""A small attribute classifier and a measurement of what a latent direction does to faces.

The synthetic faces carry their drawing parameters as labels (``yaw``, ``smile``, ...), so a
small CNN trained on them labels *generated* faces too. :func:`direction_sweep` then answers
"does this latent direction turn heads / make faces smile?" with numbers: it adds
``scale * direction`` to a batch of latents for several scales, generates, classifies and
records the classifier's mean prediction per scale.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from keras_facegen._validation import check_int
from keras_facegen.latent import apply_offset, generate_images

__all__ = [
    "DirectionSweep",
    "attribute_classifier",
    "attribute_targets",
    "conditional_direction",
    "direction_sweep",
    "predict_attributes",
]

_LEAKY_RELU_SLOPE = 0.2


def _attribute_names(attributes: Any) -> tuple[str, ...]:
    if isinstance(attributes, str):
        attributes = (attributes,)
    if (
        not isinstance(attributes, Sequence)
        or not attributes
        or not all(isinstance(a, str) and a for a in attributes)
        or len(set(attributes)) != len(attributes)
    ):
        raise ValueError(
            "attributes must be a non-empty sequence of distinct attribute names; received "
            f"attributes={attributes!r}."
        )
    return tuple(attributes)


def attribute_classifier(
    resolution: int,
    attributes: Sequence[str] = ("yaw", "smile"),
    filters: Sequence[int] = (16, 32, 64),
    channels: int = 3,
    name: str = "attribute_classifier",
) -> keras.Model:
    """Builds a small CNN that regresses attribute values from face images.

    Each block is a 3x3 convolution, LeakyReLU(0.2) and 2x2 max pooling; the last map is
    flattened and a dense layer gives one linear output per attribute. Inputs are images in
    [-1, 1], channels last (the convention of the whole library), so generated faces can be
    classified as they come out of a generator. Train it with ``compile(loss="mse")`` on
    :func:`keras_facegen.data.synthetic_faces` images and :func:`attribute_targets`.

    Args:
        resolution: Height and width of the input images (>= ``2 ** len(filters)``).
        attributes: Names of the regressed attributes, in output order; the model keeps them
            as ``model.attribute_names``.
        filters: Channels of each convolution block (one halving of the resolution each).
        channels: Image channels.
        name: Model name.

    Returns:
        A functional ``keras.Model``: ``(N, resolution, resolution, channels)`` ->
        ``(N, len(attributes))`` float32.

    Raises:
        ValueError: On a resolution too small for the number of blocks, empty or duplicate
            attribute names, or non-positive filters / channels.

    Example:
        >>> model = attribute_classifier(32, attributes=("yaw", "smile"))
        >>> model.output_shape
        (None, 2)
    """
    names = _attribute_names(attributes)
    if (
        isinstance(filters, (str, bytes))
        or not isinstance(filters, Sequence)
        or not filters
        or any(
            isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1 for f in filters
        )
    ):
        raise ValueError(
            f"filters must be a non-empty sequence of positive ints; received filters={filters!r}."
        )
    resolution = check_int(resolution, "resolution")
    channels = check_int(channels, "channels")
    if resolution < 2 ** len(filters):
        raise ValueError(
            f"resolution={resolution} is too small for {len(filters)} pooling blocks; use "
            f"resolution >= {2 ** len(filters)} or fewer filters."
        )

    # === Layers and functional model ===
    inputs = keras.Input((resolution, resolution, channels), name="images")
    x = inputs
    for i, count in enumerate(filters):
        x = keras.layers.Conv2D(int(count), 3, padding="same", name=f"block{i}_conv")(x)
        x = keras.layers.LeakyReLU(_LEAKY_RELU_SLOPE, name=f"block{i}_act")(x)
        # Max pooling keeps thin, high-contrast details (a mouth's curve) that averaging
        # washes out; on synthetic faces it learned yaw faster than average pooling.
        x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    # Flatten keeps where things are (yaw is mostly *where* the features sit); a global pool
    # would have to learn position from padding effects alone.
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(len(names), name="attributes")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.attribute_names = names
    return model


def attribute_targets(attributes: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
    """Stacks named per-image attributes into a float32 target matrix.

    Args:
        attributes: A dict of per-image arrays, e.g. the second result of
            :func:`keras_facegen.data.synthetic_faces`.
        names: The attributes to take, in column order.

    Returns:
        float32 array ``(N, len(names))``.

    Raises:
        ValueError: If a name is missing or the arrays differ in length.

    Example:
        >>> attribute_targets({"yaw": [0.5, -1.0], "smile": [0.0, 1.0]}, ["smile"]).tolist()
        [[0.0], [1.0]]
    """
    names = _attribute_names(names)
    missing = [n for n in names if n not in attributes]
    if missing:
        raise ValueError(
            f"attributes has no {missing}; received attribute names {sorted(attributes)}."
        )
    columns = [np.asarray(attributes[n], dtype=np.float32).reshape(-1) for n in names]
    if len({len(c) for c in columns}) != 1:
        raise ValueError(
            "Every attribute needs one value per image; received lengths "
            f"{ {n: len(c) for n, c in zip(names, columns, strict=True)} }."
        )
    return np.stack(columns, axis=1)


def predict_attributes(classifier: Any, images: Any, batch_size: int = 64) -> np.ndarray:
    """Runs an attribute classifier on images in batches (inference mode).

    Args:
        classifier: A Keras model (or any callable) ``images -> (N, A)`` predictions.
        images: ``(N, H, W, C)`` images in [-1, 1].
        batch_size: Images per call.

    Returns:
        float32 array ``(N, A)``.

    Raises:
        ValueError: On a bad batch size or a classifier output without one row per image.

    Example:
        >>> predict_attributes(attribute_classifier(16), np.zeros((3, 16, 16, 3))).shape
        (3, 2)
    """
    batch_size = check_int(batch_size, "batch_size")
    images = np.asarray(keras.ops.convert_to_numpy(images), dtype=np.float32)
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        if isinstance(classifier, keras.layers.Layer):
            out = classifier(batch, training=False)
        else:
            out = classifier(batch)
        out = np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float32)
        out = out.reshape(len(batch), -1)
        chunks.append(out)
    if not chunks:
        raise ValueError("images must hold at least one image; received an empty batch.")
    return np.concatenate(chunks)


def conditional_direction(direction: Any, others: Any) -> np.ndarray:
    """Removes from a direction everything along other attributes' directions.

    Directions found from labels are often entangled: if darker generated faces also read as
    smiling, the smile direction darkens the skin too. Projecting out the other attributes'
    directions (the "conditional manipulation" of InterFaceGAN, Shen et al., 2020) keeps the
    part that moves this attribute alone, to first order.

    Args:
        direction: The direction ``(D,)`` to clean.
        others: Directions ``(K, D)`` (or one ``(D,)``) to remove; they need not be orthogonal.

    Returns:
        float32 unit vector ``(D,)`` orthogonal to every row of ``others``.

    Raises:
        ValueError: On mismatched sizes, or if ``direction`` lies in the span of ``others``.

    Example:
        >>> conditional_direction([1.0, 1.0], [[0.0, 1.0]]).tolist()
        [1.0, 0.0]
    """
    direction = np.asarray(keras.ops.convert_to_numpy(direction), dtype=np.float64).reshape(-1)
    others = np.asarray(keras.ops.convert_to_numpy(others), dtype=np.float64)
    if others.size == 0:
        others = np.zeros((0, direction.shape[0]))
    others = others.reshape(-1, others.shape[-1])
    if others.shape[0] and others.shape[1] != direction.shape[0]:
        raise ValueError(
            f"others must have the direction's size {direction.shape[0]}; received others with "
            f"shape {others.shape}."
        )
    if others.shape[0]:
        basis, _ = np.linalg.qr(others.T)  # (D, K), orthonormal columns spanning `others`
        direction = direction - basis @ (basis.T @ direction)
    norm = float(np.linalg.norm(direction))
    if not np.isfinite(norm) or norm < 1e-6:
        raise ValueError(
            "The direction lies in the span of the other directions: nothing is left after "
            "projecting them out."
        )
    return (direction / norm).astype(np.float32)


@dataclasses.dataclass
class DirectionSweep:
    """What moving latents along one direction does to a classifier's predictions.

    Attributes:
        scales: The scales ``s`` tried, ``(S,)``, in the units given to :func:`direction_sweep`.
        mean_predictions: ``(S, A)``: the classifier's mean prediction over the latents at
            each scale, one column per classifier output.
        std_predictions: ``(S, A)``: the standard deviation over the latents.
        attribute_names: Names of the ``A`` columns.
        images: ``(S, M, H, W, C)`` generated images if ``keep_images``, else ``None``.
    """

    scales: np.ndarray
    mean_predictions: np.ndarray
    std_predictions: np.ndarray
    attribute_names: tuple[str, ...]
    images: np.ndarray | None = None

    def column(self, attribute: str | int) -> int:
        """Index of an attribute's column.

        Args:
            attribute: A name from ``attribute_names`` or a column index.

        Returns:
            The column index.

        Raises:
            ValueError: For an unknown name or an index out of range.
        """
        if isinstance(attribute, str):
            if attribute not in self.attribute_names:
                raise ValueError(
                    f"Unknown attribute={attribute!r}; the sweep has {self.attribute_names}."
                )
            return self.attribute_names.index(attribute)
        if not 0 <= int(attribute) < len(self.attribute_names):
            raise ValueError(f"attribute index {attribute!r} out of range.")
        return int(attribute)

    def means(self, attribute: str | int) -> np.ndarray:
        """Mean predictions of one attribute at every scale, ``(S,)``.

        Args:
            attribute: A name or column index.

        Returns:
            float32 array ``(S,)``.
        """
        return self.mean_predictions[:, self.column(attribute)]

    def is_monotonic(self, attribute: str | int, strict: bool = True) -> bool:
        """Whether the attribute's mean prediction rises with the scale.

        Args:
            attribute: A name or column index.
            strict: Demand a strict rise between every pair of neighbouring scales.

        Returns:
            ``True`` if the means rise (strictly, unless ``strict=False``) with the scale.
        """
        steps = np.diff(self.means(attribute))
        return bool(np.all(steps > 0) if strict else np.all(steps >= 0))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no images).

        Returns:
            ``{"scales": [...], "attributes": {name: {"mean": [...], "std": [...],
            "monotonic": bool}}}``.
        """
        return {
            "scales": [float(s) for s in self.scales],
            "attributes": {
                name: {
                    "mean": [float(v) for v in self.mean_predictions[:, i]],
                    "std": [float(v) for v in self.std_predictions[:, i]],
                    "monotonic": self.is_monotonic(name),
                }
                for i, name in enumerate(self.attribute_names)
            },
        }


def direction_sweep(
    generator: Any,
    classifier: Any,
    direction: Any,
    latents: Any,
    scales: Sequence[float] = (-2.0, -1.0, 0.0, 1.0, 2.0),
    step: float = 1.0,
    clip: float | None = None,
    attribute_names: Sequence[str] | None = None,
    keep_images: bool = False,
    batch_size: int = 64,
) -> DirectionSweep:
    """Moves latents along a direction and measures the classifier's mean prediction.

    For every scale ``s`` the latents become ``apply_offset(latents, direction, s * step,
    clip)``; the generator draws them and the classifier labels the faces. With a direction
    that really controls an attribute, the attribute's mean prediction rises with ``s``
    (:meth:`DirectionSweep.is_monotonic`).

    ``step`` sets the unit of the scales. A natural choice for a unit ``direction`` is the
    latent prior's standard deviation along any direction: 1 for ``"normal"`` latents,
    ``1 / sqrt(3)`` for ``"uniform"`` ones in [-1, 1] (then ``s = 2`` is two standard
    deviations); pass ``clip=1.0`` to keep uniform latents inside their box.

    Args:
        generator: Anything :func:`keras_facegen.latent.generate_images` accepts (a generator
            model, a ``GAN``, or a callable ``z -> images``).
        classifier: A model or callable ``images -> (N, A)`` predictions, e.g. from
            :func:`attribute_classifier`.
        direction: The latent direction ``(D,)`` (e.g. from
            :func:`keras_facegen.latent.attribute_direction`).
        latents: ``(M, D)`` latents to move (the same ones at every scale).
        scales: The multipliers ``s`` to try, in any order (reported as given).
        step: Latent distance of one unit of scale.
        clip: If given, latents are clipped to ``[-clip, clip]`` after moving.
        attribute_names: Names of the classifier's outputs; default: the classifier's
            ``attribute_names`` attribute, else ``"0"``, ``"1"``, ...
        keep_images: Keep the generated images in the result (for pictures).
        batch_size: Latents / images per network call.

    Returns:
        A :class:`DirectionSweep`.

    Raises:
        ValueError: On empty scales, a non-finite or non-positive step, mismatched latent
            sizes, or a number of names other than the classifier's outputs.

    Example:
        >>> classifier = attribute_classifier(64, attributes=("yaw", "smile"))
        >>> yaw_direction = np.eye(16, dtype="float32")[0]  # in practice: attribute_direction
        >>> sweep = direction_sweep(generator, classifier, yaw_direction, latents, clip=1.0)
        >>> sweep.mean_predictions.shape, sweep.attribute_names
        ((5, 2), ('yaw', 'smile'))
        >>> isinstance(sweep.is_monotonic("yaw"), bool)
        True
    """
    scale_values = np.asarray(scales, dtype=np.float32).reshape(-1)
    if scale_values.size == 0 or not np.all(np.isfinite(scale_values)):
        raise ValueError(
            f"scales must be a non-empty list of finite numbers; received {scale_values}."
        )
    if isinstance(step, bool) or not np.isfinite(step) or step <= 0:
        raise ValueError(f"step must be a positive number; received step={step!r}.")
    latents = np.asarray(keras.ops.convert_to_numpy(latents), dtype=np.float32)
    if latents.ndim != 2 or latents.shape[0] == 0:
        raise ValueError(f"latents must be a non-empty batch (M, D); received {latents.shape}.")

    means, stds, kept = [], [], []
    for scale in scale_values:
        moved = apply_offset(latents, direction, scale=float(scale) * float(step), clip=clip)
        images = generate_images(generator, moved, batch_size=batch_size)
        predictions = predict_attributes(classifier, images, batch_size=batch_size)
        means.append(predictions.mean(axis=0))
        stds.append(predictions.std(axis=0))
        if keep_images:
            kept.append(images)

    num_outputs = len(means[0])
    if attribute_names is None:
        attribute_names = getattr(classifier, "attribute_names", None)
    if attribute_names is None:
        attribute_names = tuple(str(i) for i in range(num_outputs))
    attribute_names = _attribute_names(attribute_names)
    if len(attribute_names) != num_outputs:
        raise ValueError(
            f"The classifier gives {num_outputs} outputs but received {len(attribute_names)} "
            f"attribute_names={attribute_names!r}."
        )
    return DirectionSweep(
        scales=scale_values,
        mean_predictions=np.stack(means).astype(np.float32),
        std_predictions=np.stack(stds).astype(np.float32),
        attribute_names=attribute_names,
        images=np.stack(kept) if keep_images else None,
    )
