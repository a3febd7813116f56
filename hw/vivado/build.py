"""``attendnets build DIR [--synth] [--bitstream] [--jobs N]``: run the project's vendor scripts.

--synth (the default): C synthesis and IP export of the AXI top (vendor/hls.tcl); the C synthesis
reports of the top and of the network function are copied into reports/.  --bitstream: that, then
the block design, implementation and bitstream (vendor/vivado.tcl): bitstream/<name>.bit and .hwh,
reports/vivado_utilization_routed.rpt and reports/vivado_timing_summary_routed.rpt.  These are the
names and the folder ``hw.estimate.vendor_reports.load_reports`` reads, so ``attendnets report``
shows the figures as synthesized.  Every tool a step needs
is looked up before anything runs; a missing one stops the build with the exact command it would
have run.  Tools run in the project folder; their logs go to reports/<step>.log.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from pathlib import Path

import yaml

from hw.hls.ports import AcceleratorConfig

HLS_TOOLS = {"vitis": (("vitis-run", ["--mode", "hls", "--tcl", "vendor/hls.tcl"]),
                       ("vitis_hls", ["-f", "vendor/hls.tcl"])),
             "vivado": (("vivado_hls", ["-f", "vendor/hls.tcl"]),)}
VIVADO = "vivado"
REPORTS, BITSTREAM = "reports", "bitstream"
# what vendor/vivado.tcl writes (stage in the name: load_reports ranks the timing summaries by it)
VIVADO_REPORTS = ("vivado_utilization_routed.rpt", "vivado_timing_summary_routed.rpt")


class ToolMissing(RuntimeError):
    """A vendor tool the build needs is not on PATH."""


class BuildFailed(RuntimeError):
    """A vendor tool ran and failed, or did not leave the files it should have."""


def _backend(project: Path) -> str:
    from hw.hls.convert import load_resolved

    return load_resolved(project)["build"]["backend"]


def plan(project: Path, bitstream: bool, jobs: int) -> list:
    """[(step, argv)] with each step's first available tool; ToolMissing names the first missing one."""
    backend = _backend(project)
    for script in ("settings.tcl", "hls.tcl", "vivado.tcl"):
        if not (project / "vendor" / script).exists():
            raise FileNotFoundError(f"{project / 'vendor' / script}: missing; regenerate the project with "
                                    "'attendnets generate --force'")
    choices = HLS_TOOLS[backend]
    found = next(([tool, *args] for tool, args in choices if shutil.which(tool)), None)
    steps = [("hls", found or [choices[0][0], *choices[0][1]])]
    if bitstream:
        # its console goes to reports/vivado.log; no vivado.jou/.log left in the project folder
        steps.append(("vivado", [VIVADO, "-mode", "batch", "-nojournal", "-nolog", "-source", "vendor/vivado.tcl",
                                 "-tclargs", str(jobs)]))
    for step, argv in steps:
        if not shutil.which(argv[0]):
            names = " or ".join(tool for tool, _ in choices) if step == "hls" else VIVADO
            raise ToolMissing(f"{names} not found on PATH; in {project} this build would run: "
                              + " && ".join(shlex.join(a) for _, a in steps))
    return steps


def _run(project: Path, step: str, argv: list) -> float:
    log = project / REPORTS / f"{step}.log"
    log.parent.mkdir(exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(argv, cwd=project, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise BuildFailed(f"{shlex.join(argv)} failed with status {done.returncode} in {project}; "
                          f"see {log.relative_to(project)}")
    return time.perf_counter() - start


def collect_hls_reports(project: Path, acc: AcceleratorConfig) -> list:
    """Copy the C synthesis reports load_reports reads into reports/: csynth.xml, the AXI top's
    <top>_csynth.rpt/.xml (the totals) and the network function's <name>_csynth.rpt/.xml (its layers)."""
    source = project / f"{acc.top}_prj" / "solution1" / "syn" / "report"
    wanted = ["csynth.xml"] + [f"{f}_csynth{ext}" for f in (acc.top, acc.project) for ext in (".rpt", ".xml")]
    found = [source / name for name in wanted if (source / name).exists()]
    if not (source / f"{acc.top}_csynth.rpt").exists():
        raise BuildFailed(f"no C synthesis report {acc.top}_csynth.rpt in {source.relative_to(project)}; "
                          f"see {REPORTS}/hls.log")
    target = project / REPORTS
    target.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.copy2(path, target / path.name)
    return [str((target / p.name).relative_to(project)) for p in found]


def build(project, bitstream: bool = False, jobs: int = 2) -> dict:
    """Run the vendor flow of a generated project; returns what was run and collected."""
    project = Path(project).resolve()
    acc = AcceleratorConfig.load(project)
    steps = plan(project, bitstream, jobs)
    record = {"source": "synthesized", "project": acc.project, "board": acc.board, "steps": [], "files": []}
    for step, argv in steps:
        seconds = _run(project, step, argv)
        record["steps"].append({"step": step, "command": shlex.join(argv), "seconds": round(seconds, 1)})
        if step == "hls":
            record["files"] += collect_hls_reports(project, acc)
    if bitstream:
        outputs = [project / BITSTREAM / f"{acc.project}{ext}" for ext in (".bit", ".hwh")]
        outputs += [project / REPORTS / name for name in VIVADO_REPORTS]
        missing = [str(p.relative_to(project)) for p in outputs if not p.exists()]
        if missing:
            raise BuildFailed(f"vivado finished without {', '.join(missing)}; see {REPORTS}/vivado.log")
        record["files"] += [str(p.relative_to(project)) for p in outputs]
    (project / REPORTS / "build.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    return record


def _build_cli(args) -> int:
    import sys

    try:
        record = build(args.project, bitstream=args.bitstream, jobs=args.jobs)
    except (ToolMissing, BuildFailed) as err:
        print(f"attendnets build: error: {err}", file=sys.stderr)
        return 1
    for step in record["steps"]:
        print(f"{step['step']}: {step['command']} ({step['seconds']} s)")
    print("collected: " + ", ".join(record["files"]))
    return 0


def add_cli(subparsers) -> None:
    """Register the 'build' subcommand."""
    from hw.config import option_type

    p = subparsers.add_parser("build", help="run Vitis/Vivado HLS and Vivado on a project (IP, bitstream, reports)")
    p.add_argument("project")
    stage = p.add_mutually_exclusive_group()
    stage.add_argument("--synth", action="store_true",
                       help="C synthesis and IP export of the AXI top only (the default)")
    stage.add_argument("--bitstream", action="store_true",
                       help="also the block design, implementation and bitstream (.bit + .hwh)")
    p.add_argument("--jobs", type=option_type("jobs"), default=2, help="parallel Vivado runs (default %(default)s)")
    p.set_defaults(func=_build_cli)
