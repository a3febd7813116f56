"""Paths, the real entry point and stand-in projects, for the command-line tests."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
CKPT = ROOT / "qmodels" / "checkpoints" / "attendnet-tiny-digits"


def entry_point() -> list:
    """The installed ``attendnets`` script when there is one, else ``python -m hw.cli``."""
    script = Path(sys.executable).parent / "attendnets"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hw.cli"]


def run_entry_point(args, cwd, timeout=300, env=None, **popen):
    """The real command in a fresh process, without the test run's TF_CPP_MIN_LOG_LEVEL: the command
    must quiet TensorFlow itself."""
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(entry_point() + [str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, **popen)


def snapshot(root: Path) -> dict:
    """Every path under ``root`` (csim's build caches aside) with its size and modification time."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "build"]
        for name in dirs + files:
            st = os.stat(os.path.join(folder, name), follow_symlinks=False)
            found[os.path.relpath(os.path.join(folder, name), root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


def fake_project(root: Path, files: dict) -> Path:
    """A generated project as far as install() can tell: files and their manifest."""
    from hw.hls import project

    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    project.write_manifest(root)
    return root
