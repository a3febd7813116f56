"""host/ is numpy only and converts codes exactly as the models and the firmware do."""
import subprocess
import sys

import numpy as np
import pytest

from host.io import Format, from_codes, input_codes, to_codes
from qmodels.fixed import Fixed


def test_host_imports_without_tensorflow_or_hls4ml():
    """Every host module imports with TensorFlow, QKeras, hls4ml, PyYAML and all of qmodels but its type
    reader made unimportable (the board's Python has numpy and pynq, and a package carries host/ and
    qmodels/hls_types.py; pynq itself is imported only by the pynq backend)."""
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('tensorflow', 'qkeras', 'hls4ml', 'keras', 'yaml', 'pynq', 'hw') or "
            "name.startswith('qmodels.') and name != 'qmodels.hls_types':\n"
            "            raise ImportError('blocked ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "import host.io, host.package, host.accelerator, host.simboard, host.board, host.bench, host.archive, "
            "host.deploy\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("text", ["fixed<8,3>", "ufixed<8,0>", "fixed<22,9>", "ufixed<13,2>"])
def test_codes_match_the_model_formats(text):
    fmt, fixed = Format.parse(text), Fixed.parse(text)
    x = np.random.default_rng(0).uniform(fixed.min * 1.3 - 1, fixed.max * 1.3 + 1, 4000)
    x = np.concatenate([x, (np.arange(-50, 50) + 0.5) * fixed.step])      # ties round to even
    np.testing.assert_array_equal(to_codes(x, fmt), fixed.codes(x))
    np.testing.assert_array_equal(from_codes(to_codes(x, fmt), fmt), fixed.quantize(x))


def test_formats_parse_hls_spellings_and_reject_others():
    assert Format.parse("ap_fixed<22,9,AP_RND_CONV,AP_SAT>") == Format(22, 9, True)
    assert Format.parse("ufixed<8,0,RND_CONV,SAT>") == Format(8, 0, False)
    with pytest.raises(ValueError, match="not a fixed-point format"):
        Format.parse("float")
    with pytest.raises(ValueError, match="must be uint8"):
        input_codes(np.zeros((1, 2, 2, 3), np.float32))
