"""``csim --fifo-check``: the project's FIFO depths checked on the C++ itself (hw.sim.threaded).

1. At the project's depths the threaded simulation must finish on every image and give the
   outputs of the sequential C simulation and of the exact reference.  The sequential run is the
   project's own top function (firmware/<name>.cpp, compiled into the same binary: one build, the
   kernels instantiated once) in one thread with unbounded streams, as C simulation runs it.
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

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from hw.hls.convert import load_resolved
from hw.sim import csim as C
from hw.sim import parallel
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


def _run_all(binary: Path, project: Path, runs: dict, timeout_ms: int, jobs: int) -> dict:
    """{key: ThreadedRun} for runs {key: (images, depths, sequential)}, ``jobs`` processes at a time."""
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = {key: pool.submit(T.run, binary, project, images, depths, timeout_ms, sequential)
                   for key, (images, depths, sequential) in runs.items()}
        return {key: future.result() for key, future in futures.items()}


def _runs(pictures, copies: list) -> dict:
    """The runs of a check, longest first: {key: (images, depths, sequential)}."""
    runs = {"sequential": (pictures, None, True), "project": (pictures, None, False)}
    if copies:
        runs["together"] = (pictures[:1], {c["stream"]: c["minimum_cpp"] for c in copies}, False)
    runs.update({("below", c["stream"]): (pictures[:1], {c["stream"]: c["minimum_cpp"] - 1}, False) for c in copies})
    return runs


def fifo_check(project, samples=None, images=None, timeout_ms: int = 60000, progress=lambda msg: None,
               jobs: int | None = None) -> dict:
    """The report of the three checks above; ``passed`` is True when all of them hold.

    Every short copy at its Dc is run in one run, all at once: a bounded FIFO network of
    deterministic processes with blocking reads and writes is monotone in its depths (a deeper
    FIFO can only let every process go further), so finishing with all of them at Dc proves that
    each finishes at Dc alone.  Only if that run fails is each copy run alone, to name the one."""
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
    copies = short_copies(hls_model, model, declared)
    jobs = jobs or parallel.default_jobs()
    progress(f"fifo-check: {len(pictures)} images sequentially and at the project's depths; {len(copies)} short "
             f"copies at Dc together and each at Dc - 1 ({jobs} runs at a time) ...")
    done = _run_all(binary, project, _runs(pictures, copies), timeout_ms, jobs)
    at_project = done["project"]
    report = {"project": str(project), "samples": int(len(pictures)), "streams": len(declared),
              "project_depths": {"status": at_project.status,
                                 "equals_sequential": _finished_exact(at_project, done["sequential"].outputs),
                                 "equals_reference": _finished_exact(at_project, expected),
                                 "peaks": {s: {"depth": d, "most_held": p} for s, (d, p) in at_project.peaks.items()}}}
    if at_project.status != "finished":
        report["project_depths"].update(_deadlock_summary(at_project))
    together = done.get("together")
    alone = {} if together and _finished_exact(together, expected[:1]) else _run_all(
        binary, project, {("at", c["stream"]): (pictures[:1], {c["stream"]: c["minimum_cpp"]}, False)
                          for c in copies}, timeout_ms, jobs)
    for copy in copies:
        at_min = alone.get(("at", copy["stream"]), together)
        copy["at_minimum"] = {"status": at_min.status, "exact": _finished_exact(at_min, expected[:1]),
                              "with_every_short_copy_at_minimum": not alone}
        copy["below_minimum"] = _deadlock_summary(done[("below", copy["stream"])])
    report["short_copies"] = copies
    report["passed"] = _passed(report)
    return report


def _finished_exact(run: T.ThreadedRun, expected) -> bool:
    return run.status == "finished" and _exact(run.outputs, expected)


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
        lines.append(f"    at Dc: {c['at_minimum']['status']}{', exact' if c['at_minimum']['exact'] else ''}"
                     f"{' (every short copy at its Dc at once)' if c['at_minimum']['with_every_short_copy_at_minimum'] else ''}; "
                     f"at Dc - 1: {below['status']}")
        if below["status"] != "finished":
            lines += _stall_lines(below, c["fork"], c["join"])
    lines.append("  PASSED" if report["passed"] else "  FAILED")
    return "\n".join(lines)
