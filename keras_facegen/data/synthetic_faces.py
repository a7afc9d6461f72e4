"""Procedural cartoon faces: the built-in default data set, no download needed.

Every face is drawn from a handful of random parameters (head turn, smile, hair colour and length,
skin tone, fringe, lighting, ...) with vectorized NumPy: each layer of the drawing is a signed
distance field evaluated for a whole chunk of images at once and turned into a soft, anti-aliased
coverage mask. The parameters come back as attributes, so the data set doubles as labelled data for
latent-direction experiments (``keras_facegen.latent.attribute_direction``).

Coordinates: x grows to the right, y grows downwards, and the image spans [-1, 1] on both axes,
so every feature scales with the resolution.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["HAIR_PALETTE", "IRIS_PALETTE", "synthetic_faces"]

#: Hair colour classes: ``attributes["hair_color"]`` indexes this tuple of ``(name, (r, g, b))``,
#: with channels in [0, 1] before per-image brightness jitter and lighting.
HAIR_PALETTE: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("black", (0.10, 0.09, 0.09)),
    ("dark_brown", (0.32, 0.20, 0.12)),
    ("light_brown", (0.58, 0.40, 0.23)),
    ("red", (0.72, 0.28, 0.12)),
    ("blonde", (0.93, 0.79, 0.46)),
    ("grey", (0.74, 0.74, 0.76)),
)

#: Iris colour classes: ``attributes["eye_color"]`` indexes this tuple of ``(name, (r, g, b))``.
IRIS_PALETTE: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("brown", (0.36, 0.21, 0.10)),
    ("blue", (0.30, 0.50, 0.75)),
    ("green", (0.33, 0.52, 0.30)),
    ("dark", (0.14, 0.10, 0.08)),
)

# Skin tone 0 (light) .. 1 (dark) interpolates linearly between these stops.
_SKIN_STOPS = np.array(
    [
        [0.98, 0.85, 0.75],
        [0.90, 0.70, 0.56],
        [0.70, 0.48, 0.33],
        [0.42, 0.27, 0.18],
    ],
    dtype=np.float32,
)

# Pixels per chunk: the float32 working arrays of one chunk stay within a few MB of cache, which
# makes the elementwise NumPy passes several times faster than one pass over all images.
_CHUNK_PIXELS = 1 << 18
# Chunks of fewer images make NumPy's inner loops too short to be fast, even at large resolutions.
_MIN_CHUNK = 8

# Columns of the per-image uniform matrix; one row per image, so image i depends on row i only
# (a call with more images extends, never reshuffles, a call with fewer).
_NUM_PARAMS = 32

# The figure is drawn in coordinates spanning [-1 / _ZOOM, 1 / _ZOOM], leaving room for hair.
_ZOOM = 0.9

# The largest head turn, in radians, that yaw = +-1 stands for.
_MAX_TURN = 0.7

_F32 = np.float32


def synthetic_faces(
    num_images: int, resolution: int = 64, seed: int = 0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Draws procedural faces with known attributes.

    Faces vary in head shape, skin tone, eyes (openness, iris colour), brows, nose, a mouth that
    smiles or frowns, hair (colour, length from short to shoulder-long, fringe), head turn,
    lighting and background. Edges are anti-aliased, so faces stay smooth at 16×16 and sharp at
    256×256 and beyond. Drawing is vectorized over chunks of images; 10,000 faces at 64×64 take
    a few seconds on one CPU core.

    The result depends only on ``num_images``, ``resolution`` and ``seed``, and face ``i`` is the
    same for any ``num_images > i``.

    Attributes (each a NumPy array of length ``num_images``):

    - ``yaw`` (float32 in [-1, 1]): head turn as seen by the viewer; negative faces the image's
      left, positive its right, 0 looks straight out. ±1 is a turn of about 40°.
    - ``smile`` (float32 in [-1, 1]): -1 a frown, 0 a straight mouth, 1 a broad smile.
    - ``hair_color`` (int32 in [0, 6)): an index into :data:`HAIR_PALETTE` (black, dark brown,
      light brown, red, blonde, grey).
    - ``hair_length`` (float32 in [0, 1]): 0 short (above the ears) .. 1 long (past the shoulders).
    - ``skin_tone`` (float32 in [0, 1]): 0 light .. 1 dark.
    - ``fringe`` (float32 in [0, 1]): 0 a high hairline .. 1 bangs down to the brows.
    - ``lighting`` (float32 in [-1, 1]): light direction; positive lights the image's right side.
    - ``eye_open`` (float32 in [0, 1]): 0 nearly closed .. 1 wide open.
    - ``eye_color`` (int32 in [0, 4)): an index into :data:`IRIS_PALETTE`.
    - ``face_width``, ``face_height`` (float32 in [0, 1]): narrow/short .. wide/long head.

    Args:
        num_images: How many faces to draw, an int >= 1.
        resolution: Height and width in pixels, an int >= 16.
        seed: Seed of the random parameters (any int >= 0); the same seed gives identical arrays.

    Returns:
        ``(images, attributes)``: images float32 of shape
        ``(num_images, resolution, resolution, 3)`` in [-1, 1], channels last; attributes a dict
        of per-image arrays described above.

    Raises:
        ValueError: If ``num_images`` is not an int >= 1, ``resolution`` not an int >= 16, or
            ``seed`` not an int >= 0.

    Example:
        >>> images, attributes = synthetic_faces(16, resolution=32, seed=1)
        >>> images.shape, images.dtype.name
        ((16, 32, 32, 3), 'float32')
        >>> sorted(attributes)[:3]
        ['eye_color', 'eye_open', 'face_height']
    """
    num_images = _check_int("num_images", num_images, minimum=1)
    resolution = _check_int("resolution", resolution, minimum=16)
    seed = _check_int("seed", seed, minimum=0)

    uniforms = np.random.default_rng(seed).random((num_images, _NUM_PARAMS))
    params = _params_from_uniforms(uniforms)

    images = np.empty((num_images, resolution, resolution, 3), dtype=_F32)
    flat = images.reshape(num_images, -1)
    # Faces turned alike share a chunk, so each feature's window (the union over the chunk)
    # stays nearly as small as one face's. The order never changes a face, only the work.
    order = np.argsort(params["yaw"], kind="stable")
    chunk = min(num_images, max(_MIN_CHUNK, _CHUNK_PIXELS // (resolution * resolution)))
    # Buffers reused across chunks: fresh multi-MB arrays would page-fault on every chunk.
    out = np.empty((resolution, resolution, 3, chunk), dtype=_F32)
    rows = np.empty((chunk, flat.shape[1]), dtype=_F32)
    for start in range(0, num_images, chunk):
        index = np.sort(order[start : start + chunk])
        if len(index) < chunk:
            out = np.empty((resolution, resolution, 3, len(index)), dtype=_F32)
            rows = rows[: len(index)]
        _render({k: v[index] for k, v in params.items()}, resolution, out)
        _transpose_into(out.reshape(-1, len(index)), rows)
        flat[index] = rows

    attributes = {
        "yaw": params["yaw"],
        "smile": params["smile"],
        "hair_color": params["hair_color"],
        "hair_length": params["hair_length"],
        "skin_tone": params["skin_tone"],
        "fringe": params["fringe"],
        "lighting": params["lighting"],
        "eye_open": params["eye_open"],
        "eye_color": params["eye_color"],
        "face_width": params["face_width"],
        "face_height": params["face_height"],
    }
    return images, {k: v.copy() for k, v in attributes.items()}


def _check_int(name: str, value: object, *, minimum: int) -> int:
    # bool is an int subclass, but synthetic_faces(True) is surely a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _transpose_into(source: np.ndarray, target: np.ndarray) -> None:
    # Blocks of rows keep both sides of the strided copy in cache; about 2x a plain `.T` copy.
    block = 128
    for i in range(0, source.shape[0], block):
        target[:, i : i + block] = source[i : i + block].T


def _params_from_uniforms(u: np.ndarray) -> dict[str, np.ndarray]:
    """Maps one row of uniforms per image to the drawing parameters (all 1-d arrays)."""
    u = u.astype(_F32)
    n_hair, n_iris = len(HAIR_PALETTE), len(IRIS_PALETTE)
    p: dict[str, np.ndarray] = {
        "yaw": 2 * u[:, 0] - 1,
        "smile": 2 * u[:, 1] - 1,
        "hair_color": np.minimum((u[:, 2] * n_hair).astype(np.int32), n_hair - 1),
        "hair_length": u[:, 3],
        "skin_tone": u[:, 4],
        "fringe": u[:, 5],
        "lighting": 2 * u[:, 6] - 1,
        # Skewed towards open eyes: mostly-closed eyes are rare in face data sets.
        "eye_open": np.sqrt(u[:, 7]),
        "eye_color": np.minimum((u[:, 8] * n_iris).astype(np.int32), n_iris - 1),
        "face_width": u[:, 9],
        "face_height": u[:, 10],
        # Internal-only parameters below.
        "bg_top": 0.15 + 0.75 * u[:, 11:14],
        "bg_bottom": 0.15 + 0.75 * u[:, 14:17],
        "shirt": 0.1 + 0.8 * u[:, 17:20],
        "hair_sweep": 2 * u[:, 20] - 1,
        "brow_jitter": u[:, 21] - 0.5,
        "hair_shade": 0.88 + 0.24 * u[:, 22],
        "head_y": u[:, 23] - 0.5,
        "mouth_width": u[:, 24],
        "hair_volume": u[:, 25],
        "nose_size": u[:, 26],
        "eye_spacing": u[:, 27],
        "blush": u[:, 28],
    }
    return p


def _skin_rgb(tone: np.ndarray) -> np.ndarray:
    pos = tone * (len(_SKIN_STOPS) - 1)
    low = np.minimum(pos.astype(np.int32), len(_SKIN_STOPS) - 2)
    frac = (pos - low)[:, None]
    return _SKIN_STOPS[low] * (1 - frac) + _SKIN_STOPS[low + 1] * frac


class _Canvas:
    """One chunk of images as an (H, W, 3, C) array, painted layer by layer inside windows.

    The image axis comes last so that NumPy's innermost loops run over the whole chunk, not over
    a short row of a small window: per-image parameters of shape (C,) then broadcast for free,
    and elementwise passes run several times faster than on (C, H, W, 3) arrays. Turning the
    result into (C, H, W, 3) is then a plain 2-d transpose.
    """

    def __init__(
        self, out: np.ndarray, resolution: int, background: tuple[np.ndarray, np.ndarray]
    ) -> None:
        self.resolution = resolution
        self.pixel = 2.0 / resolution
        self.coords = ((np.arange(resolution) + 0.5) * self.pixel - 1) / _ZOOM
        self.coords = self.coords.astype(_F32)
        self.rgb = out
        self.shade = np.ones((1, resolution, out.shape[-1]), dtype=_F32)
        top, bottom = background
        ys = (self.coords * _ZOOM + 1) * 0.5
        top = top.T[None, None] * 2 - 1
        bottom = bottom.T[None, None] * 2 - 1
        out[...] = top + (bottom - top) * ys[:, None, None, None].astype(_F32)

    def _span(self, low: np.ndarray, high: np.ndarray) -> slice:
        # One pixel of margin beyond the bounds: soft edges reach half a pixel outside a shape.
        r = self.resolution
        start = math.floor((float(np.min(low)) * _ZOOM + 1) / self.pixel) - 1
        stop = math.ceil((float(np.max(high)) * _ZOOM + 1) / self.pixel) + 1
        return slice(min(max(start, 0), r), min(max(stop, 0), r))

    def window(
        self, x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray
    ) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """Rows, columns and the X (1, W, 1), Y (H, 1, 1) coordinates covering every box."""
        rows, cols = self._span(y0, y1), self._span(x0, x1)
        x = self.coords[cols][None, :, None]
        y = self.coords[rows][:, None, None]
        return rows, cols, x, y

    def coverage(self, sd: np.ndarray) -> np.ndarray:
        """Signed distance (negative inside) to a soft mask one pixel wide at the edge."""
        m = sd * _F32(-0.5 * self.resolution * _ZOOM)
        m += _F32(0.5)
        return np.clip(m, 0, 1, out=m)

    def lit(self, color: np.ndarray, cols: slice, factor: np.ndarray | None = None) -> np.ndarray:
        """Per-image colours (C, 3) in [0, 1], lit and mapped to [-1, 1], as (1|H, W, 3, C)."""
        shade = self.shade[:, cols]
        if factor is not None:
            shade = shade * factor
        lit = color.T.astype(_F32)[None, None] * shade[:, :, None, :]
        lit = np.clip(lit, 0, 1, out=lit)
        lit *= 2
        lit -= 1
        return lit

    def paint(self, rows: slice, cols: slice, mask: np.ndarray, color: np.ndarray) -> None:
        """Composites ``color`` (broadcastable to (H, W, 3, C)) over the window with ``mask``."""
        if mask.size == 0:
            return
        change = color - self.rgb[rows, cols]
        change *= mask[:, :, None, :]
        self.rgb[rows, cols] += change


def _col(v: np.ndarray | float) -> np.ndarray:
    """Per-image scalars as float32 (C,), which broadcast over (H, W, C) windows."""
    return np.asarray(v, dtype=_F32)


def _ellipse_sd(x, y, cx, cy, ax, ay):
    """Approximate signed distance to an axis-aligned ellipse (exact on its boundary)."""
    dx = (x - cx) / ax
    dy = (y - cy) / ay
    q = dx * dx + dy * dy
    # First-order distance (q - 1) / |grad q|: accurate within a pixel of the edge, which is all
    # the soft mask looks at.
    grad = np.sqrt((dx / ax) ** 2 + (dy / ay) ** 2)
    sd = (q - 1) / (2 * grad + _F32(1e-6))
    # Far from thin ellipses the first-order distance is far too small; the distance to the
    # bounding box is a lower bound that keeps every shape inside its box plus half a pixel,
    # which the drawing windows rely on.
    box = np.maximum((np.abs(dx) - 1) * ax, (np.abs(dy) - 1) * ay)
    return np.maximum(sd, box, out=sd)


def _rotated_ellipse_sd(x, y, cx, cy, ax, ay, angle):
    dx, dy = x - cx, y - cy
    c, s = np.cos(angle), np.sin(angle)
    return _ellipse_sd(dx * c + dy * s, dy * c - dx * s, 0, 0, ax, ay)


def _segment_sd(x, y, x0, y0, x1, y1, radius):
    """Signed distance to a capsule: the segment (x0, y0)-(x1, y1) thickened by ``radius``."""
    vx, vy = x1 - x0, y1 - y0
    px, py = x - x0, y - y0
    t = np.clip((px * vx + py * vy) / (vx * vx + vy * vy + _F32(1e-9)), 0, 1)
    return np.sqrt((px - t * vx) ** 2 + (py - t * vy) ** 2) - radius


def _render(p: dict[str, np.ndarray], resolution: int, out: np.ndarray) -> None:
    """Draws one chunk of faces into ``out``, float32 (R, R, 3, C) in [-1, 1]."""
    canvas = _Canvas(out, resolution, (p["bg_top"], p["bg_bottom"]))
    c = _col
    count = p["yaw"].shape[0]
    ones = np.ones(count, dtype=_F32)

    # === Geometry ===
    yaw = p["yaw"]
    turn = _MAX_TURN * yaw
    a = 0.45 + 0.10 * p["face_width"]  # face half-width
    b = 0.58 + 0.10 * p["face_height"]  # face half-height
    # The skull turns about the neck, so the outline shifts a little and the features a lot.
    cx = 0.07 * yaw
    cy = 0.06 + 0.06 * p["head_y"]
    skin = _skin_rgb(p["skin_tone"])
    hair_rgb = np.array([rgb for _, rgb in HAIR_PALETTE], dtype=_F32)[p["hair_color"]]
    hair_rgb = np.clip(hair_rgb * p["hair_shade"][:, None], 0, 1)
    # Light falls across the whole figure, brightest on the lit side of the face.
    canvas.shade = 1 + c(0.3 * p["lighting"]) * np.clip(
        (canvas.coords[None, :, None] - c(cx)) / _F32(0.7), -1, 1
    )

    # === Shoulders ===
    sx = 0.4 * cx
    rows, cols, x, y = canvas.window(sx - 1.1, sx + 1.1, 0.6 * ones, 1.2 * ones)
    sd = _ellipse_sd(x, y, c(sx), _F32(1.45), _F32(1.0), _F32(0.62))
    canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(p["shirt"], cols))

    # === Back hair: a cap above the face plus curtains beside it, as long as hair_length ===
    # Turning shows more of the back of the head, so the hair mass lags behind the face.
    hx = cx - 0.06 * yaw
    length = p["hair_length"]
    ha = a + 0.09 + 0.05 * p["hair_volume"]
    hb = b + 0.12 + 0.05 * p["hair_volume"]
    hcy = cy - 0.05
    hair_end = cy - 0.08 + 1.3 * length
    rows, cols, x, y = canvas.window(hx - ha - 0.2, hx + ha + 0.2, hcy - hb, hair_end)
    cap = np.maximum(_ellipse_sd(x, y, c(hx), c(hcy), c(ha), c(hb)), y - c(hcy))
    # Long hair flares out a little towards the tips.
    flare = c(ha) + _F32(0.12) * np.clip(y - c(hcy), 0, None) * c(length)
    # Below the chin the curtains part, showing the neck and the shirt between them.
    side = np.abs(x - c(hx))
    curtain = np.maximum(np.maximum(side - flare, c(hcy) - y), c(0.55 * a) - side)
    # Tips curve up towards the outside instead of ending in a straight cut.
    tips = y - c(hair_end) + _F32(0.12) * ((x - c(hx)) / c(ha)) ** 2
    sd = np.maximum(np.minimum(cap, curtain), tips)
    canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(hair_rgb * 0.8, cols))

    # === Neck, in front of the hair behind it ===
    neck_w = 0.36 * a
    neck_x = 0.6 * cx
    rows, cols, x, y = canvas.window(neck_x - neck_w, neck_x + neck_w, cy, 1.2 * ones)
    sd = np.maximum(np.abs(x - c(neck_x)) - c(neck_w), c(cy + 0.3) - y)
    # Rounds the neckline where it meets the shirt.
    sd = np.maximum(sd, _ellipse_sd(x, y, c(neck_x), c(cy + 0.55), c(neck_w), _F32(0.6)))
    canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(skin * 0.78, cols))

    # === Ears: the one on the side the face turns away from shows more ===
    for side in (-1.0, 1.0):
        ear_w = 0.075 * np.clip(1 - 0.9 * side * yaw, 0.15, 1.6)
        ex = cx + side * (a - 0.02)
        ey = cy + 0.04
        rows, cols, x, y = canvas.window(ex - ear_w, ex + ear_w, ey - 0.14, ey + 0.14)
        sd = _ellipse_sd(x, y, c(ex), c(ey), c(ear_w), _F32(0.13))
        canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(skin * 0.88, cols))

    # === Face: skin darkening towards the rim reads as a rounded head ===
    rows, cols, x, y = canvas.window(cx - a, cx + a, cy - b, cy + b)
    dx = (x - c(cx)) / c(a)
    dy = (y - c(cy)) / c(b)
    q = dx * dx + dy * dy
    # Slightly narrower jaw: the lower half of the ellipse is squeezed horizontally.
    q += np.clip(dy, 0, None) * (dx * dx) * _F32(0.35)
    grad = np.sqrt((dx / c(a)) ** 2 + (dy / c(b)) ** 2)
    sd = (q - 1) / (2 * grad + _F32(1e-6))
    rim = np.clip(q, 0, 1)
    rim *= rim
    rim *= _F32(-0.16)
    rim += 1
    canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(skin, cols, rim))

    # === Eyes, on a head that turns: x = centre + radius * sin(angle + turn) ===
    eye_angle = 0.40 + 0.06 * p["eye_spacing"]
    eye_y = cy - 0.08 * b / 0.63
    eye_h = 0.060 * (0.3 + 0.7 * p["eye_open"])
    iris_rgb = np.array([rgb for _, rgb in IRIS_PALETTE], dtype=_F32)[p["eye_color"]]
    brow_tilt = -0.28 * p["smile"] + 0.25 * p["brow_jitter"]
    brow_rgb = 0.65 * hair_rgb + 0.35 * np.array([0.12, 0.08, 0.06], dtype=_F32)
    white_rgb = np.broadcast_to(np.array([0.96, 0.95, 0.93], dtype=_F32), skin.shape)
    pupil_rgb = np.broadcast_to(np.array([0.04, 0.03, 0.03], dtype=_F32), skin.shape)
    for side in (-1.0, 1.0):
        phi = side * eye_angle + turn
        squash = np.clip(np.cos(phi), 0.2, 1)
        ex = cx + 0.93 * a * np.sin(phi)
        ew = 0.105 * squash
        rows, cols, x, y = canvas.window(ex - 0.16, ex + 0.16, eye_y - 0.24, eye_y + 0.1)
        # Lid outline, then the white, then iris and pupil clipped to the white.
        sd = _ellipse_sd(x, y, c(ex), c(eye_y), c(ew + 0.022), c(eye_h + 0.02))
        canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(skin * 0.45, cols))
        white = canvas.coverage(_ellipse_sd(x, y, c(ex), c(eye_y), c(ew), c(eye_h)))
        canvas.paint(rows, cols, white, canvas.lit(white_rgb, cols))
        gaze_x = ex + 0.35 * ew * yaw
        dx = (x - c(gaze_x)) / c(squash)
        dist = np.sqrt(dx * dx + (y - c(eye_y)) ** 2)
        canvas.paint(rows, cols, canvas.coverage(dist - 0.05) * white, canvas.lit(iris_rgb, cols))
        canvas.paint(rows, cols, canvas.coverage(dist - 0.028) * white, canvas.lit(pupil_rgb, cols))
        # Brows: the inner end drops for a frown and lifts for a smile.
        by = eye_y - 0.12 - 0.03 * p["eye_open"]
        sd = _rotated_ellipse_sd(
            x, y, c(ex), c(by), c(0.115 * squash), _F32(0.027), c(-side * brow_tilt)
        )
        canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(brow_rgb, cols))

    # === Nose: a shadowed bridge on the far side of the turn and a darker tip ===
    nose_x = cx + 1.06 * a * np.sin(turn)
    nose_y = cy + 0.24 * b
    nose_w = 0.05 + 0.02 * p["nose_size"]
    rows, cols, x, y = canvas.window(nose_x - 0.16, nose_x + 0.16, eye_y, nose_y + 0.08)
    bridge_x = nose_x - 0.06 * np.sin(turn) - 0.015
    sd = _segment_sd(x, y, c(bridge_x), c(eye_y + 0.06), c(nose_x - 0.01), c(nose_y), _F32(0.014))
    canvas.paint(rows, cols, canvas.coverage(sd) * _F32(0.7), canvas.lit(skin * 0.72, cols))
    sd = _ellipse_sd(x, y, c(nose_x), c(nose_y), c(nose_w), _F32(0.034))
    canvas.paint(rows, cols, canvas.coverage(sd) * _F32(0.8), canvas.lit(skin * 0.7, cols))

    # === Cheeks: a faint blush that warms with the smile ===
    blush = (0.12 + 0.25 * np.clip(p["smile"], 0, 1)) * p["blush"]
    blush_rgb = np.broadcast_to(np.array([0.92, 0.42, 0.42], dtype=_F32), skin.shape)
    for side in (-1.0, 1.0):
        phi = side * 0.55 + turn
        bx = cx + 0.8 * a * np.sin(phi)
        rows, cols, x, y = canvas.window(bx - 0.12, bx + 0.12, nose_y - 0.1, nose_y + 0.1)
        sd = _ellipse_sd(x, y, c(bx), c(nose_y), c(0.10 * np.cos(phi)), _F32(0.06))
        mask = canvas.coverage(sd)
        mask *= c(blush)
        canvas.paint(rows, cols, mask, canvas.lit(blush_rgb, cols))

    # === Mouth: a curved band; corners rise with smile and droop with a frown ===
    smile = p["smile"]
    mouth_x = cx + 0.98 * a * np.sin(turn)
    mouth_y = cy + 0.52 * b
    mouth_w = (0.15 + 0.05 * p["mouth_width"] + 0.03 * np.clip(smile, 0, 1)) * np.cos(turn)
    bend = 0.075
    rows, cols, x, y = canvas.window(
        mouth_x - mouth_w, mouth_x + mouth_w, mouth_y - 0.12, mouth_y + 0.12
    )
    t = (x - c(mouth_x)) / c(mouth_w)
    curve = c(mouth_y) - c(smile * bend) * (t * t - _F32(0.4))
    slope = c(-2 * smile * bend / mouth_w) * t
    thick = _F32(0.012) + _F32(0.022) * np.clip(1 - t**4, 0, 1)
    band = np.abs(y - curve) / np.sqrt(1 + slope * slope) - thick
    sd = np.maximum(band, np.abs(t) * c(mouth_w) - c(mouth_w))
    lips = 0.55 * skin + 0.45 * np.array([0.62, 0.12, 0.16], dtype=_F32)
    canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(lips * 0.8, cols))

    # === Fringe: the front of the hair, down to a hairline set by `fringe` ===
    fringe = p["fringe"]
    fa, fb = a + 0.04, b + 0.07
    rows, cols, x, y = canvas.window(cx - fa, cx + fa, cy - 0.03 - fb, cy - 0.03 + fb)
    hairline = (
        c(cy - b * (0.72 - 0.42 * fringe))
        + _F32(0.3) * c(b) * ((x - c(cx)) / c(a)) ** 2
        + c(0.2 * p["hair_sweep"]) * (x - c(cx))
    )
    sd = np.maximum(_ellipse_sd(x, y, c(cx), c(cy - 0.03), c(fa), c(fb)), y - hairline)
    canvas.paint(rows, cols, canvas.coverage(sd), canvas.lit(hair_rgb, cols))
