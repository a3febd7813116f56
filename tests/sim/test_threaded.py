"""The C++ itself under bounded FIFOs (csim --fifo-check): it finishes and stays exact at the
project's depths and at each short copy's C++ minimum, and deadlocks one pixel below it, with the
watchdog naming the full streams and the blocked fork and join."""
import pytest

from hw.config import BuildConfig
from hw.hls.convert import generate
from hw.sim.fifo_check import fifo_check, format_fifo_check


def _check(report, copies):
    at = report["project_depths"]
    assert at["status"] == "finished" and at["equals_sequential"] and at["equals_reference"], report
    assert len(report["short_copies"]) == copies
    for copy in report["short_copies"]:
        # the hardware minimum less one pixel for each operation a C++ thread commits early
        assert copy["minimum_cpp"] == copy["minimum"] - len(copy["early_commits"])
        assert copy["at_minimum"] == {"status": "finished", "exact": True, "with_every_short_copy_at_minimum": True}
        below = copy["below_minimum"]
        assert below["status"] == "deadlock", copy
        assert copy["stream"] in below["full_streams"]
        assert f"clone_{copy['fork']}" in below["blocked_writing_full"]
        join = next(p for p in below["processes"] if p["name"] == copy["join"])
        assert join["state"] == "blocked-read" and join["stream"] != copy["stream"]  # starved by the long branch
        assert at["peaks"][copy["stream"]]["most_held"] <= copy["declared"]
    assert report["passed"]
    assert "PASSED" in format_fifo_check(report)


def test_attendnet_tiny_fifos_on_the_cpp(tiny_project):
    report = fifo_check(tiny_project, timeout_ms=30000)
    _check(report, copies=2)
    assert [c["minimum"] for c in report["short_copies"]] == [64, 32]  # 4 rows of 16 and of 8 pixels


@pytest.mark.slow
def test_attendnet_b_64x64_fifos_on_the_cpp(tmp_path):
    out = tmp_path / "b64"
    generate(BuildConfig(model="attendnet-b", board="zcu104", input_shape=[64, 64, 3], samples=2), out)
    report = fifo_check(out, timeout_ms=60000)
    _check(report, copies=len(report["short_copies"]))
    assert len(report["short_copies"]) >= 3


def test_a_claimed_minimum_one_pixel_too_shallow_fails_and_is_named(tiny_project, monkeypatch):
    """If the run with every short copy at its Dc fails, each copy is run alone at its Dc to name
    the one that does not hold; here the first copy's Dc is claimed one pixel lower than it is."""
    import hw.sim.fifo_check as F

    real = F.short_copies

    def one_too_low(*args):
        copies = real(*args)
        copies[0]["minimum_cpp"] -= 1
        return copies

    monkeypatch.setattr(F, "short_copies", one_too_low)
    report = fifo_check(tiny_project, timeout_ms=30000)
    wrong, right = report["short_copies"]
    assert wrong["at_minimum"] == {"status": "deadlock", "exact": False, "with_every_short_copy_at_minimum": False}
    assert right["at_minimum"] == {"status": "finished", "exact": True, "with_every_short_copy_at_minimum": False}
    assert wrong["below_minimum"]["status"] == right["below_minimum"]["status"] == "deadlock"
    assert report["project_depths"]["equals_sequential"] and not report["passed"]
    assert "FAILED" in format_fifo_check(report)
