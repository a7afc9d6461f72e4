"""The latent-space explorer: a web page with one slider per latent coordinate (or direction).

``create_app(generator)`` returns an ASGI (FastAPI) app: the page (static HTML/JS/CSS shipped in
the package) and its JSON/PNG API. ``keras-facegen serve`` runs it with uvicorn on 127.0.0.1.
Needs the ``explorer`` extra (``pip install "keras-facegen[explorer]"``: FastAPI, pydantic,
uvicorn).

Example:
    >>> from keras_facegen import explorer, models
    >>> app = explorer.create_app(models.pretrained("face64_synthetic"))
    >>> sorted(app.state.engine.info())[:3]
    ['channels', 'code_length', 'default_morph_method']
"""

from keras_facegen.explorer.app import allow_hosts, create_app
from keras_facegen.explorer.engine import FaceEngine, principal_directions
from keras_facegen.explorer.server import load_explorer_app, serve

__all__ = [
    "FaceEngine",
    "allow_hosts",
    "create_app",
    "load_explorer_app",
    "principal_directions",
    "serve",
]
