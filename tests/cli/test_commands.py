"""The ``keras-facegen`` command: every subcommand run for real on the active backend."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import keras_facegen
from keras_facegen import cli, latent
from keras_facegen.cli import _quiet
from keras_facegen.cli.morph import latent_from

# Tests marked backend_independent run in the TensorFlow pass only: argument checking, one-line
# errors, files and folders of a run, sample and morph plumbing (generation, ranking and
# interpolation are tested on every backend in tests/test_sampling.py and tests/latent/), and the
# PyTorch thread helpers (the same code whatever the active backend). A run trained through the
# command, its exact resume and the quiet start-up (which imports the active backend) run on every
# backend.
TRAIN = ["train", "--preset", "face64_small", "--resolution", "32", "--num-images", "64"]
TRAIN += ["--batch-size", "8", "--checkpoint-every", "2", "--seed", "3", "--quiet"]


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.backend_independent
def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"keras-facegen {keras_facegen.__version__}"
    status, out, _ = run(capsys)
    assert status == 0
    for command in ("train", "sample", "morph", "code"):
        assert command in out


@pytest.mark.backend_independent
def test_console_script_is_installed():
    # The script pip wrote into this interpreter's environment (the venv's bin/).
    script = Path(sys.executable).parent / "keras-facegen"
    assert script.is_file(), f"{script} missing: is the package installed (pip install -e .)?"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.strip() == f"keras-facegen {keras_facegen.__version__}"


@pytest.mark.backend_independent
def test_code_encode_decode_average(capsys):
    status, out, _ = run(capsys, "code", "encode", "-1", "0", "1", "0.5")
    assert status == 0
    assert out.strip() == "0080ffbf"
    status, out, _ = run(capsys, "code", "decode", "0080FFbf")
    # The CLI prints six decimals.
    expected = [-1.0, 128 / 127.5 - 1, 1.0, 191 / 127.5 - 1]
    np.testing.assert_allclose(json.loads(out), expected, rtol=0, atol=5e-7)
    status, out, _ = run(capsys, "code", "average", "00ff", "0100")
    # Byte-wise means 0.5 -> 0 and 127.5 -> 127, truncated toward zero.
    assert out.strip() == "007f"


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["code", "decode", "0g"], "non-hex"),
        (["code", "decode", "abc"], "has 3 digits"),
        (["code", "encode", "1.5"], "[-1, 1]"),
        (["code", "average", "00ff", "00"], "same length"),
    ],
)
def test_code_bad_input_exits_2_with_message(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert message in err


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """Four steps of the CLI's training on tiny synthetic faces (two checkpoint epochs)."""
    out = tmp_path_factory.mktemp("run") / "full"
    assert cli.main([*TRAIN, "--steps", "5", "--out", str(out)]) == 0
    return out


def test_train_writes_models_grids_checkpoint_and_info(trained_run):
    info = json.loads((trained_run / "facegen.json").read_text())
    assert info["steps"] == 5
    assert info["latent_dim"] == 16
    assert info["latent_distribution"] == "uniform"
    assert info["resolution"] == 32
    assert info["preset"] == "face64_small"
    assert (trained_run / "checkpoint" / "checkpoint.npz").is_file()
    for name in ("generator.keras", "discriminator.keras"):
        assert (trained_run / name).stat().st_size > 1000
    grids = sorted(p.name for p in (trained_run / "samples").glob("*.png"))
    assert grids == ["step_0000002.png", "step_0000004.png"]
    with Image.open(trained_run / "samples.png") as grid:
        assert grid.size == (8 * 32 + 9 * 2, 8 * 32 + 9 * 2)


def test_resume_matches_uninterrupted_run(trained_run, tmp_path):
    import keras

    # Three steps, then resume to five: the same weights as five steps in one go.
    out = tmp_path / "resumed"
    assert cli.main([*TRAIN, "--steps", "3", "--out", str(out)]) == 0
    assert cli.main([*TRAIN, "--steps", "5", "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "facegen.json").read_text())["steps"] == 5
    for name in ("generator.keras", "discriminator.keras"):
        full = keras.saving.load_model(trained_run / name, compile=False)
        resumed = keras.saving.load_model(out / name, compile=False)
        for a, b in zip(full.get_weights(), resumed.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.backend_independent
def test_resume_without_checkpoint_is_a_clear_error(capsys, tmp_path):
    status, _, err = run(capsys, *TRAIN, "--steps", "2", "--out", str(tmp_path), "--resume")
    assert status == 2
    assert "no checkpoint" in err and str(tmp_path) in err


@pytest.mark.backend_independent
def test_sample_grid_and_ranked_sheet(capsys, trained_run, tmp_path):
    model = str(trained_run / "generator.keras")
    status, out, _ = run(
        capsys,
        "sample",
        "--model",
        model,
        "--num",
        "6",
        "--rows",
        "2",
        "--out",
        str(tmp_path / "grid.png"),
    )
    assert status == 0 and "grid.png" in out
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size == (3 * 32 + 4 * 2, 2 * 32 + 3 * 2)
    status, out, _ = run(
        capsys,
        "sample",
        "--model",
        model,
        "--num",
        "12",
        "--rank",
        "--top-k",
        "4",
        "--out",
        str(tmp_path / "ranked.png"),
    )
    assert status == 0
    lowest = [float(v) for v in out.splitlines()[0].split(":")[1].split(",")]
    highest = [float(v) for v in out.splitlines()[1].split(":")[1].split(",")]
    assert lowest == sorted(lowest) and highest == sorted(highest, reverse=True)
    assert max(lowest) <= min(highest)
    with Image.open(tmp_path / "ranked.png") as sheet:
        labelled = np.asarray(sheet)
    # The CLI's sheet is labelled: a name column on the left, a score strip under each row.
    assert labelled.shape[1] > 4 * 32 + 5 * 2 and labelled.shape[0] > 2 * 32 + 3 * 2
    assert labelled[:, :20].max() > 200  # white label text on the black margin


@pytest.mark.backend_independent
def test_morph_gif_between_code_and_seed(capsys, trained_run, tmp_path):
    code = latent.encode_hex(np.linspace(-1, 1, 16))
    out_path = tmp_path / "morph.gif"
    status, out, _ = run(
        capsys,
        "morph",
        "--model",
        str(trained_run / "generator.keras"),
        "--from",
        code,
        "--to",
        "7",
        "--steps",
        "4",
        "--method",
        "slerp",
        "--out",
        str(out_path),
    )
    assert status == 0 and "4 frames" in out
    with Image.open(out_path) as gif:
        assert gif.n_frames >= 2  # Pillow merges identical consecutive frames
        assert gif.size == (32, 32)


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "--model", "missing.keras"], "no model file"),
        (["morph", "--model", "missing.keras", "--from", "1", "--to", "2"], "no model file"),
    ],
)
def test_missing_model_is_a_clear_error(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 2 and message in err and "missing.keras" in err


@pytest.mark.backend_independent
def test_all_digit_code_is_a_code_and_seeds_are_explicit():
    # The origin's code is all digits: it must be decoded, not read as seed 8080...
    origin = "80" * 16
    np.testing.assert_array_equal(
        latent_from(origin, 16, "uniform", "--from"), latent.decode_hex(origin)
    )
    seven = latent.sample_latents(1, 16, "uniform", seed=7)[0]
    np.testing.assert_array_equal(latent_from("seed:7", 16, "uniform", "--to"), seven)
    # A bare integer of another length stays a seed (backward compatible).
    np.testing.assert_array_equal(latent_from("7", 16, "uniform", "--to"), seven)
    for bad in ("-1", "seed:-1", "seed:x", "80zz"):
        with pytest.raises(ValueError, match="--from="):
            latent_from(bad, 16, "uniform", "--from")


@pytest.mark.backend_independent
def test_help_documents_seeds_and_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["morph", "--help"])
    morph_help = " ".join(capsys.readouterr().out.split())
    assert "seed:N" in morph_help and "32 for a 16-d generator" in morph_help
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    train_help = " ".join(capsys.readouterr().out.split())
    assert "total training steps (default: 2000)" in train_help
    assert "run folder (default: runs/facegen)" in train_help


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["train", "--batch-size", "0"], "--batch-size"),
        (["train", "--sample-every", "0"], "--sample-every"),
        (["train", "--checkpoint-every", "0"], "--checkpoint-every"),
        (["train", "--steps", "-3"], "--steps"),
        (["train", "--ema", "1.5"], "--ema"),
        (["train", "--seed", "-1"], "--seed"),
        (["sample", "--model", "g.keras", "--num", "0"], "--num"),
        (["morph", "--model", "g.keras", "--from", "1", "--to", "2", "--steps", "0"], "--steps"),
    ],
)
def test_bad_counts_are_refused_by_name(capsys, argv, argument):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert f"argument {argument}" in capsys.readouterr().err


@pytest.mark.backend_independent
def test_from_minus_one_names_the_argument(capsys, trained_run, tmp_path):
    model = str(trained_run / "generator.keras")
    argv = ["morph", "--model", model, "--from", "-1", "--to", "seed:2"]
    status, _, err = run(capsys, *argv, "--out", str(tmp_path / "m.gif"))
    assert status == 2 and err.startswith("keras-facegen: error: --from='-1'")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.backend_independent
def test_sample_refuses_a_discriminator_or_a_picture(capsys, trained_run, tmp_path):
    out = str(tmp_path / "grid.png")
    status, _, err = run(
        capsys, "sample", "--model", str(trained_run / "discriminator.keras"), "--out", out
    )
    assert status == 2
    assert "maps (N, 32, 32, 3) to (N, " in err and "expected a generator .keras file" in err
    status, _, err = run(capsys, "sample", "--model", str(trained_run / "samples.png"))
    assert status == 2 and "is not a Keras model file" in err
    fake = tmp_path / "fake.keras"
    fake.write_bytes(b"not a zip")
    status, _, err = run(capsys, "sample", "--model", str(fake), "--out", out)
    assert status == 2 and "could not be loaded" in err and len(err.splitlines()) == 1
    status, _, err = run(
        capsys,
        "sample",
        "--model",
        str(trained_run / "generator.keras"),
        "--rank",
        "--discriminator",
        str(trained_run / "generator.keras"),
        "--out",
        out,
    )
    assert status == 2 and "expected a discriminator .keras file" in err


@pytest.mark.backend_independent
@pytest.mark.parametrize("command", ["sample", "morph", "train"])
def test_unwritable_out_fails_before_work(capsys, trained_run, tmp_path, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("in the way")
    model = str(trained_run / "generator.keras")
    argv = {
        "sample": ["sample", "--model", model, "--out", str(blocker / "grid.png")],
        "morph": ["morph", "--model", model, "--from", "seed:1", "--to", "seed:2"]
        + ["--out", str(blocker / "m.gif")],
        "train": [*TRAIN, "--steps", "1", "--out", str(blocker / "run")],
    }[command]
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("keras-facegen: error: --out") and "cannot be written" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.backend_independent
def test_wrong_output_format_is_refused(capsys, trained_run, tmp_path):
    model = str(trained_run / "generator.keras")
    status, _, err = run(capsys, "sample", "--model", model, "--out", str(tmp_path / "g.bmp"))
    assert status == 2 and ".png or .jpg or .jpeg" in err
    status, _, err = run(
        capsys, "morph", "--model", model, "--from", "seed:1", "--to", "seed:2", "--out",
        str(tmp_path / "m.png"),
    )  # fmt: skip
    assert status == 2 and ".gif" in err


@pytest.mark.backend_independent
def test_morph_hub_offline_is_one_message(capsys, monkeypatch, tmp_path):
    from keras_facegen import hub

    def offline(handle, *args, **kwargs):
        try:
            raise OSError("Name or service not known")
        except OSError as error:
            raise hub.HubModuleUnavailableError(f"Could not load {handle}: offline") from error

    monkeypatch.setattr(hub, "load_progan", offline)
    status, _, err = run(
        capsys, "morph", "--hub", "https://example.invalid/m", "--from", "seed:1", "--to",
        "seed:2", "--out", str(tmp_path / "m.gif"),
    )  # fmt: skip
    assert status == 2
    assert err == "keras-facegen: error: --hub: Could not load https://example.invalid/m: offline\n"


@pytest.mark.backend_independent
def test_existing_run_needs_resume_or_overwrite(capsys, tmp_path):
    out = tmp_path / "run"
    assert cli.main([*TRAIN, "--steps", "4", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step_0000002.png",
        "step_0000004.png",
    ]
    capsys.readouterr()
    before = (out / "generator.keras").read_bytes()
    status, _, err = run(capsys, *TRAIN, "--steps", "2", "--out", str(out))
    assert status == 2 and "--resume" in err and "--overwrite" in err
    assert (out / "generator.keras").read_bytes() == before  # untouched
    status, _, _ = run(capsys, *TRAIN, "--steps", "2", "--out", str(out), "--overwrite")
    assert status == 0
    # The old run's grids are gone, not left beside the new ones.
    assert [p.name for p in (out / "samples").iterdir()] == ["step_0000002.png"]
    assert json.loads((out / "facegen.json").read_text())["steps"] == 2


@pytest.mark.backend_independent
def test_resume_rebuilds_the_gan_from_facegen_json(capsys, tmp_path):
    out = tmp_path / "ema"
    assert cli.main([*TRAIN, "--ema", "0.99", "--steps", "2", "--out", str(out)]) == 0
    info = json.loads((out / "facegen.json").read_text())
    assert info["ema_decay"] == 0.99 and info["seed"] == 3 and info["batch_size"] == 8
    # No flag repeated: preset, resolution, EMA, batch size, seed all come from facegen.json.
    status, _, err = run(capsys, "train", "--out", str(out), "--steps", "3", "--resume")
    assert status == 0, err
    info = json.loads((out / "facegen.json").read_text())
    assert info["steps"] == 3 and info["ema_decay"] == 0.99 and info["preset"] == "face64_small"
    # Flags that disagree are refused, each named.
    status, _, err = run(
        capsys, "train", "--out", str(out), "--steps", "4", "--resume", "--no-matching",
        "--preset", "face96", "--ema", "0.99",
    )  # fmt: skip
    assert status == 2
    assert "--no-matching (the run has matching on)" in err
    assert "--preset face96 (the run has --preset face64_small)" in err
    assert "--ema" not in err  # it agrees
    assert json.loads((out / "facegen.json").read_text())["steps"] == 3


def test_commands_are_quiet_by_default(tmp_path):
    script = Path(sys.executable).parent / "keras-facegen"
    result = subprocess.run(
        [script, "code", "encode", "0", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and result.stdout == "80ff\n"
    assert result.stderr == ""


@pytest.mark.backend_independent
def test_torch_threads_default(monkeypatch):
    torch = pytest.importorskip("torch")
    from keras_facegen.backend.torch import threads

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert threads.configure_threads() is None  # the user's choice is kept
        for name in threads.USER_THREAD_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        expected = min(threads.physical_cores(), 4)
        assert threads.configure_threads() == expected == torch.get_num_threads()
        from keras_facegen.backend import cpu

        monkeypatch.setattr(cpu, "physical_cores", lambda: 16)
        assert threads.configure_threads() == 4 == torch.get_num_threads()
        monkeypatch.setattr(cpu, "physical_cores", lambda: 1)
        assert threads.configure_threads() == 1 == torch.get_num_threads()
        assert threads.configure_threads(1, force=True) == 1
        with pytest.raises(ValueError, match="num_threads"):
            threads.configure_threads(0)
    finally:
        torch.set_num_threads(before)


@pytest.mark.backend_independent
def test_physical_cores_reads_cpuinfo(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from keras_facegen.backend.torch import threads

    # Two cores with two hyper-threads each: 4 logical CPUs, 2 physical cores.
    cpuinfo = "".join(
        f"processor\t: {cpu}\nphysical id\t: 0\ncore id\t\t: {cpu // 2}\n\n" for cpu in range(4)
    )
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)
    real_open = open
    monkeypatch.setattr(
        "builtins.open",
        lambda name, *a, **k: real_open(path if name == "/proc/cpuinfo" else name, *a, **k),
    )
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert threads.physical_cores() == 2
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert threads.physical_cores() == 1


@pytest.mark.backend_independent
def test_morph_rejects_bad_code(capsys, trained_run, tmp_path):
    status, _, err = run(
        capsys,
        "morph",
        "--model",
        str(trained_run / "generator.keras"),
        "--from",
        "zz",
        "--to",
        "1",
        "--out",
        str(tmp_path / "m.gif"),
    )
    assert status == 2 and "--from='zz'" in err


@pytest.mark.backend_independent
def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "keras_facegen.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.backend_independent
def test_train_from_an_image_folder(capsys, tmp_path):
    folder = tmp_path / "faces" / "nested"
    folder.mkdir(parents=True)
    colours = np.random.default_rng(0).integers(0, 256, (10, 3), dtype=np.uint8)
    for i, colour in enumerate(colours):
        Image.fromarray(np.tile(colour, (40, 48, 1))).save(folder / f"face{i}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="broken.jpg"):
        status, _, _ = run(
            capsys, *TRAIN, "--data", str(tmp_path / "faces"), "--steps", "1", "--out", str(out)
        )
    assert status == 0
    info = json.loads((out / "facegen.json").read_text())
    assert info["data"] == str(tmp_path / "faces") and info["steps"] == 1


@pytest.mark.backend_independent
def test_train_from_an_empty_folder_is_a_clear_error(capsys, tmp_path):
    status, _, err = run(
        capsys, *TRAIN, "--data", str(tmp_path), "--steps", "1", "--out", str(tmp_path / "run")
    )
    assert status == 2 and str(tmp_path) in err


def test_openmp_threads_sleep_when_idle_on_torch(monkeypatch):
    import keras

    assert _quiet.selected_backend() == keras.backend.backend()
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as before PyTorch is loaded
    monkeypatch.setattr(_quiet, "selected_backend", lambda: "jax")
    _quiet.thread_environment()
    assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setattr(_quiet, "selected_backend", lambda: "torch")
    _quiet.thread_environment()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's choice wins
    _quiet.thread_environment()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.backend_independent
def test_thread_setup_output_is_hidden_unless_it_fails(monkeypatch, capfd):
    import os

    from keras_facegen import backend
    from keras_facegen.cli import _quiet

    def chatty():
        os.write(2, b"platform probe chatter\n")

    monkeypatch.setattr(backend, "configure_threads", chatty)
    _quiet.configure_backend_threads(verbose=False)
    assert capfd.readouterr().err == ""

    def failing():
        os.write(2, b"why it failed\n")
        raise RuntimeError("no threads")

    monkeypatch.setattr(backend, "configure_threads", failing)
    with pytest.raises(RuntimeError, match="no threads"):
        _quiet.configure_backend_threads(verbose=False)
    assert "why it failed" in capfd.readouterr().err
