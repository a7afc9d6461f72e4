"""Paths between latent vectors: linear, spherical, on the hypersphere, and box-bounded lines."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_facegen.latent._arrays import (
    as_latents,
    as_steps,
    check_num_steps,
    check_same_dim,
)

# Below this sin(angle) two directions count as (anti)parallel and slerp becomes lerp.
_PARALLEL_EPSILON = 1e-7

MORPH_METHODS = ("line", "lerp", "slerp", "hypersphere")


def _expand_steps(t: np.ndarray, has_steps: bool, ndim: int) -> np.ndarray:
    # A steps axis goes in front; weights broadcast over the (batch and) latent axes.
    return t.reshape(t.shape + (1,) * ndim) if has_steps else t


def lerp(a: Any, b: Any, t: Any) -> np.ndarray:
    """Linear interpolation ``a + t * (b - a)``.

    Args:
        a: Start latent ``(D,)`` or batch ``(N, D)`` (NumPy or backend tensor).
        b: End latent, same latent size as ``a``; ``(D,)`` broadcasts against ``(N, D)``.
        t: A scalar weight (0 gives ``a``, 1 gives ``b``) or a 1-d array of weights, which
            adds a leading steps axis.

    Returns:
        float32 array: the broadcast shape of ``a`` and ``b``, with a leading ``len(t)`` axis
        when ``t`` is 1-d.

    Raises:
        ValueError: If the inputs are not 1-d/2-d, their latent sizes or batch sizes differ, or
            ``t`` is not a scalar or 1-d.

    Example:
        >>> lerp([0.0, 0.0], [1.0, 2.0], [0.0, 0.5, 1.0]).tolist()
        [[0.0, 0.0], [0.5, 1.0], [1.0, 2.0]]
    """
    a = as_latents(a, "a")
    b = as_latents(b, "b")
    check_same_dim(a, b, "a", "b")
    t, has_steps = as_steps(t)
    ndim = max(a.ndim, b.ndim)
    tt = _expand_steps(t, has_steps, ndim)
    return (a + tt * (b - a)).astype(np.float32)


def slerp(a: Any, b: Any, t: Any) -> np.ndarray:
    """Spherical linear interpolation between latents (norms interpolate along the arc).

    Uses ``sin((1 - t) w) / sin(w) * a + sin(t w) / sin(w) * b`` with ``w`` the angle between
    ``a`` and ``b``. For (anti)parallel pairs (``sin(w)`` near 0) the arc is undefined and the
    result falls back to :func:`lerp`.

    Args:
        a: Start latent ``(D,)`` or batch ``(N, D)``.
        b: End latent with the same latent size; ``(D,)`` broadcasts against ``(N, D)``.
        t: A scalar weight or a 1-d array of weights (adds a leading steps axis).

    Returns:
        float32 array shaped like :func:`lerp`'s result.

    Raises:
        ValueError: If a vector of ``a`` or ``b`` is zero (no direction), or on the shape
            problems :func:`lerp` reports.

    Example:
        >>> slerp([1.0, 0.0], [0.0, 1.0], 0.5)
        array([0.70710677, 0.70710677], dtype=float32)
    """
    a = as_latents(a, "a")
    b = as_latents(b, "b")
    check_same_dim(a, b, "a", "b")
    t, has_steps = as_steps(t)
    norm_a = np.linalg.norm(a, axis=-1, keepdims=True)
    norm_b = np.linalg.norm(b, axis=-1, keepdims=True)
    for name, norm in (("a", norm_a), ("b", norm_b)):
        if np.any(norm == 0):
            raise ValueError(
                f"slerp needs non-zero vectors (the angle of a zero vector is undefined); "
                f"{name} contains a zero vector. Use lerp for paths through the origin."
            )
    cosine = np.clip(np.sum((a / norm_a) * (b / norm_b), axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(cosine)
    sin_omega = np.sin(omega)
    parallel = sin_omega < _PARALLEL_EPSILON
    safe_sin = np.where(parallel, 1.0, sin_omega)
    ndim = max(a.ndim, b.ndim)
    tt = _expand_steps(t, has_steps, ndim)
    coef_a = np.where(parallel, 1.0 - tt, np.sin((1.0 - tt) * omega) / safe_sin)
    coef_b = np.where(parallel, tt, np.sin(tt * omega) / safe_sin)
    return (coef_a * a + coef_b * b).astype(np.float32)


def interpolate_hypersphere(v1: Any, v2: Any, num_steps: int) -> np.ndarray:
    """Interpolates on the sphere of radius ``|v1|`` (as in the TF-Hub ProGAN tutorial).

    ``v2`` is rescaled to ``|v1|``; the points ``v1 + (v2' - v1) * i / (num_steps - 1)`` for
    ``i = 0 .. num_steps - 1`` are each rescaled to ``|v1|``. The first point is ``v1`` and the
    last is ``v2 * |v1| / |v2|``.

    Args:
        v1: Start latent ``(D,)`` or batch ``(N, D)``.
        v2: End latent(s) with the same shape.
        num_steps: Number of points, both ends included (at least 2).

    Returns:
        float32 array ``(num_steps, D)`` or ``(num_steps, N, D)``.

    Raises:
        ValueError: If a vector is zero, the shapes differ, ``num_steps < 2``, or ``v2`` points
            exactly away from ``v1`` so that a point of the straight line is the origin.

    Example:
        >>> path = interpolate_hypersphere([3.0, 0.0], [0.0, 1.0], 3)
        >>> np.linalg.norm(path, axis=-1).round(5).tolist()
        [3.0, 3.0, 3.0]
    """
    v1 = as_latents(v1, "v1")
    v2 = as_latents(v2, "v2")
    if v1.shape != v2.shape:
        raise ValueError(
            f"v1 and v2 must have the same shape; received v1 with shape {v1.shape} and v2 with "
            f"shape {v2.shape}."
        )
    num_steps = check_num_steps(num_steps)
    norm1 = np.linalg.norm(v1, axis=-1, keepdims=True)
    norm2 = np.linalg.norm(v2, axis=-1, keepdims=True)
    if np.any(norm1 == 0) or np.any(norm2 == 0):
        raise ValueError(
            "interpolate_hypersphere needs non-zero v1 and v2 (a radius and a direction)."
        )
    v2_scaled = v2 * (norm1 / norm2)
    fractions = np.arange(num_steps, dtype=np.float64) / (num_steps - 1)
    points = v1 + (v2_scaled - v1) * fractions.reshape((-1,) + (1,) * v1.ndim)
    norms = np.linalg.norm(points, axis=-1, keepdims=True)
    if np.any(norms <= 1e-12 * norm1):
        raise ValueError(
            "v2 points exactly away from v1, so the straight line between them passes through "
            "the origin and cannot be projected onto the sphere; use slerp or nudge v2."
        )
    return (points * (norm1 / norms)).astype(np.float32)


def _line_through_box(a: np.ndarray, b: np.ndarray, bound: float, extend: str) -> tuple:
    direction = b - a
    moving = direction != 0
    # Parameter s along a + s * (b - a) at which each moving coordinate reaches +bound / -bound.
    hits = np.stack(
        [(bound - a[moving]) / direction[moving], (-bound - a[moving]) / direction[moving]]
    )
    s_end = float(np.min(hits.max(axis=0)))
    s_start = float(np.max(hits.min(axis=0))) if extend == "both" else 0.0
    start = a + s_start * direction
    end = a + s_end * direction
    # Snap the coordinate that stopped the line onto the bound, undoing rounding error.
    for point, snap in ((start, extend == "both"), (end, True)):
        if snap:
            index = int(np.argmax(np.abs(point)))
            point[index] = np.sign(point[index]) * bound
    return start, end


def morph_path(
    a: Any,
    b: Any,
    num_steps: int,
    method: str = "line",
    bound: float = 1.0,
    extend: str = "both",
) -> np.ndarray:
    """Samples a morphing path between two latents for an animation.

    ``method="line"`` follows the face DCGAN's morph: the straight line through ``a`` and ``b``
    extended until a coordinate reaches ``±bound``. With ``extend="both"`` (default) the path
    runs from where the line enters the box ``[-bound, bound]^D`` on ``a``'s side to where it
    leaves on ``b``'s side, so it shows the whole chord of the latent box through both faces;
    ``a`` and ``b`` lie on the path but in general between two sample points. With
    ``extend="forward"`` it starts exactly at ``a`` and runs past ``b`` to the box. The first
    (``"both"``) and last points have a coordinate exactly at ``±bound``.

    ``"lerp"``, ``"slerp"`` and ``"hypersphere"`` go from ``a`` to ``b`` (both included) with
    :func:`lerp`, :func:`slerp` or :func:`interpolate_hypersphere`.

    Args:
        a: Start latent ``(D,)``.
        b: End latent ``(D,)``.
        num_steps: Number of points (at least 2).
        method: ``"line"``, ``"lerp"``, ``"slerp"`` or ``"hypersphere"``.
        bound: Half-width of the latent box for ``"line"`` (the hex-code box is 1).
        extend: For ``"line"``: ``"both"`` or ``"forward"``.

    Returns:
        float32 array ``(num_steps, D)``.

    Raises:
        ValueError: On an unknown method or extend, non-1-d inputs, different sizes,
            ``num_steps < 2``, a non-positive bound, ``a == b`` or a latent outside the box for
            ``"line"``, or the problems the delegated functions report.

    Example:
        >>> morph_path([0.0, 0.0], [0.5, 0.25], 3).tolist()
        [[-1.0, -0.5], [0.0, 0.0], [1.0, 0.5]]
    """
    if method not in MORPH_METHODS:
        raise ValueError(f"method must be one of {MORPH_METHODS}; received method={method!r}.")
    a = as_latents(a, "a")
    b = as_latents(b, "b")
    for name, value in (("a", a), ("b", b)):
        if value.ndim != 1:
            raise ValueError(
                f"morph_path takes single latents of shape (D,); received {name} with shape "
                f"{value.shape}."
            )
    check_same_dim(a, b, "a", "b")
    num_steps = check_num_steps(num_steps)
    if method == "lerp":
        return lerp(a, b, np.linspace(0.0, 1.0, num_steps))
    if method == "slerp":
        return slerp(a, b, np.linspace(0.0, 1.0, num_steps))
    if method == "hypersphere":
        return interpolate_hypersphere(a, b, num_steps)
    if extend not in ("both", "forward"):
        raise ValueError(f"extend must be 'both' or 'forward'; received extend={extend!r}.")
    if isinstance(bound, bool) or not np.isfinite(bound) or bound <= 0:
        raise ValueError(f"bound must be a positive finite number; received bound={bound!r}.")
    bound = float(bound)
    for name, value in (("a", a), ("b", b)):
        if np.max(np.abs(value)) > bound:
            raise ValueError(
                f"For method='line', {name} must lie inside the box [-bound, bound] with "
                f"bound={bound}; received max |{name}| = {np.max(np.abs(value))}."
            )
    if np.array_equal(a, b):
        raise ValueError("For method='line', a and b must differ (they define the direction).")
    start, end = _line_through_box(a, b, bound, extend)
    fractions = np.linspace(0.0, 1.0, num_steps).reshape(-1, 1)
    path = start + fractions * (end - start)
    path[0], path[-1] = start, end
    return np.clip(path, -bound, bound).astype(np.float32)
