"""--scheduler for sweep and csim: the same work as Dask tasks on a real 2-worker LocalCluster
(reached by its loopback address, as a remote cluster would be), with the same results."""
import json

import pytest

from hw import cluster
from hw.cli import main
from hw.sim.csim import csim
from hw.sim.sweep_cases import random_case

SEED = 94  # case 0 of this sweep is small (io_stream, 5x8x3, a stem and a VAC): it compiles in seconds


@pytest.fixture(scope="module")
def scheduler():
    with cluster.dask_client(workers=2) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        yield client.scheduler.address


def test_sweep_runs_its_cases_on_the_cluster_and_resumes(scheduler, tmp_path, capsys):
    assert "vac" in [next(iter(s)) for s in random_case(SEED, 0)["spec"]["stages"]]
    out = tmp_path / "sweep"
    argv = ["sweep", "--cases", "1", "--seed", str(SEED), "--out", str(out), "--scheduler", scheduler, "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cases"] == 1 and summary["exact"] + summary["keras-differs"] == 1
    rows = (out / "results-dask.jsonl").read_text().splitlines()
    assert len(rows) == 1 and json.loads(rows[0])["name"] == f"sweep-s{SEED}-c0"
    assert main(argv) == 0  # done cases are skipped, not run again
    assert len((out / "results-dask.jsonl").read_text().splitlines()) == 1


def test_csim_slices_on_the_cluster_equal_the_local_run(scheduler, tiny_project):
    local = csim(tiny_project, modes=("emulation", "testbench"), jobs=2)
    remote = csim(tiny_project, modes=("emulation", "testbench"), jobs=2, scheduler=scheduler)
    assert remote["exact"] and remote["samples"] == local["samples"] == 3
    for mode in ("emulation", "testbench"):
        assert remote["modes"][mode]["jobs"] == 2
        assert remote["modes"][mode]["bit_exact_fraction"] == local["modes"][mode]["bit_exact_fraction"] == 1.0


@pytest.mark.parametrize("command", ["sweep", "csim"])
def test_an_unreachable_scheduler_is_one_line(command, tiny_project, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    argv = (["sweep", "--cases", "1", "--out", str(tmp_path / "o")] if command == "sweep"
            else ["csim", str(tiny_project)])
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:1: no Dask scheduler answered within 1 s" in err
    assert err.count("\n") == 1 and "Traceback" not in err, err


def test_a_malformed_address_is_a_usage_error(capsys):
    assert main(["sweep", "--scheduler", "localhost"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler: expected a Dask scheduler address like tcp://HOST:PORT, got 'localhost'" in err
