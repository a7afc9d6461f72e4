"""Smoke test of benchmarks/quality/levers.py: one arm in its worker, the resume, every lever."""

import json
import sys

import numpy as np
import pytest
from helpers import REPO_ROOT, backend, to_numpy

sys.path.insert(0, str(REPO_ROOT / "benchmarks" / "quality"))

import levers  # noqa: E402

# The script is under test, not the library: once per CI (the TensorFlow pass).
pytestmark = pytest.mark.once


def test_quick_run_writes_lines_and_table_and_resume_skips_the_done_arm(tmp_path, capsys):
    argv = ["--quick", "--out", str(tmp_path), "--levers", "baseline", "--backend", backend()]
    ran = levers.main(argv)
    assert [(r["lever"], r["seed"]) for r in ran] == [("baseline", 0)]
    jsonl = tmp_path / "levers_16_quick.jsonl"
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["kind"] for r in records] == ["floor", "arm"]
    floor, arm = records
    assert floor["swd"] > 0 and np.isfinite(arm["swd"]) and arm["swd"] > 0
    assert arm["generator"] == "ema" and arm["swd"] == arm["swd_ema"]
    assert (arm["steps"], arm["batch"], arm["images_seen"]) == (2, 8, 16)
    assert arm["backend"] == backend() and arm["train_seconds"] > 0
    table = (tmp_path / "levers_16_quick.md").read_text()
    assert "| baseline | 0 | 2 x 8 | ema |" in table
    assert "Floor (held-out vs held-out faces): SWD" in table and arm["cpu"] in table
    # Resume: the done arm is skipped, nothing is appended, the table is rewritten the same.
    capsys.readouterr()
    assert levers.main(argv) == []
    assert "baseline seed 0: in levers_16_quick.jsonl, skipped" in capsys.readouterr().out
    assert len(jsonl.read_text().splitlines()) == 2
    assert (tmp_path / "levers_16_quick.md").read_text() == table


# About 1.2 s a lever on 2 cores (build + compile + one eager TensorFlow step of ~2,700 ops):
# 20-25 s for all of them.
@pytest.mark.slow
def test_every_lever_builds_a_gan_that_trains_one_step():
    from keras_facegen.data.batches import ShuffledBatches

    images = np.random.default_rng(0).uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    for name in levers.LEVERS:
        gan, batch = levers.build_arm(name, 32, seed=0, base_batch=4, ada_speed=64, quick=True)
        history = gan.fit(
            ShuffledBatches(images, batch_size=batch, seed=0),
            steps_per_epoch=1,
            epochs=1,
            shuffle=False,
            verbose=0,
        ).history
        assert np.isfinite(history["d_loss"][-1]), name
        assert int(to_numpy(gan.images_seen)) == batch, name


def test_overrides_naming_options_that_do_not_exist_are_refused():
    from keras_facegen.models import get_preset

    preset = get_preset(levers.PRESET)
    for bad in (
        levers.Lever("x", {"generator.equalized_lr": True}),
        levers.Lever("x", {"lazy_r1_interval": 16}),
        levers.Lever("x", train={"lr_schedule": "cosine"}),
        levers.Lever("x", train={"augment": "mixup"}),
    ):
        with pytest.raises(ValueError):
            levers.apply_lever(preset, bad)
    config, train = levers.apply_lever(preset, levers.LEVERS["d_lr_half"])
    assert config["discriminator_optimizer"] == {"learning_rate": 2e-4}
    assert preset == get_preset(levers.PRESET)  # the baseline dict is not modified
    assert train == levers.BASELINE_TRAIN


def test_list_names_every_lever_and_what_is_not_run(capsys):
    assert levers.main(["--list"]) == []
    out = capsys.readouterr().out
    left_out = [name for name, _ in levers.NOT_EXPRESSIBLE + levers.SAME_AS_BASELINE]
    for name in [*levers.LEVERS, *left_out]:
        assert f"  {name} " in out


def test_the_presets_loss_is_the_non_saturating_loss_so_that_arm_is_left_out():
    from keras_facegen import losses

    logits = np.random.default_rng(0).normal(size=(2, 8, 2)).astype("float32")
    softmax, non_saturating = losses.get("two_class_softmax"), losses.get("non_saturating")
    for a, b in (
        (softmax.discriminator_loss(*logits), non_saturating.discriminator_loss(*logits)),
        (softmax.generator_loss(logits[1]), non_saturating.generator_loss(logits[1])),
    ):
        assert float(to_numpy(a)) == pytest.approx(float(to_numpy(b)), rel=1e-5)
