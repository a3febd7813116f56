"""Paths, the real entry point and stand-in projects, for the command-line tests."""
import os
import shlex
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


def case_id(case) -> str:
    command = case.values[0] if hasattr(case, "values") else case[0]
    return command.replace("{ws}/", "").replace("{out}/", "").replace("{ckpt}", "CKPT")[:70] or "(nothing)"


def check_bad_input(command, status, words, workspace, workspace_state, tmp_path, monkeypatch, capsys) -> None:
    """One row of a bad-input table: the exit status, one error line naming ``words``, no traceback, the
    workspace unchanged and nothing left behind.  ``{ws}``, ``{out}`` and ``{ckpt}`` are the workspace, a
    fresh folder and the shipped checkpoint; LONG, TAB, NEWLINE and DEEP spell hostile names (test_bad_files)."""
    from hw.cli import main

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # a default --out would land here, not in the repository
    monkeypatch.setenv("ATTENDNETS_CACHE", str(tmp_path / "cache"))
    argv = [a.format(ws=workspace, out=out, ckpt=CKPT).replace("LONG", "n" * 300).replace("TAB", "a\tb")
            .replace("NEWLINE", "a\nb").replace("DEEP", "/d" * 2100) for a in shlex.split(command)]
    assert main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected" not in err, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and errors[0].startswith("attendnets"), err
    missing = [w for w in words if w.lower() not in errors[0].lower()]
    assert not missing, f"{missing} not in: {errors[0]}"
    assert snapshot(workspace) == workspace_state, "the command changed the workspace"
    assert sorted(p.name for p in out.iterdir()) == [], "the command left files behind"
    assert not list(workspace.glob(".*staging*")) and not list(Path("/sys").glob(".attendnets*"))
