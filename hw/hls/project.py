"""Project folders on disk: built in a staging folder, then moved into place whole.

Every generated project carries a manifest (file -> sha256) of exactly what ``generate`` wrote.
Regenerating over a project is allowed when nothing would change; a change needs ``force``; a
project whose generated files were edited needs ``force`` too, and the refusal lists those
files, which is all ``force`` loses.  Everything else in the folder (vendor outputs such as
``reports/``, ``build/``, ``*_prj/``, logs, the user's own files) was not written by
``generate`` and is carried into the new project, or moved aside when the new project writes a
file at the same place.  A folder that is not a generated project is never replaced.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".attendnets-manifest.json"
# Set by the command's Ctrl-C handler (hw.ctrl_c.CtrlC) when the user presses Ctrl-C.  Python raises
# the KeyboardInterrupt wherever the signal lands, where a library may swallow it: install() reads
# this, so a project is never put in place after Ctrl-C, whatever happened to the exception.
INTERRUPTED = threading.Event()
_staging = set()  # staging folders of this process not yet installed or removed
# outputs of later steps, not part of what 'generate' writes
UNTRACKED_DIRS = ("build", "reports", "bitstream", ".Xil")  # outputs of csim, build and the vendor tools
UNTRACKED_SUFFIXES = (".so", ".o", ".log")


class ProjectError(RuntimeError):
    pass


@dataclass
class Installed:
    """What ``install`` did: the status, the files it carried over, and where clashing ones went."""
    status: str                                   # created | unchanged | replaced
    kept: list = field(default_factory=list)      # paths (relative) carried into the new project
    moved_aside: list = field(default_factory=list)
    aside: Path = None                            # folder holding moved_aside


def _tracked(root: Path):
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or rel.name == MANIFEST or path.suffix in UNTRACKED_SUFFIXES:
            continue
        if rel.parts[0] in UNTRACKED_DIRS or rel.parts[0].endswith("_prj"):
            continue
        yield rel.as_posix(), path


def file_hashes(root: Path) -> dict:
    return {rel: hashlib.sha256(path.read_bytes()).hexdigest() for rel, path in _tracked(root)}


def write_manifest(root: Path) -> dict:
    hashes = file_hashes(root)
    (root / MANIFEST).write_text(json.dumps(hashes, indent=1, sort_keys=True))
    return hashes


def read_manifest(root: Path):
    """The manifest of a generated project, None for a folder without one."""
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ProjectError(f"{path}: corrupt (expected a JSON mapping of files to sha256 digests); "
                           "move the folder away and generate again")
    return data


def edited_files(root: Path) -> list:
    """Files of a generated project that differ from what was generated (added, changed, removed)."""
    recorded = read_manifest(root) or {}
    now = file_hashes(root)
    return sorted(rel for rel in set(recorded) | set(now) if recorded.get(rel) != now.get(rel))


def not_generated(root: Path, manifest: dict) -> list:
    """Paths in ``root`` that generate did not write, a whole folder as one entry when nothing in it was."""
    prefixes = {"/".join(rel.split("/")[:i]) for rel in manifest for i in range(1, rel.count("/") + 1)}
    found = []

    def walk(folder: Path):
        for path in sorted(folder.iterdir()):
            rel = path.relative_to(root).as_posix()
            if rel == MANIFEST or rel in manifest:
                continue
            if path.is_dir() and not path.is_symlink() and rel in prefixes:
                walk(path)
            else:
                found.append(rel)
    walk(root)
    return found


def staging_dir(out: Path) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        path = out.parent / f".{out.name}.staging-{os.getpid()}"
        shutil.rmtree(path, ignore_errors=True)
        _staging.add(path)  # before it exists: a Ctrl-C right after mkdir must not leave it behind
        path.mkdir()
    except OSError as err:
        raise ProjectError(f"--out {out}: cannot write in {out.parent} ({err.strerror}); "
                           "choose another folder") from None
    return path


def remove_staging() -> None:
    """Delete this process's staging folders that are still there: half-written by definition.  The
    command calls this when interrupted, in case a second Ctrl-C cut short generate's own clean-up."""
    while _staging:
        shutil.rmtree(_staging.pop(), ignore_errors=True)


def _listing(paths: list) -> str:
    return ", ".join(paths)


def check_replaceable(out: Path, new, force: bool) -> str:
    """'create', 'unchanged' or 'replace' for a project with manifest ``new`` at ``out``; raises when refused.

    With ``new`` None (before generating) only the refusals that do not depend on the new files."""
    if not out.exists() and not out.is_symlink():
        return "create"
    if not out.is_dir():
        raise ProjectError(f"--out {out} is a file, not a project folder; choose another --out")
    old = read_manifest(out)
    if old is None:
        entries = sorted(p.name for p in out.iterdir())
        if not entries:
            return "replace"
        raise ProjectError(f"--out {out} exists and is not a project generated by attendnets (it holds "
                           f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}: {_listing(entries[:8])}{' ...' if len(entries) > 8 else ''}); "
                           "it is never replaced, not even with --force: choose another --out")
    now = file_hashes(out)
    lost = sorted(rel for rel in old if rel in now and now[rel] != old[rel])
    removed = sorted(rel for rel in old if rel not in now)
    if lost and not force:
        raise ProjectError(f"{out} was edited since it was generated; --force would overwrite your edits of "
                           f"{len(lost)} generated file{'s' if len(lost) > 1 else ''}: {_listing(lost)} "
                           "(files generate did not write are kept)")
    if new is None:
        return "replace"
    if old == new and not lost and not removed:
        return "unchanged"
    if not force:
        changed = sorted(set(removed) | {rel for rel in set(old) | set(new) if old.get(rel) != new.get(rel)})
        raise ProjectError(f"{out} exists and regenerating changes {len(changed)} files ({_listing(changed[:5])}"
                           f"{' ...' if len(changed) > 5 else ''}); pass --force to replace them "
                           "(files generate did not write are kept)")
    return "replace"


def install(staging: Path, out: Path, force: bool) -> Installed:
    """Move a finished staging folder to ``out`` (see the module's docstring)."""
    new = read_manifest(staging)
    action = check_replaceable(out, new, force)
    with deferred_interrupt() as caught:
        _staging.discard(staging)  # from here it is renamed into place or removed, within this block
        if caught or INTERRUPTED.is_set():  # Ctrl-C came before the swap, even if its KeyboardInterrupt was lost
            shutil.rmtree(staging)
            raise KeyboardInterrupt
        if action == "create":
            staging.rename(out)
            return Installed("created")
        if action == "unchanged":
            shutil.rmtree(staging)
            return Installed("unchanged")
        return _replace(staging, out)


def _replace(staging: Path, out: Path) -> Installed:
    old = read_manifest(out) or {}
    extras = not_generated(out, old)
    trash = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(trash)
    staging.rename(out)
    done = Installed("replaced")
    for rel in extras:
        target = out / rel
        if target.exists() or target.is_symlink() or any(p.is_file() for p in target.parents if p != out):
            if done.aside is None:
                done.aside = out.parent / f"{out.name}.kept-{time.strftime('%Y%m%d-%H%M%S')}"
            target = done.aside / rel
            done.moved_aside.append(rel)
        else:
            done.kept.append(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        (trash / rel).rename(target)
    _remove_generated(trash, old)
    return done


def _remove_generated(trash: Path, manifest: dict) -> None:
    """Delete the old project's generated files, then its empty folders: nothing else is in it."""
    for rel in manifest:
        (trash / rel).unlink(missing_ok=True)
    (trash / MANIFEST).unlink(missing_ok=True)
    for folder in sorted((p for p in trash.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            folder.rmdir()
    with contextlib.suppress(OSError):
        trash.rmdir()


@contextlib.contextmanager
def deferred_interrupt():
    """Hold Ctrl-C until the block ends, so a folder swap is never left half-done.  Yields the presses
    held so far.  Where Ctrl-C cannot be handled (not the main thread) or is ignored, nothing changes."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) in (
            signal.SIG_IGN, None):
        yield []
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *a: caught.append(a))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


def assert_relocatable(root: Path, *absolute_paths: str) -> None:
    """No generated text file may name the folder it was generated in: projects must move.

    A path counts only as a whole path (followed by '/', a quote, a space or the end), so a
    recorded sibling such as <out>.yaml or <out>_ckpt is not mistaken for the folder itself."""
    patterns = {p: re.compile(re.escape(p) + r"(?![\w.\-])") for p in absolute_paths}
    for rel, path in _tracked(root):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for absolute, pattern in patterns.items():
            if pattern.search(text):
                raise ProjectError(f"generated file {rel} contains the absolute path {absolute}")
