"""The one YAML reader (qmodels.strict_yaml) and the one fixed-point type reader (qmodels.hls_types), issue 18."""
import pytest
import yaml

from qmodels.hls_types import ROUNDING, SATURATION, FormatError, parse_type
from host.io import Format
from hw.config import BuildConfig, ConfigError
from qmodels import strict_yaml
from qmodels.fixed import Fixed

BOMB = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("text, words", [
    ("model: x\nreuse: 64\nreuse: 1\n", ["'reuse'", "line 2", "line 3"]),
    ("{a: 1, a: 2}\n", ["'a'", "column 2", "column 8"]),
    ("layers:\n  s0: {reuse: 2}\n  s0: {reuse: 4}\n", ["'s0'", "line 2", "line 3"]),
    ("yes: 1\ntrue: 2\n", ["'true'", "line 1", "line 2"]),        # equal once read, though spelled apart
    (BOMB, ["100,000 nodes", "alias"]),
    ("a: &a [*a]\n", ["refers to the node that contains it"]),
    ("[" * 50_000 + "]" * 50_000, ["nested too deeply"]),
])
def test_strict_yaml_refuses_what_safe_load_accepts(text, words):
    with pytest.raises(strict_yaml.StrictYAMLError) as err:
        strict_yaml.loads(text)
    assert isinstance(err.value, yaml.YAMLError)     # so every reader's "not valid YAML" names the file
    assert all(w in str(err.value) for w in words), str(err.value)


def test_strict_yaml_reads_merges_and_small_aliases_as_safe_load_does():
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\nl: [*b, *b]\n"
    assert strict_yaml.loads(text) == yaml.safe_load(text)
    assert strict_yaml.loads("") is None


def test_a_recipe_with_a_duplicate_key_names_the_file_and_both_lines(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("model: attendnet-tiny\nreuse: 64\nreuse: 1\n")
    with pytest.raises(ConfigError, match=r"r.yaml: not valid YAML: duplicate key 'reuse' on line 2.*line 3"):
        BuildConfig.load(path)


@pytest.mark.parametrize("text, words", [
    ("ap_fixed<8,3,AP_BOGUS>", ["rounding", "'AP_BOGUS'", *ROUNDING]),
    ("ap_fixed<8,3,AP_RND,AP_FOO>", ["saturation", "'AP_FOO'", *SATURATION]),
    ("ap_fixed<8,3,RND,SAT,99>", ["saturation bits", "99"]),
    ("ap_fixed<8,3,RND,SAT,1,2>", ["not a fixed-point format"]),
    ("ap_int<8,3>", ["ap_int<W>"]),
    ("ap_fixed<0,3>", ["width", "1024"]),
    ("ap_fixed<2000,10>", ["width", "1024"]),
    ("ap_fixed<8,99999>", ["integer bits"]),
    ("ap_fixed<8>", ["not a fixed-point format"]),
    ("ap_fixed<8,3,>", ["rounding", "''"]),
    ("float", ["not a fixed-point format"]),
    (16, ["not a fixed-point format"]),
])
def test_one_type_reader_names_the_field_and_what_is_accepted(text, words):
    with pytest.raises(FormatError) as err:
        parse_type(text, "layers.c.precision.result")
    message = str(err.value)
    assert message.startswith("field 'layers.c.precision.result': ") and all(w in message for w in words), message


def test_hls4ml_spellings_and_ours_read_the_same():
    assert parse_type("fixed<22,9,TRN,WRAP,0>") == parse_type("ap_fixed<22,9,AP_TRN,AP_WRAP,0>")
    assert parse_type("ap_uint<8>").integer == 8 and not parse_type("ap_uint<8>").signed
    for text in ("fixed<8,3>", "ufixed<8,0,RND_CONV,SAT,0>", "ap_fixed<22,9,AP_RND_CONV,AP_SAT>"):
        t = parse_type(text)
        assert Format.parse(text) == Format(t.width, t.integer, t.signed)


def test_spec_formats_take_no_modes_and_ports_take_no_integers():
    assert Fixed.parse("ufixed<8,2>") == Fixed(8, 2, False)
    with pytest.raises(ValueError, match="no rounding or saturation here"):
        Fixed.parse("fixed<8,3,AP_RND>")
    with pytest.raises(ValueError, match="not a fixed-point format"):
        Format.parse("ap_uint<8>")


def test_a_recipe_with_an_unknown_mode_is_a_config_error_naming_the_layer():
    cfg = BuildConfig(model="attendnet-tiny", layers={"s00_conv": {"precision": {"result": "ap_fixed<8,3,AP_BOGUS>"}}})
    with pytest.raises(ConfigError, match=r"'layers.s00_conv.precision.result': unknown rounding mode 'AP_BOGUS'"):
        cfg.validate("r.yaml")


def test_every_yaml_read_and_type_parse_goes_through_the_one_reader():
    """The class, not the instances: a new yaml.safe_load or a new fixed-point regex fails here."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[2]
    readers = re.compile(r"(?<!\w)yaml\.(safe_load|load|full_load|unsafe_load|safe_load_all|load_all)\(")
    type_regex = re.compile(r"re\.(compile|match|fullmatch|search)\(r?[\"'][^\"']*fixed")
    found = []
    for package in ("hw", "qmodels", "host"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text()
            if path.name != "strict_yaml.py" and readers.search(text):
                found.append(f"{path.relative_to(root)}: {readers.search(text).group(0)}")
            if path.name != "hls_types.py" and type_regex.search(text):
                found.append(f"{path.relative_to(root)}: {type_regex.search(text).group(0)}")
    assert not found, found


def test_strict_yaml_load_refuses_devices_pipes_and_huge_files_unread(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.yaml")
    for path in ("/dev/zero", tmp_path / "pipe.yaml"):
        with pytest.raises(strict_yaml.StrictYAMLError, match="not a regular file"):
            strict_yaml.load(path)
    (tmp_path / "big.yaml").write_bytes(b"#" * (strict_yaml.MAX_BYTES + 1))
    with pytest.raises(strict_yaml.StrictYAMLError, match="larger than 16 MiB"):
        strict_yaml.load(tmp_path / "big.yaml")
    (tmp_path / "ok.yaml").write_bytes(b"a: 1\r\nb: [2]\r\n")
    assert strict_yaml.load(tmp_path / "ok.yaml") == {"a": 1, "b": [2]}
