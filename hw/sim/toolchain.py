"""The g++ toolchain every compiled build of a project shares: flags, the source hash that names a
build folder, and one atomic compiler call.  Used by C simulation (hw.sim.csim), the threaded
bounded-FIFO run (hw.sim.threaded) and the AXI top's library and test bench (hw.sim.axi), so that
none of them imports another to compile."""
from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

CXX = "g++"
# Chosen by measurement (hw/sim/flags.py, AttendNet-B 224x224, figures in its docstring): -O2 and
# -O3 run no faster than -O1, which compiles in a quarter less time.  No -march=native: the
# binaries and the figures must hold on any x86-64 machine (CI's too).
OPT = "-O1"
# -fno-gnu-unique: template statics would otherwise be bound process-wide across every emulation
# library loaded into one Python process (hls4ml's build_lib.sh uses it for the same reason)
BASE_FLAGS = ["-std=c++14", "-fno-gnu-unique", "-Ifirmware/ap_types", "-Ifirmware", "-I."]
CXXFLAGS = [OPT, *BASE_FLAGS]


class CsimError(RuntimeError):
    """A compile or simulation step that failed; the message holds the tool's own last words."""


def source_hash(project: Path, extra: list) -> str:
    """A build folder's name: the project's C++ sources and weights, and ``extra`` (flags, templates)."""
    digest = hashlib.sha256(" ".join(extra).encode())
    for path in sorted((project / "firmware").rglob("*")) + sorted(project.glob("*.cpp")):
        if path.is_file() and path.suffix in (".h", ".cpp", ".txt"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def gxx(cwd: Path, flags: list, args: list, target: Path) -> float:
    """One g++ call writing ``target`` atomically (a .part file renamed); its wall time."""
    tmp = target.with_name(target.name + ".part")
    start = time.perf_counter()
    done = subprocess.run([CXX, *flags, *args, "-o", str(tmp)], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise CsimError(f"g++ {' '.join(args)} in {cwd} failed:\n{done.stderr[-4000:]}")
    tmp.rename(target)
    return time.perf_counter() - start
