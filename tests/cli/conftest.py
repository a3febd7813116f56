"""A workspace of bad inputs, built once per session around one small generated project.

The project is attendnet-tiny from the shipped checkpoint (32x32, 2 test-bench images),
generated through the real entry point in a subprocess: that run also proves the command
prints no third-party warnings.  Damaged copies of it (attendnets.yaml, keras/model.h5,
edited firmware) and damaged checkpoints, configs and specs sit beside it.
"""
import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import CKPT, run_entry_point, snapshot

GOOD_CONFIG = {"model": "attendnet-tiny", "input_shape": [16, 16, 3], "samples": 2}


def _configs(ws: Path) -> None:
    bad = {
        "layers_list": {"layers": ["s00_conv", "s01_vac_mix"]},
        "layer_scalar": {"layers": {"s00_conv": 4}},
        "layer_unknown_key": {"layers": {"s00_conv": {"reuse_factor": 4}}},
        "layer_misspelt": {"layers": {"s01_vac_mx": {"reuse": 2}}},
        "layer_reuse0": {"layers": {"s00_conv": {"reuse": 0}}},
        "layer_strategy": {"layers": {"s00_conv": {"strategy": "fastest"}}},
        "precision_bad": {"layers": {"s00_conv": {"precision": {"result": "float"}}}},
        "precision_key": {"layers": {"s00_conv": {"precision": {"accumulator": "ap_fixed<16,6>"}}}},
        "precision_wide": {"layers": {"s00_conv": {"precision": {"result": "ap_fixed<2000,10>"}}}},
        "precision_list": {"layers": {"s00_conv": {"precision": ["ap_fixed<16,6>"]}}},
        "reuse0": {"reuse": 0},
        "reuse_bool": {"reuse": True},
        "reuse_str": {"reuse": "4"},
        "clock_str": {"clock_ns": "fast"},
        "clock_inf": {"clock_ns": float("inf")},
        "clock_nan": {"clock_ns": float("nan")},
        "clock_zero": {"clock_ns": 0},
        "shape_str": {"input_shape": "32,32,3"},
        "shape_int": {"input_shape": 32},
        "shape_two": {"input_shape": [32, 32]},
        "shape_huge": {"input_shape": [100000, 32, 3]},
        "bad_board": {"board": "zc706"},
        "bad_backend": {"backend": "quartus"},
        "bad_io": {"io": "axi"},
        "bad_strategy": {"strategy": "fastest"},
        "unknown_field": {"reuse_factor": 4},
        "project_name": {"project_name": "1abc"},
        "samples_big": {"samples": 10 ** 6},
        "samples_neg": {"samples": -1},
        "classes0": {"classes": 0},
        "classes_huge": {"classes": 10 ** 8},
        "seed_neg": {"seed": -1},
        "seed_float": {"seed": 1.5},
        "weights_missing": {"weights": "no_such_checkpoint"},
        "model_empty": {"model": ""},
    }
    for name, fields in bad.items():
        (ws / f"cfg_{name}.yaml").write_text(yaml.safe_dump({**GOOD_CONFIG, **fields}))
    (ws / "cfg_no_model.yaml").write_text(yaml.safe_dump({"board": "zcu104"}))


def _specs(ws: Path) -> None:
    (ws / "spec_empty_stages.yaml").write_text("name: s\nstages: []\n")
    (ws / "spec_unknown_kind.yaml").write_text("name: s\nstages:\n  - transformer: {heads: 4}\n")
    (ws / "spec_neg_filters.yaml").write_text("name: s\nstages:\n  - conv: {filters: -8}\n  - global_avg_pool: {}\n")
    (ws / "spec_no_name.yaml").write_text("stages:\n  - conv: {filters: 8}\n  - global_avg_pool: {}\n")


def _damaged_projects(ws: Path, prj: Path) -> None:
    def copy(name):  # what the commands read before anything else: the resolved config and the model
        (ws / name / "keras").mkdir(parents=True)
        for rel in ("attendnets.yaml", "keras/model.h5"):
            shutil.copy(prj / rel, ws / name / rel)
        return ws / name

    (copy("prj_badyaml") / "attendnets.yaml").write_text("attendnets_project: 1\nproject_name: [unclosed\n")
    (copy("prj_notmap") / "attendnets.yaml").write_text("- 1\n- 2\n")
    resolved = yaml.safe_load((prj / "attendnets.yaml").read_text())
    (copy("prj_nokey") / "attendnets.yaml").write_text(yaml.safe_dump({k: v for k, v in resolved.items()
                                                                       if k != "project_name"}))
    (copy("prj_badbuild") / "attendnets.yaml").write_text(yaml.safe_dump({**resolved,
                                                                          "build": {**resolved["build"], "reuse": 0}}))
    (copy("prj_badh5") / "keras" / "model.h5").write_bytes(b"this is not HDF5\n" * 64)
    (copy("prj_noh5") / "keras" / "model.h5").unlink()
    (copy("prj_cut_h5") / "keras" / "model.h5").write_bytes((prj / "keras" / "model.h5").read_bytes()[:4096])
    shutil.copytree(prj, ws / "prj_edited")
    edited = ws / "prj_edited" / "firmware" / "parameters.h"
    edited.write_text(edited.read_text() + "// my edit\n")


def _damaged_checkpoints(ws: Path) -> None:
    def copy(name):
        shutil.copytree(CKPT, ws / name)
        return ws / name

    (copy("ckpt_badyaml") / "checkpoint.yaml").write_text("format: [unclosed\n")
    (copy("ckpt_noweights") / "weights.h5").unlink()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """{name: path} of every input the bad-input table refers to."""
    ws = tmp_path_factory.mktemp("cli_ws")
    done = run_entry_point(["generate", "--weights", CKPT, "--samples", "2", "--board", "pynq-z2",
                            "--out", ws / "prj"], cwd=ws)
    assert done.returncode == 0, done.stderr
    (ws / "generate.stderr").write_text(done.stderr)
    (ws / "dir").mkdir()
    (ws / "notproj").mkdir()
    (ws / "notproj" / "my_notes.txt").write_text("mine\n")
    (ws / "afile.txt").write_text("a file, not a folder\n")
    (ws / "bad.yaml").write_text("model: [unclosed\n  : :\n")
    (ws / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (ws / "list.yaml").write_text("- attendnet-tiny\n- zcu104\n")
    (ws / "empty.yaml").write_text("")
    _configs(ws)
    _specs(ws)
    _damaged_projects(ws, ws / "prj")
    _damaged_checkpoints(ws)
    return ws


@pytest.fixture(scope="session")
def workspace_state(workspace):
    """The workspace as built: no bad-input case may change it."""
    return snapshot(workspace)
