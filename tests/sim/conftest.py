"""A generated attendnet-tiny io_stream project shared by the simulation tests (generated once per session)."""
import shutil

import pytest

from hw.config import BuildConfig
from hw.hls.convert import generate


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "tiny"
    generate(BuildConfig(model="attendnet-tiny", board="zcu104", io="stream", samples=3), out)
    yield out
    shutil.rmtree(out, ignore_errors=True)
