"""The explorer's HTTP API and page, as a FastAPI (ASGI) app.

=================  =======================================================================
``GET /``          the page (static HTML/JS/CSS from ``keras_facegen/explorer/static``)
``GET /api/info``  latent size and distribution, resolution, model name, slider mode
``POST /api/generate``  ``{"code": ...}``, ``{"codes": [...]}`` or ``{"z": ...}`` -> PNG
``POST /api/random``    ``{"seed"?, "offset"?, "scale"?}`` -> ``{"code", "seed"}``
``POST /api/offset``    ``{"good": [codes], "bad": [codes]}`` -> ``{"offset", ...}``
``POST /api/morph``     ``{"from": code, "to": code, "steps"?, "method"?}`` -> GIF
``POST /api/rank``      ``{"num_samples"?, "top_k"?, "seed"?}`` -> best and worst faces
=================  =======================================================================

Every request body is a pydantic model (:mod:`keras_facegen.explorer.schemas`); where every
field is optional (``/api/random``, ``/api/rank``) the body may be left out. Bad input gets
a 4xx answer ``{"detail": "<what was wrong>"}``: 400 malformed JSON or a ``Host`` header the
server was not started for (DNS rebinding), 413 body too large, 415 not JSON, 422 invalid
values, 409 ranking without a discriminator. A fault of the server (the model raised, or
returned NaN) is a 500 with a generic message; its details go to the server's log
(logger ``keras_facegen.explorer``), never to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from keras_facegen.explorer.engine import FaceEngine, NoDiscriminatorError
from keras_facegen.explorer.schemas import (
    GenerateRequest,
    MorphRequest,
    OffsetRequest,
    RandomRequest,
    RankRequest,
)

__all__ = [
    "BodyGuard",
    "FaultGuard",
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_MAX_BODY_BYTES",
    "INTERNAL_ERROR",
    "STATIC_DIR",
    "allow_hosts",
    "create_app",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Largest request body accepted (a 256-code batch of 512-d latents fits comfortably).
DEFAULT_MAX_BODY_BYTES = 256 * 1024
#: ``Host`` header names accepted by default: this machine's loopback names.
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
#: The body's ``detail`` of every 500 answer (the details go to the server's log).
INTERNAL_ERROR = "Internal server error: the model failed on this request; see the server's log."
_NO_STORE = {"Cache-Control": "no-store"}
_LOG = logging.getLogger("keras_facegen.explorer")


def _json_error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> dict:
    body = json.dumps({"detail": detail}).encode()
    return {
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.encode(), v.encode()) for k, v in (headers or {}).items()),
        ],
        "body": body,
    }


class BodyGuard:
    """ASGI middleware: API bodies must be JSON and at most ``max_body_bytes`` long.

    The body is read (up to the limit) before the app sees it, so an oversized or chunked body
    is refused with 413 without being buffered whole, and a body with another content type is
    refused with 415 before pydantic tries to read it.

    Args:
        app: The wrapped ASGI app.
        max_body_bytes: The largest body accepted.

    Example:
        >>> BodyGuard(None, max_body_bytes=1024).max_body_bytes
        1024
    """

    def __init__(self, app: Any, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Checks and buffers the body of API requests, then calls the app."""
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        api = scope["path"].startswith("/api/")
        if api and declared not in (b"0", None) and not await self._json(headers, send):
            return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._reply(send, 413, self._too_large(declared.decode("latin-1")))
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._reply(send, 413, self._too_large(f"more than {self.max_body_bytes}"))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # A chunked body's type is checked once it is read (an empty body needs none).
        if api and body and declared is None and not await self._json(headers, send):
            return
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _json(self, headers: dict, send: Any) -> bool:
        """Whether the body is declared JSON; replies 415 if not."""
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if content_type.split(";")[0].strip().lower() == "application/json":
            return True
        received = content_type or "no Content-Type"
        await self._reply(
            send, 415, f"Content-Type must be application/json; received {received!r}."
        )
        return False

    def _too_large(self, size: str) -> str:
        return f"Request body too large: {size} bytes; at most {self.max_body_bytes} accepted."

    @staticmethod
    async def _reply(send: Any, status: int, detail: str) -> None:
        reply = _json_error(status, detail)
        await send({"type": "http.response.start", "status": status, "headers": reply["headers"]})
        await send({"type": "http.response.body", "body": reply["body"]})


class FaultGuard:
    """ASGI middleware: a request the server fails on gets 500 and a generic message.

    The exception (which may name files or hold a model's internals) goes to the log of
    ``keras_facegen.explorer`` with its traceback; the client reads only
    :data:`INTERNAL_ERROR`. The exception is not raised further, so the server keeps the
    connection and serves the next request as usual.

    Args:
        app: The wrapped ASGI app.

    Example:
        >>> FaultGuard(None).app is None
        True
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Calls the app; answers 500 if it raises before it started its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            _LOG.error("%s %s failed.", scope.get("method"), scope.get("path"), exc_info=error)
            if started:  # too late for a clean answer: let the server drop the connection
                raise
            reply = _json_error(500, INTERNAL_ERROR)
            await send({"type": "http.response.start", "status": 500, "headers": reply["headers"]})
            await send({"type": "http.response.body", "body": reply["body"]})


def _validation_message(error: RequestValidationError) -> tuple[int, str]:
    problems = []
    status = 422
    for item in error.errors():
        if item.get("type") == "json_invalid":
            status = 400
            context = item.get("ctx", {}).get("error", "")
            problems.append(f"Malformed JSON body{': ' + str(context) if context else ''}")
            continue
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return status, "; ".join(problems) or "Invalid request."


def _host_names(hosts: Sequence[str]) -> list[str]:
    """``Host`` header names (lower case; IPv6 addresses in brackets) for bind addresses."""
    if isinstance(hosts, str):
        raise ValueError(f"allowed_hosts must be a list of host names; received {hosts!r}.")
    names = []
    for host in hosts:
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"allowed_hosts must hold host names; received {host!r}.")
        name = host.strip().lower()
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"
        if name not in names:
            names.append(name)
    return names


def allow_hosts(app: FastAPI, hosts: Sequence[str]) -> list[str]:
    """Adds ``Host`` header names an explorer app accepts (before it serves its first request).

    :func:`keras_facegen.explorer.serve` calls it with the address it binds, so that a server
    started with ``--host 192.168.1.5`` answers requests to that address.

    Args:
        app: An app from :func:`create_app`.
        hosts: Host names or IP addresses (IPv6 with or without brackets).

    Returns:
        Every host name the app now accepts.

    Raises:
        ValueError: If the app has no host check (not made by :func:`create_app`) or a name is
            not a non-empty string.

    Example:
        >>> from keras_facegen import models
        >>> app = create_app(models.pretrained("face64_synthetic"))
        >>> allow_hosts(app, ["faces.lan"])
        ['127.0.0.1', 'localhost', 'faces.lan']
    """
    for entry in app.user_middleware:
        if entry.cls is TrustedHostMiddleware:
            current: list[str] = list(entry.kwargs["allowed_hosts"])  # type: ignore[call-overload]
            added = [name for name in _host_names(hosts) if name not in current]
            entry.kwargs["allowed_hosts"] = current + added
            app.state.allowed_hosts = current + added
            app.middleware_stack = None  # rebuilt with the new names on the next request
            return list(app.state.allowed_hosts)
    raise ValueError(f"{app!r} has no Host-header check; build it with create_app().")


def create_app(
    generator: Any,
    discriminator: Any = None,
    *,
    name: str | None = None,
    latent_distribution: str | None = None,
    directions: Mapping[str, Any] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allowed_hosts: Sequence[str] | None = None,
    **engine_options: Any,
) -> FastAPI:
    """Builds the explorer: the page and its JSON/PNG API around one generator.

    The models are used as given (loaded once, by the caller); every generator call runs on
    one worker thread that batches concurrent requests, so the app is safe to serve from many
    connections at once. Run it with any ASGI server, e.g.
    ``uvicorn.run(app, host="127.0.0.1", port=8000)`` or ``keras-facegen serve``.

    Args:
        generator: A generator model, a GAN, a :class:`~keras_facegen.models.PretrainedGAN`,
            a TF-Hub generator (:func:`keras_facegen.hub.load_progan`) or a callable with a
            ``latent_dim`` attribute.
        discriminator: A discriminator for the ranked gallery (default: the generator's
            ``.discriminator`` if it has one; ``None`` hides the gallery).
        name: The model name shown on the page.
        latent_distribution: ``"uniform"`` or ``"normal"`` (default: the generator's
            attribute, else ``"normal"``).
        directions: Named slider directions (``{name: (latent_dim,)}``), e.g. attribute
            directions; default: one slider per coordinate up to 64 coordinates, principal
            directions above.
        max_body_bytes: The largest request body accepted.
        allowed_hosts: The ``Host`` header names the app answers (others get 400, which
            stops DNS-rebinding pages from reaching a server on this machine); default
            :data:`DEFAULT_ALLOWED_HOSTS`. ``["*"]`` accepts any. :func:`serve` adds the
            address it binds.
        **engine_options: More :class:`~keras_facegen.explorer.engine.FaceEngine` options
            (``max_sliders``, ``num_directions``, ``max_batch``, ...).

    Returns:
        A FastAPI app; ``app.state.engine`` is its :class:`FaceEngine` (its worker thread is a
        daemon that idles between requests; ``app.state.engine.close()`` stops it).

    Raises:
        ValueError: If the generator's latent size cannot be read or an option is invalid.

    Example:
        >>> from keras_facegen import models
        >>> app = create_app(models.pretrained("face64_synthetic"))
        >>> app.state.engine.info()["latent_dim"]
        16
    """
    hosts = _host_names(DEFAULT_ALLOWED_HOSTS if allowed_hosts is None else allowed_hosts)
    engine = FaceEngine(
        generator,
        discriminator,
        name=name,
        latent_distribution=latent_distribution,
        directions=directions,
        **engine_options,
    )

    app = FastAPI(
        title="keras-facegen explorer",
        description="Slide through a face GAN's latent space.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.engine = engine
    app.state.allowed_hosts = hosts
    app.add_middleware(FaultGuard)
    app.add_middleware(BodyGuard, max_body_bytes=max_body_bytes)
    # Added last, so it runs first: a foreign Host header is refused before anything else.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        status, detail = _validation_message(error)
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> JSONResponse:
        # A server fault: the details (paths, exception text) go to the log, not the client.
        _LOG.error("%s %s failed.", request.method, request.url.path, exc_info=error)
        return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)

    def checked(call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except NoDiscriminatorError as error:
            raise HTTPException(409, str(error)) from None
        except ValueError as error:
            raise HTTPException(422, str(error)) from None

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=_NO_STORE)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon")

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        """The model's latent size and distribution, resolution, name and slider layout."""
        return engine.info()

    @app.post("/api/generate", response_class=Response)
    async def generate(request: GenerateRequest) -> Response:
        """One face (``code`` or ``z``) or a grid (``codes`` or a list of ``z``) as PNG."""

        def latents() -> np.ndarray:
            if request.z is not None:
                z = engine.check_z(request.z)
            elif request.code is not None:
                seeds = None if request.seed is None else [request.seed]
                z = engine.code_latents([request.code], seeds)
            else:
                assert request.codes is not None  # the schema sends exactly one input
                engine.check_count(len(request.codes), "codes")
                z = engine.code_latents(request.codes, request.seeds)
            if request.rows is not None and len(z) > 1 and not 1 <= request.rows <= len(z):
                raise ValueError(
                    f"rows must be an integer in [1, {len(z)}]; received rows={request.rows}."
                )
            return z

        # Async: the request waits for the batching worker without holding a pool thread.
        z = checked(latents)
        images = await engine.generator.generate_async(z)
        if len(images) > 1:  # grids take longer to encode: off the event loop
            png = await run_in_threadpool(engine.encode_png, images, request.rows)
        else:
            png = engine.encode_png(images)
        return Response(png, media_type="image/png", headers=_NO_STORE)

    @app.post("/api/random")
    def random(request: Annotated[RandomRequest | None, Body()] = None) -> dict[str, Any]:
        """A random face's code and seed, moved by ``scale * offset`` when one is sent."""
        request = request or RandomRequest()
        return checked(engine.random_state, request.seed, request.offset, request.scale)

    @app.post("/api/offset")
    def offset(request: OffsetRequest) -> dict[str, Any]:
        """The good-minus-bad offset of the marked codes, in slider units."""
        return checked(engine.offset, request.good, request.bad)

    @app.post("/api/morph", response_class=Response)
    def morph(request: MorphRequest) -> Response:
        """An animated GIF from one code to another (``steps`` frames)."""
        method = request.method or engine.info()["default_morph_method"]

        def render() -> bytes:
            z = engine.morph_latents(
                request.start, request.end, request.steps, method, request.seeds
            )
            return engine.morph_gif(z, request.duration)

        return Response(checked(render), media_type="image/gif", headers=_NO_STORE)

    @app.post("/api/rank")
    def rank(request: Annotated[RankRequest | None, Body()] = None) -> dict[str, Any]:
        """Random faces ranked by the discriminator: the best and the worst ``top_k``."""
        request = request or RankRequest()
        return checked(engine.rank, request.num_samples, request.top_k, request.seed)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
