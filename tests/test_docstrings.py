"""Every ``>>>`` example in a public docstring runs, and prints what it says it prints.

The examples are collected with :class:`doctest.DocTestFinder` from every public module of
``keras_facegen`` (no ``_private`` module, no per-backend package) and run with
:class:`doctest.DocTestRunner` in the module's namespace plus a few small, real objects the
examples may use without building them (doctest's ``globs``):

- ``np``, ``keras`` and the ``keras_facegen`` subpackages (``layers``, ``losses``, ``models``, ...);
- ``generator`` / ``discriminator``: a narrow ``face64_small`` DCGAN pair (16-d uniform latent,
  64x64x3 images, two logits), built on first use;
- ``gan``: a compiled :class:`keras_facegen.models.GAN` over them, with generator EMA;
- ``images``: 64 synthetic faces at 64x64 in [-1, 1]; ``latents``: 8 latents for ``generator``;
- in ``keras_facegen.hub`` examples, a tiny stand-in for ProGAN-128 in a pre-filled TF-Hub
  cache, so ``load_progan()`` loads offline, and ``generator`` is that module;
- ``frames``: 4 images for GIF writers; a folder ``faces/`` of 8 face PNGs (64x64) when an
  example names ``"faces/"``, and its image cache ``faces-cache/`` (up to 64x64) when an example
  names ``"faces-cache/"``.

Each example runs in a fresh temporary working directory, so relative paths in examples
(``"runs/ckpt"``) write there. Only the objects an example's source names are built.

``# doctest: +SKIP`` is allowed only in the docstrings listed in ``SKIP_ALLOWED`` (examples that
need the network); everything else must run. The layer modules keep at least three examples each.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import os
import pkgutil
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

import keras_facegen

# Docstring examples are checked for drift once per CI run, in the TensorFlow pass; every
# backend's behaviour is covered by the unit tests.
pytestmark = pytest.mark.docs

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Docstrings (DocTest names) whose examples may skip: they download a model or serve forever.
SKIP_ALLOWED: frozenset[str] = frozenset(
    {
        # ImageNet weights for InceptionV3 (a download; the tests use a stand-in extractor).
        "keras_facegen.metrics.frechet.frechet_inception_distance",
        "keras_facegen.metrics.frechet.inception_feature_extractor",
    }
)
# Every public module whose examples must exist (a floor, so examples are not deleted quietly).
MIN_EXAMPLES = {
    "keras_facegen.layers.pixel_norm": 3,
    "keras_facegen.layers.minibatch_std_dev": 3,
    "keras_facegen.layers.equalized_dense": 3,
    "keras_facegen.layers.equalized_conv2d": 3,
    "keras_facegen.layers.fade_in": 3,
}


def public_modules() -> list[str]:
    """Names of keras_facegen's public modules (no ``_private`` part, no backend internals)."""
    names = ["keras_facegen"]
    for info in pkgutil.walk_packages(keras_facegen.__path__, "keras_facegen."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts):
            continue
        # keras_facegen.backend.<name> import their framework; their __init__ is covered.
        if len(parts) > 2 and parts[1] == "backend":
            continue
        names.append(info.name)
    return sorted(names)


def _collect() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for name in public_modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            # Names re-exported by a package are found again there; keep the defining module's.
            if test.examples and test.name not in {t.name for t in tests}:
                tests.append(test)
    return sorted(tests, key=lambda t: t.name)


DOCTESTS = _collect()


# === The small real objects an example may name ===


def _generator() -> keras.Model:
    from keras_facegen import models

    return models.dcgan_generator("face64_small", filters=[16, 8, 8, 4], name="generator")


def _discriminator() -> keras.Model:
    from keras_facegen import models

    return models.dcgan_discriminator("face64_small", filters=[4, 8, 8, 16], name="discriminator")


def _gan(namespace: dict[str, Any]) -> Any:
    from keras_facegen import losses, models

    gan = models.GAN(
        namespace["generator"],
        namespace["discriminator"],
        loss="two_class_softmax",
        matching=[losses.FeatureMatching(0.01), losses.MeanImageMatching(0.01)],
        latent_distribution="uniform",
        ema_decay=0.99,
    )
    gan.compile()
    return gan


def _images() -> np.ndarray:
    from keras_facegen import data

    return data.synthetic_faces(64, 64, seed=0)[0]


def _write_faces_folder(folder) -> None:
    from keras_facegen import data, sampling

    for i, face in enumerate(data.synthetic_faces(8, 64, seed=1)[0]):
        sampling.save_image(face, folder / f"face{i}.png")


def _progan_stand_in(cache: Path) -> None:
    """A tiny ProGAN-128 look-alike in the TF-Hub cache, where ``load_progan()`` finds it offline.

    A TF2 SavedModel: 512-d latents -> sigmoid(z W) as 8x8x3, upsampled x16 to 128x128x3 in
    [0, 1], like the real module's outputs.
    """
    import tensorflow as tf

    from keras_facegen.hub import DEFAULT_PROGAN_HANDLE, module_cache_dir

    class ProGANStandIn(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            rng = np.random.default_rng(0)
            self.w = tf.Variable(rng.standard_normal((512, 192)).astype("float32") / 23.0)

        @tf.function(input_signature=[tf.TensorSpec([None, 512], tf.float32)])
        def __call__(self, z):
            x = tf.reshape(tf.sigmoid(tf.matmul(z, self.w)), [-1, 8, 8, 3])
            return tf.repeat(tf.repeat(x, 16, axis=1), 16, axis=2)

    tf.saved_model.save(ProGANStandIn(), module_cache_dir(DEFAULT_PROGAN_HANDLE, str(cache)))


def _namespace(test: doctest.DocTest, tmp_path) -> dict[str, Any]:
    """The module's globals plus the objects this docstring's examples name."""
    source = "\n".join(example.source for example in test.examples)
    named = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", source))
    namespace = dict(test.globs)
    namespace.setdefault("np", np)
    namespace.setdefault("keras", keras)
    for sub in ("callbacks", "data", "latent", "layers", "losses", "models", "sampling"):
        if sub in named:
            namespace.setdefault(sub, importlib.import_module(f"keras_facegen.{sub}"))
    builders: dict[str, Callable[[], Any]] = {
        "generator": _generator,
        "discriminator": _discriminator,
        "gan": lambda: _gan(namespace),
        "images": _images,
        "latents": lambda: np.random.default_rng(0).uniform(-1, 1, (8, 16)).astype("float32"),
        "frames": lambda: _images()[:4],
    }
    wanted = named & set(builders)
    if "gan" in wanted:
        wanted |= {"generator", "discriminator"}
    for name, build in builders.items():  # in order: the GAN is built over the two networks
        if name in wanted:
            namespace[name] = build()
    if test.name.startswith("keras_facegen.hub."):
        # TF-Hub examples load the stand-in module from a pre-filled cache: no network.
        _progan_stand_in(tmp_path / "tfhub")
        os.environ["TFHUB_CACHE_DIR"] = str(tmp_path / "tfhub")
        # keras_facegen.hub.generator's examples load with the package's load_progan.
        namespace.setdefault(
            "load_progan", importlib.import_module("keras_facegen.hub").load_progan
        )
        if "generator" in named:
            namespace["generator"] = namespace["load_progan"]()
    if '"faces/"' in source or '"faces-cache/"' in source:
        _write_faces_folder(tmp_path / "faces")
    if '"faces-cache/"' in source:
        from keras_facegen.data import prepare_cache

        prepare_cache(tmp_path / "faces", tmp_path / "faces-cache", 64)
    return namespace


@contextlib.contextmanager
def _eager(name: str) -> Iterator[None]:
    """Runs train steps op by op: tracing or XLA-compiling one costs 15-80 s, a tiny step 0.1 s.

    The examples stay as a user writes them (``gan.compile()``, ``gan.fit(...)``); only the
    test switches compilation off, the way each framework allows it globally.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.run_functions_eagerly(True)
        try:
            yield
        finally:
            tf.config.run_functions_eagerly(False)
    else:
        # JAX: jitted as a user runs it; jax.disable_jit() made training examples ~10x slower
        # than compiling them (CI shares compilations through JAX's persistent cache).
        yield


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_example(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    skipped = [e for e in test.examples if e.options.get(doctest.SKIP)]
    assert not skipped or test.name in SKIP_ALLOWED, (
        f"{test.name} skips {len(skipped)} example(s); make them run with the namespace of "
        "tests/test_docstrings.py (generator, discriminator, gan, images, ...) instead."
    )
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    output: list[str] = []
    with _eager(test.name):
        test.globs = _namespace(test, tmp_path)
        result = runner.run(test, out=output.append, clear_globs=True)
    assert result.failed == 0, "".join(output)


@pytest.mark.parametrize("module", sorted(MIN_EXAMPLES))
def test_modules_keep_their_examples(module):
    count = sum(len(t.examples) for t in DOCTESTS if t.name.startswith(module + "."))
    assert count >= MIN_EXAMPLES[module]


def test_collects_examples_from_every_public_package():
    packages = {t.name.split(".")[1] for t in DOCTESTS if t.name.count(".") >= 1}
    for package in ("layers", "losses", "models", "latent", "sampling", "data", "callbacks"):
        assert package in packages
