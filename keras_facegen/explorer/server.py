"""Running the explorer with uvicorn (what ``keras-facegen serve`` calls)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from keras_facegen.explorer.app import allow_hosts, create_app

__all__ = ["DEFAULT_HOST", "DEFAULT_MODEL", "DEFAULT_PORT", "load_explorer_app", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: The model served when none is named: shipped with the package, no training or download.
DEFAULT_MODEL = "face64_synthetic"


def load_explorer_app(
    model: str | os.PathLike | None = None,
    *,
    hub: str | None = None,
    discriminator: str | os.PathLike | None = None,
    **options: Any,
) -> Any:
    """Loads a model once and builds the explorer app around it.

    Args:
        model: A generator ``.keras`` file or a pretrained name (default
            :data:`DEFAULT_MODEL`); ignored when ``hub`` is given.
        hub: A TF-Hub ProGAN handle or folder (:func:`keras_facegen.hub.load_progan`).
        discriminator: A discriminator ``.keras`` file for the ranked gallery (default: the
            one beside the generator, if any).
        **options: More :func:`~keras_facegen.explorer.create_app` options.

    Returns:
        The FastAPI app.

    Raises:
        FileNotFoundError: If the model or discriminator file is missing.
        ValueError: If both ``model`` and ``hub`` are given, or on invalid options.

    Example:
        >>> app = load_explorer_app("face64_synthetic")
        >>> app.state.engine.info()["latent_distribution"]
        'uniform'
    """
    if hub is not None and model is not None:
        raise ValueError(f"Pass model= or hub=, not both; received model={model!r}, hub={hub!r}.")
    if hub is not None:
        import keras

        import keras_facegen.layers  # noqa: F401  (registers the custom layers)
        from keras_facegen.hub import load_progan

        generator = load_progan(hub)
        critic = None
        if discriminator is not None:
            if not os.path.isfile(discriminator):
                raise FileNotFoundError(f"No discriminator file at {str(discriminator)!r}.")
            critic = keras.saving.load_model(discriminator, compile=False)
        return create_app(generator, critic, name=f"ProGAN ({hub})", **options)
    from keras_facegen.models.pretrained import load_trained

    loaded = load_trained(model or DEFAULT_MODEL, discriminator)
    return create_app(loaded, loaded.discriminator, name=loaded.name, **options)


def serve(
    app: Any, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "info"
) -> None:
    """Serves an explorer app with uvicorn until interrupted.

    The address bound is added to the ``Host`` header names an app from
    :func:`~keras_facegen.explorer.create_app` accepts (see its ``allowed_hosts``); a wildcard
    bind (``0.0.0.0``, ``::``) adds nothing: pass the names clients will use to
    ``create_app(..., allowed_hosts=...)``.

    Args:
        app: An ASGI app, e.g. from :func:`~keras_facegen.explorer.create_app`.
        host: The interface to bind; ``127.0.0.1`` (this machine only) unless told otherwise.
        port: The TCP port.
        log_level: uvicorn's log level.

    Example:
        ``serve(create_app(models.pretrained()), port=8000)`` serves
        http://127.0.0.1:8000 until interrupted (Ctrl-C).
    """
    import uvicorn

    if host not in ("", "0.0.0.0", "::") and hasattr(app, "user_middleware"):
        with contextlib.suppress(ValueError):  # an app without the check (not create_app's)
            allow_hosts(app, [host])
    uvicorn.run(app, host=host, port=port, log_level=log_level)
