"""Smoke test of examples/tfhub_progan.py on a tiny TF1-hub-format module built here."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import tensorflow as tf
from helpers import REPO_ROOT
from PIL import Image

# Backend-independent (TensorFlow pass only): a TF1-hub module is run through TensorFlow whatever
# the Keras backend.
pytestmark = pytest.mark.backend_independent

LATENT_DIM = 8
SIZE = 8


def _load_example():
    path = REPO_ROOT / "examples" / "tfhub_progan.py"
    spec = importlib.util.spec_from_file_location("tfhub_progan_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_tiny_progan(path):
    """latent (8,) -> sigmoid(z W) as 8x8x3 in [0, 1], in the TF1 hub format like progan-128."""
    weights = np.random.default_rng(0).standard_normal((LATENT_DIM, SIZE * SIZE * 3))
    graph = tf.Graph()
    with graph.as_default():
        z = tf.compat.v1.placeholder(tf.float32, [None, LATENT_DIM])
        w = tf.compat.v1.get_variable("w", initializer=tf.constant(weights, tf.float32))
        images = tf.reshape(tf.sigmoid(tf.matmul(z, w)), [-1, SIZE, SIZE, 3])
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(path))
            signature = tf.compat.v1.saved_model.predict_signature_def(
                inputs={"default": z}, outputs={"default": images}
            )
            builder.add_meta_graph_and_variables(
                session, tags=[], signature_def_map={"default": signature}
            )
            builder.save()
    (path / "tfhub_module.pb").write_bytes(b"")
    return path


def test_tfhub_progan_example_runs(tmp_path, capsys):
    example = _load_example()
    module = _build_tiny_progan(tmp_path / "module")
    out = tmp_path / "out"
    args = example.parse_args(
        [
            "--handle",
            str(module),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--steps",
            "4",
            "--out",
            str(out),
            "--seed",
            "3",
            "--project",
            "--project-steps",
            "20",
        ]
    )
    assert example.parse_args([]).steps == 25
    written = example.main(args)

    assert written["gif"] == out / "hypersphere.gif"
    with Image.open(written["gif"]) as gif:
        assert gif.n_frames == 4
        assert gif.size == (SIZE, SIZE)
    with Image.open(written["projection"]) as sheet:
        assert sheet.size == (2 * SIZE + 3 * 2, SIZE + 2 * 2)  # two cells, 2-pixel padding
    printed = capsys.readouterr().out
    assert str(written["gif"]) in printed and str(written["projection"]) in printed
