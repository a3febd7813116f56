"""``attendnets deploy DIR``: package a project, copy it to a PYNQ board, check it there, run it.

    attendnets deploy DIR --board-host HOST [--user xilinx] [--dry-run]   a board (needs the bitstream)
    attendnets deploy DIR --sim                                          the simulated board, here
    attendnets deploy DIR --sim --board-host HOST                        the simulated board, on HOST

Copies with the system ssh/scp, key-based only: BatchMode=yes (never a password prompt) and
StrictHostKeyChecking=yes (the board's host key must already be in known_hosts; an unknown or
changed key stops the deploy).  On the board: the archive's sha256 is checked before unpacking,
then every file's checksum, then the package's sample images run through the accelerator and their
scores are compared bit for bit with the expected ones.
"""
from __future__ import annotations

import argparse
import functools
import os
import shlex
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from host.archive import ArchiveError, extract, make_archive, plan
from host.package import PackageError, load_info

DEFAULT_BOARD_PYTHON = "sudo -n env XILINX_XRT=/usr /usr/local/share/pynq-venv/bin/python3"


class DeployError(RuntimeError):
    """A deploy step that failed; the message names the step and what the tool said."""


@dataclass
class Target:
    host: str
    user: str = "xilinx"
    port: int = 22
    identity: str = None
    known_hosts: str = None
    remote_dir: str = "attendnets"
    board_python: str = DEFAULT_BOARD_PYTHON

    def options(self) -> list:
        opts = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=15"]
        if self.known_hosts:
            opts += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        if self.identity:
            opts += ["-i", self.identity, "-o", "IdentitiesOnly=yes"]
        return opts

    def ssh(self, command: str) -> list:
        return ["ssh", *self.options(), "-p", str(self.port), f"{self.user}@{self.host}", command]

    def scp(self, local: Path, remote: str) -> list:
        return ["scp", "-q", *self.options(), "-P", str(self.port), str(local), f"{self.user}@{self.host}:{remote}"]


def remote_steps(target: Target, archive: Path, digest: str, name: str, backend: str) -> list:
    """(what, argv) of every step after the archive exists."""
    q = shlex.quote
    # python -B: root (sudo) must leave no __pycache__ that the user's next deploy cannot remove
    rdir, arc, py = target.remote_dir, archive.name, target.board_python
    unpack = (f"cd {q(rdir)} && printf '%s  %s\\n' {digest} {q(arc)} | sha256sum -c --quiet - "
              f"&& rm -rf {q(name)} && tar -xzf {q(arc)} && cd {q(name)} && {py} -B -m host.board verify .")
    return [("make the folder on the board", target.ssh(f"mkdir -p {q(rdir)}")),
            ("copy the archive", target.scp(archive, f"{rdir}/{arc}")),
            ("check the archive's sha256, unpack, check every file's checksum", target.ssh(unpack)),
            ("smoke inference on the package's sample images",
             target.ssh(f"cd {q(rdir)}/{q(name)} && {py} -B -m host.board smoke . --backend {backend}"))]


def _hint(stderr: str) -> str:
    if "Host key verification failed" in stderr or "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
        return ("; the board's host key is unknown or changed: check its fingerprint on the board's console and "
                "add it to known_hosts (deploy never accepts an unchecked key)")
    if "Permission denied" in stderr:
        return "; key-based login failed: install your public key on the board (ssh-copy-id), passwords are not used"
    return ""


def run_step(number: int, total: int, what: str, argv: list, out=None) -> str:
    out = out or sys.stdout  # looked up at call time: a default bound at import outlives captured streams
    print(f"[{number}/{total}] {what}\n      $ {shlex.join(argv)}", file=out, flush=True)
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip("@ \n")]
        said = " | ".join(lines[-3:])[-1500:]
        raise DeployError(f"step {number} ({what}) failed with exit status {done.returncode}: {said}{_hint(said)}")
    return done.stdout


def reachable(host: str, port: int, timeout: float = 3.0) -> str:
    """'' when a TCP connection to host:port opens, else why not (for --dry-run)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except OSError as err:
        return f"{type(err).__name__}: {err}"


def deploy_board(project, target: Target, sim: bool, library=None, labels=None, dry_run=False, out=None) -> int:
    """Package, copy, check and smoke-run on target.host; returns the exit status."""
    out = out or sys.stdout
    project = Path(project)
    backend = "sim" if sim else "pynq"
    if dry_run:
        name = plan(project, sim, labels)["info"].name   # checks the inputs (bitstream, labels), writes nothing
        archive = project / "build" / "deploy" / f"{name}-{'sim' if sim else 'board'}.tar.gz"
        steps = remote_steps(target, archive, "<sha256 of the archive>", name, backend)
        print(f"[1/{len(steps) + 1}] package the project (here): would write {archive}", file=out)
        for i, (what, argv) in enumerate(steps, 2):
            print(f"[{i}/{len(steps) + 1}] {what}\n      $ {shlex.join(argv)}", file=out)
        why = reachable(target.host, target.port)
        print(f"dry run: nothing was run; {target.host}:{target.port} "
              + (f"is UNREACHABLE ({why}): the deploy would fail at step 2" if why else "answers"), file=out)
        return 1 if why else 0
    archive, digest = make_archive(project, sim, library, labels)
    print(f"[1/5] package the project: {archive} (sha256 {digest[:16]}...)", file=out)
    steps = remote_steps(target, archive, digest, load_info(project).name, backend)
    for i, (what, argv) in enumerate(steps, 2):
        said = run_step(i, len(steps) + 1, what, argv, out)
        if said.strip():
            print("      " + said.strip().replace("\n", "\n      "), file=out)
    return 0


def deploy_sim(project, library, labels=None, out=None) -> int:
    """Package for the simulated board, unpack in a temporary folder, run the packaged code there."""
    out = out or sys.stdout
    archive, digest = make_archive(project, True, library, labels)
    print(f"[1/3] package the project: {archive} (sha256 {digest[:16]}...)", file=out)
    with tempfile.TemporaryDirectory() as tmp:
        root = extract(archive, tmp)
        print(f"[2/3] unpacked in {root}; every file's checksum verified", file=out)
        print("[3/3] smoke inference with the packaged driver on the simulated board", file=out, flush=True)
        # run from the package folder, so that its own host/ is imported, not this checkout's
        done = subprocess.run([sys.executable, "-m", "host.board", "smoke", ".", "--backend", "sim"], cwd=root,
                              capture_output=True, text=True,
                              env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    print("      " + (done.stdout.strip() or done.stderr.strip()).replace("\n", "\n      "), file=out)
    if done.returncode in (0, 1):   # 1: ran, but some scores differ from the expected ones (printed above)
        return done.returncode
    raise DeployError(f"the packaged smoke inference did not finish (exit status {done.returncode}): "
                      f"{done.stderr.strip()[-800:]}")


def _library(project, sim: bool, build_library):
    if not sim:
        return None
    if build_library is None:   # host knows nothing of the C++: the command line (hw.cli) passes the builder
        raise DeployError("--sim needs the project's C++ compiled into the simulated board's library; "
                          "run 'attendnets deploy', which builds it")
    return build_library(Path(project))


def _deploy_cli(args, build_library=None) -> int:
    if not args.board_host and not args.sim:
        print("attendnets deploy: error: give --board-host HOST (a PYNQ board) or --sim (the simulated board)",
              file=sys.stderr)
        return 2
    try:
        plan(args.project, args.sim or not args.board_host, args.labels)  # bad input fails before g++ runs
        if not args.board_host:
            if args.dry_run:
                raise PackageError("--dry-run needs --board-host: a --sim deploy without a host runs only here")
            return deploy_sim(args.project, _library(args.project, True, build_library), args.labels)
        target = Target(args.board_host, args.user, args.port, args.identity, args.known_hosts, args.remote_dir,
                        args.board_python)
        library = None if args.dry_run else _library(args.project, args.sim, build_library)
        return deploy_board(args.project, target, args.sim, library, args.labels, args.dry_run)
    except (DeployError, ArchiveError) as err:
        print(f"attendnets deploy: error: {err}", file=sys.stderr)
        return 1


def _port(text: str) -> int:
    """An argparse ``type``: a TCP port, 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = None
    if port is None or not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port, an integer from 1 to 65535, got {text!r}")
    return port


def add_cli(subparsers, build_library=None) -> None:
    """Register the 'deploy' subcommand.  ``build_library(project) -> path``: the simulated board's library
    (g++ on the project's C++, development machine only), which --sim needs; hw.cli passes it."""
    p = subparsers.add_parser("deploy", help="package a project and run it on a PYNQ board (or the simulated board)")
    p.add_argument("project")
    p.add_argument("--board-host", help="the board's host name or address")
    p.add_argument("--user", default="xilinx")
    p.add_argument("--port", type=_port, default=22, help="the board's ssh port (default: 22)")
    p.add_argument("--identity", help="ssh private key (default: ssh's own)")
    p.add_argument("--known-hosts", help="known_hosts file holding the board's host key (default: ssh's own)")
    p.add_argument("--remote-dir", default="attendnets", help="folder on the board, relative to the user's home")
    p.add_argument("--board-python", default=DEFAULT_BOARD_PYTHON,
                   help="command running Python with pynq on the board (default: PYNQ 3/4 image's venv, as root)")
    p.add_argument("--labels", help="class labels, one per line (default: the project's, or class_<i>)")
    p.add_argument("--sim", action="store_true", help="the simulated board (the project's compiled C++)")
    p.add_argument("--dry-run", action="store_true", help="print every step, run none")
    p.set_defaults(func=functools.partial(_deploy_cli, build_library=build_library))
