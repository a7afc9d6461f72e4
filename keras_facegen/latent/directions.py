"""Directions in latent space: good-minus-bad offsets, attribute directions, truncation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_facegen._validation import check_int
from keras_facegen.latent._arrays import as_float_array, as_latents, check_same_dim
from keras_facegen.latent.codec import decode_hex

DIRECTION_METHODS = ("mean_difference", "linear", "logistic")


def _as_latent_batch(x: Any, name: str) -> np.ndarray:
    # Hex codes (one string or a list of strings) or latents (D,) / (N, D), as (N, D) float64.
    if isinstance(x, str) or (
        isinstance(x, Sequence) and len(x) and all(isinstance(c, str) for c in x)
    ):
        try:
            latents = decode_hex(x).astype(np.float64)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    else:
        latents = as_latents(x, name)
    return latents.reshape(-1, latents.shape[-1])


def offset_vector(good: Any, bad: Any) -> np.ndarray:
    """The "good minus bad" offset: ``mean(good) - mean(bad)``.

    Adding it to random latents moves them toward the faces people liked and away from the
    broken ones (see :func:`apply_offset`).

    Args:
        good: Latents ``(D,)`` / ``(N, D)``, or a hex code / list of hex codes.
        bad: The same kinds of input, with the same latent size.

    Returns:
        float32 array ``(D,)``.

    Raises:
        ValueError: On invalid codes or latents, or different latent sizes.

    Example:
        >>> offset_vector(["ff00", "ff80"], "0000")
        array([2.       , 0.5019608], dtype=float32)
    """
    good = _as_latent_batch(good, "good")
    bad = _as_latent_batch(bad, "bad")
    if good.shape[-1] != bad.shape[-1]:
        raise ValueError(
            f"good and bad must have the same latent size; received {good.shape[-1]} and "
            f"{bad.shape[-1]}."
        )
    return (good.mean(axis=0) - bad.mean(axis=0)).astype(np.float32)


def apply_offset(z: Any, offset: Any, scale: float = 1.0, clip: float | None = None) -> np.ndarray:
    """Adds ``scale * offset`` to latents, optionally clipping to ``[-clip, clip]``.

    Args:
        z: Latents ``(D,)`` or ``(N, D)``.
        offset: An offset ``(D,)`` (e.g. from :func:`offset_vector` or
            :func:`attribute_direction`), or one per latent ``(N, D)``.
        scale: Multiplier of the offset (negative values move the other way).
        clip: If given, a positive bound; results are clipped to ``[-clip, clip]`` (use 1.0 to
            stay in the hex-code box).

    Returns:
        float32 array shaped like the broadcast of ``z`` and ``offset``.

    Raises:
        ValueError: On mismatched sizes, a non-finite scale or a non-positive clip.

    Example:
        >>> apply_offset([0.5, -0.5], [1.0, 0.0], clip=1.0).tolist()
        [1.0, -0.5]
    """
    z = as_latents(z, "z")
    offset = as_latents(offset, "offset")
    check_same_dim(z, offset, "z", "offset")
    if isinstance(scale, bool) or not np.isfinite(scale):
        raise ValueError(f"scale must be a finite number; received scale={scale!r}.")
    result = z + float(scale) * offset
    if clip is not None:
        if isinstance(clip, bool) or not np.isfinite(clip) or clip <= 0:
            raise ValueError(f"clip must be None or a positive number; received clip={clip!r}.")
        result = np.clip(result, -float(clip), float(clip))
    return result.astype(np.float32)


def _binary_labels(labels: Any, num: int) -> np.ndarray:
    labels = as_float_array(labels, "labels").reshape(-1)
    if labels.shape[0] != num:
        raise ValueError(
            f"labels must have one value per latent; received {labels.shape[0]} labels for "
            f"{num} latents."
        )
    binary = np.all(np.isin(labels, (0.0, 1.0)))
    positive = labels == 1.0 if binary else labels > np.median(labels)
    if positive.all() or not positive.any():
        raise ValueError(
            "labels must contain both classes (positives and negatives) to define a direction; "
            f"received {int(positive.sum())} positives out of {num}."
        )
    return positive


def _ridge_direction(latents: np.ndarray, targets: np.ndarray, l2: float) -> np.ndarray:
    centered = latents - latents.mean(axis=0)
    targets = targets - targets.mean()
    gram = centered.T @ centered + l2 * np.eye(latents.shape[1])
    return np.linalg.solve(gram, centered.T @ targets)


def _logistic_objective(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, l2: float) -> float:
    z = x @ w + b
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * (w @ w))


def _logistic_direction(
    latents: np.ndarray, positive: np.ndarray, l2: float, steps: int, learning_rate: float
) -> np.ndarray:
    """Newton's method with backtracking on the L2-regularised mean log-loss (bias free)."""
    x = latents - latents.mean(axis=0)
    y = positive.astype(np.float64)
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.diag(np.r_[np.full(d, l2), 0.0])
    theta = np.zeros(d + 1)
    loss = _logistic_objective(x, y, theta[:d], theta[d], l2)
    for _ in range(steps):
        p = 0.5 * (1.0 + np.tanh(0.5 * (design @ theta)))  # the sigmoid, overflow-free
        gradient = design.T @ (p - y) / n + penalty @ theta
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design / n + penalty
        step = np.linalg.solve(hessian + 1e-12 * np.eye(d + 1), gradient)
        size = learning_rate
        while size > 1e-10:
            candidate = theta - size * step
            new_loss = _logistic_objective(x, y, candidate[:d], candidate[d], l2)
            if new_loss <= loss:
                break
            size *= 0.5
        else:
            break  # no decrease possible: at the optimum to machine precision
        theta, loss = candidate, new_loss
        if np.max(np.abs(size * step)) < 1e-12:
            break
    return theta[:d]


def attribute_direction(
    latents: Any,
    labels: Any,
    method: str = "mean_difference",
    l2: float = 1e-3,
    steps: int = 100,
    learning_rate: float = 1.0,
) -> np.ndarray:
    """A unit vector in latent space along which an attribute grows (smile, yaw, hair, ...).

    Labels are binary (0/1 or booleans: 1 = has the attribute) or continuous; continuous labels
    are split at their median (``label > median`` is positive), so the direction points from
    the lower half toward the upper half.

    The methods:

    * ``"mean_difference"``: mean of positive latents minus mean of negative latents.
    * ``"linear"``: the normal of a ridge-regression classifier (closed form) fitted to
      targets ±1 on centred latents: ``argmin |X w - t|^2 + l2 |w|^2``; it discounts
      directions that merely vary a lot.
    * ``"logistic"``: the normal ``w`` of a logistic-regression classifier on centred latents,
      ``argmin mean(log(1 + exp(x.w + b)) - y (x.w + b)) + l2 / 2 |w|^2`` (bias not penalised),
      solved by Newton's method with backtracking (at most ``steps`` iterations; it converges
      in a few dozen).

    Args:
        latents: ``(N, D)`` latents of labelled samples.
        labels: ``(N,)`` labels.
        method: One of ``"mean_difference"``, ``"linear"``, ``"logistic"``.
        l2: L2 regularisation for ``"linear"`` and ``"logistic"``.
        steps: Most Newton iterations for ``"logistic"``.
        learning_rate: First step size tried in each Newton iteration (1 = the full step).

    Returns:
        float32 unit vector ``(D,)`` pointing toward the positive class.

    Raises:
        ValueError: On an unknown method, wrong shapes, labels of a single class, or a zero
            direction (e.g. both classes have the same mean).

    Example:
        >>> attribute_direction([[0.0, 1.0], [0.0, -1.0]], [1, 0]).tolist()
        [0.0, 1.0]
    """
    if method not in DIRECTION_METHODS:
        raise ValueError(f"method must be one of {DIRECTION_METHODS}; received method={method!r}.")
    latents = as_latents(latents, "latents")
    if latents.ndim != 2:
        raise ValueError(
            f"latents must be a batch (N, D); received latents with shape {latents.shape}."
        )
    positive = _binary_labels(labels, latents.shape[0])
    steps = check_int(steps, "steps")
    if isinstance(learning_rate, bool) or not 0.0 < learning_rate <= 1.0:
        raise ValueError(
            f"learning_rate must be a number in (0, 1]; received learning_rate={learning_rate!r}."
        )
    if isinstance(l2, bool) or not (np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0; received l2={l2!r}.")
    if method == "mean_difference":
        direction = latents[positive].mean(axis=0) - latents[~positive].mean(axis=0)
    elif method == "linear":
        direction = _ridge_direction(latents, np.where(positive, 1.0, -1.0), float(l2))
    else:
        direction = _logistic_direction(latents, positive, float(l2), int(steps), learning_rate)
    norm = float(np.linalg.norm(direction))
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError(
            f"The {method} direction is zero: the labels do not separate the latents along any "
            "direction (e.g. both classes have the same mean)."
        )
    return (direction / norm).astype(np.float32)


def truncate(z: Any, psi: float, center: Any = None) -> np.ndarray:
    """The truncation trick: ``center + psi * (z - center)``.

    ``psi < 1`` pulls latents toward the centre (more typical, less varied faces); ``psi = 1``
    changes nothing; ``psi = 0`` gives the centre.

    Args:
        z: Latents ``(D,)`` or ``(N, D)``.
        psi: Truncation factor (a finite number, typically in ``[0, 1]``).
        center: The centre ``(D,)``; defaults to the origin (the mean of a zero-mean prior).
            Use e.g. the mean latent of many samples or of faces you like.

    Returns:
        float32 array shaped like ``z``.

    Raises:
        ValueError: If ``psi`` is not finite or ``center`` has another latent size.

    Example:
        >>> truncate([1.0, -0.5], 0.5).tolist()
        [0.5, -0.25]
    """
    z = as_latents(z, "z")
    if isinstance(psi, bool) or not np.isfinite(psi):
        raise ValueError(f"psi must be a finite number; received psi={psi!r}.")
    if center is None:
        center = np.zeros(z.shape[-1])
    else:
        center = as_latents(center, "center")
        if center.ndim != 1:
            raise ValueError(f"center must have shape (D,); received shape {center.shape}.")
        check_same_dim(z, center, "z", "center")
    return (center + float(psi) * (z - center)).astype(np.float32)
