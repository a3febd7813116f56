"""deploy over real SSH: the system ssh/scp against an asyncssh server on 127.0.0.1 standing in for
the board (its commands run in a shell in the board's home folder, where the packaged code runs
the simulated board).  The server's host key is generated here and must be checked by the client."""
import asyncio
import io
import os
import sys
import threading
from pathlib import Path

import pytest

asyncssh = pytest.importorskip("asyncssh", reason="host tests run in .venv-host (make test)")

from host import deploy


class Board:
    """An SSH server in a background thread: exec commands in `home`, SFTP for scp."""

    def __init__(self, home, corrupt_uploads=False):
        self.home, self.corrupt = home, corrupt_uploads
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        assert self.ready.wait(20), "the SSH server did not start"

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[self.host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(self.client_key.export_public_key().decode()),
            process_factory=self._run, sftp_factory=self._sftp, allow_scp=True))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def _sftp(self, chan):
        board = self

        class Files(asyncssh.SFTPServer):
            def __init__(self, chan):
                super().__init__(chan, chroot=str(board.home).encode())

            def write(self, file_obj, offset, data):
                if board.corrupt and offset == 0 and data:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]     # a transfer that flips one bit
                return super().write(file_obj, offset, data)

            def exit(self):
                super().exit()
                chan.exit(0)   # OpenSSH's scp (SFTP mode) fails without the exit status sshd sends

        return Files(chan)

    async def _run(self, process):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = await asyncio.create_subprocess_shell(process.command, cwd=self.home, env=env,
                                                     stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                                                     stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        process.stdout.write(out.decode())
        process.stderr.write(err.decode())
        process.exit(proc.returncode)

    def target(self, tmp_path, known_key=None) -> deploy.Target:
        identity = tmp_path / "id_ed25519"
        self.client_key.write_private_key(str(identity))
        identity.chmod(0o600)
        known = tmp_path / "known_hosts"
        key = (known_key or self.host_key).export_public_key().decode().strip()
        known.write_text(f"[127.0.0.1]:{self.port} {key}\n")
        return deploy.Target("127.0.0.1", user="xilinx", port=self.port, identity=str(identity),
                             known_hosts=str(known), board_python=sys.executable)

    def close(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def board(tmp_path):
    servers = []

    def start(**kw):
        home = tmp_path / "board_home"
        home.mkdir(exist_ok=True)
        servers.append(Board(home, **kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_deploy_over_ssh_runs_the_smoke_inference_on_the_board(board, toy_project, tmp_path):
    project, library = toy_project
    server = board()
    out = io.StringIO()
    assert deploy.deploy_board(project, server.target(tmp_path), sim=True, library=library, out=out) == 0
    text = out.getvalue()
    assert "files verified" in text and "6/6 bit-exact with the expected scores" in text and "images/s" in text
    assert (server.home / "attendnets" / "toy" / "sim" / "libtoy_axi.so").exists()


@pytest.mark.parametrize("known", ["unknown", "changed"])
def test_unknown_or_changed_host_key_is_refused(board, toy_project, tmp_path, known):
    project, library = toy_project
    server = board()
    target = server.target(tmp_path, known_key=asyncssh.generate_private_key("ssh-ed25519"))
    if known == "unknown":
        Path(target.known_hosts).write_text("")
    with pytest.raises(deploy.DeployError, match="step 2 .*Host key verification failed.*host key is unknown or changed"):
        deploy.deploy_board(project, target, sim=True, library=library, out=io.StringIO())
    assert not (server.home / "attendnets").exists()


def test_checksum_mismatch_on_the_board_stops_the_deploy(board, toy_project, tmp_path):
    project, library = toy_project
    server = board(corrupt_uploads=True)
    with pytest.raises(deploy.DeployError, match="step 4 .*(FAILED|did NOT match)"):
        deploy.deploy_board(project, server.target(tmp_path), sim=True, library=library, out=io.StringIO())
    assert not (server.home / "attendnets" / "toy").exists()
