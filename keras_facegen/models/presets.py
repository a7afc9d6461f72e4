"""Named DCGAN and progressive-GAN configurations, as data.

Each preset is a plain dict: the builders' arguments (``generator`` and ``discriminator``, plus
the shared ``latent_dim``, ``resolution`` and ``channels``) and the facts a trainer needs
(latent distribution, batch size, optimizer, adversarial loss, matching-term weights).
``latent_distribution`` is ``"uniform"`` (each coordinate in [-1, 1]) or ``"normal"``
(standard normal).

* ``"dcgan64"``: the classic DCGAN of Radford et al. (2016): 100-d normal latent, 64x64,
  generator 4x4x1024 -> 512 -> 256 -> 128 -> 3, discriminator 64/128/256/512 with one logit.
* ``"face96"``: the 96x96 face DCGAN of sugyan's dcgan-tensorflow: 16-d uniform latent,
  generator 6x6x216 -> 144 -> 96 -> 64 -> 3 (5x5 transposed convs), discriminator
  64/96/144/216 with two softmax logits (class 1 = real), feature and mean-image matching.
* ``"face64_small"``: a narrow 64x64 version of ``face96`` meant for a CPU demo: nearest
  upsampling + 3x3 convs (fast gradients on every backend), 16-d uniform latent, batches of
  32 (twice the steps per CPU-minute of 64, which gave better faces for the same time),
  Adam(4e-4, 0.5) (twice DCGAN's rate: better faces at the quick start's 3,000 steps) and
  matching weights of 0.01 (at 0.1 the summed terms drowned the adversarial loss at 64x64).
* ``"pggan64_small"`` (family ``"pggan"``): a narrow progressive GAN growing 4x4 -> 64x64,
  sized to train on a 2-core CPU in about 15 minutes; WGAN-GP + drift, Adam(1e-3, 0, 0.99).
* ``"pggan128"``: the paper's progressive GAN at 128x128 (fmap_base 8192, 512-d latent,
  600k images per phase, the reference's batch sizes).

Progressive presets have ``generator`` / ``discriminator`` entries with the arguments of
:func:`~keras_facegen.models.pggan_generator` / ``pggan_discriminator`` and a ``schedule``
entry with those of :class:`~keras_facegen.models.ProgressiveSchedule` (the target resolution
is the preset's ``resolution``).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PRESETS", "get_preset", "preset_names"]

_ADAM_DCGAN = {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999}
# Karras et al. (2018): Adam(1e-3, beta_1=0, beta_2=0.99, epsilon=1e-8).
_ADAM_PGGAN = {
    "name": "adam",
    "learning_rate": 1e-3,
    "beta_1": 0.0,
    "beta_2": 0.99,
    "epsilon": 1e-8,
}

PRESETS: dict[str, dict[str, Any]] = {
    "dcgan64": {
        "description": "Classic DCGAN (Radford et al., 2016): 100-d normal latent, 64x64.",
        "family": "dcgan",
        "latent_dim": 100,
        "latent_distribution": "normal",
        "resolution": 64,
        "channels": 3,
        "generator": {
            "filters": [1024, 512, 256, 128],
            "kernel_size": 4,
            "normalization": "batch",
            "upsample": "transpose",
        },
        "discriminator": {
            "filters": [64, 128, 256, 512],
            "kernel_size": 4,
            "normalization": "batch",
            "logits": 1,
        },
        "batch_size": 128,
        "optimizer": dict(_ADAM_DCGAN),
        "loss": "non_saturating",
        "matching": {},
        "penalties": {},
    },
    "face96": {
        "description": "The 96x96 face DCGAN of sugyan's dcgan-tensorflow: 16-d uniform latent.",
        "family": "dcgan",
        "latent_dim": 16,
        "latent_distribution": "uniform",
        "resolution": 96,
        "channels": 3,
        "generator": {
            "filters": [216, 144, 96, 64],
            "kernel_size": 5,
            "normalization": "batch",
            "upsample": "transpose",
        },
        "discriminator": {
            "filters": [64, 96, 144, 216],
            "kernel_size": 5,
            "normalization": "batch",
            "logits": 2,
        },
        "batch_size": 128,
        "optimizer": dict(_ADAM_DCGAN),
        "loss": "two_class_softmax",
        "matching": {"feature_matching": 0.1, "mean_image_matching": 0.1},
        "penalties": {},
    },
    "face64_small": {
        "description": "A narrow 64x64 face DCGAN for CPU demos: 16-d uniform latent.",
        "family": "dcgan",
        "latent_dim": 16,
        "latent_distribution": "uniform",
        "resolution": 64,
        "channels": 3,
        "generator": {
            "filters": [128, 64, 32, 16],
            "kernel_size": 3,
            "normalization": "batch",
            "upsample": "nearest",
        },
        "discriminator": {
            "filters": [16, 32, 64, 128],
            "kernel_size": 3,
            "normalization": "batch",
            "logits": 2,
        },
        "batch_size": 32,
        # Twice DCGAN's 2e-4: at the quick start's 3,000 steps, SWD 60 -> 51 against held-out
        # faces and yaw spread 0.57x -> 0.67x the data's (8e-4 diverged by step 3,000).
        "optimizer": {**_ADAM_DCGAN, "learning_rate": 4e-4},
        "loss": "two_class_softmax",
        # 10x smaller than face96's: at 64x64 the summed terms at 0.1 (~12 of a g_loss of ~15)
        # drowned the adversarial loss; 0.01 gave cleaner faces for the same steps.
        "matching": {"feature_matching": 0.01, "mean_image_matching": 0.01},
        "penalties": {},
    },
    "pggan64_small": {
        "description": (
            "A narrow progressive GAN (Karras et al.) growing 4x4 -> 64x64 on a 2-core CPU "
            "in about 15 minutes: 64-d normal latent, channels 64 -> 16."
        ),
        "family": "pggan",
        "latent_dim": 64,
        "latent_distribution": "normal",
        "resolution": 64,
        "channels": 3,
        "generator": {"fmap_base": 512, "fmap_max": 64},
        "discriminator": {"fmap_base": 512, "fmap_max": 64, "mbstd_group_size": 4},
        # Images per fade and per stable phase; the CLI's --phase-images sets both.
        "schedule": {
            "fade_images": 3000,
            "stable_images": 3000,
            "batch_sizes": {4: 32, 8: 32, 16: 32, 32: 16, 64: 16},
        },
        "batch_size": 32,
        "optimizer": dict(_ADAM_PGGAN),
        "loss": "wasserstein",
        "matching": {},
        "penalties": {"gradient_penalty": 10.0, "drift": 0.001},
        "ema_decay": 0.999,
    },
    "pggan128": {
        "description": (
            "The paper's progressive GAN at 128x128: 512-d normal latent, fmap_base 8192, "
            "600k images per fade and per stable phase."
        ),
        "family": "pggan",
        "latent_dim": 512,
        "latent_distribution": "normal",
        "resolution": 128,
        "channels": 3,
        "generator": {"fmap_base": 8192, "fmap_max": 512},
        "discriminator": {"fmap_base": 8192, "fmap_max": 512, "mbstd_group_size": 4},
        "schedule": {"fade_images": 600_000, "stable_images": 600_000, "batch_sizes": {}},
        "batch_size": 16,
        "optimizer": dict(_ADAM_PGGAN),
        "loss": "wasserstein",
        "matching": {},
        "penalties": {"gradient_penalty": 10.0, "drift": 0.001},
        "ema_decay": 0.999,
    },
}


def preset_names() -> list[str]:
    """Returns the names of the built-in presets.

    Returns:
        The names, in definition order.

    Example:
        >>> preset_names()
        ['dcgan64', 'face96', 'face64_small', 'pggan64_small', 'pggan128']
    """
    return list(PRESETS)


def get_preset(name: str) -> dict[str, Any]:
    """Returns a copy of a named preset's configuration.

    The copy is the caller's to change; pass it (or a modified copy) to ``dcgan_generator``
    or ``dcgan_discriminator`` as ``preset=``.

    Args:
        name: A preset name, see :func:`preset_names`.

    Returns:
        A dict with keys ``description``, ``family``, ``latent_dim``,
        ``latent_distribution``, ``resolution``, ``channels``, ``generator``,
        ``discriminator``, ``batch_size``, ``optimizer`` (``name``, ``learning_rate``,
        ``beta_1``, ``beta_2``; both players' default), optionally ``generator_optimizer`` /
        ``discriminator_optimizer`` (keys overriding ``optimizer`` for one player),
        ``loss`` (a :func:`keras_facegen.losses.get` name), ``matching`` and ``penalties``
        (term name -> weight).

    Raises:
        ValueError: If ``name`` is not a preset name.

    Example:
        >>> get_preset("face96")["latent_dim"]
        16
    """
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(
            f"Unknown preset={name!r}. Available presets: {', '.join(repr(n) for n in PRESETS)}."
        )
    return copy.deepcopy(PRESETS[name])
