"""The random sweep: reproducible valid cases, and one case run end to end."""
import json
from pathlib import Path

import yaml

from hw.sim import sweep
from hw.sim.sweep_cases import random_case
from qmodels.fixed import Fixed
from qmodels.spec import parse_spec


def test_cases_are_reproducible_and_valid_and_cover_the_space():
    cases = [random_case(7, i) for i in range(300)]
    assert cases[5] == random_case(7, 5) and cases[5] != random_case(8, 5)
    formats = [Fixed.parse(v) for c in cases for v in c["spec"].get("quantization", {}).values()]
    for case in cases:
        parse_spec(case["spec"], source=case["name"])  # raises SpecError on an invalid spec
    assert {f.width for f in formats} == set(range(2, 17))
    assert {f.signed for f in formats} == {True, False}
    assert min(f.integer for f in formats if f.signed) == 1 and min(f.integer for f in formats if not f.signed) == 0
    scales = [Fixed.parse(c["spec"]["quantization"]["scale"]) for c in cases if "scale" in c["spec"].get("quantization", {})]
    assert min(s.max for s in scales) < 1 < max(s.max for s in scales)
    kinds = {next(iter(s)) for c in cases for s in c["spec"]["stages"]}
    assert kinds == {"conv", "vac", "pepe", "dwconv", "bottleneck", "maxpool", "global_avg_pool", "dense"}
    assert {c["spec"]["classes"] for c in cases} >= {1, 300}
    assert {c["build"]["io"] for c in cases} == {"stream", "parallel"}
    assert {c["build"]["backend"] for c in cases} == {"vitis", "vivado"}
    shapes = [c["spec"]["input_shape"] for c in cases]
    assert any(h != w for h, w, _ in shapes) and any(h % 2 for h, _, _ in shapes)
    groups = [s["vac"]["groups"] for c in cases for s in c["spec"]["stages"] if "vac" in s]
    assert max(groups) > 1
    assert any(s["vac"]["per_channel_scale"] for c in cases for s in c["spec"]["stages"] if "vac" in s)
    assert {c["build"]["multipliers"] for c in cases} == {"lut", "dsp", "packed", "mixed"}
    assert {c["build"]["board"] for c in cases} == {"zcu104", "pynq-z2"}
    assert {c["build"]["fuse_activations"] for c in cases} == {True, False}
    assert {c["build"]["folds"] for c in cases} == {True, False}


def test_multiplier_policies_resolve_to_valid_layer_choices(tmp_path):
    """'packed' where generation accepts it, else 'dsp'; 'mixed' draws among the valid ones."""
    index = next(i for i in range(300) if random_case(5, i)["build"]["multipliers"] == "packed"
                 and any("pepe" in s for s in random_case(5, i)["spec"]["stages"]))
    case = random_case(5, index)
    case["spec"].pop("quantization", None)     # the 8-bit default formats, which pack exactly
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(case["spec"]))
    cfg = sweep.case_config({**case, "seed": 5}, spec, index)
    chosen = {name: s.multiplier for name, s in cfg.layers.items()}
    assert "packed" in chosen.values(), chosen
    dw = [name for name in chosen if name.endswith("_dw")]
    assert all(chosen[name] == "dsp" for name in dw), chosen       # one channel a group: never packed
    cfg.validate()


def test_folds_resolve_to_folds_generation_accepts(tmp_path):
    """A case drawn with folds gets, on some convolutions, a reuse factor and a fold above 1 that
    divide each other and the layer's channels, with the layer's multiplier (whole packed pairs)
    and storage (a ROM or URAM: R / F divides the taps); over many cases every storage is drawn."""
    from hw.hls.layers.group_conv import check_fold, keras_geometry
    from hw.hls.ops import global_average
    from qmodels.build import build_model

    index = next(i for i in range(300) if random_case(5, i)["build"]["folds"]
                 and random_case(5, i)["build"]["multipliers"] != "lut")
    case = random_case(5, index)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(case["spec"]))
    cfg = sweep.case_config({**case, "seed": 5}, spec, index)
    folded = {name: s for name, s in cfg.layers.items() if s.fold}
    assert folded, cfg.layers
    model = build_model(str(spec), seed=cfg.seed, calibrate=False)
    for name, s in folded.items():
        layer = model.get_layer(name)
        if type(layer).__name__ == "GlobalAveragePooling2D":
            assert cfg.io == "stream" and s.reuse is None and s.fold > 1
            global_average.check_fold(name, int(layer.input_shape[-1]), s.fold)
            continue
        assert s.fold > 1 and s.strategy == "latency"
        check_fold(name, keras_geometry(layer), s.reuse, s.multiplier or "lut", s.fold, s.storage or "registers")
    cfg.validate()
    storages, gap_folds = set(), {"stream": 0, "parallel": 0}
    for i in range(40):
        case = random_case(5, i)
        if case["build"]["folds"]:
            spec.write_text(yaml.safe_dump(case["spec"]))
            cfg = sweep.case_config({**case, "seed": 5}, spec, i)
            storages |= {s.storage for s in cfg.layers.values() if s.fold}
            gap_folds[cfg.io] += sum(name.endswith("gap") for name, s in cfg.layers.items() if s.fold)
            assert "uram" not in {s.storage for s in cfg.layers.values()} or (cfg.io, cfg.board) == (
                "stream", "zcu104"), cfg    # URAM: loaded through the AXI top, on a part that has it
    assert storages == {None, "bram", "lutram", "uram"}, storages
    assert gap_folds["stream"] > 0 and gap_folds["parallel"] == 0, gap_folds   # an io_stream kernel only


def test_one_case_end_to_end_with_a_reproducible_record(tmp_path):
    index = next(i for i in range(200) if _small(random_case(3, i)))
    row = sweep.run_case(3, index, tmp_path)
    assert row["outcome"] in sweep.OUTCOMES
    spec = tmp_path / row["name"] / "spec.yaml"
    assert yaml.safe_load(spec.read_text()) == random_case(3, index)["spec"]
    if row["outcome"] == "exact":
        assert row["max_diff_lsb"] == 0 and row["keras_max_diff_lsb"] == 0
        assert not (tmp_path / row["name"] / "project").exists()
    else:
        assert "attendnets csim" in (tmp_path / row["name"] / "repro.sh").read_text()
        assert (tmp_path / row["name"] / "build.yaml").exists()
    (tmp_path / "results-0.jsonl").write_text(json.dumps(row) + "\n")
    summary = sweep.summarise(tmp_path)
    assert summary["cases"] == 1 and summary[row["outcome"]] == 1


def _small(case) -> bool:
    """A case that compiles quickly: io_stream, one body stage, a small image, few classes."""
    h, w, _ = case["spec"]["input_shape"]
    return (case["build"]["io"] == "stream" and len(case["spec"]["stages"]) <= 3 and h * w <= 120
            and case["spec"]["classes"] <= 40)


def test_a_case_recorded_twice_counts_once_with_its_worse_outcome(tmp_path):
    row = {"index": 4, "name": "c4", "spec": "c4/spec.yaml", "seconds": 1.0, "min_liveness": 0.5}
    (tmp_path / "results-0.jsonl").write_text(json.dumps({**row, "outcome": "exact"}) + "\n"
                                              + json.dumps({**row, "index": 5, "outcome": "exact"}) + "\n")
    (tmp_path / "results-1.jsonl").write_text(json.dumps({**row, "outcome": "csim-error", "error": "raced"}) + "\n")
    summary = sweep.summarise(tmp_path)
    assert summary["cases"] == 2 and summary["exact"] == 1 and summary["csim-error"] == 1


def test_a_worker_whose_sweep_is_gone_runs_no_case(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, sweep.PARENT_ENV: "0"}  # not its parent: as if the sweep had been killed
    done = subprocess.run([sys.executable, "-m", "hw.sim.sweep", "--worker", "3", str(tmp_path), "0", "1", "5"],
                          env=env, cwd=Path(sweep.__file__).resolve().parents[2], timeout=120)
    assert done.returncode == 1 and not (tmp_path / "results-0.jsonl").read_text()


def test_a_second_sweep_on_the_same_folder_is_refused_while_the_first_runs(tmp_path, capsys):
    import os

    from hw.cli import main

    with sweep._only_run(tmp_path):  # as a running sweep holds it
        assert main(["sweep", "--cases", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"another sweep is running in it (pid {os.getpid()})" in err and len(err.splitlines()) == 1
    assert not list(tmp_path.glob("results-*.jsonl"))  # nothing ran
