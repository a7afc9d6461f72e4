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

Every request body is a pydantic model (:mod:`keras_facegen.explorer.schemas`). Bad input gets
a 4xx answer ``{"detail": "<what was wrong>"}``: 400 malformed JSON, 413 body too large, 415
not JSON, 422 invalid values, 409 ranking without a discriminator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from keras_facegen.explorer.engine import FaceEngine, NoDiscriminatorError
from keras_facegen.explorer.schemas import (
    GenerateRequest,
    MorphRequest,
    OffsetRequest,
    RandomRequest,
    RankRequest,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Largest request body accepted (a 256-code batch of 512-d latents fits comfortably).
DEFAULT_MAX_BODY_BYTES = 256 * 1024
_NO_STORE = {"Cache-Control": "no-store"}


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
        if scope["path"].startswith("/api/"):
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            media_type = content_type.split(";")[0].strip().lower()
            if media_type != "application/json":
                await self._reply(
                    send,
                    415,
                    "Content-Type must be application/json; received "
                    f"{content_type or 'no Content-Type'!r}.",
                )
                return
        declared = headers.get(b"content-length")
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
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: str) -> str:
        return f"Request body too large: {size} bytes; at most {self.max_body_bytes} accepted."

    @staticmethod
    async def _reply(send: Any, status: int, detail: str) -> None:
        reply = _json_error(status, detail)
        await send({"type": "http.response.start", "status": status, "headers": reply["headers"]})
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


def create_app(
    generator: Any,
    discriminator: Any = None,
    *,
    name: str | None = None,
    latent_distribution: str | None = None,
    directions: Mapping[str, Any] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
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
    app.add_middleware(BodyGuard, max_body_bytes=max_body_bytes)

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
        return JSONResponse(
            {"detail": f"Internal error: {type(error).__name__}: {error}"}, status_code=500
        )

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

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        """The model's latent size and distribution, resolution, name and slider layout."""
        return engine.info()

    @app.post("/api/generate", response_class=Response)
    async def generate(request: GenerateRequest) -> Response:
        """One face (``code`` or ``z``) or a grid (``codes`` or a list of ``z``) as PNG."""

        def latents() -> np.ndarray:
            if request.z is not None:
                return engine.check_z(request.z)
            if request.code is not None:
                seeds = None if request.seed is None else [request.seed]
                return engine.code_latents([request.code], seeds)
            engine.check_count(len(request.codes), "codes")
            return engine.code_latents(request.codes, request.seeds)

        # Async: the request waits for the batching worker without holding a pool thread.
        z = checked(latents)
        images = await engine.generator.generate_async(z)
        if len(images) > 1:  # grids take longer to encode: off the event loop
            png = await run_in_threadpool(checked, engine.encode_png, images, request.rows)
        else:
            png = engine.encode_png(images)
        return Response(png, media_type="image/png", headers=_NO_STORE)

    @app.post("/api/random")
    def random(request: RandomRequest) -> dict[str, Any]:
        """A random face's code and seed, moved by ``scale * offset`` when one is sent."""
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
    def rank(request: RankRequest) -> dict[str, Any]:
        """Random faces ranked by the discriminator: the best and the worst ``top_k``."""
        return checked(engine.rank, request.num_samples, request.top_k, request.seed)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
