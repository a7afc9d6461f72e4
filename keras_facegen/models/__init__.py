"""Network builders and trainable models."""

from keras_facegen.models.attributes import (
    DirectionSweep,
    attribute_classifier,
    attribute_targets,
    conditional_direction,
    direction_sweep,
    predict_attributes,
)
from keras_facegen.models.dcgan import dcgan_discriminator, dcgan_generator
from keras_facegen.models.factory import (
    gan_from_preset,
    optimizer_from_preset,
    progressive_gan_from_preset,
)
from keras_facegen.models.gan import GAN
from keras_facegen.models.loading import load_discriminator, load_generator, resolve_model
from keras_facegen.models.pggan import (
    fade_layers,
    pggan_discriminator,
    pggan_generator,
    pggan_resolutions,
    pggan_stage,
)
from keras_facegen.models.presets import PRESETS, get_preset, preset_names
from keras_facegen.models.pretrained import (
    PretrainedGAN,
    load_trained,
    pretrained,
    pretrained_dir,
    pretrained_names,
)
from keras_facegen.models.progressive import ProgressiveGAN, StagedNetwork
from keras_facegen.models.schedule import ProgressiveSchedule

__all__ = [
    "GAN",
    "DirectionSweep",
    "attribute_classifier",
    "attribute_targets",
    "conditional_direction",
    "direction_sweep",
    "predict_attributes",
    "PRESETS",
    "dcgan_discriminator",
    "dcgan_generator",
    "gan_from_preset",
    "get_preset",
    "optimizer_from_preset",
    "progressive_gan_from_preset",
    "preset_names",
    "ProgressiveGAN",
    "ProgressiveSchedule",
    "StagedNetwork",
    "fade_layers",
    "pggan_discriminator",
    "pggan_generator",
    "pggan_resolutions",
    "pggan_stage",
    "PretrainedGAN",
    "load_trained",
    "pretrained",
    "pretrained_dir",
    "pretrained_names",
    "load_discriminator",
    "load_generator",
    "resolve_model",
]
