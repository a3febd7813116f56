"""Fixtures of the C-simulation tests: a generate+csim round trip of an in-memory model."""
import itertools

import pytest
import yaml

from csim_models import in_memory
from hw.config import BuildConfig
from hw.hls.convert import RESOLVED, generate
from hw.sim.csim import csim


@pytest.fixture
def run_csim(tmp_path, monkeypatch):
    """generate + csim of an in-memory model; returns the csim report."""
    import hw.hls.convert

    def run(model, backend="vitis", io="stream", samples=3, modes=("emulation",)):
        cfg = BuildConfig(model=model.name, board="zcu104", backend=backend, io=io, samples=samples)
        monkeypatch.setattr(hw.hls.convert, "software_model", lambda c: in_memory(model, c))
        generate(cfg, tmp_path / f"{model.name}_{backend}_{io}")
        return csim(tmp_path / f"{model.name}_{backend}_{io}", modes=modes)

    return run


@pytest.fixture
def generate_in_memory(tmp_path, monkeypatch):
    """generate an in-memory model with any BuildConfig fields (board zcu104 unless given), each
    call in a folder of its own; returns (project folder, its resolved attendnets.yaml)."""
    import hw.hls.convert

    calls = itertools.count()

    def run(model, backend="vitis", io="stream", **fields):
        monkeypatch.setattr(hw.hls.convert, "software_model", lambda c: in_memory(model, c))
        cfg = BuildConfig(model=model.name, backend=backend, io=io, samples=3, **{"board": "zcu104", **fields})
        out, _ = generate(cfg, tmp_path / f"{model.name}_{backend}_{io}_{next(calls)}")
        return out, yaml.safe_load((out / RESOLVED).read_text())

    return run
