"""csim refuses firmware whose two weight forms differ (.txt simulated, .h synthesized)."""
import shutil

import numpy as np
import pytest

from hw.sim import csim
from hw.sim.firmware import FirmwareMismatch, check_weights, header_values, text_values


def _weights(folder, name, txt, header):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(", ".join(txt))
    (folder / f"{name}.h").write_text(
        f"#ifndef __SYNTHESIS__\nweight_t {name}[{len(txt)}];\n#else\n"
        f"weight_t {name}[{len(header)}] = {{{', '.join(header)}}};\n#endif\n")


def test_identical_forms_pass(tmp_path):
    _weights(tmp_path / "firmware" / "weights", "w2", ["0.5", "-1.25", "3"], ["0.50000", "-1.25000", "3.00000"])
    assert check_weights(tmp_path) == {"arrays": 1, "values": 3}


def test_an_edited_header_is_named_with_its_first_differing_index(tmp_path):
    _weights(tmp_path / "firmware" / "weights", "w2", ["0.5", "-1.25", "3", "1"], ["0.5", "-1.25", "2.5", "0"])
    with pytest.raises(FirmwareMismatch, match=r"w2\.h differs from w2\.txt at index 2 \(2\.5 vs 3\.0; 2 values"):
        check_weights(tmp_path)


def test_a_missing_form_is_an_error(tmp_path):
    _weights(tmp_path / "firmware" / "weights", "w2", ["1"], ["1"])
    (tmp_path / "firmware" / "weights" / "w2.h").unlink()
    with pytest.raises(FirmwareMismatch, match=r"w2\.h missing"):
        check_weights(tmp_path)


def test_generated_project_forms_agree_and_an_edit_stops_csim_before_compiling(tiny_project, tmp_path):
    assert check_weights(tiny_project)["arrays"] > 10
    project = tmp_path / "edited"
    shutil.copytree(tiny_project, project, ignore=shutil.ignore_patterns("build"))
    header = project / "firmware" / "weights" / "w6.h"
    values = header_values(header)
    assert np.array_equal(values, text_values(header.with_suffix(".txt")))
    first = header.read_text().split("= {")[1].split(",")[0]
    header.write_text(header.read_text().replace("= {" + first, "= {" + repr(float(values[0]) + 0.5), 1))
    with pytest.raises(FirmwareMismatch, match=r"w6\.h differs from w6\.txt at index 0"):
        csim.build(project, "attendnet_tiny")
    assert not (project / "build").exists() or not any((project / "build").rglob("*.o"))
