"""hw.sim.bench's report: the table and JSON of a fake result (no generation, no compiler, no timing)."""
import json

from hw.sim.bench import BenchResult, _image_phase, _ratios, format_table


def fake_result(exact=1.0) -> BenchResult:
    r = BenchResult("attendnet-b", "zcu104", "stream", "resource", 16, [224, 224, 3], images=4, repeat=2, cpus=2)
    r.phases["generate"] = {"seconds": 10.0, "peak_mb": 1000.0, "peak_of": "generating process"}
    r.phases["compile"] = {"seconds": 30.0, "peak_mb": 700.0, "peak_of": "largest g++ process"}
    _image_phase(r, "qkeras", [2.0, 1.0], 1000.0, "python")
    _image_phase(r, "emulation", [8.0, 9.0], 50.0, "python")
    _image_phase(r, "testbench", [16.0], 60.0, "binary")
    _ratios(r)
    for mode in ("emulation", "testbench"):
        r.exact[mode] = {"samples": 4, "bit_exact_fraction": exact, "max_diff_lsb": 0.0 if exact == 1 else 3.0,
                         "top1_agreement": 1.0}
    return r


def test_best_repeat_gives_images_per_second_and_ratio():
    r = fake_result()
    assert r.phases["qkeras"]["images_per_s"] == 4.0          # 4 images in the best run of 1.0 s
    assert r.phases["emulation"]["images_per_s"] == 0.5
    assert r.phases["emulation"]["ratio_vs_qkeras"] == 0.125
    assert r.phases["qkeras"]["ratio_vs_qkeras"] == 1.0
    assert "ratio_vs_qkeras" not in r.phases["compile"]


def test_table_rows_labels_and_verdict():
    text = format_table(fake_result().to_dict())
    assert "measured on this machine (2 cores)" in text
    assert "attendnet-b 224x224x3" in text and "best of 2" in text
    rows = {line.split("  ")[0]: line.split() for line in text.splitlines()}
    assert rows["compile (g++, firmware+bridge+tb)"][-4:] == ["30.00", "700", "-", "-"]
    assert rows["csim emulation (ctypes)"][-4:] == ["8.00", "50", "0.500", "0.1250"]
    assert "float64 reference (numpy)" not in rows                # phases not run are left out
    assert text.count(": EXACT") == 2
    assert "NOT EXACT" in format_table(fake_result(exact=0.5).to_dict())


def test_json_has_the_fields():
    data = json.loads(json.dumps(fake_result().to_dict()))
    assert data["label"] == "measured on this machine (2 cores)"
    assert set(data["phases"]) == {"generate", "compile", "qkeras", "emulation", "testbench"}
    for phase in data["phases"].values():
        assert {"seconds", "peak_mb", "peak_of"} <= set(phase)
    assert data["exact"]["testbench"]["bit_exact_fraction"] == 1.0
