"""The Pareto front of an explore study, written to OUT/front/: for each member its spec
(``<name>.yaml``, loadable by ``attendnets models`` and ``generate``), its plan (``<name>-plan.yaml``,
the recipe for ``attendnets generate --config``), and for all of them ``front.json`` and
``front.png`` (proxy top-1 against estimated images/s, every trained trial in grey).

The folder is written beside OUT/front and swapped in whole, so an interrupted write never
leaves a half front; the previous front is replaced (it is regenerated from the study).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path


def front_rows(study, out: Path) -> list:
    """One row per Pareto-optimal trained trial, fastest first."""
    rows = []
    for t in study.best_trials:
        a = t.user_attrs
        rows.append({"trial": t.number, "name": a["name"], "top1_proxy": t.values[0], "fps_estimated": t.values[1],
                     "params": a["params"], "macs": a["macs"], "weight_kib": a["weight_kib"],
                     "bottleneck": a["bottleneck"], "utilization": a["utilization"],
                     "top1_float_proxy": a.get("top1_float"), "val_images": a.get("val_images"),
                     "checkpoint": str(Path("..") / "trials" / f"{t.number:05d}" / "checkpoint"),
                     "params_sampled": t.params})
    return sorted(rows, key=lambda r: (-r["fps_estimated"], -r["top1_proxy"]))


def write_front(study, out: Path, settings: dict, rows: "list | None" = None) -> list:
    """OUT/front/ from the study's front (``rows``: front_rows, perhaps with promoted and csim results added)."""
    out = Path(out)
    rows = front_rows(study, out) if rows is None else rows
    staging, final = out / ".front-staging", out / "front"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for row in rows:
        trial_dir = out / "trials" / f"{row['trial']:05d}"
        for suffix in (".yaml", "-plan.yaml"):
            shutil.copyfile(trial_dir / f"{row['name']}{suffix}", staging / f"{row['name']}{suffix}")
    from hw.explore.promote import BASELINE, promoted as promoted_figures

    promoted = promoted_figures(study)
    summary = {"study": study.study_name, "settings": settings, "objectives": ["top1_proxy", "fps_estimated"],
               "note": "top-1 is a short-QAT proxy, not the accuracy at a full recipe (top1_promoted: the "
                       "front trained again at the promoted recipe, on every training and test image); images/s "
                       "and resources are estimated (hw.estimate), not synthesized", "front": rows,
               "baseline": study.user_attrs.get("baseline"), "baseline_promoted": promoted.get(BASELINE)}
    (staging / "front.json").write_text(json.dumps(summary, indent=2))
    chart(study, rows, staging / "front.png", summary["baseline"], summary["baseline_promoted"])
    old = out / ".front-old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return rows


def chart(study, rows: list, path: Path, baseline: "dict | None", baseline_promoted: "dict | None" = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.scatter([t.values[1] for t in done], [t.values[0] for t in done], s=14, c="0.7", label="trained trials")
    ax.plot([r["fps_estimated"] for r in rows], [r["top1_proxy"] for r in rows], "o-", c="tab:red",
            label="Pareto front")
    if baseline and baseline.get("top1") is not None:
        ax.scatter([baseline["fps"]], [baseline["top1"]], marker="*", s=160, c="tab:blue",
                   label=f"{baseline['model']} (same proxy)")
    promoted = [r for r in rows if r.get("top1_promoted") is not None]
    if promoted:
        ax.scatter([r["fps_estimated"] for r in promoted], [r["top1_promoted"] for r in promoted], marker="s",
                   facecolors="none", edgecolors="tab:red", label="front, promoted recipe")
    if baseline and baseline_promoted:
        ax.scatter([baseline["fps"]], [baseline_promoted["top1"]], marker="*", s=160, facecolors="none",
                   edgecolors="tab:blue", label=f"{baseline['model']} (promoted recipe)")
    ax.set_xscale("log")
    ax.set_xlabel("images/s on the board (estimated)")
    ax.set_ylabel("8-bit top-1 (short-QAT proxy" + ("; squares: promoted)" if promoted else ")"))
    ax.set_title(f"attendnets explore: study {study.study_name}")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def best_against(rows: list, baseline: "dict | None", promoted: "dict | None" = None) -> "str | None":
    """The front member at the baseline's estimated images/s or more with the best top-1, against it:
    at the promoted fidelity when the baseline was promoted (``promoted``: its figures), else the proxy's."""
    if not baseline or baseline.get("top1") is None:
        return None
    key, label, base = "top1_proxy", "proxy top-1", baseline["top1"]
    if promoted:
        key, label, base = "top1_promoted", "top-1 at the promoted recipe", promoted["top1"]
    faster = [r for r in rows if r["fps_estimated"] >= baseline["fps"] and r.get(key) is not None]
    if not faster:
        return (f"no front member reaches {baseline['model']}'s {baseline['fps']:,.0f} images/s (estimated); "
                f"its {label} is {base:.4f}")
    best = max(faster, key=lambda r: r[key])
    delta = best[key] - base
    return (f"best front member at >= {baseline['model']}'s {baseline['fps']:,.0f} images/s (estimated): "
            f"{best['name']} at {best['fps_estimated']:,.0f} images/s, {label} {best[key]:.4f} vs "
            f"{base:.4f} ({delta * 100:+.2f} points), {best['params'] / 1e3:.1f}K vs "
            f"{baseline['params'] / 1e3:.1f}K params")
