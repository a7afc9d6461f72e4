"""Hex codes for latents: one byte per coordinate, ``z = byte / 127.5 - 1``.

A 16-d latent in ``[-1, 1]`` becomes a 32-character code such as ``"80ff00..."`` that people can
share to reproduce a face. Encoding rounds half up (``byte = floor((z + 1) * 127.5 + 0.5)``), so
``z = 0`` (exactly halfway between bytes 127 and 128) encodes as ``"80"``; decoding is exact, and
``encode_hex(decode_hex(code)) == code`` for every code.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_facegen._validation import check_int
from keras_facegen.latent._arrays import as_float_array

# How far outside [-1, 1] a coordinate may stray (float rounding) before encode refuses it.
RANGE_TOLERANCE = 1e-5

_HEX_DIGITS = frozenset(string.hexdigits)


def _latents_to_bytes(z: Any, clip: bool) -> np.ndarray:
    # Non-finite values are refused even with clip=True: they have no meaningful byte.
    array = as_float_array(z, "z")
    if array.ndim not in (1, 2) or array.shape[-1] == 0:
        raise ValueError(
            f"z must be one latent (D,) or a batch (N, D) with D > 0; received z with shape "
            f"{array.shape}."
        )
    if clip:
        array = np.clip(array, -1.0, 1.0)
    else:
        worst = float(np.max(np.abs(array)))
        if worst > 1.0 + RANGE_TOLERANCE:
            raise ValueError(
                f"Hex codes store coordinates in [-1, 1]; received z with max |z| = {worst}. "
                "Pass clip=True to clip out-of-range coordinates instead."
            )
        array = np.clip(array, -1.0, 1.0)
    # Round half up (not Python's round-half-even): z = 0 -> 128 -> "80".
    return np.floor((array + 1.0) * 127.5 + 0.5).astype(np.int64)


def bytes_to_hex(values: np.ndarray) -> str:
    """Formats a 1-d array of integers in ``[0, 255]`` as a lowercase hex code.

    Args:
        values: Integers in ``[0, 255]``, one per coordinate.

    Returns:
        Two lowercase hex digits per value.

    Raises:
        ValueError: If a value is outside ``[0, 255]``.

    Example:
        >>> bytes_to_hex(np.array([0, 128, 255]))
        '0080ff'
    """
    values = np.asarray(values)
    if values.ndim != 1 or values.size and (values.min() < 0 or values.max() > 255):
        raise ValueError(f"values must be a 1-d array of bytes in [0, 255]; received {values!r}.")
    return bytes(values.astype(np.uint8).tolist()).hex()


def hex_to_bytes(code: str, latent_dim: int | None = None) -> np.ndarray:
    """Parses a hex code into its bytes (validating it).

    Args:
        code: Hex digits, two per coordinate; upper case and surrounding whitespace accepted.
        latent_dim: If given, the code must have ``2 * latent_dim`` digits.

    Returns:
        int64 array ``(D,)`` of values in ``[0, 255]``.

    Raises:
        ValueError: If the code is not a string, is empty, has an odd length or the wrong length
            for ``latent_dim``, or contains a non-hex character.

    Example:
        >>> hex_to_bytes("00FF").tolist()
        [0, 255]
    """
    if not isinstance(code, str):
        raise ValueError(f"A hex code must be a string; received code={code!r}.")
    text = code.strip()
    if not text:
        raise ValueError(f"A hex code must not be empty; received code={code!r}.")
    bad = sorted({c for c in text if c not in _HEX_DIGITS})
    if bad:
        raise ValueError(
            f"Hex code {code!r} contains non-hex characters {''.join(bad)!r}; expected only "
            "0-9 and a-f."
        )
    if len(text) % 2:
        raise ValueError(
            f"Hex code {code!r} has {len(text)} digits; expected an even number (two per "
            "coordinate)."
        )
    if latent_dim is not None and len(text) != 2 * latent_dim:
        raise ValueError(
            f"Hex code {code!r} has {len(text)} digits; expected {2 * latent_dim} for "
            f"latent_dim={latent_dim}."
        )
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8).astype(np.int64)


def _check_latent_dim(latent_dim: Any) -> None:
    if latent_dim is None:
        return
    check_int(latent_dim, "latent_dim")


def _codes_to_bytes(codes: Sequence[str], name: str, latent_dim: int | None) -> np.ndarray:
    if isinstance(codes, str) or not isinstance(codes, Sequence) or not len(codes):
        raise ValueError(f"{name} must be a non-empty list of hex codes; received {codes!r}.")
    rows = [hex_to_bytes(code, latent_dim) for code in codes]
    lengths = sorted({len(row) for row in rows})
    if len(lengths) > 1:
        raise ValueError(
            f"All codes in {name} must have the same length; received codes of "
            f"{[2 * n for n in lengths]} digits."
        )
    return np.stack(rows)


def encode_hex(z: Any, clip: bool = False) -> str | list[str]:
    """Encodes latents in ``[-1, 1]`` as hex codes (one byte per coordinate).

    Each coordinate becomes ``byte = floor((z + 1) * 127.5 + 0.5)`` (nearest byte, halves
    rounded up), written as two lowercase hex digits.

    Args:
        z: One latent ``(D,)`` or a batch ``(N, D)`` (NumPy or backend tensor).
        clip: Clip coordinates outside ``[-1, 1]`` instead of raising.

    Returns:
        One code for ``(D,)``; a list of ``N`` codes for ``(N, D)``.

    Raises:
        ValueError: If ``z`` is not 1-d/2-d, has non-finite values, or (unless ``clip``) a
            coordinate outside ``[-1, 1]`` by more than :data:`RANGE_TOLERANCE`.

    Example:
        >>> encode_hex([-1.0, 0.0, 1.0])
        '0080ff'
    """
    values = _latents_to_bytes(z, clip)
    if values.ndim == 1:
        return bytes_to_hex(values)
    return [bytes_to_hex(row) for row in values]


def decode_hex(code: str | Sequence[str], latent_dim: int | None = None) -> np.ndarray:
    """Decodes hex codes into latents, ``z = byte / 127.5 - 1``.

    Args:
        code: One code, or a list of codes of equal length. Upper case and surrounding
            whitespace are accepted.
        latent_dim: If given, every code must have ``2 * latent_dim`` hex digits.

    Returns:
        float32 array ``(D,)`` for one code, ``(N, D)`` for a list.

    Raises:
        ValueError: On an empty, odd-length or wrong-length code, non-hex characters, or codes
            of different lengths.

    Example:
        >>> decode_hex("00ff").tolist()
        [-1.0, 1.0]
    """
    _check_latent_dim(latent_dim)
    if isinstance(code, str):
        values = hex_to_bytes(code, latent_dim)
    else:
        values = _codes_to_bytes(code, "code", latent_dim)
    return (values / 127.5 - 1.0).astype(np.float32)


def average_codes(codes: Sequence[str]) -> str:
    """Byte-wise mean of hex codes, truncated toward zero, as a hex code.

    This is how people averaged the codes of faces they liked: for each coordinate, the integer
    part of the mean of the bytes (``sum // N``; bytes are non-negative, so flooring truncates
    toward zero).

    Args:
        codes: A non-empty list of hex codes of equal length.

    Returns:
        The averaged code (lowercase).

    Raises:
        ValueError: If ``codes`` is empty or not a list, a code is invalid, or lengths differ.

    Example:
        >>> average_codes(["00ff", "0100"])
        '007f'
    """
    values = _codes_to_bytes(codes, "codes", None)
    return bytes_to_hex(values.sum(axis=0) // len(values))
