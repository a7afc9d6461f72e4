import keras
import numpy as np
import pytest

from keras_facegen.latent import average_codes, decode_hex, encode_hex, hex_to_bytes


def test_known_codes():
    assert encode_hex(np.array([-1.0, 1.0, 0.0])) == "00ff80"
    np.testing.assert_array_equal(decode_hex("00ff80"), np.float32([-1.0, 1.0, 128 / 127.5 - 1]))
    # Halves round up (floor(x + 0.5)), not half-even (Python round / numpy.rint): at
    # (z + 1) * 127.5 = 126.5 half-up gives 127 where half-even would give 126; 2.5 -> 3, not 2.
    z_halfway = 126.5 / 127.5 - 1.0
    assert encode_hex([z_halfway]) == "7f"
    assert encode_hex([(2.5 / 127.5) - 1.0]) == "03"


def test_round_trip_all_bytes():
    code = bytes(range(256)).hex()
    z = decode_hex(code)
    assert z.shape == (256,) and z.dtype == np.float32
    np.testing.assert_allclose(z, np.arange(256) / 127.5 - 1.0, atol=1e-7)
    assert encode_hex(z) == code


def test_encode_rounds_to_nearest_byte():
    # byte 10 is at z = 10 / 127.5 - 1; nudges below half a step stay on it.
    step = 1 / 127.5
    base = 10 / 127.5 - 1
    assert encode_hex([base + 0.49 * step, base - 0.49 * step]) == "0a0a"
    assert encode_hex([base + 0.51 * step]) == "0b"


def test_batched_codes_and_case_and_whitespace():
    codes = encode_hex(np.array([[-1.0, 1.0], [0.0, -1.0]]))
    assert codes == ["00ff", "8000"]
    np.testing.assert_array_equal(decode_hex(["00FF", "  8000\n"]), decode_hex(codes))
    assert decode_hex(["00ff"]).shape == (1, 2)


def test_encode_accepts_tensors_and_tolerance():
    z = keras.ops.convert_to_tensor(np.float32([1.0000001, -1.0000001]))
    assert encode_hex(z) == "ff00"


ENCODE_BAD_INPUTS_CASES = [
    (np.array([0.0, 1.5]), r"max \|z\| = 1.5"),
    (np.array([np.nan, 0.0]), "finite"),
    (np.array([np.inf]), "finite"),
    (np.zeros((2, 2, 2)), r"\(N, D\)"),
    (np.zeros(0), "D > 0"),
]


def test_encode_bad_inputs():
    for z, match in ENCODE_BAD_INPUTS_CASES:
        with pytest.raises(ValueError, match=match):
            encode_hex(z)


def test_encode_clip():
    assert encode_hex(np.array([-3.0, 2.0, 0.0]), clip=True) == "00ff80"
    with pytest.raises(ValueError, match="finite"):
        encode_hex(np.array([np.nan]), clip=True)


DECODE_BAD_INPUTS_CASES = [
    ("0g", {}, r"'0g' contains non-hex characters 'g'"),
    ("abc", {}, "3 digits; expected an even number"),
    ("", {}, "must not be empty"),
    ("   ", {}, "must not be empty"),
    ("00ff", {"latent_dim": 3}, "4 digits; expected 6 for latent_dim=3"),
    (12, {}, "non-empty list of hex codes; received 12"),
    (["00", "0000"], {}, "same length"),
    ([], {}, "non-empty list"),
    ("00ff", {"latent_dim": 0}, "latent_dim must be a positive"),
]


def test_decode_bad_inputs():
    for code, kwargs, match in DECODE_BAD_INPUTS_CASES:
        with pytest.raises(ValueError, match=match):
            decode_hex(code, **kwargs)


def test_decode_with_latent_dim():
    assert decode_hex("00" * 16, latent_dim=16).shape == (16,)
    np.testing.assert_array_equal(hex_to_bytes("0A ".strip()), [10])


def test_average_codes_truncates():
    assert average_codes(["00ff", "0100"]) == "007f"
    # (1 + 2 + 2) / 3 = 1.67 -> 1; (255 + 255 + 254) / 3 = 254.67 -> 254
    assert average_codes(["01ff", "02ff", "02FE"]) == "01fe"
    assert average_codes(["abcd"]) == "abcd"


def test_average_codes_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        average_codes(["00ff", "00"])
    with pytest.raises(ValueError, match="non-empty list"):
        average_codes("00ff")
    with pytest.raises(ValueError, match="non-hex"):
        average_codes(["00ff", "zz00"])
