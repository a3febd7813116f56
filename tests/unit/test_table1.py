"""The small-scale Table 1: specs at equal cost, claims, resume, the table, JSON and chart."""
import argparse
import json
import os
import subprocess
import sys

import pytest

from qmodels import idx
from qmodels import table1 as T1
from qmodels.build import build_model
from qmodels.complexity import measure
from qmodels.train import read_info


def _cli(argv):
    parser = argparse.ArgumentParser()
    T1.add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_mobilenets_match_the_larger_attendnet_within_5_percent_and_fit_100k():
    cost = {net: measure(build_model(net, calibrate=False)) for net in T1.NETS}
    target = cost["fmnist-attendnet-a"].macs
    assert max(c.macs for c in cost.values()) == pytest.approx(target, rel=0.05)
    for net in ("fmnist-mobilenet-v1", "fmnist-mobilenet-v2"):
        assert abs(cost[net].macs / target - 1) <= 0.05, net
    assert cost["fmnist-attendnet-b"].macs < 0.5 * target  # the small one is the B of the pair
    assert all(c.params <= 100_000 and c.input_shape == (32, 32, 1) and c.classes == 10 for c in cost.values())


def test_claims_are_exclusive_and_taken_over_from_dead_processes(tmp_path):
    assert T1.claim(tmp_path, "net", 0)
    assert (tmp_path / "claims" / "net-seed0" / "pid").read_text().strip() == str(os.getpid())
    assert T1.claim(tmp_path, "net", 0)  # the same live process may take it again (a resumed loop)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "claims" / "net-seed0" / "pid").write_text(dead.stdout)
    assert T1.claim(tmp_path, "net", 0)  # its claimant is gone: taken over
    parent = os.getppid()
    (tmp_path / "claims" / "net-seed1").mkdir(parents=True)
    (tmp_path / "claims" / "net-seed1" / "pid").write_text(f"{parent}\n")
    assert not T1.claim(tmp_path, "net", 1)  # held by a live process
    (tmp_path / "claims" / "net-seed2").mkdir()
    assert not T1.claim(tmp_path, "net", 2)  # held, no pid recorded: left alone


def test_mean_and_sample_std():
    assert T1._mean_std([]) == (None, None)
    assert T1._mean_std([0.5]) == (0.5, 0.0)
    mean, std = T1._mean_std([0.80, 0.84, 0.88])
    assert mean == pytest.approx(0.84) and std == pytest.approx(0.04)


def test_table1_trains_resumes_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    data = idx.write_synthetic(tmp_path / "fm", train=40, val=20)
    out = tmp_path / "table"
    argv = ["table1", "--data-file", str(data), "--out", str(out), "--models", "fmnist-attendnet-b", "--seeds", "1",
            "--float-epochs", "1", "--epochs", "1", "--train-images", "32", "--batch-size", "32"]
    assert _cli(argv) == 0
    captured = capsys.readouterr()
    assert "[1/1] fmnist-attendnet-b seed 0: training" in captured.err
    assert "fmnist-attendnet-b" in captured.out and "1/1" in captured.out and "AttendNet-B" in captured.out
    assert "1 float epochs, then 1 QAT epochs" in captured.out
    result = json.loads((out / "table1.json").read_text())
    row = result["rows"][0]
    run = row["runs"][0]
    assert row["seeds_done"] == 1 and run["count"] == 20 and 0 <= run["top1"] <= 1 and 0 <= run["top1_float"] <= 1
    assert run["drop_top1"] == pytest.approx(run["top1"] - run["top1_float"])
    assert set(run["seconds_per_epoch"]) == {"float", "qat"}
    assert (out / "table1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [point[:2] for point in row["curves"][0]["points"]] == [[1, "float"], [2, "qat"]]  # the recipe validates
    assert row["curves"][0]["finished"] and (out / "table1-curve.png").read_bytes()[:4] == b"\x89PNG"
    dataset = read_info(out / "fmnist-attendnet-b" / "seed0")["dataset"]
    assert dataset["source"] == str(data) and "root" not in dataset  # a non-default IDX folder is recorded
    assert _cli(argv + ["--json"]) == 0  # resumed: nothing left to train
    again = capsys.readouterr()
    assert "seed 0: done" in again.err and json.loads(again.out)["rows"][0]["runs"] == row["runs"]


def test_table1_rejects_bad_options_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _cli(["table1", "--out", str(tmp_path / "t"), "--seeds", "0"])
    assert "--seeds: must be from 1 to 20, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no-such-net"):
        _cli(["table1", "--out", str(tmp_path / "t"), "--models", "no-such-net"])
    assert not (tmp_path / "t").exists()
