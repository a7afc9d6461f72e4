"""Loading a TF-Hub module: the cache, offline messages, finding the latents → images function.

:func:`load_progan` resolves a handle through ``tensorflow_hub`` (imported inside it, never at
import time) and wraps the module's generator function in a
:class:`~keras_facegen.hub.HubGenerator`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

from keras_facegen.hub.generator import HubGenerator, _check_batch_size, _check_output_range

__all__ = ["DEFAULT_PROGAN_HANDLE", "HubModuleUnavailableError", "load_progan", "module_cache_dir"]

#: The TF-Hub handle :func:`load_progan` loads by default (ProGAN, 128x128 images).
DEFAULT_PROGAN_HANDLE = "https://tfhub.dev/google/progan-128/1"

# Searched in this order when no signature is named: the TF1 hub format's, then Keras/TF2's.
_SIGNATURE_PREFERENCE = ("default", "serving_default")
_CACHE_ENV = "TFHUB_CACHE_DIR"
_REMOTE_PREFIXES = ("http://", "https://", "gs://")


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


# --- loading helpers -----------------------------------------------------------------------------


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
