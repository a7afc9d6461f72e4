"""Request bodies of the explorer's HTTP API, as pydantic models.

Types, sizes and finiteness are checked here (``NaN`` and ``Infinity`` are refused, unknown
fields are refused); the meaning of the values (hex digits, latent size, ranges) is checked
by the :class:`~keras_facegen.explorer.engine.FaceEngine`, whose ``ValueError`` messages come
back to the client as 422 answers.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, field_validator, model_validator

from keras_facegen.explorer.engine import MAX_MORPH_STEPS, MAX_RANK_SAMPLES, MAX_SEED

__all__ = [
    "GenerateRequest",
    "MorphRequest",
    "OffsetRequest",
    "RandomRequest",
    "RankRequest",
]

#: Longest hex code accepted (a 512-d latent's code is 1024 digits).
MAX_CODE_DIGITS = 2048
#: Most coordinates in one latent.
MAX_LATENT_DIM = 4096
#: Most codes or latents in one list.
MAX_LIST = 256

Code = Annotated[str, Field(min_length=1, max_length=MAX_CODE_DIGITS)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Vector = Annotated[list[FiniteFloat], Field(min_length=1, max_length=MAX_LATENT_DIM)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class GenerateRequest(_Request):
    """``POST /api/generate``: one face or a batch, as PNG (a grid for a batch).

    Send exactly one of ``code`` (a hex code), ``codes`` (a list of them) or ``z`` (a latent or
    a list of latents). In ``"directions"`` mode a code needs its ``seed`` (``seeds`` for
    ``codes``).

    Example:
        >>> GenerateRequest(code="80" * 16).code[:4]
        '8080'
    """

    code: Code | None = None
    codes: Annotated[list[Code], Field(min_length=1, max_length=MAX_LIST)] | None = None
    z: Annotated[list[Any], Field(min_length=1, max_length=MAX_LATENT_DIM)] | None = None
    seed: Seed | None = None
    seeds: Annotated[list[Seed], Field(min_length=1, max_length=MAX_LIST)] | None = None
    rows: Annotated[int, Field(ge=1, le=MAX_LIST)] | None = None

    @field_validator("z")
    @classmethod
    def _latents(cls, z: list[Any] | None) -> list[Any] | None:
        if z is None:
            return z
        rows = z if all(isinstance(row, list) for row in z) else [z]
        if len(rows) > MAX_LIST or any(not row or len(row) > MAX_LATENT_DIM for row in rows):
            raise ValueError(
                f"expected one latent (a list of at most {MAX_LATENT_DIM} numbers) or a list of "
                f"at most {MAX_LIST} such latents"
            )
        for row in rows:
            for value in row:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"latents must hold numbers; received {value!r}")
                if not math.isfinite(value):
                    raise ValueError(
                        f"latents must hold finite numbers; received {value!r} (NaN and "
                        "Infinity are not allowed)"
                    )
        return z

    @model_validator(mode="after")
    def _one_input(self) -> GenerateRequest:
        given = [name for name in ("code", "codes", "z") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "send exactly one of 'code', 'codes' or 'z'; received "
                f"{', '.join(repr(g) for g in given) or 'none'}"
            )
        return self


class RandomRequest(_Request):
    """``POST /api/random``: a random face's code, optionally moved by an offset.

    Every field is optional; the body may be left out.

    Example:
        >>> RandomRequest(seed=3).scale
        1.0
    """

    seed: Seed | None = None
    offset: Vector | None = None
    scale: Annotated[FiniteFloat, Field(ge=-10, le=10)] = 1.0


class OffsetRequest(_Request):
    """``POST /api/offset``: the good-minus-bad offset of marked codes.

    Example:
        >>> len(OffsetRequest(good=["ff" * 16], bad=[]).good)
        1
    """

    good: Annotated[list[Code], Field(max_length=MAX_LIST)]
    bad: Annotated[list[Code], Field(max_length=MAX_LIST)]


class MorphRequest(_Request):
    """``POST /api/morph``: an animated GIF morphing between two codes (``from`` -> ``to``).

    Example:
        >>> MorphRequest.model_validate({"from": "00" * 16, "to": "ff" * 16}).steps
        24
    """

    start: Code = Field(alias="from")
    end: Code = Field(alias="to")
    seeds: tuple[Seed, Seed] = (0, 0)
    steps: Annotated[int, Field(ge=2, le=MAX_MORPH_STEPS)] = 24
    method: Literal["line", "lerp", "slerp", "hypersphere"] | None = None
    duration: Annotated[int, Field(ge=20, le=5000)] = 80


class RankRequest(_Request):
    """``POST /api/rank``: random faces ranked by the discriminator.

    Every field is optional; the body may be left out.

    Example:
        >>> RankRequest().top_k
        8
    """

    num_samples: Annotated[int, Field(ge=1, le=MAX_RANK_SAMPLES)] = 64
    top_k: Annotated[int, Field(ge=1, le=64)] = 8
    seed: Seed | None = None
