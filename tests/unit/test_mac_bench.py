"""hw.sim.mac_bench: the three MAC variants build with the project's ap_types and compute the same
sums (the benchmark refuses to compare variants that do not); no timing is asserted."""
import pytest

from hw.sim import mac_bench


def test_the_three_variants_build_and_agree():
    rows = mac_bench.measure(["-O1"], repeat=1, compiler="g++", instructions=False)
    assert [r["variant"] for r in rows] == list(mac_bench.VARIANTS)
    assert all(r["ns_per_mac"] > 0 for r in rows)


def test_variants_that_compute_different_sums_are_refused(monkeypatch):
    sums = iter(range(100))
    monkeypatch.setattr(mac_bench, "build", lambda variant, opt, compiler, out: out / variant)
    monkeypatch.setattr(mac_bench, "run", lambda binary: (1.0, next(sums)))
    with pytest.raises(RuntimeError, match="variants disagree"):
        mac_bench.measure(["-O1"], repeat=1, compiler="g++", instructions=False)


def test_bad_repeat_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        mac_bench.main(["--repeat", "0"])
    assert exit_.value.code == 2 and "--repeat must be at least 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["hw.sim.mac_bench", "hw.sim.flags"])
def test_an_unknown_optimisation_level_is_a_usage_error(module, capsys):
    import importlib

    argv = ["--opts", "Z"] if module.endswith("mac_bench") else ["some_project", "--opts", "Z"]
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main(argv)
    assert exit_.value.code == 2 and "--opts: invalid choice: 'Z'" in capsys.readouterr().err


def test_a_compiler_that_fails_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        mac_bench.main(["--compiler", "false", "--repeat", "1", "--opts", "O1"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "python -m hw.sim.mac_bench: error: false failed (exit 1) on mac_bench.cpp\n"
