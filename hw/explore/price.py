"""A candidate's cost before any training: params and mult-adds (qmodels.complexity), and the
estimator's plan on the board (hw.estimate.plan: the highest throughput within the budget).

A candidate that breaks a constraint (--max-params, --max-macs, no plan fits the board,
estimated images/s below --target-fps) is hopeless: ``price`` names the violation and the search
prunes the trial at once, without training it.  Every fps and resource figure is estimated.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Constraints:
    board: str
    budget: float = 0.8
    target_fps: "float | None" = None
    max_params: "int | None" = None
    max_macs: "int | None" = None

    def describe(self) -> str:
        parts = [f"fits {self.board} within {self.budget:.0%} of every resource (estimated)"]
        if self.target_fps:
            parts.append(f">= {self.target_fps:g} images/s (estimated)")
        if self.max_params:
            parts.append(f"<= {self.max_params:,} params")
        if self.max_macs:
            parts.append(f"<= {self.max_macs:,} mult-adds")
        return ", ".join(parts)


def price(spec_path: Path, constraints: Constraints) -> dict:
    """{params, macs, weight_kib} and either {fps, bottleneck, utilization, plan_text} or
    {violation: why the candidate cannot meet the constraints}."""
    import tensorflow as tf

    from hw.config import BuildConfig
    from hw.estimate.plan import PlanError, plan
    from hw.estimate.source import from_config
    from qmodels.build import build_model
    from qmodels.complexity import measure

    # Seeded and calibrated, as generation and `attendnets plan` build it: a LUT multiplier's cost
    # depends on its constant weight, so uncalibrated weights priced the front's plans 0.2% of the
    # board's LUTs away from the plan the written recipe then gets.
    model = build_model(str(spec_path))
    try:
        c = measure(model)
        row = {"params": c.params, "macs": c.macs, "weight_kib": round(c.weight_bytes / 1024, 2)}
        if constraints.max_params and c.params > constraints.max_params:
            return {**row, "violation": f"{c.params:,} params > --max-params {constraints.max_params:,}"}
        if constraints.max_macs and c.macs > constraints.max_macs:
            return {**row, "violation": f"{c.macs:,} mult-adds > --max-macs {constraints.max_macs:,}"}
        cfg = BuildConfig(model=str(spec_path), board=constraints.board).validate("explore")
        try:
            p = plan(from_config(cfg, model), constraints.budget)
        except PlanError as err:
            return {**row, "violation": str(err)}
    finally:
        tf.keras.backend.clear_session()  # one model per candidate: keep the search's memory flat
    est = p.estimate
    row.update(fps=round(float(est.fps), 1), bottleneck=est.bottleneck.name,
               utilization={k: round(float(v), 4) for k, v in est.utilization.items()})
    if constraints.target_fps and est.fps < constraints.target_fps:
        return {**row, "violation": f"{est.fps:.1f} images/s (estimated) < --target-fps {constraints.target_fps:g}"}
    row["plan_text"] = plan_text(p, spec_path.name, constraints)
    return row


def spec_to_file(spec, folder: Path) -> Path:
    """A NetworkSpec written as FOLDER/<name>.yaml (the form qmodels.spec.load_spec reads)."""
    import yaml

    from qmodels.checkpoint import spec_to_dict

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.name}.yaml"
    path.write_text(yaml.safe_dump(spec_to_dict(spec), sort_keys=False))
    return path


def plan_text(p, model: str, constraints: Constraints) -> str:
    """The build recipe of the plan, as ``attendnets plan --out`` writes it (``model`` relative to it)."""
    from hw.estimate.plan import recipe

    est = p.estimate
    return (f"# attendnets explore: planned for {constraints.board} (highest throughput within "
            f"{constraints.budget:.0%}); every figure estimated:\n"
            f"# {est.fps:.1f} images/s, bottleneck {est.bottleneck.name}, utilization "
            + ", ".join(f"{k} {v:.0%}" for k, v in est.utilization.items()) + "\n"
            + recipe(p, model).to_yaml())
