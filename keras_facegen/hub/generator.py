"""``HubGenerator``: a TF-Hub generator module as a NumPy callable, with sampling and projection.

TensorFlow is imported inside the methods that run the module, never at import time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from keras_facegen._validation import check_int

__all__ = ["HubGenerator", "ProjectionResult"]

# Adam's constants as in Keras / tf.optimizers.Adam, which the ProGAN tutorial uses.
_ADAM_BETA_1 = 0.9
_ADAM_BETA_2 = 0.999
_ADAM_EPSILON = 1e-7


class ProjectionResult(NamedTuple):
    """`HubGenerator.project`'s result with ``return_history=True``: ``latents, history``.

    Attributes:
        latents: float32 array ``(N, latent_dim)``, the recovered latents.
        history: float32 array ``(steps,)``, the loss summed over the images before every step.
    """

    latents: np.ndarray
    history: np.ndarray


class HubGenerator:
    """A TF-Hub generator module behind the keras-facegen generator protocol.

    ``gen(z)`` maps a ``(N, latent_dim)`` float array (NumPy or any Keras backend tensor) to
    NumPy float32 images ``(N, resolution, resolution, channels)`` in [-1, 1], channels last.
    Latents are standard normal (``latent_distribution == "normal"``). TensorFlow computes;
    inputs and outputs are NumPy, so it works under every Keras backend. Build it with
    `load_progan`.

    Args:
        function: A TensorFlow callable: a signature (called with ``input_key=`` a batch) or a
            concrete function (called positionally when ``input_key`` is ``None``).
        input_key: The signature's input name, or ``None`` to call positionally.
        output_key: The output to take from a dict result, or ``None`` for a tensor result.
        latent_dim: The latent size the module expects.
        resolution: The height and width of the images.
        channels: The number of image channels.
        output_range: ``(low, high)`` range of the module's raw images.
        batch_size: How many latents the module sees at once.
        handle: Where the module came from (for messages and ``repr``).
        module: The loaded object; kept alive because ``function`` uses its variables.

    Raises:
        ValueError: If a size or the output range is invalid.

    Example:
        >>> generator = load_progan()
        >>> z = np.random.default_rng(0).standard_normal((2, generator.latent_dim))
        >>> generator(z).shape
        (2, 128, 128, 3)
    """

    latent_distribution = "normal"

    def __init__(
        self,
        function: Any,
        *,
        input_key: str | None,
        output_key: str | None,
        latent_dim: int,
        resolution: int,
        channels: int = 3,
        output_range: tuple[float, float] = (0.0, 1.0),
        batch_size: int = 64,
        handle: str | None = None,
        module: Any = None,
    ) -> None:
        for name, value in (
            ("latent_dim", latent_dim),
            ("resolution", resolution),
            ("channels", channels),
        ):
            check_int(value, name)
        _check_output_range(output_range)
        _check_batch_size(batch_size)
        self._function = function
        self._module = module
        self.input_key = input_key
        self.output_key = output_key
        self.latent_dim = int(latent_dim)
        self.resolution = int(resolution)
        self.channels = int(channels)
        self.output_range = (float(output_range[0]), float(output_range[1]))
        self.batch_size = int(batch_size)
        self.handle = handle

    def __repr__(self) -> str:
        return (
            f"HubGenerator(handle={self.handle!r}, latent_dim={self.latent_dim}, "
            f"resolution={self.resolution}, channels={self.channels})"
        )

    def __call__(self, z: Any) -> np.ndarray:
        """Generates images for a batch of latents.

        Args:
            z: ``(N, latent_dim)`` floats (one ``(latent_dim,)`` latent counts as a batch of one):
                a NumPy array, a list, or a Keras backend tensor.

        Returns:
            float32 array ``(N, resolution, resolution, channels)`` in [-1, 1].

        Raises:
            ValueError: If ``z``'s last dimension is not ``latent_dim``, or ``z`` is not finite.

        Example:
            >>> generator(np.zeros((1, generator.latent_dim))).shape
            (1, 128, 128, 3)
        """
        latents = self._check_latents(z, "z")
        return self._generate_batched(latents, self.batch_size)

    def generate(
        self,
        n_or_latents: int | Any,
        seed: int | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Generates images from a number of random latents or from given latents.

        Args:
            n_or_latents: How many images to sample (latents drawn from a standard normal), or a
                ``(N, latent_dim)`` array of latents.
            seed: Seeds the latents when a count is given (``None``: fresh randomness).
            batch_size: How many latents the module sees at once (default: ``self.batch_size``).

        Returns:
            float32 array ``(N, resolution, resolution, channels)`` in [-1, 1].

        Raises:
            ValueError: If the count is not positive, the latents have the wrong shape, or
                ``batch_size`` is not a positive integer.

        Example:
            >>> generator.generate(8, seed=0).shape
            (8, 128, 128, 3)
        """
        batch_size = self.batch_size if batch_size is None else batch_size
        _check_batch_size(batch_size)
        if isinstance(n_or_latents, (int, np.integer)) and not isinstance(n_or_latents, bool):
            latents = self.sample_latents(int(n_or_latents), seed=seed)
        else:
            latents = self._check_latents(n_or_latents, "n_or_latents")
        return self._generate_batched(latents, batch_size)

    def sample_latents(self, n: int, seed: int | None = None) -> np.ndarray:
        """Draws standard-normal latents of the module's size.

        Args:
            n: How many latents.
            seed: Seeds NumPy's generator (``None``: fresh randomness).

        Returns:
            float32 array ``(n, latent_dim)``.

        Raises:
            ValueError: If ``n`` is not a positive integer.

        Example:
            >>> generator.sample_latents(2, seed=0).shape
            (2, 512)
        """
        n = check_int(n, "n")
        rng = np.random.default_rng(seed)
        return rng.standard_normal((int(n), self.latent_dim)).astype(np.float32)

    # The arguments of keras_facegen.latent.project; here TensorFlow computes the loss and its
    # gradient whatever the Keras backend, and latent.minimize_latents runs the same loop.
    def project(
        self,
        images: Any,
        steps: int = 200,
        learning_rate: float = 0.01,
        norm_weight: float = 1.0,
        target_norm: float | None = None,
        initial_latents: Any = None,
        seed: int | None = None,
        return_history: bool = False,
        *,
        batch_size: int | None = None,
        beta_1: float = _ADAM_BETA_1,
        beta_2: float = _ADAM_BETA_2,
        epsilon: float = _ADAM_EPSILON,
        optimizer: Any = None,
    ) -> np.ndarray | ProjectionResult:
        """Recovers latents whose images match target images (the TF-Hub ProGAN tutorial's way).

        ``keras.optimizers.Adam`` optimises each latent on ``sum |G(z) - x| + norm_weight * | |z| -
        target_norm |``: an L1 image difference summed over pixels and channels, in the module's own
        output range ([0, 1] for ProGAN, as in the tutorial), plus a pull of the latent's length
        towards ``target_norm`` (default ``sqrt(latent_dim)``, the typical length of a
        standard-normal latent). The tutorial's ``MeanAbsoluteError(reduction="sum")`` averages over
        channels first; ``norm_weight=3`` reproduces its balance exactly. TensorFlow computes
        (``GradientTape``) whatever the Keras backend. `keras_facegen.latent.project` delegates
        here, with the same arguments.

        Args:
            images: Targets in [-1, 1]: ``(N, resolution, resolution, channels)`` or one image.
            steps: Adam steps.
            learning_rate: Adam's learning rate.
            norm_weight: Weight of the latent-length term (0 turns it off).
            target_norm: The length the latents are pulled towards; default ``sqrt(latent_dim)``.
            initial_latents: ``(N, latent_dim)`` starting points; default standard normal.
            seed: Seeds the default starting points.
            return_history: Also return the loss before every step.
            batch_size: Images optimised together (independently; default: all at once).
            beta_1: Adam's first-moment decay.
            beta_2: Adam's second-moment decay.
            epsilon: Adam's denominator epsilon.
            optimizer: A Keras optimizer to use instead of ``Adam(learning_rate, beta_1,
                beta_2, epsilon)`` (a template: every batch works on a fresh copy).

        Returns:
            NumPy float32 latents ``(N, latent_dim)`` after the last step; with
            ``return_history``, a `ProjectionResult` ``(latents, history)`` where ``history`` is
            float32 ``(steps,)``, the loss summed over the images before every step.

        Raises:
            ValueError: If the images or latents have the wrong shape or range, or a setting is
                out of range.

        Example:
            >>> target = generator.generate(1, seed=3)
            >>> latents, history = generator.project(target, steps=5, return_history=True)
            >>> latents.shape, history.shape
            ((1, 512), (5,))
        """
        targets = self._check_images(images)
        steps = check_int(steps, "steps")
        learning_rate = _check_number("learning_rate", learning_rate, positive=True)
        norm_weight = _check_number("norm_weight", norm_weight)
        epsilon = _check_number("epsilon", epsilon, positive=True)
        if target_norm is None:
            target_norm = math.sqrt(self.latent_dim)
        target_norm = _check_number("target_norm", target_norm)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
                raise ValueError(f"Invalid {name}={value!r}: expected a number in [0, 1).")
        if initial_latents is None:
            rng = np.random.default_rng(seed)
            start = rng.standard_normal((len(targets), self.latent_dim)).astype(np.float32)
        else:
            start = self._check_latents(initial_latents, "initial_latents")
            if len(start) != len(targets):
                raise ValueError(
                    f"Invalid initial_latents with {len(start)} rows: expected one per image "
                    f"({len(targets)})."
                )
        batch_size = len(targets) if batch_size is None else batch_size
        _check_batch_size(batch_size)

        low, high = self.output_range
        # The loss lives in the module's own range, as in the tutorial ([0, 1] for ProGAN).
        targets = low + (targets + 1.0) * 0.5 * (high - low)
        from keras_facegen.latent.projection import minimize_latents

        if optimizer is None:
            import keras

            optimizer = keras.optimizers.Adam(
                learning_rate, beta_1=float(beta_1), beta_2=float(beta_2), epsilon=epsilon
            )
        chunks, history = [], np.zeros(steps, np.float32)
        for begin in range(0, len(targets), batch_size):
            chunk = targets[begin : begin + batch_size]
            chunk_latents, chunk_history = minimize_latents(
                self._loss_and_gradient(chunk, norm_weight, target_norm),
                start[begin : begin + batch_size],
                steps,
                optimizer,
            )
            chunks.append(chunk_latents)
            history += chunk_history
        latents = np.concatenate(chunks, axis=0)
        return ProjectionResult(latents, history) if return_history else latents

    # --- internals -----------------------------------------------------------------------------

    def _raw(self, z: Any) -> Any:
        """The module's images for a float32 TF batch, in the module's range (a TF tensor)."""
        if self.input_key is None:
            outputs = self._function(z)
        else:
            outputs = self._function(**{self.input_key: z})
        if self.output_key is not None:
            outputs = outputs[self.output_key]
        return outputs

    def _generate_batched(self, latents: np.ndarray, batch_size: int) -> np.ndarray:
        import tensorflow as tf

        low, high = self.output_range
        chunks = []
        for begin in range(0, len(latents), batch_size):
            batch = tf.constant(latents[begin : begin + batch_size])
            raw = np.asarray(self._raw(batch), dtype=np.float32)
            chunks.append(raw)
        raw = (
            np.concatenate(chunks, axis=0)
            if chunks
            else np.zeros((0, self.resolution, self.resolution, self.channels), np.float32)
        )
        images = (raw - low) * (2.0 / (high - low)) - 1.0
        return np.clip(images, -1.0, 1.0).astype(np.float32, copy=False)

    def _loss_and_gradient(
        self, targets: np.ndarray, norm_weight: float, target_norm: float
    ) -> Any:
        """``z -> (loss, d loss / d z)`` for a batch of targets, computed by TensorFlow."""
        import tensorflow as tf

        target = tf.constant(targets, tf.float32)

        @tf.function(input_signature=[tf.TensorSpec((len(targets), self.latent_dim), tf.float32)])
        def loss_and_gradient(latent: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(latent)
                images = self._raw(latent)
                reconstruction = tf.reduce_sum(tf.abs(images - target))
                # The tiny epsilon keeps the gradient finite at z = 0.
                lengths = tf.sqrt(tf.reduce_sum(tf.square(latent), axis=1) + 1e-12)
                loss = reconstruction + norm_weight * tf.reduce_sum(tf.abs(lengths - target_norm))
            # The latents are independent rows, so optimising the summed loss is optimising
            # each image's loss on its own.
            return loss, tape.gradient(loss, latent)

        def value_and_grad(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            loss, gradient = loss_and_gradient(tf.constant(z, tf.float32))
            return loss.numpy(), gradient.numpy()

        return value_and_grad

    def _check_latents(self, z: Any, name: str) -> np.ndarray:
        latents = _to_numpy(z)
        if latents.ndim == 1:  # one latent: a batch of one, as the latent tools accept
            latents = latents[None]
        if latents.ndim != 2 or latents.shape[-1] != self.latent_dim or len(latents) == 0:
            raise ValueError(
                f"Invalid {name} with shape {latents.shape}: expected (N, latent_dim) or "
                f"(latent_dim,) with latent_dim={self.latent_dim}."
            )
        if not np.issubdtype(latents.dtype, np.number) or not np.all(np.isfinite(latents)):
            raise ValueError(f"Invalid {name}: expected finite numbers.")
        return latents.astype(np.float32, copy=False)

    def _check_images(self, images: Any) -> np.ndarray:
        array = _to_numpy(images)
        expected = (self.resolution, self.resolution, self.channels)
        if array.ndim == 3:  # one image: a batch of one
            array = array[None]
        if array.ndim != 4 or array.shape[1:] != expected or len(array) == 0:
            raise ValueError(
                f"Invalid images with shape {array.shape}: expected (N, {expected[0]}, "
                f"{expected[1]}, {expected[2]}) with N >= 1."
            )
        array = array.astype(np.float32, copy=False)
        # A little slack for resampling overshoot; [0, 255] or [0, 1]-vs-[-1, 1] mix-ups fail here.
        if not np.all(np.isfinite(array)) or array.min() < -1.01 or array.max() > 1.01:
            raise ValueError(
                f"Invalid images with values in [{array.min()}, {array.max()}]: expected [-1, 1] "
                "(map uint8 pixels with x / 127.5 - 1)."
            )
        return np.clip(array, -1.0, 1.0)


# --- loading helpers ---------------------------------------------------------------------------


# --- argument checks (shared with loading.py) ----------------------------------------------------


def _to_numpy(x: Any) -> np.ndarray:
    """NumPy view of an array-like or a Keras backend tensor (Keras imported only if needed)."""
    if isinstance(x, (np.ndarray, list, tuple, float, int, np.generic)):
        return np.asarray(x)
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))


def _check_output_range(output_range: Sequence[float]) -> None:
    try:
        low, high = (float(v) for v in output_range)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(
            f"Invalid output_range={output_range!r}: expected (low, high) with low < high."
        )


def _check_number(name: str, value: Any, positive: bool = False) -> float:
    valid = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    valid = valid and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not valid:
        expected = "a positive number" if positive else "a number >= 0"
        raise ValueError(f"Invalid {name}={value!r}: expected {expected}.")
    return float(value)


def _check_batch_size(batch_size: Any) -> None:
    check_int(batch_size, "batch_size")
