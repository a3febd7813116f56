"""A workspace of bad inputs, built once per session around one small generated project.

The project is attendnet-tiny from the shipped checkpoint (32x32, 2 test-bench images),
generated through the real entry point in a subprocess: that run also proves the command
prints no third-party warnings.  Damaged copies of it (attendnets.yaml, keras/model.h5,
edited firmware) and damaged checkpoints, configs and specs sit beside it.
"""
import os
import shutil
from pathlib import Path

import pytest
import yaml
from cli_helpers import CKPT, run_entry_point, snapshot

GOOD_CONFIG = {"model": "attendnet-tiny", "input_shape": [16, 16, 3], "samples": 2}
# a billion laughs: nine levels of ten aliases each, 10^9 nodes once expanded, a few hundred bytes as written
BOMB = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def _configs(ws: Path) -> None:
    bad = {
        "layers_list": {"layers": ["s00_conv", "s01_vac_mix"]},
        "layer_scalar": {"layers": {"s00_conv": 4}},
        "layer_unknown_key": {"layers": {"s00_conv": {"reuse_factor": 4}}},
        "layer_misspelt": {"layers": {"s01_vac_mx": {"reuse": 2}}},
        "layer_gap_fold": {"layers": {"s05_gap": {"fold": 5}}},           # 32 channels: refused at generation
        "layer_conv_fold": {"layers": {"s04_pepe_expand": {"fold": 5}}},  # 32 output channels, likewise
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
    precision = {"bogus_round": "ap_fixed<8,3,AP_BOGUS>", "bogus_sat": "ap_fixed<8,3,AP_RND,AP_FOO>",
                 "lower_mode": "ap_fixed<8,3,ap_rnd>", "sat_bits": "ap_fixed<8,3,AP_RND,AP_SAT,99>",
                 "six_args": "ap_fixed<8,3,AP_RND,AP_SAT,1,2>", "int_two": "ap_int<8,3>", "width0": "ap_fixed<0,3>",
                 "one_arg": "ap_fixed<8>", "empty_mode": "ap_fixed<8,3,>", "huge_int": "ap_fixed<8,99999>",
                 "number": 16, "ac_fixed": "ac_fixed<8,3>", "float_w": "ap_fixed<8.5,3>",
                 "nested": "ap_fixed<ap_int<8>,3>"}
    for name, value in precision.items():
        bad[f"prec_{name}"] = {"layers": {"s00_conv": {"precision": {"result": value}}}}
    bad["prec_accum_mode"] = {"layers": {"s00_conv": {"precision": {"accum": "ap_fixed<20,8,AP_TRN,AP_WRAPPED>"}}}}
    for name, fields in bad.items():
        (ws / f"cfg_{name}.yaml").write_text(yaml.safe_dump({**GOOD_CONFIG, **fields}))
    (ws / "cfg_no_model.yaml").write_text(yaml.safe_dump({"board": "zcu104"}))
    strict = {"dup": "model: attendnet-tiny\nreuse: 64\nreuse: 1\n",
              "dup_layer": "model: attendnet-tiny\nlayers:\n  s00_conv: {reuse: 2}\n  s00_conv: {reuse: 4}\n",
              "dup_flow": "{model: attendnet-tiny, board: zcu104, board: kv260}\n",
              "dup_bool": "model: attendnet-tiny\nfuse_activations: yes\nfuse_activations: no\n",
              "bomb": "model: attendnet-tiny\n" + BOMB, "recursive": "model: attendnet-tiny\nx: &a [*a]\n",
              "deep": "model: attendnet-tiny\nx: " + "[" * 50_000 + "]" * 50_000 + "\n",
              "tab": "model: attendnet-tiny\n\treuse: 2\n", "anchor_undefined": "model: *nothing\n",
              "two_docs": "model: attendnet-tiny\n---\nmodel: mobilenet-v1\n",
              "python_tag": "model: !!python/object/apply:os.system ['true']\n"}
    for name, text in strict.items():
        (ws / f"cfg_{name}.yaml").write_text(text)


def _spec(stages, name="s", shape=(8, 8, 3), classes=3, extra="") -> str:
    return yaml.safe_dump({"name": name, "input_shape": list(shape), "classes": classes,
                           "stages": stages + [{"global_avg_pool": {}}]}, sort_keys=False) + extra


def _specs(ws: Path) -> None:
    conv = [{"conv": {"filters": 4}}]
    specs = {
        "dup": "name: s\nname: t\nstages:\n  - conv: {filters: 4}\n  - global_avg_pool: {}\n",
        "dup_stage": "name: s\nstages:\n  - conv: {filters: 4, filters: 8}\n  - global_avg_pool: {}\n",
        "bomb": _spec(conv, extra=BOMB.replace("a:", "description:", 1)),
        "long_name": _spec(conv, name="attendnet-" * 30), "name_65": _spec(conv, name="n" * 65),
        "name_space": _spec(conv, name="my net"), "name_slash": _spec(conv, name="../../etc/net"),
        "name_digit": _spec(conv, name="2net"), "name_int": _spec(conv, name=42), "name_empty": _spec(conv, name=""),
        "name_dot": _spec(conv, name="net.v2"), "name_unicode": _spec(conv, name="r\u00e9seau"),
        "name_list": _spec(conv, name=["a"]),
        "vac_1x1": _spec([{"conv": {"filters": 4, "kernel": 1}}, {"vac": {"mix": 4, "embed": 4}}], shape=(1, 1, 3)),
        "stride_big": _spec([{"conv": {"filters": 4, "stride": 9}}], shape=(3, 3, 2)),
        "stride_huge": _spec([{"conv": {"filters": 4, "stride": 10 ** 12}}]),
        "kernel_big": _spec([{"conv": {"filters": 4, "kernel": 33}}]),
        "kernel_even": _spec([{"dwconv": {"kernel": 4}}]),
        "filters_huge": _spec([{"conv": {"filters": 10 ** 9}}]),
        "mult_huge": _spec([{"dwconv": {"multiplier": 10 ** 8}}]),
        "expansion_huge": _spec([{"bottleneck": {"out": 8, "expansion": 65}}]),
        "units_huge": _spec([{"conv": {"filters": 8}}]).replace(
            "- global_avg_pool: {}\n", "- global_avg_pool: {}\n- dense: {units: 100000}\n"),
        "layer_huge": _spec([{"conv": {"filters": 4096}}, {"conv": {"filters": 4096, "kernel": 31}}]),
        "classes_huge": _spec(conv, classes=10 ** 8),
        "shape_huge": _spec(conv, shape=(100000, 100000, 3)),
        "channels0": _spec(conv, shape=(8, 8, 0)),
        "filters0": _spec([{"conv": {"filters": 0}}]),
        "groups_bad": _spec([{"conv": {"filters": 6, "groups": 4}}]),
        "quant_mode": _spec(conv) + "quantization: {weight: 'fixed<8,1,AP_RND>'}\n",
        "quant_ap_int": _spec(conv) + "quantization: {weight: 'ap_int<8>'}\n",
        "quant_bogus": _spec(conv) + "quantization: {activation: 'ufixed<8,2,AP_BOGUS,AP_SAT>'}\n",
        "quant_wide": _spec(conv) + "quantization: {weight: 'fixed<65,1>'}\n",
    }
    for name, text in specs.items():
        (ws / f"spec_{name}.yaml").write_text(text)
    (ws / "spec_empty_stages.yaml").write_text("name: s\nstages: []\n")
    (ws / "spec_unknown_kind.yaml").write_text("name: s\nstages:\n  - transformer: {heads: 4}\n")
    (ws / "spec_neg_filters.yaml").write_text("name: s\nstages:\n  - conv: {filters: -8}\n  - global_avg_pool: {}\n")
    (ws / "spec_no_name.yaml").write_text("stages:\n  - conv: {filters: 8}\n  - global_avg_pool: {}\n")


def _damaged_projects(ws: Path, prj: Path) -> None:
    def copy(name):  # what the commands read before anything else: the resolved config and the model
        (ws / name / "keras").mkdir(parents=True)
        for rel in ("attendnets.yaml", "keras/model.h5", "accelerator.yaml"):
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
    text = (prj / "attendnets.yaml").read_text()
    (copy("prj_dup") / "attendnets.yaml").write_text(text + "project_name: other_top\n")
    (copy("prj_bomb") / "attendnets.yaml").write_text(text + BOMB.replace("a:", "extra:", 1))
    (copy("prj_deep") / "attendnets.yaml").write_text(text + "extra: " + "[" * 50_000 + "]" * 50_000 + "\n")
    accelerator = (prj / "accelerator.yaml").read_text()
    fmt = yaml.safe_load(accelerator)["input"]["format"]
    for name, acc in {"acc_dup": accelerator + "top: other_axi\n",
                      "acc_bomb": accelerator + BOMB.replace("a:", "x:", 1),
                      "acc_mode": accelerator.replace(f"format: {fmt}", fmt.replace(">", ",AP_BOGUS>").join(
                          ["format: '", "'"]), 1),
                      "acc_int": accelerator.replace(f"format: {fmt}", "format: ap_uint<8>", 1),
                      "acc_top": accelerator.replace("\nproject: ", "\nproject: 'x; exec rm -rf ~'  # ", 1)}.items():
        (copy(f"prj_{name}") / "accelerator.yaml").write_text(acc)
    (copy("prj_badname") / "attendnets.yaml").write_text(text.replace("project_name: ", "project_name: ../../", 1))
    # the project record's fields (qmodels/project_record.py), each damaged once
    bad_io = {**resolved["io"], "input_type": resolved["io"]["input_type"].replace(">", ",BOGUS>")}
    for name, record in {"rec_newer": {**resolved, "attendnets_project": 2},
                         "rec_version": {**resolved, "attendnets_project": "one"},
                         "rec_io": {**resolved, "io": bad_io},
                         "rec_clock": {**resolved, "board": {**resolved["board"], "clock_ns": -5}},
                         "rec_fifo": {**resolved, "fifo_depths": {"layer2_out": 0}},
                         "rec_layers": {**resolved, "layers": [1, 2]},
                         "rec_reuse": {**resolved, "layers": {**resolved["layers"], "s00_conv": {"reuse_factor": "x"}}},
                         "rec_nofifo": {k: v for k, v in resolved.items() if k != "fifo_depths"},
                         "rec_tb": {**resolved, "testbench": {"samples": 3}}}.items():
        (copy(f"prj_{name}") / "attendnets.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    (copy("prj_xml_bomb") / "reports").mkdir()   # a billion laughs where report reads csynth.xml
    (ws / "prj_xml_bomb" / "reports" / "csynth.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY e0 "lol">\n' + "".join(
            f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">\n' for i in range(1, 10)) + ']>\n<profile>&e9;</profile>\n')
    shutil.copytree(prj, ws / "prj_edited")
    _damaged_tb_data(ws, prj)


def _damaged_tb_data(ws: Path, prj: Path) -> None:
    """Whole copies with one tb_data file damaged: csim and deploy read them before compiling anything."""
    inputs = (prj / "tb_data" / "tb_input_features.dat").read_text().splitlines()
    damage = {"tb_text": ("tb_input_features.dat", "a b c\n" + "\n".join(inputs[1:]) + "\n"),
              "tb_ragged": ("tb_input_features.dat", "\n".join([inputs[0], inputs[1].rsplit(" ", 1)[0], *inputs[2:]])),
              "tb_fewer": ("tb_output_predictions.dat", "\n".join(
                  (prj / "tb_data" / "tb_output_predictions.dat").read_text().splitlines()[1:]) + "\n"),
              "tb_width": ("tb_input_features.dat", "".join(" ".join(line.split()[:100]) + "\n" for line in inputs)),
              "tb_labels": ("tb_labels.dat", "1\nx\n"), "tb_empty": ("tb_input_features.dat", "")}
    for name, (file, text) in damage.items():
        shutil.copytree(prj, ws / f"prj_{name}", ignore=shutil.ignore_patterns("build"))
        (ws / f"prj_{name}" / "tb_data" / file).write_text(text)
    shutil.copytree(prj, ws / "prj_tb_missing", ignore=shutil.ignore_patterns("build"))
    (ws / "prj_tb_missing" / "tb_data" / "tb_output_predictions.dat").unlink()
    edited = ws / "prj_edited" / "firmware" / "parameters.h"
    edited.write_text(edited.read_text() + "// my edit\n")


def _damaged_checkpoints(ws: Path) -> None:
    def copy(name):
        shutil.copytree(CKPT, ws / name)
        return ws / name

    (copy("ckpt_badyaml") / "checkpoint.yaml").write_text("format: [unclosed\n")
    (copy("ckpt_noweights") / "weights.h5").unlink()
    text = (CKPT / "checkpoint.yaml").read_text()
    (copy("ckpt_dup") / "checkpoint.yaml").write_text(text + "model: mobilenet-v1\n")
    (copy("ckpt_bomb") / "checkpoint.yaml").write_text(text + BOMB.replace("a:", "extra:", 1))
    info = yaml.safe_load(text)
    info["spec"]["name"] = "attendnet-tiny-" * 20
    (copy("ckpt_longname") / "checkpoint.yaml").write_text(yaml.safe_dump(info, sort_keys=False))


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
    os.mkfifo(ws / "fifo.yaml")   # read_text would wait for a writer forever
    (ws / "big.yaml").write_text("model: attendnet-tiny\n" + "# padding\n" * (2 ** 24 // 10 + 1))
    _configs(ws)
    _specs(ws)
    _damaged_projects(ws, ws / "prj")
    _damaged_checkpoints(ws)
    return ws


@pytest.fixture(scope="session")
def workspace_state(workspace):
    """The workspace as built: no bad-input case may change it."""
    return snapshot(workspace)
