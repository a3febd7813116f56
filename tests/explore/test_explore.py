"""attendnets explore: the space makes only valid specs; a real SQLite study survives a run killed with its
2-worker LocalCluster, and the resumed run trains on another LocalCluster through --scheduler; the front is
written as specs, plans and a chart, and every member passes csim bit-exact; bad input fails in one line."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from hw import cluster
from hw.cli import main
from hw.config import BuildConfig
from hw.explore.price import Constraints
from hw.explore.space import MAX_BLOCKS, Space, sample, spec_from_params
from hw.explore.study import ExploreError, Request, open_study
from qmodels import idx
from qmodels.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
# a tiny space and proxy: one block of 4-8 channels, one QAT epoch on 16 synthetic images
TINY_SPACE = {"stem_filters": [4], "stem_stride": [2], "blocks": [1, 1], "kinds": ["pepe", "vac"], "widths": [4, 8],
              "outs": [8], "groups": [1, 2], "multipliers": [1], "strides": [2], "head": [0], "weight_bits": [8],
              "activation_bits": [8]}
TINY_PROXY = ["--proxy-epochs", "1", "--proxy-float-epochs", "0", "--proxy-images", "16", "--proxy-val", "20"]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))  # the workers inherit it
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(TINY_SPACE))
    return ["--dataset", "fashion-mnist", "--data-file", str(idx.write_synthetic(tmp_path / "fm", train=40, val=20)),
            "--space", str(space), *TINY_PROXY]


def _study(out: Path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name="explore", storage=f"sqlite:///{out / 'study.db'}")


def _complete(out: Path) -> dict:
    return {t.number: (t.params, t.values) for t in _study(out).get_trials(deepcopy=False)
            if t.state.name == "COMPLETE"}


def _complete_so_far(out: Path) -> dict:
    """What a running explore has finished; nothing while optuna has made study.db but not yet the study in it."""
    if not (out / "study.db").exists():
        return {}
    try:
        return _complete(out)
    except KeyError:  # optuna's "Record does not exist.": the tables are made before the study's row
        return {}


def test_every_sampled_parameter_set_is_a_valid_spec_and_the_space_is_covered():
    space = Space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3), directions=["maximize", "maximize"])
    specs = []
    for _ in range(150):
        trial = study.ask()
        specs.append(spec_from_params(sample(trial, space), space, f"t{trial.number}"))  # parse_spec checks it
        study.tell(trial, [0.0, 0.0])
    kinds = [[next(iter(s)) for s in spec["stages"]] for spec in specs]
    assert {k.count("vac") for k in kinds} >= {0, 1, 2, 3} and {k.count("pepe") for k in kinds} >= {0, 1, 2, 3}
    assert {len(k) - 2 - (k[-2] == "conv") for k in kinds} == set(range(2, MAX_BLOCKS + 1))
    assert any(k[1] == "pepe" and "vac" in k[2:] for k in kinds) and any(k[1] == "vac" for k in kinds)
    assert {spec["quantization"]["weight"] for spec in specs} == {"fixed<4,1>", "fixed<6,1>", "fixed<8,1>"}
    # every PEPE keeps at least two pixels for a VAC after it: a stride that would not is 1
    deep = dict(space.smallest(), stem_stride=2, blocks=MAX_BLOCKS)
    strides = [s["pepe"]["stride"] for s in spec_from_params(deep, space, "deep")["stages"][1:] if "pepe" in s]
    assert strides == [2, 2, 2, 1, 1]


def test_a_killed_run_resumes_on_a_scheduler_without_losing_finished_trials(data, tmp_path):
    out = tmp_path / "run"
    argv = ["explore", "--board", "pynq-z2", "--trials", "2", "--out", str(out), "--seed", "5", *data]
    first = subprocess.Popen([sys.executable, "-m", "hw.cli", *argv], cwd=ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while not _complete_so_far(out):
            assert first.poll() is None and time.time() < deadline, first.stderr.read()
            time.sleep(1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the run, its LocalCluster and its workers, mid-trial
        first.wait()
    finished = _complete(out)
    with cluster.dask_client() as client:  # the resumed run on a 2-worker LocalCluster reached by its address
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert main([*argv, "--scheduler", client.scheduler.address, "--verify"]) == 0
    after = _complete(out)
    assert len(after) == 2 and all(after[n] == finished[n] for n in finished)  # kept, not re-run
    front = json.loads((out / "front" / "front.json").read_text())
    assert front["front"] and "proxy" in front["note"] and "estimated" in front["note"]
    for row in front["front"]:
        spec = load_spec(out / "front" / f"{row['name']}.yaml")
        assert spec.name == row["name"] and row["fps_estimated"] > 0 and 0 <= row["top1_proxy"] <= 1
        assert row["csim"]["exact"] and row["csim"]["images"] == 16  # regenerated with its weights: bit-exact
        plan = BuildConfig.load(out / "front" / f"{row['name']}-plan.yaml")
        assert plan.board == "pynq-z2" and Path(plan.model).resolve() == (out / "front" / f"{row['name']}.yaml")
    assert (out / "front" / "front.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["models", str(out / "front" / f"{front['front'][0]['name']}.yaml")]) == 0


@pytest.mark.parametrize("extra, status, message", [
    (["--board", "no-such-board"], 2, "--board: invalid choice: 'no-such-board'"),
    (["--board", "pynq-z2", "--max-params", "10"], 2, "impossible constraints: even the smallest network"),
    (["--board", "pynq-z2", "--target-fps", "1e9"], 2, "impossible constraints: even the smallest network"),
    (["--board", "pynq-z2", "--scheduler", "not an address"], 2, "--scheduler: expected a Dask scheduler address"),
    (["--board", "pynq-z2", "--scheduler", "tcp://127.0.0.1:1"], 1, "--scheduler tcp://127.0.0.1:1: no Dask "
                                                                    "scheduler answered within 1 s"),
    (["--board", "pynq-z2", "--trials", "0"], 2, "--trials: must be from 1"),
])
def test_bad_input_is_one_clear_line(data, tmp_path, capsys, monkeypatch, extra, status, message):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    argv = ["explore", "--trials", "2", "--out", str(tmp_path / "bad"), *data, *extra]
    assert main(argv) == status
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "bad").exists()  # nothing written


@pytest.mark.parametrize("text, message", [
    ("widths: [6]\n", "field 'widths' must be a non-empty list of positive multiples of 4"),
    ("blocks: [3, 2]\n", "field 'blocks' must be [low, high] with 1 <= low <= high <= 5"),
    ("input_shape: [8]\n", "unknown field 'input_shape'"),
])
def test_a_bad_space_file_names_the_file_and_field(data, tmp_path, capsys, text, message):
    space = tmp_path / "bad-space.yaml"
    space.write_text(text)
    assert main(["explore", "--board", "pynq-z2", "--trials", "1", "--out", str(tmp_path / "o"), *data,
                 "--space", str(space)]) == 2
    assert f"--space {space}: {message}" in capsys.readouterr().err


def test_a_study_resumes_only_with_the_same_question(tmp_path):
    req = Request("fashion-mnist", Constraints("pynq-z2"), trials=1, out=tmp_path)
    study, _ = open_study(req)
    assert study.user_attrs["settings"]["constraints"]["board"] == "pynq-z2"
    open_study(req)  # the same question: resumed
    with pytest.raises(ExploreError, match="was started with other constraints"):
        open_study(Request("fashion-mnist", Constraints("kv260"), trials=1, out=tmp_path))


def test_a_candidate_the_estimator_cannot_price_fails_its_trial_and_three_in_a_row_stop(tmp_path, monkeypatch):
    import io

    from hw.explore import study as S

    def broken(path, constraints):
        raise KeyError("s03_pepe_dw")
    monkeypatch.setattr(S, "price", broken)
    req = Request("fashion-mnist", Constraints("pynq-z2"), trials=5, out=tmp_path)
    study, storage = open_study(req)
    search = S.Search(req, study, storage, client=None, log=io.StringIO())
    search._start_one()
    search._start_one()
    with pytest.raises(S.TrialsFailed, match="3 trials failed in a row; the last, pricing .*KeyError"):
        search._start_one()
    states = [(t.state.name, t.user_attrs["error"]) for t in study.trials]
    assert len(states) == 3 and all(s == "FAIL" and "KeyError: 's03_pepe_dw'" in e for s, e in states)


def test_a_candidate_that_breaks_a_constraint_is_pruned_before_training(tmp_path, monkeypatch):
    import io

    from hw.explore import study as S

    monkeypatch.setattr(S, "price", lambda path, constraints: {"params": 99, "macs": 9, "weight_kib": 0.1,
                                                               "violation": "99 params > --max-params 50"})
    req = Request("fashion-mnist", Constraints("pynq-z2", max_params=50), trials=1, out=tmp_path)
    study, storage = open_study(req)
    log = io.StringIO()
    search = S.Search(req, study, storage, client=None, log=log)  # no client: a pruned trial never reaches one
    search._start_one()
    (trial,) = study.trials
    assert trial.state.name == "PRUNED" and trial.user_attrs["violation"] == "99 params > --max-params 50"
    assert search._complete() == 0 and not search.inflight  # not trained, not counted
    assert "trial 0 pruned before training: 99 params > --max-params 50" in log.getvalue()


def test_a_candidate_is_priced_as_plan_prices_the_spec_it_writes():
    """The front's fps and utilization are the ones `attendnets plan` gives the written spec."""
    from hw.estimate.plan import plan
    from hw.estimate.source import from_config
    from hw.explore.price import price

    spec = Path(__file__).resolve().parents[2] / "qmodels" / "specs" / "fmnist-attendnet-b.yaml"
    row = price(spec, Constraints(board="pynq-z2"))
    est = plan(from_config(BuildConfig(model=str(spec), board="pynq-z2").validate("test")), 0.8).estimate
    assert row["fps"] == round(float(est.fps), 1)
    assert row["utilization"] == {k: round(float(v), 4) for k, v in est.utilization.items()}


def test_the_front_and_the_baseline_are_promoted_and_compared_at_the_promoted_recipe(data, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["explore", "--board", "pynq-z2", "--trials", "2", "--out", str(out), "--seed", "5", *data,
            "--baseline", "fmnist-attendnet-b", "--promote-float-epochs", "1", "--promote-epochs", "1", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    promoted = _study(out).user_attrs["promoted"]
    assert set(promoted) == {str(r["trial"]) for r in summary["front"]} | {"baseline"}
    for row in summary["front"]:
        run = out / "trials" / f"{row['trial']:05d}" / "promoted"
        assert row["top1_promoted"] == promoted[str(row["trial"])]["top1"] and row["promoted_front"] in (True, False)
        assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 2  # 1 float + 1 QAT epoch
        assert yaml.safe_load((run / "checkpoint.yaml").read_text())["train"]["train_images"] is None  # all 40
    front = json.loads((out / "front" / "front.json").read_text())
    assert front["baseline_promoted"]["top1"] == promoted["baseline"]["top1"]
    assert "top-1 at the promoted recipe" in summary["comparison"]
    assert main(argv) == 0  # resumed: nothing is trained again
    assert "promoting" not in capsys.readouterr().err and _study(out).user_attrs["promoted"] == promoted
