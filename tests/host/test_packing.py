"""Stream packing round trips over the port formats, against an independent bit-level reference."""
import numpy as np
import pytest

from host.io import Format, lane_bits, pack, stream_words, unpack

FORMATS = [Format(w, i, s) for w in list(range(2, 17)) + [20, 32] for s in (True, False) for i in (0, w // 2)]


def reference_pack(codes, fmt: Format, width: int) -> bytes:
    """The contract, literally: element k in word k // (width // lane) at bit (k % (width // lane)) * lane,
    two's complement in its lane, words little-endian, the last word zero-padded."""
    lane = {8: 8, 16: 16, 32: 32}[next(l for l in (8, 16, 32) if fmt.width <= l)]
    per_word = width // lane
    words = [0] * (-(-len(codes) // per_word))
    for k, code in enumerate(int(c) for c in codes):
        words[k // per_word] |= (code & ((1 << lane) - 1)) << ((k % per_word) * lane)
    return b"".join(w.to_bytes(width // 8, "little") for w in words)


@pytest.mark.parametrize("fmt", FORMATS, ids=[f"{'' if f.signed else 'u'}fixed<{f.width},{f.integer}>" for f in FORMATS])
@pytest.mark.parametrize("width", [32, 64, 128])
def test_pack_matches_the_contract_and_round_trips(fmt, width):
    rng = np.random.default_rng(fmt.width * 7 + width)
    lo, hi = fmt.code_range
    for count in (1, 7, 61):
        codes = rng.integers(lo, hi + 1, count, dtype=np.int64)
        codes[:2] = [lo, hi][:count]                               # both extremes
        packed = pack(codes, fmt, width)
        assert packed.tobytes() == reference_pack(codes, fmt, width)
        assert packed.size == stream_words(count, lane_bits(fmt), width) * width // 8
        np.testing.assert_array_equal(unpack(packed, count, fmt, width), codes)


@pytest.mark.parametrize("width,lane", [(2, 8), (8, 8), (9, 16), (16, 16), (17, 32), (32, 32)])
def test_lane_is_the_smallest_that_holds_the_width(width, lane):
    assert lane_bits(Format(width, 0, True)) == lane


def test_unpack_ignores_lane_bits_above_the_format():
    """Hardware may zero-extend a signed code in its lane instead of sign-extending it."""
    fmt = Format(12, 4, True)
    codes = np.array([-2048, -1, 0, 1, 2047])
    zero_extended = np.frombuffer(np.array(codes & 0xFFF, "<u2").tobytes() + b"\0" * 6, np.uint8)
    np.testing.assert_array_equal(unpack(zero_extended, 5, fmt, 64), codes)


def test_bad_codes_and_buffers_are_clear_errors():
    with pytest.raises(ValueError, match=r"outside -128\.\.127 do not fit fixed<8,1>"):
        pack([128], Format(8, 1, True), 64)
    assert lane_bits(Format(38, 9, True)) == 64
    with pytest.raises(ValueError, match="does not fit a 64-bit lane"):
        lane_bits(Format(65, 1, True))
    with pytest.raises(ValueError, match="need 16 bytes"):
        unpack(np.zeros(8, np.uint8), 5, Format(12, 4, True), 64)


@pytest.mark.parametrize("signed", [True, False])
def test_wide_scores_round_trip_in_64_bit_lanes(signed):
    # 16-bit networks end in ~38-bit logits: one 64-bit lane each, sign and all
    fmt = Format(38, 9, signed)
    rng = np.random.default_rng(3)
    low, high = (-(1 << 37), (1 << 37) - 1) if signed else (0, (1 << 38) - 1)
    codes = np.concatenate([[low, high, 0], rng.integers(low, high, 40, endpoint=True)])
    words = pack(codes, fmt, 64)
    assert words.size == codes.size * 8
    assert np.array_equal(unpack(words, codes.size, fmt, 64), codes)
