"""Pretrained ProGAN generators from TF-Hub, usable with every keras-facegen latent tool.

`load_progan` loads a TF-Hub module (the TF1-hub-format ``progan-128`` or any TF2 SavedModel that
maps a batch of latents to a batch of images) through ``tensorflow_hub.load`` and wraps it in a
`HubGenerator`: a plain callable ``gen(z) -> images`` returning NumPy float32 images in [-1, 1].

TensorFlow always computes, whatever the Keras backend: this module is the design's one exception
to "only ``backend/`` imports TensorFlow", and it imports TensorFlow and ``tensorflow_hub`` only
inside functions, so ``import keras_facegen.hub`` stays cheap. NumPy arrays cross between the
backends, so the generator works the same when Keras runs on JAX or PyTorch.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import socket
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from keras_facegen._validation import check_int

__all__ = [
    "DEFAULT_PROGAN_HANDLE",
    "HubGenerator",
    "HubModuleUnavailableError",
    "ProjectionResult",
    "load_progan",
    "module_cache_dir",
]

DEFAULT_PROGAN_HANDLE = "https://tfhub.dev/google/progan-128/1"

# Searched in this order when no signature is named: the TF1 hub format's, then Keras/TF2's.
_SIGNATURE_PREFERENCE = ("default", "serving_default")
_CACHE_ENV = "TFHUB_CACHE_DIR"
_REMOTE_PREFIXES = ("http://", "https://", "gs://")

# Adam's constants as in Keras / tf.optimizers.Adam, which the ProGAN tutorial uses.
_ADAM_BETA_1 = 0.9
_ADAM_BETA_2 = 0.999
_ADAM_EPSILON = 1e-7


class HubModuleUnavailableError(RuntimeError):
    """A TF-Hub handle could not be resolved: no network (or no such module) and no cached copy.

    The message names the handle, the cache folder that was searched and how to pre-fill it.

    Example:
        >>> try:
        ...     generator = load_progan("/no/such/module")
        ... except HubModuleUnavailableError as error:
        ...     print(error)
        Could not load the TF-Hub module handle='/no/such/module': it is not a URL ...
    """


class ProjectionResult(NamedTuple):
    """`HubGenerator.project`'s result with ``return_history=True``: ``latents, history``.

    Attributes:
        latents: float32 array ``(N, latent_dim)``, the recovered latents.
        history: float32 array ``(steps,)``, the loss summed over the images before every step.
    """

    latents: np.ndarray
    history: np.ndarray


def module_cache_dir(handle: str = DEFAULT_PROGAN_HANDLE, cache_dir: str | None = None) -> str:
    """The folder ``tensorflow_hub`` caches (and looks up) a remote handle's module in.

    It is ``<cache>/<sha1 of the handle>``, as ``tensorflow_hub``'s compressed-module resolver
    names it; ``<cache>`` is ``cache_dir``, else ``$TFHUB_CACHE_DIR``, else
    ``<system temp>/tfhub_modules``. Extracting a module's ``.tar.gz`` there makes the handle
    load without network.

    Args:
        handle: The TF-Hub handle exactly as it will be passed to `load_progan`.
        cache_dir: The cache root; defaults as described above.

    Returns:
        The absolute path of the module's cache folder (it need not exist).

    Raises:
        ValueError: If ``handle`` is not a non-empty string.

    Example:
        >>> module_cache_dir("https://tfhub.dev/google/progan-128/1", "/data/tfhub")
        '/data/tfhub/2f9e2f0be115550c7ae9b90bb71b29e76fa404d8'
    """
    if not isinstance(handle, str) or not handle:
        raise ValueError(f"Invalid handle={handle!r}: expected a TF-Hub URL or a directory path.")
    root = (
        cache_dir
        or os.environ.get(_CACHE_ENV)
        or os.path.join(tempfile.gettempdir(), "tfhub_modules")
    )
    folder = hashlib.sha1(handle.encode("utf8")).hexdigest()  # a folder name, not security
    return os.path.abspath(os.path.join(os.fspath(root), folder))


def load_progan(
    handle: str = DEFAULT_PROGAN_HANDLE,
    cache_dir: str | os.PathLike | None = None,
    *,
    signature: str | None = None,
    output_key: str | None = None,
    output_range: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 64,
    timeout: float | None = 60.0,
) -> HubGenerator:
    """Loads a pretrained ProGAN (or any latent → image module) from TF-Hub.

    The handle goes through ``tensorflow_hub``: a URL is downloaded once into the cache
    (``cache_dir`` or ``$TFHUB_CACHE_DIR``) and read from there afterwards, offline included; a
    local directory is loaded directly. TF1-hub-format modules (``progan-128``: signature
    ``default``) and TF2 SavedModels (a ``serving_default`` signature, or a ``tf.function``
    ``__call__`` with an input signature) both work. The latent size and resolution are read from
    the module.

    Args:
        handle: A TF-Hub URL or a local SavedModel directory. Defaults to Google's ``progan-128``.
        cache_dir: The TF-Hub cache root for this load (``TFHUB_CACHE_DIR`` is set for the call
            and restored afterwards). ``None`` keeps the environment's setting.
        signature: The signature to call; by default ``default``, then ``serving_default``, then
            the module's ``__call__``, then its only signature.
        output_key: The signature output holding the images; by default ``default`` or the only
            output.
        output_range: The range of the module's images: ``(0, 1)`` for ProGAN. The generator maps
            it to [-1, 1].
        batch_size: How many latents the module sees at once.
        timeout: Seconds a download may stall before it is given up (``None``: wait forever).

    Returns:
        A `HubGenerator`.

    Raises:
        HubModuleUnavailableError: If the handle can be neither downloaded nor found in the
            cache (the message says how to pre-fill the cache).
        ValueError: If an argument is invalid, or the module has no signature mapping a
            ``(N, latent_dim)`` float batch to ``(N, H, W, C)`` images.

    Example:
        >>> generator = load_progan()  # downloads once, then loads from the TF-Hub cache
        >>> images = generator.generate(4, seed=0)
        >>> images.shape, bool(images.min() >= -1 and images.max() <= 1)
        ((4, 128, 128, 3), True)
    """
    if not isinstance(handle, (str, os.PathLike)) or not os.fspath(handle):
        raise ValueError(f"Invalid handle={handle!r}: expected a TF-Hub URL or a directory path.")
    handle = os.fspath(handle)
    _check_output_range(output_range)
    _check_batch_size(batch_size)
    if timeout is not None and not timeout > 0:
        raise ValueError(f"Invalid timeout={timeout!r}: expected a positive number of seconds.")

    import tensorflow as tf
    import tensorflow_hub as hub

    with _cache_environment(cache_dir), _socket_timeout(timeout):
        try:
            module_path = hub.resolve(handle)
        except Exception as error:  # any resolver failure: unavailable
            raise HubModuleUnavailableError(_unavailable_message(handle, error)) from error
        try:
            module = hub.load(module_path)
        except (ValueError, OSError, tf.errors.OpError) as error:
            raise ValueError(
                f"handle={handle!r} resolved to {module_path!r}, which is not a loadable "
                f"SavedModel or TF-Hub module: {error}"
            ) from error

    function, input_key, found_key, name = _find_generator_function(
        module, handle, signature, output_key
    )
    latent_dim, resolution, channels = _probe_shapes(function, input_key, found_key, handle, name)
    return HubGenerator(
        function,
        input_key=input_key,
        output_key=found_key,
        latent_dim=latent_dim,
        resolution=resolution,
        channels=channels,
        output_range=output_range,
        batch_size=batch_size,
        handle=handle,
        module=module,
    )


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
        latents, history = [], np.zeros(steps, np.float32)
        for begin in range(0, len(targets), batch_size):
            chunk = targets[begin : begin + batch_size]
            chunk_latents, chunk_history = minimize_latents(
                self._loss_and_gradient(chunk, norm_weight, target_norm),
                start[begin : begin + batch_size],
                steps,
                optimizer,
            )
            latents.append(chunk_latents)
            history += chunk_history
        latents = np.concatenate(latents, axis=0)
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


@contextlib.contextmanager
def _cache_environment(cache_dir: str | os.PathLike | None) -> Iterator[None]:
    """Sets ``TFHUB_CACHE_DIR`` for the block (tensorflow_hub reads it per call) and restores it."""
    if cache_dir is None:
        yield
        return
    previous = os.environ.get(_CACHE_ENV)
    os.environ[_CACHE_ENV] = os.path.abspath(os.fspath(cache_dir))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_CACHE_ENV, None)
        else:
            os.environ[_CACHE_ENV] = previous


@contextlib.contextmanager
def _socket_timeout(timeout: float | None) -> Iterator[None]:
    """tensorflow_hub's urlopen has no timeout of its own; the socket default bounds it."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _cache_root() -> str:
    """The cache root tensorflow_hub uses right now (env, flag, or the temp-dir default)."""
    try:
        from tensorflow_hub import resolver

        root = resolver.tfhub_cache_dir(use_temp=True)
    except Exception:  # private helper: fall back to its documented rule
        root = None
    return os.path.abspath(
        root or os.environ.get(_CACHE_ENV) or os.path.join(tempfile.gettempdir(), "tfhub_modules")
    )


def _unavailable_message(handle: str, error: BaseException) -> str:
    reason = f"{type(error).__name__}: {error}"
    if not handle.startswith(_REMOTE_PREFIXES):
        return (
            f"Could not load the TF-Hub module handle={handle!r}: it is not a URL and no such "
            f"directory exists ({reason}). Pass a TF-Hub URL or the directory of an extracted "
            "module (the folder holding saved_model.pb)."
        )
    root = _cache_root()
    folder = module_cache_dir(handle, root)
    archive = f"{handle}?tf-hub-format=compressed" if handle.startswith("http") else handle
    return (
        f"Could not load the TF-Hub module handle={handle!r}: downloading it failed ({reason}) "
        "-- no network is available or the URL is wrong -- and no cached copy was found in "
        f"{folder} (cache root {root}, set by cache_dir= or ${_CACHE_ENV}).\n"
        "To use it offline, pre-fill the cache:\n"
        f"  1. On a machine with network access, download the module archive: {archive}\n"
        "     (a .tar.gz; or there run load_progan(handle, cache_dir=DIR) and copy "
        "DIR/<folder> over).\n"
        f"  2. Here: mkdir -p {folder} && tar -xzf ARCHIVE.tar.gz -C {folder}\n"
        "     (the folder name is the SHA-1 of the handle string, exactly as tensorflow_hub's "
        "resolver names it; keras_facegen.hub.module_cache_dir(handle, cache_dir) prints it).\n"
        f"  3. Load with cache_dir={root!r} (or export {_CACHE_ENV}={root}).\n"
        "Or pass the extracted directory itself as handle."
    )


def _find_generator_function(
    module: Any, handle: str, signature: str | None, output_key: str | None
) -> tuple[Any, str | None, str | None, str]:
    """Picks the function mapping latents to images: ``(function, input_key, output_key, name)``."""
    signatures = dict(getattr(module, "signatures", {}) or {})
    if signature is not None:
        if signature not in signatures:
            raise ValueError(
                f"Invalid signature={signature!r}: the module at handle={handle!r} has "
                f"signatures {sorted(signatures)}."
            )
        return _from_signature(signatures[signature], handle, signature, output_key)
    for name in _SIGNATURE_PREFERENCE:
        if name in signatures:
            return _from_signature(signatures[name], handle, name, output_key)
    call = module.__call__ if callable(module) else None
    concrete = list(getattr(call, "concrete_functions", None) or [])
    usable = [f for f in concrete if _single_latent_positional(f)]
    if usable:
        return usable[0], None, None, "__call__"
    if len(signatures) == 1:
        ((name, function),) = signatures.items()
        return _from_signature(function, handle, name, output_key)
    raise ValueError(
        f"The module at handle={handle!r} has no usable generator signature: expected a "
        f"'default' or 'serving_default' signature, or a tf.function __call__ taking one "
        f"(N, latent_dim) float tensor; found signatures {sorted(signatures)} and "
        f"{len(concrete)} traced __call__ function(s). Name one with signature=."
    )


def _single_latent_positional(function: Any) -> bool:
    args, kwargs = function.structured_input_signature
    return (
        len(args) == 1
        and not kwargs
        and getattr(args[0], "shape", None) is not None
        and args[0].shape.rank == 2
        and args[0].dtype.is_floating
    )


def _from_signature(
    function: Any, handle: str, name: str, output_key: str | None
) -> tuple[Any, str | None, str | None, str]:
    args, kwargs = function.structured_input_signature
    if args or len(kwargs) != 1:
        raise ValueError(
            f"Signature {name!r} of the module at handle={handle!r} takes inputs "
            f"{sorted(kwargs)}: expected exactly one, a (N, latent_dim) float tensor."
        )
    (input_key,) = kwargs
    outputs = function.structured_outputs
    if not isinstance(outputs, dict):
        return function, input_key, None, name
    if output_key is not None:
        if output_key not in outputs:
            raise ValueError(
                f"Invalid output_key={output_key!r}: signature {name!r} of the module at "
                f"handle={handle!r} has outputs {sorted(outputs)}."
            )
        return function, input_key, output_key, name
    if "default" in outputs:
        return function, input_key, "default", name
    if len(outputs) == 1:
        return function, input_key, next(iter(outputs)), name
    raise ValueError(
        f"Signature {name!r} of the module at handle={handle!r} has outputs {sorted(outputs)}: "
        "name the image output with output_key=."
    )


def _probe_shapes(
    function: Any, input_key: str | None, output_key: str | None, handle: str, name: str
) -> tuple[int, int, int]:
    """``(latent_dim, resolution, channels)``: the input from the signature, the output by a run."""
    import tensorflow as tf

    args, kwargs = function.structured_input_signature
    spec = args[0] if input_key is None else kwargs[input_key]
    if spec.shape.rank != 2 or spec.shape[-1] is None or not spec.dtype.is_floating:
        raise ValueError(
            f"Signature {name!r} of the module at handle={handle!r} takes {spec}: expected a "
            "(N, latent_dim) float tensor with a known latent_dim."
        )
    latent_dim = int(spec.shape[-1])
    probe = tf.zeros((1, latent_dim), spec.dtype)
    outputs = function(probe) if input_key is None else function(**{input_key: probe})
    images = outputs[output_key] if output_key is not None else outputs
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[1] != shape[2]:
        raise ValueError(
            f"Signature {name!r} of the module at handle={handle!r} returns shape {shape} for "
            "one latent: expected square images (1, H, W, C)."
        )
    return latent_dim, int(shape[1]), int(shape[3])
