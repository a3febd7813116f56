"""``explore --verify``: every front member regenerated from its plan with its trained weights and
C-simulated against both software models (hw.sim.csim), as one Dask task per member.

A member's project goes to OUT/front-projects/<name> (regenerated with --force when the front
changes; its messages in <name>.log beside it); the result (bit-exact fraction, max difference, images, accuracy on them) is recorded in
front.json beside the member.  A member that is not bit-exact makes the command fail (exit 1).
"""
from __future__ import annotations

from pathlib import Path


def verify_member(plan: str, checkpoint: str, project: str, samples: int) -> dict:
    """Generate PLAN with CHECKPOINT's weights into PROJECT, C-simulate SAMPLES test images; the figures."""
    import tensorflow as tf

    from hw.config import BuildConfig
    from hw.explore.proxy import into_log
    from hw.hls.convert import generate
    from hw.sim.csim import csim

    Path(project).parent.mkdir(parents=True, exist_ok=True)
    try:
        with into_log(Path(f"{project}.log")):
            cfg = BuildConfig.load(plan)
            cfg.weights = checkpoint
            cfg.samples = samples
            generate(cfg, project, force=True)
            report = csim(project, modes=("testbench",), jobs=1)
    finally:
        tf.keras.backend.clear_session()
    run = report["modes"]["testbench"]
    return {"exact": bool(report["exact"]), "keras_exact": report.get("keras_exact"),
            "bit_exact_fraction": report["bit_exact_fraction"], "max_diff_lsb": report["max_diff_lsb"],
            "images": report["samples"], "accuracy": run.get("accuracy"), "project": project}


def checkpoint_of(row: dict) -> str:
    """The trial's best-trained weights: the promoted run's where there is one."""
    from hw.explore.promote import PROMOTED

    return PROMOTED if row.get("top1_promoted") is not None else "checkpoint"


def verify_front(client, out: Path, rows: list, samples: int = 16, say=print) -> list:
    """verify_member for every row (as Dask tasks); each row gains 'csim'."""
    from hw.cluster import run_all

    projects = out / "front-projects"
    calls = [(str((out / "trials" / f"{r['trial']:05d}" / f"{r['name']}-plan.yaml").resolve()),
              str((out / "trials" / f"{r['trial']:05d}" / checkpoint_of(r)).resolve()),
              str((projects / r["name"]).resolve()), samples) for r in rows]

    def done(i, result):
        rows[i]["csim"] = result
        verdict = "bit-exact" if result["exact"] else f"NOT EXACT (max {result['max_diff_lsb']:g} LSB)"
        say(f"csim {rows[i]['name']}: {verdict} on {result['images']} test images")
    run_all(client, verify_member, calls, on_result=done)
    return rows
