"""``explore --promote-float-epochs F``: the proxy's front trained again at a second, longer fidelity.

The short proxy ranks candidates, but it can rank them wrongly: in the 60-trial Fashion-MNIST run on
pynq-z2 (README, "Design exploration") the member that beat fmnist-attendnet-b on the proxy (69.65%
vs 66.80%) lost to it at the full recipe (85.09% vs 86.62%).  Promotion is the second rung of
successive halving: only the proxy's Pareto front (a handful of trials out of many) and the
baseline are trained at F float + Q QAT epochs on every training image and evaluated on every test
image, so the comparison with the baseline is made where the proxy's ranking no longer decides it.

Optuna keeps a finished trial's attributes read-only, so the promoted figures live in the study's
own attribute ``promoted`` ({trial number or "baseline": figures and the recipe}), written by this
process only, after each result.  A member already promoted with the same recipe is not trained
again (resumable); each promoted run is itself resumable per epoch in trials/NNNNN/promoted.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from hw.explore.proxy import Proxy, proxy_run

BASELINE = "baseline"
PROMOTED = "promoted"   # the promoted run's folder, beside the proxy's checkpoint in trials/NNNNN/


def promoted(study) -> dict:
    """The study's promoted figures: {trial number (str) or 'baseline': {top1, top1_float, ..., recipe}}."""
    return dict(study.user_attrs.get(PROMOTED) or {})


def promote(study, req, rows: list, client, say) -> dict:
    """Train each front member of ``rows`` and the baseline at ``req.promote``; the promoted figures."""
    from hw.cluster import run_all

    recipe = asdict(req.promote)
    done = promoted(study)
    calls, keys = [], []
    for r in rows:
        key = str(r["trial"])
        if done.get(key, {}).get("recipe") != recipe:
            spec = req.out / "trials" / f"{r['trial']:05d}" / f"{r['name']}.yaml"
            calls.append(_call(req, spec, spec.parent / PROMOTED, req.seed + r["trial"]))
            keys.append(key)
    baseline = study.user_attrs.get("baseline")
    if baseline and baseline.get("top1") is not None and done.get(BASELINE, {}).get("recipe") != recipe:
        from qmodels.spec import load_spec

        spec = req.out / "baseline" / f"{load_spec(req.baseline).name}.yaml"  # as Search wrote it
        calls.append(_call(req, spec, req.out / "baseline" / PROMOTED, req.seed))
        keys.append(BASELINE)
    if calls:
        say(f"promoting {len(calls)} run(s) to {req.promote.describe()}")

    def finished(i, result):
        done[keys[i]] = {**result, "recipe": recipe}
        study.set_user_attr(PROMOTED, done)  # at once: a killed run keeps every promoted result
        say(f"promoted {keys[i]}: top-1 {result['top1']:.4f} on {result['val_images']:,} test images")
    run_all(client, proxy_run, calls, on_result=finished)
    return done


def _call(req, spec: Path, ckpt: Path, seed: int) -> tuple:
    from qmodels import strict_yaml

    return (strict_yaml.load(spec), req.dataset, req.data_file, str(ckpt.resolve()), asdict(req.promote), seed)


def with_promoted(rows: list, promoted_figures: dict) -> list:
    """Each row gains ``top1_promoted`` (None if not promoted) and ``promoted_front``: whether no
    other promoted row is at least as fast and more accurate at the promoted fidelity."""
    for r in rows:
        figures = promoted_figures.get(str(r["trial"]))
        r["top1_promoted"] = figures["top1"] if figures else None
        if figures:
            r["checkpoint_promoted"] = str(Path("..") / "trials" / f"{r['trial']:05d}" / PROMOTED)
    scored = [r for r in rows if r["top1_promoted"] is not None]
    for r in scored:
        r["promoted_front"] = not any(o is not r and o["fps_estimated"] >= r["fps_estimated"]
                                      and o["top1_promoted"] > r["top1_promoted"] for o in scored)
    return rows


def promotion_proxy(float_epochs: int, epochs: int, base: Proxy) -> "Proxy | None":
    """The promoted recipe: the proxy's rates on every training and test image (None: no promotion)."""
    if not float_epochs:
        return None
    return Proxy(float_epochs=float_epochs, epochs=epochs, train_images=None, val_images=None,
                 batch_size=base.batch_size, lr=base.lr, qat_lr=base.qat_lr)
