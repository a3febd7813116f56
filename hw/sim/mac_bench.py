"""Why csim cannot be made fast by flags: one 8-bit multiply-accumulate, timed three ways.

    python -m hw.sim.mac_bench [--opts O1 O2] [--repeat 5] [--compiler g++] [--instructions]

csim spends 81% of its time in hls4ml's pointwise MAC (hw/sim/flags.py).  This builds the
multiply-accumulates of one 128x128 pointwise layer (templates/mac_bench/mac_bench.cpp) with the
ap_types hls4ml ships (the ones every generated project compiles) as

  fixed    ap_fixed operands and accumulator, as hls4ml's kernels compute;
  int      the same raw bits as ap_int / ap_uint operands and an ap_int accumulator;
  native   the same raw bits as uint8_t / int8_t and an int32_t accumulator;

checks that all three give the same checksum (so they compute the same thing) and reports the
fastest of ``--repeat`` runs in ns per MAC (``--instructions``: instructions per MAC counted by
valgrind, independent of machine load).  The gap between ``fixed`` and ``native`` is the C model
of the arbitrary-precision types: a faster csim needs a faster model or a kernel that
accumulates on raw bits in hls4ml itself, not other flags.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hw.sim.flags import OPT_LEVELS

SOURCE = Path(__file__).resolve().parent / "templates" / "mac_bench" / "mac_bench.cpp"
VARIANTS = ("fixed", "int", "native")


def ap_types_dir() -> Path:
    """The ap_types hls4ml copies into every project's firmware/ap_types."""
    import hls4ml

    return Path(hls4ml.__file__).resolve().parent / "templates" / "vivado" / "ap_types"


def build(variant: str, opt: str, compiler: str, out: Path) -> Path:
    binary = out / f"mac_{variant}{opt}"
    subprocess.run([compiler, opt, "-std=c++14", f"-DMAC_{variant.upper()}", f"-I{ap_types_dir()}",
                    str(SOURCE), "-o", str(binary)], check=True)
    return binary


def _parse(stdout: str) -> tuple:
    """(ns per MAC, checksum, MACs) from the line the benchmark prints."""
    ns, checksum, macs = stdout.split()
    return float(ns), int(checksum), int(macs)


def run(binary: Path) -> tuple:
    """(ns per MAC, checksum) of one run."""
    ns, checksum, _ = _parse(subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout)
    return ns, checksum


def instructions_per_mac(binary: Path) -> float:
    """Instructions of the whole run (set-up included, under 1%) per MAC, counted by valgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", str(binary)],
                              check=True, capture_output=True, text=True)
    total = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if total is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{done.stderr[-500:]}")
    return int(total.group(1)) / _parse(done.stdout)[2]


def measure(opts, repeat: int, compiler: str, instructions: bool) -> list:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for opt in opts:
            checksums = set()
            for variant in VARIANTS:
                binary = build(variant, opt, compiler, Path(tmp))
                runs = [run(binary) for _ in range(repeat)]
                checksums.update(checksum for _, checksum in runs)
                row = {"opt": opt, "variant": variant, "ns_per_mac": min(ns for ns, _ in runs)}
                if instructions:
                    row["instructions_per_mac"] = instructions_per_mac(binary)
                rows.append(row)
            if len(checksums) != 1:
                raise RuntimeError(f"{opt}: the variants disagree ({sorted(checksums)}): not the same arithmetic")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw.sim.mac_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--opts", nargs="+", default=["O1", "O2"], choices=OPT_LEVELS,
                        help="optimisation levels, without the dash")
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant; the fastest is reported")
    parser.add_argument("--compiler", default="g++")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with valgrind")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    for tool in [args.compiler] + (["valgrind"] if args.instructions else []):
        if shutil.which(tool) is None:
            parser.error(f"{tool} not found on PATH")
    try:
        rows = measure([f"-{o}" for o in args.opts], args.repeat, args.compiler, args.instructions)
    except subprocess.CalledProcessError as err:  # the compiler or valgrind has said why on stderr
        parser.exit(1, f"{parser.prog}: error: {Path(err.cmd[0]).name} failed (exit {err.returncode}) on "
                       f"{err.cmd[-1] if err.cmd[0] == 'valgrind' else SOURCE.name}\n")
    for row in rows:
        extra = f"   {row['instructions_per_mac']:7.1f} instructions/MAC" if "instructions_per_mac" in row else ""
        print(f"{row['opt']:<4} {row['variant']:<7} {row['ns_per_mac']:8.3f} ns/MAC{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
