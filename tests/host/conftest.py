"""Host tests: run in .venv-host (numpy, pynq 4.0, asyncssh; no TensorFlow), by `make test`.

pynq 4.0 pins grpcio 1.64 / protobuf 5, which TensorFlow 2.15 cannot share a venv with, so the
main venv skips these tests (they are reported as skipped, with the reason).  The project they
drive is a toy with the accelerator's exact C contract (toyboard.py, fixtures/toy_axi.cpp): real
projects need TensorFlow to generate, and their bit-exactness against csim is tested in tests/host_sim.
"""
import importlib.util
from pathlib import Path

import pytest

from toyboard import write_toy_project

HOST_VENV_ONLY = importlib.util.find_spec("pynq") is None or importlib.util.find_spec("asyncssh") is None


def pytest_collection_modifyitems(config, items):
    if not HOST_VENV_ONLY:
        return
    skip = pytest.mark.skip(reason="host tests run in .venv-host (pynq, asyncssh): `make test` runs them there")
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def toy_library(tmp_path_factory) -> Path:
    return write_toy_project(tmp_path_factory.mktemp("toy") / "project", tmp_path_factory.mktemp("lib"))[1]


@pytest.fixture
def toy_project(tmp_path, toy_library) -> tuple:
    return write_toy_project(tmp_path / "toy_project", toy_library.parent)
