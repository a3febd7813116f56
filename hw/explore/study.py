"""The search loop of ``attendnets explore``: Optuna asks, the estimator screens, Dask trains.

One Optuna study (two objectives, both maximized: the proxy's 8-bit top-1 and the estimated
images/s on the board) lives in an RDB storage: a SQLite file in --out by default, or any
SQLAlchemy URL (PostgreSQL, MySQL) that several machines share.  This process asks the sampler
for a candidate, prices it with the estimator at once (hw.explore.price: a constraint violation
prunes the trial without training), and submits the survivors to Dask workers (hw.cluster), at
most one more than there are workers so the sampler sees results early; finished trials are told
to the study as they arrive.

Resumable: every finished trial is in the storage the moment it is told, so a killed run loses
only the trials that were training.  Those stay RUNNING; this process records a heartbeat for
each trial it has in flight, and a later run fails any trial whose heartbeat is older than the
grace period and enqueues its parameters again (Optuna's RetryHeartbeatStaleTrialCallback).  --trials N
counts trained trials (complete), not pruned or failed ones.  Seeded: the sampler takes --seed,
each trial's training takes seed + trial number; with parallel workers the order in which
results arrive still varies, so a rerun is reproducible in its settings, not trial by trial.
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from qmodels import strict_yaml
from hw.explore.price import Constraints, price
from hw.explore.proxy import Proxy, proxy_run
from hw.explore.space import Space, sample, spec_from_params

HEARTBEAT_S, GRACE_S = 10, 30
MAX_FAILURES_IN_A_ROW = 3
PRUNE_LIMIT = 50  # pruned candidates per trained trial before the constraints are called impossible


class ExploreError(ValueError):
    """A request the search cannot run as given (bad input: exit 2); the message names the option."""


class TrialsFailed(RuntimeError):
    """Training failed on the workers several times in a row (exit 1); the message has the last error."""


@dataclass
class Request:
    dataset: str
    constraints: Constraints
    trials: int
    out: Path
    storage: "str | None" = None
    study: str = "explore"
    scheduler: "str | None" = None
    seed: int = 0
    sampler: str = "tpe"
    workers: int = 2
    data_file: "str | None" = None
    proxy: Proxy = field(default_factory=Proxy)
    baseline: "str | None" = None  # a hand-made model trained with the same proxy, for comparison
    space_file: "str | None" = None  # --space FILE: some of Space's fields
    promote: "Proxy | None" = None   # the front's second, longer training (hw.explore.promote); not in settings:
    #                                  a finished study's front can be promoted later

    def settings(self) -> dict:
        """What a study is about: a resumed run must ask the same question."""
        return {"dataset": self.dataset, "constraints": asdict(self.constraints), "proxy": asdict(self.proxy),
                "space": asdict(self.space())}

    def space(self) -> Space:
        from hw.explore.proxy import input_shape

        shape = input_shape(self.dataset)
        return Space.load(self.space_file, input_shape=shape) if self.space_file else Space(input_shape=shape)

    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.out / 'study.db').resolve()}"


def open_study(req: Request):
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():  # Optuna's heartbeat retry is 'experimental' since 2.8, and the way to retry
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = RetryHeartbeatStaleTrialCallback(max_retry=2)
        storage = RDBStorage(req.storage_url(), heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                             heartbeat_stale_trial_callback=retry)
    except Exception as err:  # noqa: BLE001 - SQLAlchemy's many errors: one line naming the URL
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ExploreError(f"--storage {req.storage_url()}: cannot open the study storage: {first}") from None
    if req.sampler == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=req.seed, population_size=max(4, min(50, req.trials // 3)))
    else:
        sampler = optuna.samplers.TPESampler(seed=req.seed, multivariate=True, constant_liar=True,
                                             n_startup_trials=max(2, min(10, req.trials // 3)))
    study = optuna.create_study(storage=storage, study_name=req.study, sampler=sampler, load_if_exists=True,
                                directions=["maximize", "maximize"])
    stored, wanted = study.user_attrs.get("settings"), json.loads(json.dumps(req.settings()))
    if stored is None:
        study.set_user_attr("settings", wanted)
    elif stored != wanted:
        key = next(k for k in wanted if stored.get(k) != wanted[k])
        raise ExploreError(f"study {req.study!r} in {req.storage_url()} was started with other {key} "
                           f"({stored.get(key)} vs {wanted[key]}); resume it with the same options, or give "
                           "another --study or --out")
    fail_stale(study)
    return study, storage


def fail_stale(study) -> None:
    """Fail the trials of killed runs (no heartbeat for GRACE_S); the storage's callback enqueues them again."""
    import optuna

    with warnings.catch_warnings():  # experimental since Optuna 2.9 and still the documented way
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def check_possible(req: Request, folder: Path) -> dict:
    """Price the space's smallest network (its spec written to FOLDER); if even it breaks a constraint,
    nothing will meet them."""
    space = req.space()
    path = folder / "explore-smallest.yaml"
    path.write_text(yaml.safe_dump(spec_from_params(space.smallest(), space, "explore-smallest"), sort_keys=False))
    row = price(path, req.constraints)
    if "violation" in row:
        raise ExploreError(f"impossible constraints: even the smallest network of the search space "
                           f"({row['params']:,} params, {row['macs']:,} mult-adds) fails: {row['violation']}")
    return row


def _states(study) -> dict:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    return {s.name: sum(t.state == s for t in trials) for s in (TrialState.COMPLETE, TrialState.PRUNED,
                                                                 TrialState.FAIL, TrialState.RUNNING)}


class Search:
    """One run of the loop: ask, price, submit, tell."""

    def __init__(self, req: Request, study, storage, client, log):
        self.req, self.study, self.storage, self.client, self.log = req, study, storage, client, log
        self.space, self.inflight, self.failures, self.pruned = req.space(), {}, 0, 0
        self.started = time.perf_counter()

    def run(self) -> None:
        from dask.distributed import wait

        from hw.cluster import worker_count

        if self.req.baseline and "baseline" not in self.study.user_attrs:
            self._start_baseline()
        while True:
            slots = worker_count(self.client) + 1
            while len(self.inflight) < slots and self._complete() + self._training() < self.req.trials:
                self._start_one()
            if not self.inflight:
                return
            try:
                done, _ = wait(list(self.inflight), timeout=HEARTBEAT_S, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing finished yet: time for the heartbeats
                done = ()
            for future in done:
                self._finish(future)
            for trial, _ in self.inflight.values():
                if trial is not None:
                    self.storage.record_heartbeat(trial._trial_id)  # noqa: SLF001 - Optuna's heartbeat takes the id
            fail_stale(self.study)

    def _complete(self) -> int:
        return _states(self.study)["COMPLETE"]

    def _training(self) -> int:
        return sum(trial is not None for trial, _ in self.inflight.values())  # the baseline is no trial

    def _start_one(self) -> None:
        from optuna.trial import TrialState

        trial = self.study.ask()
        self.storage.record_heartbeat(trial._trial_id)  # noqa: SLF001
        name = f"{self.req.study}-t{trial.number}"
        spec = spec_from_params(sample(trial, self.space), self.space, name)
        folder = self.req.out / "trials" / f"{trial.number:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        try:
            row = price(path, self.req.constraints)
        except Exception as err:  # noqa: BLE001 - an estimator failure on one candidate is that trial's failure
            return self._failed(trial, err, f"pricing {path}")
        for key in ("params", "macs", "weight_kib", "fps", "bottleneck", "utilization", "violation"):
            if key in row:
                trial.set_user_attr(key, row[key])
        trial.set_user_attr("name", name)
        trial.set_user_attr("spec", str(path.relative_to(self.req.out)))
        if "violation" in row:
            self.study.tell(trial, state=TrialState.PRUNED)
            self.pruned += 1
            self._say(f"trial {trial.number} pruned before training: {row['violation']}")
            if self.pruned > PRUNE_LIMIT * max(self.req.trials, 1):
                raise ExploreError(f"{self.pruned} candidates broke the constraints "
                                   f"({self.req.constraints.describe()}) while {self._complete()} trained; "
                                   "relax them or narrow --space")
            return
        (folder / f"{name}-plan.yaml").write_text(row["plan_text"])
        future = self.client.submit(proxy_run, spec, self.req.dataset, self.req.data_file,
                                    str((folder / "checkpoint").resolve()), asdict(self.req.proxy),
                                    self.req.seed + trial.number, pure=False, key=f"explore-{name}-{time.time_ns()}")
        self.inflight[future] = (trial, row)

    def _start_baseline(self) -> None:
        """The hand-made model, priced and trained with the same proxy (not a trial of the study)."""
        from qmodels.spec import load_spec

        from hw.explore.price import spec_to_file

        folder = self.req.out / "baseline"
        path = spec_to_file(load_spec(self.req.baseline), folder)
        row = price(path, self.req.constraints)
        row.update(model=self.req.baseline)
        if "violation" in row:
            self.study.set_user_attr("baseline", {k: v for k, v in row.items() if k != "plan_text"})
            self._say(f"baseline {self.req.baseline} breaks the constraints: {row['violation']}")
            return
        future = self.client.submit(proxy_run, strict_yaml.load(path), self.req.dataset,
                                    self.req.data_file, str((folder / "checkpoint").resolve()),
                                    asdict(self.req.proxy), self.req.seed, pure=False,
                                    key=f"explore-baseline-{time.time_ns()}")
        self.inflight[future] = (None, row)

    def _finish_baseline(self, future, row: dict) -> None:
        result = future.result()  # a baseline that cannot train is an error of the request
        row = {k: v for k, v in row.items() if k != "plan_text"}
        self.study.set_user_attr("baseline", {**row, **result})
        self._say(f"baseline {row['model']}: top-1 {result['top1']:.4f} (proxy), {row['fps']:,.0f} images/s "
                  f"(estimated), {row['params'] / 1e3:.1f}K params")

    def _finish(self, future) -> None:
        trial, row = self.inflight.pop(future)
        if trial is None:
            return self._finish_baseline(future, row)
        try:
            result = future.result()
        except Exception as err:  # noqa: BLE001 - a failed trial is recorded, and too many stop the search
            log = self.req.out / "trials" / f"{trial.number:05d}" / "checkpoint" / "train.log"
            return self._failed(trial, err, f"training (see {log})")
        self.failures = 0
        for key, value in result.items():
            trial.set_user_attr(key, value)
        self.study.tell(trial, [result["top1"], row["fps"]])
        self._say(f"trial {trial.number}: top-1 {result['top1']:.4f} (proxy), {row['fps']:,.0f} images/s "
                  f"(estimated), {row['params'] / 1e3:.1f}K params, {row['macs'] / 1e6:.2f}M mult-adds, "
                  f"trained in {result['train_seconds']:.0f} s; front {len(self.study.best_trials)}")

    def _failed(self, trial, err: Exception, where: str) -> None:
        """Record the trial as failed; several failures in a row stop the search (a broken setup)."""
        from optuna.trial import TrialState

        message = f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:300]}"
        trial.set_user_attr("error", f"{where}: {message}")
        self.study.tell(trial, state=TrialState.FAIL)
        self.failures += 1
        self._say(f"trial {trial.number} failed {where}: {message}")
        if self.failures >= MAX_FAILURES_IN_A_ROW:
            raise TrialsFailed(f"{self.failures} trials failed in a row; the last, {where}: {message}")

    def _say(self, text: str) -> None:
        done, width = self._complete(), 20
        bar = "#" * int(width * min(done, self.req.trials) / max(self.req.trials, 1))
        print(f"[{bar:<{width}}] {done}/{self.req.trials} trained, {self._training()} training, "
              f"{time.perf_counter() - self.started:.0f} s | {text}", file=self.log, flush=True)
