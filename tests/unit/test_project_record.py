"""The project record (qmodels/project_record.py, issue 18): attendnets.yaml round-trips through the
dataclass unchanged, is checked once on load, and refuses a newer format or a damaged field in one line."""
import pytest
import yaml

from qmodels.project_record import FILE, FORMAT, ProjectRecord, ProjectRecordError

RECORD = {"attendnets_project": FORMAT, "project_name": "tiny",
          "io": {"input_type": "ufixed<8,0,RND_CONV,SAT,0>", "output_type": "fixed<22,9,TRN,WRAP,0>"},
          "build": {"model": "attendnet-tiny", "board": "zcu104", "io": "stream"},
          "board": {"name": "zcu104", "part": "xczu7ev-ffvc1156-2-e", "clock_ns": 5.0},
          "software_model": {"weights": "seeded", "file": "keras/model.h5", "input_shape": [32, 32, 3], "classes": 10},
          "testbench": {"samples": 3, "output_lsb": 2.0 ** -13, "labels": False},
          "fifo_depths": {"layer2_out": 1024},
          "layers": {"zp2d": {"class": "ZeroPadding2D", "reuse_factor": None, "strategy": None, "types": {}},
                     "s00_conv": {"class": "Conv2D", "reuse_factor": 3, "strategy": "latency",
                                  "types": {"result_t": "fixed<17,4,TRN,WRAP,0>"}}},
          "fused_activations": {"fused": {}, "kept": {}}}


def test_the_file_round_trips_byte_for_byte(tmp_path):
    text = yaml.safe_dump(RECORD, sort_keys=False)     # what generation wrote before the record existed
    (tmp_path / FILE).write_text(text)
    record = ProjectRecord.load(tmp_path)
    assert record.project_name == "tiny" and record.format == FORMAT and record.to_dict() == RECORD
    assert record.formats == {"input": RECORD["io"]["input_type"], "output": RECORD["io"]["output_type"]}
    record.save(tmp_path)
    assert (tmp_path / FILE).read_text() == text
    assert ProjectRecord.read_name(tmp_path) == "tiny" and ProjectRecord.read_name(tmp_path / "none") is None


@pytest.mark.parametrize("change, words", [
    ({"attendnets_project": FORMAT + 1}, [f"format {FORMAT + 1}", "newer", f"reads format {FORMAT}"]),
    ({"attendnets_project": True}, ["'attendnets_project'", "positive integer"]),
    ({"project_name": "a b"}, ["'project_name'", "C identifier", "'a b'"]),
    ({"project_name": 7}, ["project_name should be a string"]),
    ({"io": {"input_type": "fixed<8,3,AP_BOGUS>", "output_type": "fixed<8,3>"}}, ["io.input_type", "AP_BOGUS"]),
    ({"board": {"name": "zcu104", "part": "p", "clock_ns": float("nan")}}, ["board.clock_ns", "nan"]),
    ({"fifo_depths": {"x": -1}}, ["fifo_depths.x", "positive integer"]),
    ({"layers": {"s00_conv": {"reuse_factor": 0}}}, ["layers.s00_conv.reuse_factor", "0"]),
    ({"layers": {"s00_conv": {"fold": "abc"}}}, ["layers.s00_conv.fold", "positive integer", "'abc'"]),
    ({"layers": {"s00_conv": {"fold": -2}}}, ["layers.s00_conv.fold", "positive integer", "-2"]),
    ({"layers": {"s00_conv": {"stream_fold": 0}}}, ["layers.s00_conv.stream_fold", "positive integer", "0"]),
    ({"layers": {"s00_conv": {"storage": "flash"}}}, ["layers.s00_conv.storage", "registers, bram, lutram, uram",
                                                      "'flash'"]),
    ({"layers": {"s00_conv": {"multiplier": "dsp48"}}}, ["layers.s00_conv.multiplier", "lut, dsp, packed"]),
    ({"layers": {"s00_conv": {"types": ["fixed<8,3>"]}}}, ["layers.s00_conv.types", "mapping"]),
    ({"testbench": {"samples": 3}}, ["'testbench.output_lsb' is missing"]),
    ({"software_model": None}, ["software_model should be a mapping"]),
])
def test_a_damaged_field_is_named_in_one_line(tmp_path, change, words):
    (tmp_path / FILE).write_text(yaml.safe_dump({**RECORD, **change}, sort_keys=False))
    with pytest.raises(ProjectRecordError) as err:
        ProjectRecord.load(tmp_path)
    message = str(err.value)
    assert message.startswith(str(tmp_path / FILE)) and "\n" not in message
    assert all(w in message for w in words), message


def test_missing_fields_folders_and_yaml(tmp_path):
    with pytest.raises(ProjectRecordError, match="no such project folder"):
        ProjectRecord.load(tmp_path / "none")
    with pytest.raises(ProjectRecordError, match=r"not an attendnets project \(no attendnets.yaml\)"):
        ProjectRecord.load(tmp_path)
    (tmp_path / FILE).write_text(yaml.safe_dump({k: v for k, v in RECORD.items() if k != "fifo_depths"}))
    with pytest.raises(ProjectRecordError, match="missing field 'fifo_depths'"):
        ProjectRecord.load(tmp_path)
    (tmp_path / FILE).write_text("project_name: a\nproject_name: b\n")
    with pytest.raises(ProjectRecordError, match="not valid YAML .*duplicate key 'project_name'"):
        ProjectRecord.load(tmp_path)
    (tmp_path / FILE).write_text("- 1\n")
    with pytest.raises(ProjectRecordError, match="expected a mapping of fields with 'attendnets_project'"):
        ProjectRecord.load(tmp_path)
