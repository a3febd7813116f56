"""The deployment archive, deploy --sim and --dry-run, and tampered or corrupted archives."""
import argparse
import io
import json
import shutil
import socket
import subprocess
import sys
import tarfile

import pytest

from toyboard import FIXTURES
from host import deploy
from host.archive import ArchiveError, extract, make_archive
from host.package import PackageError


@pytest.fixture
def archive(toy_project):
    project, library = toy_project
    return make_archive(project, sim=True, library=library)


def test_archive_holds_the_package_and_verifies(archive, tmp_path):
    path, digest = archive
    assert path.name == "toy-sim.tar.gz" and len(digest) == 64
    root = extract(path, tmp_path)
    names = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {"MANIFEST.sha256", "accelerator.json", "accelerator.yaml", "labels.txt", "samples.npz",
            "sim/libtoy_axi.so", "host/accelerator.py", "host/board.py", "host/bench.py"} <= names
    assert (root / "labels.txt").read_text().split() == [f"class_{i}" for i in range(5)]


def test_packaged_code_runs_on_the_simulated_board_without_yaml(archive, tmp_path):
    root = extract(archive[0], tmp_path)
    block = ("import sys, runpy\n"
             "class Block:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] in ('yaml', 'pynq'): raise ImportError('blocked ' + name)\n"
             "sys.meta_path.insert(0, Block())\n"
             "sys.argv = ['host.board', 'smoke', '.', '--json']\n"
             "runpy.run_module('host.board', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", block], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"bit_exact_images": 6' in done.stdout and '"exact": true' in done.stdout


def test_deploy_sim_prints_scores_and_throughput(toy_project, capsys):
    project, library = toy_project
    out = io.StringIO()
    assert deploy.deploy_sim(project, library, out=out) == 0
    text = out.getvalue()
    assert "6/6 bit-exact with the expected scores" in text and "images/s" in text and "simulated board" in text


def _rewrite(path, change):
    """Copy the archive member by member, letting change(name, data) alter or add members."""
    members = []
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            members.append((m, tar.extractfile(m).read() if m.isfile() else None))
    with tarfile.open(path, "w:gz") as tar:
        for m, data in members:
            data = change(m.name, data)
            if data is not None:
                m.size = len(data)
            tar.addfile(m, io.BytesIO(data) if data is not None else None)
        extra = change(None, None)
        if extra:
            info = tarfile.TarInfo(extra[0])
            info.size = len(extra[1])
            tar.addfile(info, io.BytesIO(extra[1]))


def test_tampered_archive_is_refused(archive, tmp_path):
    path, _ = archive
    _rewrite(path, lambda name, data: b"cat\ndog\nemu\nfox\ngnu\n" if name == "toy/labels.txt" else data)
    with pytest.raises(ArchiveError, match="checksum mismatch for labels.txt: the package was corrupted or tampered"):
        extract(path, tmp_path / "a")


def test_added_file_is_refused(archive, tmp_path):
    path, _ = archive
    _rewrite(path, lambda name, data: ("toy/host/evil.py", b"import os\n") if name is None else data)
    with pytest.raises(ArchiveError, match="host/evil.py is not listed in MANIFEST.sha256"):
        extract(path, tmp_path / "a")


def test_corrupted_archive_is_refused(archive, tmp_path):
    path, _ = archive
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="corrupted archive"):
        extract(path, tmp_path / "a")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dry_run_prints_every_step_and_an_unreachable_host(toy_project):
    project, _ = toy_project
    out = io.StringIO()
    target = deploy.Target("127.0.0.1", port=_closed_port())
    assert deploy.deploy_board(project, target, sim=True, dry_run=True, out=out) == 1
    text = out.getvalue()
    assert [line.split("]")[0] for line in text.splitlines() if line.startswith("[")] == \
        ["[1/5", "[2/5", "[3/5", "[4/5", "[5/5"]
    assert "BatchMode=yes" in text and "StrictHostKeyChecking=yes" in text and "sha256sum -c" in text
    assert f"127.0.0.1:{target.port} is UNREACHABLE (ConnectionRefusedError" in text
    assert not (project / "build").exists()                                  # a dry run writes nothing


def test_project_without_bitstream_deploys_only_with_sim(toy_project):
    project, _ = toy_project
    with pytest.raises(PackageError, match="has no bitstream.*deploys only with --sim"):
        deploy.deploy_board(project, deploy.Target("board"), sim=False, dry_run=True, out=io.StringIO())


def test_cli_needs_a_host_or_sim(toy_project, capsys):
    parser = argparse.ArgumentParser()
    deploy.add_cli(parser.add_subparsers())
    args = parser.parse_args(["deploy", str(toy_project[0])])
    assert args.func(args) == 2
    assert "give --board-host HOST (a PYNQ board) or --sim" in capsys.readouterr().err


def test_board_archive_carries_the_overlay_built_into_the_project(toy_project, tmp_path):
    project, _ = toy_project
    (project / "bitstream").mkdir()
    (project / "bitstream" / "toy.bit").write_bytes(b"bits")
    out = io.StringIO()
    with pytest.raises(PackageError, match="a bitstream but no toy.hwh"):
        deploy.deploy_board(project, deploy.Target("127.0.0.1", port=_closed_port()), sim=False, dry_run=True, out=out)
    shutil.copy(FIXTURES / "toy.hwh", project / "bitstream" / "toy.hwh")
    deploy.deploy_board(project, deploy.Target("127.0.0.1", port=_closed_port()), sim=False, dry_run=True, out=out)
    assert "host.board smoke . --backend pynq" in out.getvalue()
    root = extract(make_archive(project, sim=False)[0], tmp_path)
    assert (root / "overlay" / "toy.bit").read_bytes() == b"bits" and (root / "overlay" / "toy.hwh").exists()
    assert not (root / "sim").exists()


def test_bench_script_prints_json_on_the_package(archive, tmp_path):
    root = extract(archive[0], tmp_path)
    done = subprocess.run([sys.executable, "-m", "host.bench", ".", "--max-batch", "2", "--repeats", "3", "--json",
                           "--out", str(tmp_path / "bench.json")], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["backend"] == "sim" and [r["batch"] for r in report["rows"]] == [1, 2]
    assert all(r["images_per_s"] > 0 for r in report["rows"]) and json.loads(done.stdout) == report
