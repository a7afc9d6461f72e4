"""One integer check, one message: every public entry point words a bad count the same way."""

import pytest

from keras_facegen import hub, sampling
from keras_facegen._validation import check_int
from keras_facegen.data import load_images
from keras_facegen.latent import decode_hex, sample_latents
from keras_facegen.layers import EqualizedDense, MinibatchStdDev


def test_check_int():
    assert check_int(3, "n") == 3 and type(check_int(True + 2, "n")) is int
    assert check_int(0, "n", minimum=0) == 0
    for bad in (0, -1, 1.0, True, "2", None):
        with pytest.raises(ValueError, match=r"^n must be a positive integer; received n="):
            check_int(bad, "n")
    with pytest.raises(ValueError, match=r"^n must be an integer >= 0; received n=-1\.$"):
        check_int(-1, "n", minimum=0)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda tmp: decode_hex("00ff", latent_dim=0), "latent_dim"),
        (lambda tmp: sample_latents(2, 0), "latent_dim"),
        (lambda tmp: load_images(tmp, 0), "resolution"),
        (lambda tmp: load_images(tmp, 8, num_workers=0), "num_workers"),
        (lambda tmp: hub.load_progan(str(tmp), batch_size=0), "batch_size"),
        (lambda tmp: EqualizedDense(0), "units"),
        (lambda tmp: MinibatchStdDev(group_size=0), "group_size"),
        (
            lambda tmp: sampling.image_grid(sampling.to_uint8([[[[0.0]]]]), rows=1, padding=-1),
            "padding",
        ),  # fmt: skip
    ],
)
def test_every_site_words_a_bad_count_alike(tmp_path, call, argument):
    with pytest.raises(ValueError) as info:
        call(tmp_path)
    value = -1 if argument == "padding" else 0
    expected = "an integer >= 0" if argument == "padding" else "a positive integer"
    assert str(info.value) == f"{argument} must be {expected}; received {argument}={value}."
