"""The GAN's two optimizers: :class:`GANOptimizer` and the ``compile`` step that builds one.

``GAN.compile`` (from :class:`GANCompileMixin`, one of ``GAN``'s bases) takes an optimizer per
player and wraps them in a :class:`GANOptimizer`, the one ``optimizer`` Keras' fit loops see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

if TYPE_CHECKING:
    # The mixin is only ever a base of GAN, itself a keras.Model: type it against one.
    from keras import Model as _Host
else:
    _Host = object


def default_optimizer() -> keras.optimizers.Optimizer:
    """The optimizer each player gets by default: ``Adam(2e-4, beta_1=0.5)`` (DCGAN paper).

    Returns:
        A new ``keras.optimizers.Adam``.

    Example:
        >>> round(float(default_optimizer().learning_rate), 6)
        0.0002
    """
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


class GANOptimizer:
    """The generator's and the discriminator's optimizers, seen by Keras as one optimizer.

    ``GAN.compile`` sets ``gan.optimizer`` to one of these. Keras' fit loops only need
    ``variables``, ``built`` and ``build`` from it; on JAX that is what threads both
    optimizers' state through the stateless train step. Each sub-optimizer still updates only
    its own player's variables.

    Args:
        generator_optimizer: Updates the generator.
        discriminator_optimizer: Updates the discriminator.

    Example:
        >>> opt = GANOptimizer(keras.optimizers.Adam(), keras.optimizers.SGD())
        >>> opt.built
        False
    """

    def __init__(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        iterations: Any = None,
    ) -> None:
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self._iterations = iterations

    @property
    def built(self) -> bool:
        """Whether both sub-optimizers have created their variables."""
        return bool(self.generator_optimizer.built and self.discriminator_optimizer.built)

    def build_players(
        self, generator_variables: Sequence[Any], discriminator_variables: Sequence[Any]
    ) -> None:
        """Creates the slot variables of both sub-optimizers.

        Args:
            generator_variables: The generator's trainable variables.
            discriminator_variables: The discriminator's trainable variables.
        """
        for optimizer, variables in (
            (self.generator_optimizer, generator_variables),
            (self.discriminator_optimizer, discriminator_variables),
        ):
            if not optimizer.built:
                optimizer.build(list(variables))

    def build(self, var_list: Sequence[Any]) -> None:
        """Kept for Keras' fit loop; the GAN builds its optimizers in ``compile``.

        Args:
            var_list: Ignored.

        Raises:
            RuntimeError: If the sub-optimizers were not built by ``GAN.compile``.
        """
        if not self.built:
            raise RuntimeError("GANOptimizer is built by GAN.compile(); call compile() first.")

    @property
    def variables(self) -> list[Any]:
        """The generator optimizer's variables, then the discriminator optimizer's."""
        return list(self.generator_optimizer.variables) + list(
            self.discriminator_optimizer.variables
        )

    @property
    def iterations(self) -> Any:
        """Train steps run: the GAN's own counter (``GAN.iterations``).

        Keras callbacks that read ``model.optimizer.iterations`` (e.g. TensorBoard) see the
        GAN's step count, which also counts steps a ``LossScaleOptimizer`` skipped. A
        ``GANOptimizer`` built without a GAN falls back to the generator optimizer's counter.
        """
        if self._iterations is not None:
            return self._iterations
        return self.generator_optimizer.iterations

    @property
    def learning_rate(self) -> Any:
        """The generator's learning rate; setting it moves both players' rates.

        The setter gives the generator optimizer the new rate and multiplies the
        discriminator's by the same factor, so a ratio between the two (e.g. a two-timescale
        update rule with a faster discriminator) survives ``LearningRateScheduler`` and
        ``ReduceLROnPlateau``; equal rates stay equal. If the generator's rate is 0, both get
        the new value. Both optimizers need a float learning rate (not a schedule) to be set.

        Example:
            >>> opt = GANOptimizer(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(4e-3))
            >>> opt.learning_rate = 5e-4
            >>> round(float(opt.discriminator_optimizer.learning_rate), 6)
            0.002
        """
        return self.generator_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        value = _as_float(value)
        old_g = _as_float(self.generator_optimizer.learning_rate)
        old_d = _as_float(self.discriminator_optimizer.learning_rate)
        new_d = value if old_g == 0.0 else old_d * (value / old_g)
        self.generator_optimizer.learning_rate = value
        self.discriminator_optimizer.learning_rate = new_d

    def scale_loss(self, loss: Any) -> Any:
        """Returns ``loss`` unchanged (each player scales its own loss)."""
        return loss

    def __repr__(self) -> str:
        return (
            f"GANOptimizer(generator_optimizer={self.generator_optimizer!r}, "
            f"discriminator_optimizer={self.discriminator_optimizer!r})"
        )


def _as_float(value: Any) -> float:
    return float(np.asarray(ops.convert_to_numpy(value)))


class GANCompileMixin(_Host):
    """``GAN.compile`` and the players' optimizers; a base of :class:`~keras_facegen.models.GAN`.

    It reads the GAN's ``generator``, ``discriminator`` and ``iterations``.
    """

    # === Compile ===

    @property
    def generator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The generator's optimizer (after ``compile``)."""
        return getattr(self, "_generator_optimizer", None)

    @property
    def discriminator_optimizer(self) -> keras.optimizers.Optimizer | None:
        """The discriminator's optimizer (after ``compile``)."""
        return getattr(self, "_discriminator_optimizer", None)

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer | str | dict | None = None,
        discriminator_optimizer: keras.optimizers.Optimizer | str | dict | None = None,
        jit_compile: bool | str = "auto",
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        auto_scale_loss: bool = True,
    ) -> None:
        """Sets the optimizers and how the train step is compiled.

        Under the ``mixed_float16`` policy each optimizer is wrapped in a
        ``keras.optimizers.LossScaleOptimizer`` (unless ``auto_scale_loss=False``).

        Args:
            generator_optimizer: Optimizer (instance, name or config) for the generator;
                default ``Adam(2e-4, beta_1=0.5)``.
            discriminator_optimizer: The same for the discriminator. Must be a different
                instance from ``generator_optimizer``.
            jit_compile: ``"auto"`` (XLA on JAX; a ``tf.function`` on TensorFlow, with XLA
                where Keras enables it; eager on PyTorch), ``True`` or ``False``.
            run_eagerly: Run the train step eagerly (debugging).
            steps_per_execution: Train steps per compiled call (TensorFlow and JAX).
            auto_scale_loss: Wrap optimizers in loss scaling under ``mixed_float16``.

        Raises:
            ValueError: If both optimizers are the same object.

        Example:
            >>> gan.compile(generator_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.0))
        """
        g_opt = keras.optimizers.get(generator_optimizer) or default_optimizer()
        d_opt = keras.optimizers.get(discriminator_optimizer) or default_optimizer()
        if g_opt is d_opt:
            raise ValueError(
                "The generator and the discriminator need separate optimizer instances; "
                f"received the same object twice: {g_opt!r}."
            )
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16":
            g_opt, d_opt = (
                opt
                if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(opt)
                for opt in (g_opt, d_opt)
            )
        super().compile(
            optimizer=None,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            auto_scale_loss=False,
        )
        self._generator_optimizer = g_opt
        self._discriminator_optimizer = d_opt
        self.optimizer = GANOptimizer(g_opt, d_opt, iterations=self.iterations)
        self.optimizer.build_players(
            self.generator.trainable_variables, self.discriminator.trainable_variables
        )
        self._gan_compile_config = {
            "generator_optimizer": keras.optimizers.serialize(g_opt),
            "discriminator_optimizer": keras.optimizers.serialize(d_opt),
            "jit_compile": jit_compile,
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "auto_scale_loss": auto_scale_loss,
        }

    def get_compile_config(self) -> dict[str, Any] | None:
        """The ``compile`` arguments, for saving (``None`` before ``compile``)."""
        return getattr(self, "_gan_compile_config", None)

    def compile_from_config(self, config: Mapping[str, Any]) -> None:
        """Compiles from :meth:`get_compile_config`'s output (used when loading).

        Args:
            config: The saved compile arguments.
        """
        config = dict(config)
        for key in ("generator_optimizer", "discriminator_optimizer"):
            config[key] = keras.optimizers.deserialize(config[key])
        self.compile(**config)
