"""The on-disk image cache: prepare_cache, ImageCache, streaming batches, memory, GAN.fit."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import gan_fixtures as F
import numpy as np
import pytest
from helpers import REPO_ROOT, to_numpy
from PIL import Image

from keras_facegen import training
from keras_facegen.data import (
    MANIFEST_FILE,
    ImageCache,
    ShuffledBatches,
    cache_resolutions,
    halve,
    is_cache,
    load_images,
    open_cache,
    prepare_cache,
)
from keras_facegen.models import GAN

# The cache is NumPy files read by NumPy: the tests marked backend_independent run in the
# TensorFlow pass only. The two that train on the cache (GAN.fit, training.train) run on every
# backend.
NUM_GOOD = 23


def write_folder(root, num=NUM_GOOD, seed=0):
    """``num`` readable images of mixed sizes, formats and modes, plus two corrupt files."""
    rng = np.random.default_rng(seed)
    (root / "sub").mkdir(parents=True)
    for i in range(num):
        height, width = int(rng.integers(12, 40)), int(rng.integers(12, 40))
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        pixels[: height // 2] //= 2  # some structure, so the levels differ from noise
        image = Image.fromarray(pixels)
        if i % 5 == 1:
            image.save(root / "sub" / f"{i:03d}.jpg", quality=90)
        elif i % 5 == 2:
            image.convert("L").save(root / f"{i:03d}.png")
        else:
            image.save(root / f"{i:03d}.png")
    jpeg = root / "sub" / "900_truncated.jpg"
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(jpeg, quality=90)
    jpeg.write_bytes(jpeg.read_bytes()[:300])
    (root / "901_text.png").write_text("not an image")
    (root / "notes.txt").write_text("ignored")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("faces"))


@pytest.fixture(scope="module")
def cache(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("cache") / "c"
    with pytest.warns(UserWarning, match="Skipped 2 unreadable"):
        return prepare_cache(folder, out, 16, shard_size=3, num_workers=2)


@pytest.fixture(scope="module")
def decoded(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_images(folder, 16)


def numpy_pyramid(top):
    """Reference levels: 2x2 block means in float64 from the top level, rounded per level."""
    levels = {top.shape[1]: top}
    level = top.astype(np.float64)
    while level.shape[1] > 4:
        n, r = level.shape[0], level.shape[1] // 2
        level = level.reshape(n, r, 2, r, 2, 3).mean(axis=(2, 4))
        levels[r] = np.rint(level).astype(np.uint8)
    return levels


@pytest.mark.backend_independent
def test_halve_by_hand():
    x = np.array([[0, 1, 4, 4], [2, 3, 4, 4]], dtype=np.uint8).reshape(1, 2, 4, 1)
    np.testing.assert_array_equal(halve(x)[0, :, :, 0], [[1.5, 4.0]])
    with pytest.raises(ValueError, match="even H and W"):
        halve(np.zeros((1, 3, 4, 1)))


@pytest.mark.backend_independent
def test_cache_resolutions():
    assert cache_resolutions(4) == [4]
    assert cache_resolutions(256) == [4, 8, 16, 32, 64, 128, 256]
    for bad in (2, 12, 0, True, 16.0):
        with pytest.raises(ValueError, match="power of two"):
            cache_resolutions(bad)


@pytest.mark.backend_independent
def test_manifest_and_shards(cache, folder):
    manifest = json.loads((cache.path / MANIFEST_FILE).read_text())
    assert manifest["version"] == 1 and manifest["num_images"] == NUM_GOOD == len(cache)
    assert manifest["resolutions"] == [4, 8, 16] == cache.resolutions
    assert manifest["skipped"] == 2 == cache.skipped
    assert sorted(manifest["skipped_files"]) == ["901_text.png", "sub/900_truncated.jpg"]
    # Same bytes per shard at every level: 3 images at 16x16, 12 at 8x8, 48 at 4x4.
    top = manifest["levels"]["16"]
    assert top["shard_size"] == 3 and [s["count"] for s in top["shards"]] == [3] * 7 + [2]
    assert [s["count"] for s in manifest["levels"]["8"]["shards"]] == [12, 11]
    assert [s["count"] for s in manifest["levels"]["4"]["shards"]] == [23]
    assert is_cache(cache.path) and not is_cache(folder)
    shard = np.load(cache.shard_files(16)[-1], mmap_mode="r")
    assert shard.shape == (2, 16, 16, 3) and shard.dtype == np.uint8
    assert not list(cache.path.rglob("*.tmp"))


@pytest.mark.backend_independent
def test_levels_equal_the_decoded_folder_and_a_numpy_pyramid(cache, decoded):
    top = np.concatenate([np.load(path) for path in cache.shard_files(16)])
    np.testing.assert_array_equal(top, decoded)  # the same decode as load_images
    for resolution, expected in numpy_pyramid(decoded).items():
        level = np.concatenate([np.load(path) for path in cache.shard_files(resolution)])
        np.testing.assert_array_equal(level, expected)
        np.testing.assert_array_equal(np.asarray(cache.at(resolution)), expected)
    # Hand check of one pixel: the 4x4 pixel is the mean of a 4x4 block of the top level.
    block = decoded[5, 4:8, 8:12, 1].astype(np.float64)
    assert cache.read(4, 5)[1, 2, 1] == np.rint(block.mean())


@pytest.mark.backend_independent
def test_read_any_order_slices_and_tuples(cache, decoded):
    indices = np.array([22, 0, 1, 2, 3, 7, 7, -1])
    np.testing.assert_array_equal(cache.read(16, indices), decoded[indices])
    view = cache.at(16)
    assert view.shape == (23, 16, 16, 3) and view.dtype == np.uint8 and len(view) == 23
    np.testing.assert_array_equal(view[2:9:3], decoded[2:9:3])
    np.testing.assert_array_equal(view[4], decoded[4])
    np.testing.assert_array_equal(view[[1, 5], :, 3], decoded[[1, 5], :, 3])
    assert cache.read(16, []).shape == (0, 16, 16, 3)
    np.testing.assert_array_equal(cache[[3, 0]], decoded[[3, 0]])  # the cache: its top level
    assert cache.shape == (23, 16, 16, 3) and cache.dtype == np.uint8
    with pytest.raises(IndexError, match="out of range"):
        cache.read(16, [23])
    with pytest.raises(ValueError, match=r"resolution=32 is not in the cache.*\[4, 8, 16\]"):
        cache.at(32)


@pytest.mark.backend_independent
@pytest.mark.parametrize("resolution", [16, 8, 4])
def test_batches_equal_the_in_memory_stream(cache, decoded, resolution):
    streamed = cache.batches(resolution, batch_size=4, seed=3)
    in_memory = ShuffledBatches(decoded, batch_size=4, seed=3, resolution=resolution)
    assert streamed.prefetch == 2 and in_memory.prefetch == 0
    for i in range(12):  # two passes of 5 batches, and more
        batch = streamed[i]
        assert batch.dtype == np.float32 and batch.shape == (4, resolution, resolution, 3)
        np.testing.assert_array_equal(batch, in_memory[i])
    rows = in_memory.batch_indices(7)
    expected = numpy_pyramid(decoded)[resolution][rows] / 127.5 - 1.0
    np.testing.assert_allclose(streamed[7], expected, atol=1e-6)
    assert streamed[0].min() >= -1.0 and streamed[0].max() <= 1.0


@pytest.mark.backend_independent
def test_resume_by_step_is_exact_in_any_access_order(cache):
    whole = cache.batches(8, batch_size=5, seed=11)
    expected = [whole[i] for i in range(15)]
    resumed = cache.batches(8, batch_size=5, seed=11, start=6)
    for i in [0, 1, 0, 2, 8, 3, 4, 5, 6, 7]:  # Keras peeks, restarts, reads on
        np.testing.assert_array_equal(resumed[i], expected[6 + i])
    other = cache.batches(8, batch_size=5, seed=12)
    assert any(not np.array_equal(other[i], expected[i]) for i in range(4))
    whole.close()
    np.testing.assert_array_equal(whole[3], expected[3])  # threads restart after close


@pytest.mark.backend_independent
def test_shuffled_batches_takes_the_cache_and_its_levels(cache, decoded):
    a = ShuffledBatches(cache, batch_size=4, seed=0, resolution=8, prefetch=0)
    b = ShuffledBatches(cache.at(16), batch_size=4, seed=0, resolution=8)
    c = ShuffledBatches(cache, batch_size=4, seed=0)
    assert a.images.shape == b.images.shape == (23, 8, 8, 3) and a.halvings == b.halvings == 0
    assert c.resolution == 16
    np.testing.assert_array_equal(a[2], b[2])
    with pytest.raises(ValueError, match="resolution=6 cannot be reached"):
        ShuffledBatches(decoded, batch_size=4, resolution=6)


@pytest.mark.backend_independent
def test_training_images_reads_a_cache_folder(cache, folder, decoded):
    view = training.training_images(str(cache.path), 8)
    assert view.shape == (23, 8, 8, 3)
    np.testing.assert_array_equal(view[:], numpy_pyramid(decoded)[8])
    with pytest.raises(ValueError, match="not in the cache"):
        training.training_images(cache.path, 64)


def _fit_weights(data, steps):
    gan = GAN(F.tiny_generator(8), F.tiny_discriminator(8), seed=0)
    gan.compile(**F.fast_compile_kwargs())
    gan.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return [to_numpy(v) for v in gan.discriminator.weights + gan.generator.weights]


def test_gan_fit_on_the_cache_trains_exactly_as_in_memory(cache, decoded):
    streamed = _fit_weights(cache.batches(8, batch_size=4, seed=2, start=4), steps=3)
    in_memory = _fit_weights(ShuffledBatches(decoded, 4, seed=2, start=4, resolution=8), steps=3)
    for a, b in zip(streamed, in_memory, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.backend_independent
def test_pickled_stream_reopens_its_files(cache):
    import pickle

    stream = cache.batches(4, batch_size=2, seed=0)
    first = stream[0]
    copy = pickle.loads(pickle.dumps(stream))
    np.testing.assert_array_equal(copy[0], first)


@pytest.mark.backend_independent
def test_errors(tmp_path, folder, cache):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images")
    with pytest.raises(ValueError, match="holds no image files"):
        prepare_cache(empty, tmp_path / "o1", 16)
    with pytest.raises(ValueError, match="existing folder"):
        prepare_cache(tmp_path / "missing", tmp_path / "o2", 16)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_text("x")
    with pytest.raises(ValueError, match="none could be read"):
        prepare_cache(broken, tmp_path / "o3", 16)
    assert not is_cache(tmp_path / "o3")
    with pytest.raises(ValueError, match="power of two"):
        prepare_cache(folder, tmp_path / "o4", 48)
    with pytest.raises(ValueError, match="shard_size"):
        prepare_cache(folder, tmp_path / "o5", 16, shard_size=0)
    with pytest.raises(ValueError, match="already holds an image cache"):
        prepare_cache(folder, cache.path, 16)
    with pytest.raises(ValueError, match="is not empty"):
        prepare_cache(broken, tmp_path / "broken", 16)  # out = a folder with other files
    with pytest.raises(ValueError, match=f"not an image cache: no {MANIFEST_FILE}"):
        open_cache(folder)
    with pytest.raises(ValueError, match="not an image cache"):
        ImageCache(tmp_path / "nowhere")


@pytest.mark.backend_independent
def test_overwrite_and_damage(tmp_path, folder):
    out = tmp_path / "c"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepare_cache(folder, out, 8, shard_size=4)
        again = prepare_cache(folder, out, 16, shard_size=100, overwrite=True)
    assert again.resolutions == [4, 8, 16] and len(again.shard_files(16)) == 1
    assert sorted(p.name for p in out.iterdir()) == [
        MANIFEST_FILE,
        "res-0004",
        "res-0008",
        "res-0016",
    ]
    shard = again.shard_files(16)[0]
    shard.write_bytes(shard.read_bytes()[:-10])  # truncated
    with pytest.raises(ValueError, match="does not hold exactly its 23 images"):
        open_cache(out)
    (out / MANIFEST_FILE).unlink()  # an interrupted prepare
    with pytest.raises(ValueError, match="interrupted prepare_cache"):
        open_cache(out)
    manifest = {"version": 99}
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="cache version 99"):
        open_cache(out)


# The memory test runs in a fresh process, which keeps this test's own allocations out of the
# measurement. It measures the cache path first, then load_images. That process runs Keras on
# JAX with TensorFlow hidden (as on a JAX-only install): the data code is NumPy and Pillow on every
# backend, and TensorFlow's import was most of the test's time.
MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    sys.modules["tensorflow"] = None  # `import tensorflow` fails: Keras reads "not installed"

    def rss_kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1])

    from keras_facegen.data import load_images, prepare_cache
    folder, warm, out = sys.argv[1:]

    def cache_pass(folder, out):
        cache = prepare_cache(folder, out, 128, shard_size=16, num_workers=2)
        stream = cache.batches(128, batch_size=4, seed=0, prefetch=2)
        return sum(float(stream[i].sum()) for i in range(cache.num_images // 4))

    def in_memory(folder, out):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_images(folder, 128)

    growth = {}
    for name, run in [("cache", cache_pass), ("memory", in_memory)]:
        # Warm up on a few images (imports, thread stacks, allocator arenas): what is measured
        # is the growth that scales with the folder.
        run(warm, out + "-warm-" + name)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak RSS (VmHWM) to the current RSS
        base = rss_kib("VmRSS")
        result = run(folder, out if name == "cache" else out + "-unused")
        growth[name] = (rss_kib("VmHWM") - base) * 1024
        del result
    print(json.dumps(growth))
    """
)


@pytest.mark.backend_independent
@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux /proc peak-RSS reset"
)
def test_prepare_and_stream_a_folder_bigger_than_the_memory_limit(tmp_path):
    rng = np.random.default_rng(0)
    folder, warm = tmp_path / "big", tmp_path / "warm"
    folder.mkdir()
    warm.mkdir()
    num = 320
    for i in range(num):  # noise does not compress: the files are as big as the pixels
        pixels = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
        if i % 4 == 0:
            Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=95)
        else:
            Image.fromarray(pixels).save(folder / f"{i:04d}.png", compress_level=0)
        if i < 8:
            Image.fromarray(pixels).save(warm / f"{i:04d}{'.jpg' if i % 4 == 0 else '.png'}")
    decoded_bytes = num * 128 * 128 * 3  # 15.7 MB as uint8 (63 MB as float32)
    # A pass measures 0-2 MB here: a few batches in flight. What is measured is the pipeline,
    # not glibc: one malloc arena for all threads (glibc otherwise gives each new thread an arena
    # of its own, and how many pages those keep depends on the core count and the threads'
    # timing: CI once measured 6.3 MB), and glibc's default trimming (the tuned allocator keeps
    # the warm-up's freed pages, which then hide part of the in-memory path's growth).
    limit = decoded_bytes // 3
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(folder), str(warm), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "KERAS_BACKEND": "jax",
            "MALLOC_ARENA_MAX": "1",
            "KERAS_FACEGEN_ALLOCATOR": "default",
        },
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    growth = json.loads(done.stdout.strip().splitlines()[-1])
    assert growth["cache"] < limit, (growth, limit)
    assert open_cache(tmp_path / "cache").num_images == num
    # The in-memory path on the same folder breaks the limit: the measurement can fail.
    assert growth["memory"] > 0.9 * decoded_bytes, (growth, decoded_bytes)


@pytest.mark.backend_independent
def test_prepare_cache_warns_at_the_callers_line(folder, tmp_path):
    with pytest.warns(UserWarning, match="Skipped 2 unreadable") as record:
        prepare_cache(folder, tmp_path / "c", 4)
    assert [w.filename for w in record] == [__file__]


@pytest.mark.backend_independent
def test_cli_prepare_then_train_from_the_cache(folder, tmp_path, capsys):
    from keras_facegen import cli

    out = tmp_path / "cache"
    argv = ["prepare", str(folder), "--out", str(out), "--resolution", "32", "--shard-size", "5"]
    with pytest.warns(UserWarning, match="Skipped 2"):
        assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}: 23 images at 4..32 px (4 levels" in printed
    assert "skipped 2 unreadable" in printed
    assert open_cache(out).resolutions == [4, 8, 16, 32]
    assert len(open_cache(out).shard_files(32)) == 5
    # Bad input: one line on stderr, exit status 2.
    for bad, message in [
        (argv, "already holds an image cache"),
        ([*argv[:3], str(tmp_path / "x"), "--resolution", "24"], "power of two"),
        (
            [
                "prepare",
                str(tmp_path / "nowhere"),
                "--out",
                str(tmp_path / "y"),
                "--resolution",
                "8",
            ],
            "existing folder",
        ),
    ]:
        assert cli.main(bad) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    # train --data CACHE: a cache folder is detected; a level it lacks is a one-line error.
    train = ["train", "--preset", "face64_small", "--resolution", "64", "--batch-size", "8"]
    assert (
        cli.main([*train, "--steps", "1", "--out", str(tmp_path / "run"), "--data", str(out)]) == 2
    )
    assert "resolution=64 is not in the cache" in capsys.readouterr().err


def test_training_train_streams_a_cache_level(cache, tmp_path):
    gan = GAN(F.tiny_generator(8), F.tiny_discriminator(8), seed=0)
    gan.compile(**F.fast_compile_kwargs())
    images = training.training_images(cache.path, 8)
    result = training.train(
        gan,
        images,
        tmp_path / "run",
        steps=3,
        batch_size=4,
        checkpoint_every=2,
        num_samples=4,
        verbose=0,
    )
    assert result.steps == 3
    info = json.loads((tmp_path / "run" / "facegen.json").read_text())
    assert info["resolution"] == 8 and info["steps"] == 3


@pytest.mark.backend_independent
def test_benchmark_sides_serve_the_same_images(tmp_path):
    import importlib.util

    path = REPO_ROOT / "benchmarks" / "data_throughput.py"
    spec = importlib.util.spec_from_file_location("data_throughput", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.parse_args(["--quick", "--workdir", str(tmp_path)])
    timings = bench.prepare(args)
    assert timings["prepare_cache_seconds"] > 0 and is_cache(tmp_path / "cache")
    runs = {}
    for side in bench.SIDES:
        args.side, args.resolution = side, 32
        runs[side] = bench.run_side(args)
        assert runs[side]["images_per_second"] > 0
    # At the top resolution every side serves exactly the same batches.
    assert (
        runs["memory"]["checksum"] == runs["cache"]["checksum"] == runs["cache+ahead"]["checksum"]
    )
