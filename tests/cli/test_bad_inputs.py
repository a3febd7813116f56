"""Hostile input, every subcommand: one clear line, the right exit status, no traceback, nothing lost.

Each row: the command (``{ws}`` is the shared workspace of conftest.py, ``{out}`` a fresh folder
for the case, ``{ckpt}`` the shipped checkpoint), the exit status (2: bad input, 1: failure)
and words the error line must contain.  Every case also checks that the workspace (a generated
project, damaged copies of it, configs, specs, checkpoints, a folder that is not a project) is
untouched and that no staging folder is left behind.
"""
import shlex
from pathlib import Path

import pytest

from cli_helpers import CKPT, snapshot

from hw.cli import main

G = "generate attendnet-tiny --out {out}/p"      # a valid generate, to which one bad option is added
CASES = [
    # ---------------------------------------------------------------- generate: option ranges (defect 11)
    (G + " --clock-ns inf", 2, ["--clock-ns", "inf", "0.5", "1000"]),
    (G + " --clock-ns nan", 2, ["--clock-ns", "nan"]),
    (G + " --clock-ns 0", 2, ["--clock-ns", "got 0"]),
    (G + " --clock-ns -1", 2, ["--clock-ns", "-1"]),
    (G + " --clock-ns fast", 2, ["--clock-ns", "fast"]),
    (G + " --clock-ns 1e9", 2, ["--clock-ns", "1000"]),
    (G + " --reuse 0", 2, ["--reuse", "got 0"]),
    (G + " --reuse -4", 2, ["--reuse", "-4"]),
    (G + " --reuse 2.5", 2, ["--reuse", "integer", "2.5"]),
    (G + " --reuse 99999999", 2, ["--reuse", "1048576"]),
    (G + " --classes 0", 2, ["--classes", "got 0"]),
    (G + " --classes -1", 2, ["--classes", "-1"]),
    (G + " --classes 100000000", 2, ["--classes", "100000"]),
    (G + " --classes ten", 2, ["--classes", "ten"]),
    (G + " --samples -1", 2, ["--samples", "-1"]),
    (G + " --samples 0", 2, ["--samples", "got 0"]),
    (G + " --samples 1000000", 2, ["--samples", "10000"]),
    (G + " --seed -1", 2, ["--seed", "-1"]),
    (G + " --seed 4294967296", 2, ["--seed", "4294967295"]),
    (G + " --seed x", 2, ["--seed", "'x'"]),
    (G + " --input-shape 32x32", 2, ["--input-shape", "H,W,C", "32x32"]),
    (G + " --input-shape 32,32", 2, ["--input-shape", "H,W,C", "32,32"]),
    (G + " --input-shape 32,32,3,1", 2, ["--input-shape", "32,32,3,1"]),
    (G + " --input-shape 0,32,3", 2, ["--input-shape", "0,32,3"]),
    (G + " --input-shape=-32,32,3", 2, ["--input-shape", "-32,32,3"]),
    (G + " --input-shape 100000,32,3", 2, ["--input-shape", "100000"]),
    (G + " --input-shape a,b,c", 2, ["--input-shape", "a,b,c"]),
    (G + " --input-shape ''", 2, ["--input-shape"]),
    (G + " --board zc706", 2, ["--board", "zc706", "zcu104"]),
    (G + " --backend quartus", 2, ["--backend", "quartus"]),
    (G + " --io axi", 2, ["--io", "axi"]),
    (G + " --strategy fastest", 2, ["--strategy", "fastest"]),
    (G + " --project-name 1abc", 2, ["--project-name", "identifier", "1abc"]),
    (G + " --project-name my-net", 2, ["--project-name", "my-net"]),
    (G + " --project-name ''", 2, ["--project-name"]),
    (G + " --reuse", 2, ["--reuse", "expected one argument"]),
    (G + " --bogus", 2, ["unrecognized", "--bogus"]),
    # ---------------------------------------------------------------- generate: the model (defects 9, 12)
    ("generate --out {out}/p", 2, ["no model", "--weights", "--config"]),
    ("generate nosuch-model --out {out}/p", 2, ["unknown model", "nosuch-model", "attendnet-tiny"]),
    ("generate {ws}/dir --out {out}/p", 2, ["dir", "is a folder", "spec"]),
    ("generate {ws}/missing.yaml --out {out}/p", 2, ["missing.yaml", "no such spec file"]),
    ("generate {ws}/bad.yaml --out {out}/p", 2, ["bad.yaml", "not valid YAML"]),
    ("generate {ws}/binary.yaml --out {out}/p", 2, ["binary.yaml", "not a text file"]),
    ("generate {ws}/list.yaml --out {out}/p", 2, ["list.yaml", "mapping"]),
    ("generate {ws}/empty.yaml --out {out}/p", 2, ["empty.yaml", "mapping"]),
    ("generate {ws}/spec_empty_stages.yaml --out {out}/p", 2, ["spec_empty_stages.yaml", "stages"]),
    ("generate {ws}/spec_unknown_kind.yaml --out {out}/p", 2, ["spec_unknown_kind.yaml", "transformer"]),
    ("generate {ws}/spec_neg_filters.yaml --out {out}/p", 2, ["spec_neg_filters.yaml", "filters", "-8"]),
    ("generate {ws}/spec_no_name.yaml --out {out}/p", 2, ["spec_no_name.yaml", "name"]),
    ("generate mobilenet-v1 --weights {ckpt} --out {out}/p", 2, ["mobilenet-v1", "conflicts", "attendnet-tiny",
                                                                 "omit the model"]),
    ("generate {ws}/spec_neg_filters.yaml --weights {ckpt} --out {out}/p", 2, ["spec_neg_filters.yaml", "filters"]),
    ("generate --weights {ckpt} --classes 5 --out {out}/p", 2, ["--classes", "5", "10 classes"]),
    ("generate attendnet-tiny --weights {ckpt} --classes 50 --out {out}/p", 2, ["--classes", "50", "10 classes"]),
    ("generate --weights {ckpt} --input-shape 16,16,3 --out {out}/p", 2, ["--input-shape", "16,16,3", "32,32,3"]),
    ("generate --weights {ws}/no_such_ckpt --out {out}/p", 2, ["no_such_ckpt", "no such checkpoint"]),
    ("generate --weights {ws}/dir --out {out}/p", 2, ["checkpoint.yaml", "not a checkpoint"]),
    ("generate --weights {ws}/afile.txt --out {out}/p", 2, ["afile.txt", "checkpoint"]),
    ("generate --weights {ws}/ckpt_badyaml --out {out}/p", 2, ["ckpt_badyaml", "checkpoint.yaml", "YAML"]),
    ("generate --weights {ws}/ckpt_noweights --out {out}/p", 2, ["ckpt_noweights", "weights.h5", "missing"]),
    # ---------------------------------------------------------------- generate --config (defects 11, 12)
    ("generate --config {ws}/dir", 2, ["dir", "is a folder", "build config"]),
    ("generate --config {ws}/missing.yaml", 2, ["missing.yaml", "no such build config"]),
    ("generate --config {ws}/bad.yaml", 2, ["bad.yaml", "not valid YAML"]),
    ("generate --config {ws}/binary.yaml", 2, ["binary.yaml", "not a text file"]),
    ("generate --config {ws}/list.yaml", 2, ["list.yaml", "mapping"]),
    ("generate --config {ws}/empty.yaml", 2, ["empty.yaml", "mapping"]),
    ("generate --config {ws}/cfg_no_model.yaml --out {out}/p", 2, ["cfg_no_model.yaml", "model"]),
    ("generate --config {ws}/cfg_model_empty.yaml --out {out}/p", 2, ["cfg_model_empty.yaml", "'model'"]),
    ("generate --config {ws}/cfg_layers_list.yaml --out {out}/p", 2, ["cfg_layers_list.yaml", "'layers'",
                                                                      "mapping", "list"]),
    ("generate --config {ws}/cfg_layer_scalar.yaml --out {out}/p", 2, ["layers.s00_conv", "mapping"]),
    ("generate --config {ws}/cfg_layer_unknown_key.yaml --out {out}/p", 2, ["layers.s00_conv", "reuse_factor"]),
    ("generate --config {ws}/cfg_layer_misspelt.yaml --out {out}/p", 2, ["layers.s01_vac_mx", "s01_vac_mix"]),
    ("generate --config {ws}/cfg_layer_reuse0.yaml --out {out}/p", 2, ["layers.s00_conv.reuse", "got 0"]),
    ("generate --config {ws}/cfg_layer_strategy.yaml --out {out}/p", 2, ["layers.s00_conv.strategy", "fastest"]),
    ("generate --config {ws}/cfg_precision_bad.yaml --out {out}/p", 2, ["layers.s00_conv.precision.result",
                                                                        "float"]),
    ("generate --config {ws}/cfg_precision_key.yaml --out {out}/p", 2, ["precision.accumulator", "unknown key"]),
    ("generate --config {ws}/cfg_precision_wide.yaml --out {out}/p", 2, ["precision.result", "1024"]),
    ("generate --config {ws}/cfg_precision_list.yaml --out {out}/p", 2, ["layers.s00_conv.precision", "mapping"]),
    ("generate --config {ws}/cfg_reuse0.yaml --out {out}/p", 2, ["cfg_reuse0.yaml", "'reuse'", "got 0"]),
    ("generate --config {ws}/cfg_reuse_bool.yaml --out {out}/p", 2, ["'reuse'", "True"]),
    ("generate --config {ws}/cfg_reuse_str.yaml --out {out}/p", 2, ["'reuse'", "'4'"]),
    ("generate --config {ws}/cfg_clock_str.yaml --out {out}/p", 2, ["'clock_ns'", "fast"]),
    ("generate --config {ws}/cfg_clock_inf.yaml --out {out}/p", 2, ["'clock_ns'", "inf"]),
    ("generate --config {ws}/cfg_clock_nan.yaml --out {out}/p", 2, ["'clock_ns'", "nan"]),
    ("generate --config {ws}/cfg_clock_zero.yaml --out {out}/p", 2, ["'clock_ns'", "got 0"]),
    ("generate --config {ws}/cfg_shape_str.yaml --out {out}/p", 2, ["'input_shape'", "32,32,3"]),
    ("generate --config {ws}/cfg_shape_int.yaml --out {out}/p", 2, ["'input_shape'", "got 32"]),
    ("generate --config {ws}/cfg_shape_two.yaml --out {out}/p", 2, ["'input_shape'", "[32, 32]"]),
    ("generate --config {ws}/cfg_shape_huge.yaml --out {out}/p", 2, ["'input_shape'", "4096"]),
    ("generate --config {ws}/cfg_bad_board.yaml --out {out}/p", 2, ["'board'", "zc706", "zcu104"]),
    ("generate --config {ws}/cfg_bad_backend.yaml --out {out}/p", 2, ["'backend'", "quartus"]),
    ("generate --config {ws}/cfg_bad_io.yaml --out {out}/p", 2, ["'io'", "axi"]),
    ("generate --config {ws}/cfg_bad_strategy.yaml --out {out}/p", 2, ["'strategy'", "fastest"]),
    ("generate --config {ws}/cfg_unknown_field.yaml --out {out}/p", 2, ["unknown field", "reuse_factor"]),
    ("generate --config {ws}/cfg_project_name.yaml --out {out}/p", 2, ["'project_name'", "1abc"]),
    ("generate --config {ws}/cfg_samples_big.yaml --out {out}/p", 2, ["'samples'", "1000000"]),
    ("generate --config {ws}/cfg_samples_neg.yaml --out {out}/p", 2, ["'samples'", "-1"]),
    ("generate --config {ws}/cfg_classes0.yaml --out {out}/p", 2, ["'classes'", "got 0"]),
    ("generate --config {ws}/cfg_classes_huge.yaml --out {out}/p", 2, ["'classes'", "100000000"]),
    ("generate --config {ws}/cfg_seed_neg.yaml --out {out}/p", 2, ["'seed'", "-1"]),
    ("generate --config {ws}/cfg_seed_float.yaml --out {out}/p", 2, ["'seed'", "1.5"]),
    ("generate --config {ws}/cfg_weights_missing.yaml --out {out}/p", 2, ["no_such_checkpoint"]),
    ("generate --config {ws}/cfg_reuse0.yaml --reuse 0 --out {out}/p", 2, ["--reuse", "got 0"]),
    # ---------------------------------------------------------------- generate --out (defects 8, 12)
    ("generate attendnet-tiny --out {ws}/notproj", 1, ["notproj", "not a project", "my_notes.txt"]),
    ("generate attendnet-tiny --out {ws}/notproj --force", 1, ["notproj", "never replaced", "--force"]),
    ("generate attendnet-tiny --out {ws}", 1, ["not a project", "never replaced"]),
    ("generate attendnet-tiny --out {ws}/afile.txt", 1, ["afile.txt", "is a file"]),
    ("generate attendnet-tiny --out {ws}/afile.txt/sub", 1, ["afile.txt", "cannot write"]),
    ("generate attendnet-tiny --out /sys/attendnets-project", 1, ["/sys", "cannot write"]),
    ("generate --weights {ckpt} --samples 2 --board pynq-z2 --out {ws}/prj_edited", 1,
     ["prj_edited", "edited", "1 generated file: firmware/parameters.h", "--force"]),
    # ---------------------------------------------------------------- models
    ("models nosuch-model", 2, ["unknown model", "nosuch-model"]),
    ("models {ws}/dir", 2, ["dir", "is a folder"]),
    ("models {ws}/bad.yaml", 2, ["bad.yaml", "not valid YAML"]),
    ("models {ws}/binary.yaml", 2, ["binary.yaml", "not a text file"]),
    ("models {ws}/spec_unknown_kind.yaml", 2, ["transformer"]),
    ("models --bogus", 2, ["unrecognized", "--bogus"]),
    # ---------------------------------------------------------------- csim (reading projects: defect 12)
    ("csim", 2, ["project", "required"]),
    ("csim {ws}/no_such_project", 2, ["no_such_project", "no such project"]),
    ("csim {ws}/afile.txt", 2, ["afile.txt"]),
    ("csim {ws}/notproj", 2, ["notproj", "not an attendnets project"]),
    ("csim {ws}/prj_badyaml", 2, ["prj_badyaml/attendnets.yaml", "YAML"]),
    ("csim {ws}/prj_notmap", 2, ["prj_notmap/attendnets.yaml", "attendnets_project"]),
    ("csim {ws}/prj_nokey", 2, ["prj_nokey/attendnets.yaml", "project_name"]),
    ("csim {ws}/prj --watchdog-s 0.0001", 2, ["--watchdog-s", "0.0001"]),
    ("csim {ws}/prj_badbuild", 2, ["prj_badbuild/attendnets.yaml", "build", "'reuse'"]),
    ("csim {ws}/prj_badh5", 2, ["prj_badh5/keras/model.h5", "not an HDF5 file"]),
    ("csim {ws}/prj_noh5", 2, ["prj_noh5/keras/model.h5", "missing"]),
    pytest.param("csim {ws}/prj_cut_h5", 2, ["prj_cut_h5/keras/model.h5", "cannot be loaded"]),
    ("csim {ws}/prj --samples -1", 2, ["--samples", "-1"]),
    ("csim {ws}/prj --samples 0", 2, ["--samples", "0"]),
    ("csim {ws}/prj --samples many", 2, ["--samples", "many"]),
    ("csim {ws}/prj --jobs 0", 2, ["--jobs", "0"]),
    ("csim {ws}/prj --modes bogus", 2, ["--modes", "bogus"]),
    # ---------------------------------------------------------------- train, eval (options owned by qmodels.train)
    ("train attendnet-tiny --dataset digits --epochs -1 --out {out}/t", 2, ["--epochs", "-1"]),
    ("train attendnet-tiny --dataset digits --epochs 0 --out {out}/t", 2, ["--epochs", "0"]),
    ("train attendnet-tiny --dataset digits --batch-size 0 --out {out}/t", 2, ["--batch-size", "0"]),
    ("train attendnet-tiny --dataset digits --lr nan --out {out}/t", 2, ["--lr", "nan"]),
    ("train attendnet-tiny --dataset digits --lr -1 --out {out}/t", 2, ["--lr", "-1"]),
    ("train attendnet-tiny --dataset digits --float-epochs -1 --out {out}/t", 2, ["--float-epochs", "-1"]),
    ("train attendnet-tiny --dataset digits --input-size 0 --out {out}/t", 2, ["--input-size", "0"]),
    ("train attendnet-tiny --dataset digits --seed -1 --out {out}/t", 2, ["--seed", "-1"]),
    ("train attendnet-tiny --out {out}/t", 2, ["--data", "--dataset", "required"]),
    ("train attendnet-tiny --dataset imagenet --out {out}/t", 2, ["--dataset", "imagenet"]),
    ("train attendnet-tiny --data {ws}/no_such_data --out {out}/t", 2, ["no_such_data"]),
    ("train attendnet-tiny --data {ws}/dir --out {out}/t", 2, ["dir/train"]),
    ("eval attendnet-tiny --weights {ws}/no_such_ckpt", 2, ["no_such_ckpt", "checkpoint"]),
    ("eval mobilenet-v1 --weights {ckpt}", 2, ["mobilenet-v1", "attendnet-tiny"]),
    ("eval attendnet-tiny --weights {ckpt} --batch-size 0", 2, ["--batch-size", "0"]),
    ("eval attendnet-tiny", 2, ["--weights", "required"]),
    ("eval attendnet-tiny --weights {ws}/ckpt_badyaml", 2, ["ckpt_badyaml", "checkpoint.yaml"]),
    # ---------------------------------------------------------------- bench
    ("bench --images 0", 2, ["--images", "0"]),
    ("bench --repeat -1", 2, ["--repeat", "-1"]),
    ("bench --jobs 0", 2, ["--jobs", "0"]),
    ("bench --jobs 5000", 2, ["--jobs", "5000", "1024"]),
    ("bench --repeat 1000", 2, ["--repeat", "1000", "100"]),
    ("bench --board zc706", 2, ["--board", "zc706"]),
    ("bench --io axi", 2, ["--io", "axi"]),
    ("bench nosuch-model --images 1 --repeat 1 --jobs 1", 2, ["unknown model", "nosuch-model"]),
    # ---------------------------------------------------------------- table1, report, plan, compare, sweep, build, deploy
    ("table1 --seeds 0 --out {out}/t", 2, ["--seeds", "0"]),
    ("table1 --seeds 21 --out {out}/t", 2, ["--seeds", "21"]),
    ("table1 --epochs -1 --out {out}/t", 2, ["--epochs", "-1"]),
    ("table1 --batch-size 0 --out {out}/t", 2, ["--batch-size", "0"]),
    ("table1 --lr inf --out {out}/t", 2, ["--lr", "inf"]),
    ("table1 --train-images 0 --out {out}/t", 2, ["--train-images", "0"]),
    ("table1 --models nosuch-model --collect-only --out {out}/t", 2, ["unknown model", "nosuch-model"]),
    ("report {ws}/no_such_project", 2, ["no_such_project", "no such project"]),
    ("report {ws}/afile.txt", 2, ["afile.txt"]),
    ("report {ws}/dir", 2, ["dir", "not an attendnets project"]),
    ("report {ws}/prj_badyaml", 2, ["prj_badyaml/attendnets.yaml", "YAML"]),
    pytest.param("report {ws}/prj_cut_h5", 2, ["prj_cut_h5/keras/model.h5", "cannot be loaded"]),
    ("report {ws}/prj --format pdf", 2, ["--format", "pdf"]),
    ("report {ws}/prj --out /sys/report.md", 1, ["/sys/report.md"]),
    ("plan attendnet-tiny --board zcu104 --budget 0", 2, ["--budget", "0"]),
    ("plan attendnet-tiny --board zcu104 --budget nan", 2, ["--budget", "nan"]),
    ("plan attendnet-tiny --board zcu104 --target-fps -1", 2, ["--target-fps", "-1"]),
    ("plan attendnet-tiny --board zcu104 --input-shape 32x32", 2, ["--input-shape", "32x32"]),
    ("plan {ws}/dir --board zcu104", 2, ["dir", "folder"]),
    ("plan attendnet-tiny --board zcu104 --clock-ns inf", 2, ["--clock-ns", "inf", "0.5", "1000"]),
    ("plan nosuch-model --board zcu104", 2, ["unknown model", "nosuch-model"]),
    ("plan attendnet-tiny", 2, ["--board", "required"]),
    ("plan attendnet-tiny --board zc706", 2, ["--board", "zc706"]),
    ("compare", 2, ["--board", "required"]),
    ("compare --board zc706", 2, ["--board", "zc706"]),
    ("compare --board zcu104 --format pdf", 2, ["--format", "pdf"]),
    ("sweep --cases 0 --out {out}/s", 2, ["--cases", "0"]),
    ("sweep --cases -1 --out {out}/s", 2, ["--cases", "-1"]),
    ("sweep --jobs 0 --out {out}/s", 2, ["--jobs", "0"]),
    ("sweep --seed 4294967296 --out {out}/s", 2, ["--seed", "4294967296"]),
    ("plan attendnet-tiny --board zcu104 --target-fps 1e10", 2, ["--target-fps", "1e10"]),
    ("build {ws}/no_such_project", 2, ["no_such_project", "accelerator.yaml"]),
    ("build {ws}/dir", 2, ["dir/accelerator.yaml", "not a project"]),
    ("build {ws}/afile.txt", 2, ["afile.txt"]),
    ("build {ws}/prj --jobs 0", 2, ["--jobs", "0"]),
    ("build {ws}/prj --jobs 2000", 2, ["--jobs", "2000", "1024"]),
    ("build {ws}/prj --synth --bitstream", 2, ["--bitstream", "--synth"]),
    ("deploy {ws}/no_such_project --sim", 2, ["no_such_project"]),
    ("deploy {ws}/dir --sim", 2, ["dir/accelerator.yaml"]),
    ("deploy {ws}/prj", 2, ["--board-host", "--sim"]),
    ("deploy {ws}/prj --board-host pynq --dry-run", 2, ["no bitstream", "--sim"]),
    ("deploy {ws}/prj --board-host pynq --port 0", 2, ["--port", "1 to 65535", "'0'"]),
    ("deploy {ws}/prj --board-host pynq --port ssh", 2, ["--port", "1 to 65535", "'ssh'"]),
    # ---------------------------------------------------------------- the command itself
    ("", 2, ["COMMAND", "required"]),
    ("nosuch", 2, ["invalid choice", "nosuch"]),
    ("--bogus models", 2, ["unrecognized", "--bogus"]),
]


def _case_id(case) -> str:
    command = case.values[0] if hasattr(case, "values") else case[0]
    return command.replace("{ws}/", "").replace("{out}/", "").replace("{ckpt}", "CKPT")[:70] or "(nothing)"


@pytest.mark.parametrize("command, status, words", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input(command, status, words, workspace, workspace_state, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # a default --out would land here, not in the repository
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    argv = [a.format(ws=workspace, out=out, ckpt=CKPT) for a in shlex.split(command)]
    assert main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected" not in err, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith("attendnets"), err
    missing = [w for w in words if w.lower() not in errors[0].lower()]
    assert not missing, f"{missing} not in: {errors[0]}"
    assert snapshot(workspace) == workspace_state, "the command changed the workspace"
    assert sorted(p.name for p in out.iterdir()) == [], "the command left files behind"
    assert not list(workspace.glob(".*staging*")) and not list(Path("/sys").glob(".attendnets*"))


def test_the_table_is_large_enough():
    assert len(CASES) >= 100
