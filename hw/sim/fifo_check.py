"""``csim --fifo-check``: the project's FIFO depths checked on the C++ itself (hw.sim.threaded).

1. At the project's depths the threaded simulation must finish on every image and give the
   outputs of the sequential C simulation (the test bench) and of the exact reference.
2. For every short copy of a reconvergent fork (a VAC's direct V' copy, a MobileNet-V2 residual)
   hw/hls/fifo.py derives the exact minimum depth D of the hardware, where one pipelined loop
   iteration reads or writes all its streams at once (the fork writes both copies in the same
   clock; the join reads both inputs in the same clock).  A C++ thread commits them one after
   the other, in program order: the fork (nnet::clone_stream) writes the long copy before the
   short one, so the long branch gets one pixel more while the fork waits on the short copy; the
   join reads its first input (the short copy, V' in nnet::selective_attention) before the long
   one, so it has taken one pixel more when it waits.  Each such early commit lowers the C++
   minimum by one pixel: Dc = D - (fork writes the long copy first) - (join reads the short copy
   first), from the order of the kernels' arguments in hls4ml's model.  With the copy at Dc the
   threaded run must finish (and stay exact); at Dc - 1 it must deadlock, and the watchdog's
   report says which streams were full and which processes were blocked (first image).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hw.hls.convert import load_resolved
from hw.sim import csim as C
from hw.sim import threaded as T


def short_copies(hls_model, model, declared: dict) -> list:
    """[{stream, fork, join, minimum, declared}] for every short copy of a reconvergent fork."""
    from hw.hls.fifo import branch_fifo_depths

    producers = {var: layer for layer in hls_model.get_layers() for var in layer.outputs}
    found = []
    for b in branch_fifo_depths(model):
        if b.consumer != b.join:
            continue
        join = next(layer for layer in hls_model.get_layers() if layer.name == b.join)
        copies = [key for key in join.inputs if producers[key].class_name == "Clone"]
        if len(copies) != 1:
            raise T.ThreadedError(f"{b.join}: expected one input straight from the fork's copy, found {copies}")
        stream = hls_model.output_vars[copies[0]].name
        fork_outputs = producers[copies[0]].outputs
        early = {"fork writes the long copy first": fork_outputs.index(copies[0]) > 0,
                 "join reads the short copy first": join.inputs.index(copies[0]) == 0}
        found.append({"stream": stream, "fork": b.fork, "join": b.join, "minimum": int(b.minimum),
                      "minimum_cpp": int(b.minimum) - sum(early.values()),
                      "early_commits": [why for why, yes in early.items() if yes], "declared": declared[stream]})
    return found


def _deadlock_summary(run: T.ThreadedRun) -> dict:
    return {"status": run.status, "message": run.message, "full_streams": run.full(),
            "blocked_processes": [f"{p['name']} ({p['state']} {p['stream']})" for p in run.blocked()],
            "blocked_writing_full": [p["name"] for p in run.blocked() if p["state"] == "blocked-write"],
            "processes": run.processes, "streams": run.streams}


def _stall_lines(summary: dict, fork: str = "", join: str = "") -> list:
    """The stall in two lines: full streams, and who waits (the fork and the join named first)."""
    key = [b for b in summary["blocked_processes"] if b.startswith((f"clone_{fork} ", f"{join} "))] if fork else []
    others = len(summary["blocked_processes"]) - len(key)
    return [f"    full streams: {', '.join(summary['full_streams']) or 'none'}",
            f"    blocked: {'; '.join(key + summary['blocked_processes'][:0 if key else 4])}"
            f"{f' and {others} more processes' if others else ''}"]


def _exact(outputs, *wanted) -> bool:
    return all(np.array_equal(outputs.reshape(w.shape), w) for w in wanted)


def fifo_check(project, samples=None, images=None, timeout_ms: int = 60000, progress=lambda msg: None) -> dict:
    """The report of the three checks above; ``passed`` is True when all of them hold."""
    from hw.hls.convert import load_project_model  # names a damaged keras/model.h5
    from qmodels.reference import Reference

    project = Path(project).resolve()
    resolved = load_resolved(project)
    name = resolved["project_name"]
    model = load_project_model(project)
    if images is not None:
        pictures, _ = C.dataset_inputs(resolved, images)
    else:
        pictures, _ = C.inputs_for(project, resolved, model, samples)
    expected = Reference(model).run(pictures).reshape(len(pictures), -1)
    progress("fifo-check: converting the model and compiling the threaded simulation ...")
    hls_model = T.hls_model_of(project, resolved, model)
    declared = T.declared_depths(project, name)
    binary = T.build(project, name, T.render(hls_model, name, declared))
    sequential = C.run_testbench(project, name, pictures, expected)["outputs"].reshape(expected.shape)
    progress(f"fifo-check: {len(pictures)} images at the project's depths ...")
    at_project = T.run(binary, project, pictures, timeout_ms=timeout_ms)
    report = {"project": str(project), "samples": int(len(pictures)), "streams": len(declared),
              "project_depths": {"status": at_project.status,
                                 "equals_sequential": at_project.status == "finished"
                                 and _exact(at_project.outputs, sequential),
                                 "equals_reference": at_project.status == "finished"
                                 and _exact(at_project.outputs, expected),
                                 "peaks": {s: {"depth": d, "most_held": p} for s, (d, p) in at_project.peaks.items()}}}
    if at_project.status != "finished":
        report["project_depths"].update(_deadlock_summary(at_project))
    report["short_copies"] = []
    for copy in short_copies(hls_model, model, declared):
        lowest = copy["minimum_cpp"]
        progress(f"fifo-check: {copy['stream']} ({copy['fork']} -> {copy['join']}) at Dc = {lowest} and Dc - 1 ...")
        at_min = T.run(binary, project, pictures[:1], {copy["stream"]: lowest}, timeout_ms)
        below = T.run(binary, project, pictures[:1], {copy["stream"]: lowest - 1}, timeout_ms)
        copy["at_minimum"] = {"status": at_min.status, "exact": at_min.status == "finished"
                              and _exact(at_min.outputs, expected[:1])}
        copy["below_minimum"] = _deadlock_summary(below)
        report["short_copies"].append(copy)
    report["passed"] = _passed(report)
    return report


def _passed(report: dict) -> bool:
    at = report["project_depths"]
    return (at["status"] == "finished" and at["equals_sequential"] and at["equals_reference"]
            and all(c["at_minimum"]["exact"] and c["below_minimum"]["status"] == "deadlock"
                    for c in report["short_copies"]))


def format_fifo_check(report: dict) -> str:
    at = report["project_depths"]
    lines = [f"Threaded C simulation of {report['project']} with bounded FIFOs ({report['streams']} streams "
             f"between processes), {report['samples']} images",
             f"  project depths: {at['status']}, equal to the sequential C++ {at['equals_sequential']}, "
             f"to the exact reference {at['equals_reference']}"]
    if at["status"] != "finished":
        lines += _stall_lines(at)
    for c in report["short_copies"]:
        held = at["peaks"].get(c["stream"], {}).get("most_held", "?")
        below = c["below_minimum"]
        lines.append(f"  {c['stream']} ({c['fork']} -> {c['join']}): declared {c['declared']}, most held {held}; "
                     f"hardware minimum D = {c['minimum']}, C++ minimum Dc = {c['minimum_cpp']} "
                     f"({'; '.join(c['early_commits']) or 'no early commit'})")
        lines.append(f"    at Dc: {c['at_minimum']['status']}{', exact' if c['at_minimum']['exact'] else ''}; "
                     f"at Dc - 1: {below['status']}")
        if below["status"] != "finished":
            lines += _stall_lines(below, c["fork"], c["join"])
    lines.append("  PASSED" if report["passed"] else "  FAILED")
    return "\n".join(lines)
