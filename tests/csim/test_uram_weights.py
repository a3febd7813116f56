"""Weights in URAM, loaded at run time (``layers.NAME.storage: uram``; hw/hls/layers/uram_weights.py):
the AXI top owns the arrays, zero at start as URAM is at power-up, and fills them from the weight
frame (accelerator_weights.bin) before the first image.  Through that load (the AXI test bench and the
simulated board behind the host driver) the outputs are bit-exact and live, and a zero, short or
long frame does not give the network its weights; the network-level csim (emulation, test bench)
is exact with hls4ml's external weights.  uram is refused by name where a part has no URAM and
with io_parallel."""
import numpy as np
import pytest

from csim_models import assert_exact_and_live
from hw.config import BuildConfig, ConfigError, LayerSettings
from hw.hls import testbench
from hw.hls.ports import AcceleratorConfig, WEIGHTS_FILE
from hw.sim.csim import csim
from hw.sim.axi import build_library, run_testbench
from test_fold import fold_model

# (reuse, fold, multiplier, storage): two layers in URAM (a packed pointwise routed to our grouped
# conv, and a grouped conv), one in BRAM beside them
URAM = {"pw": (6, 3, "packed", "uram"), "g": (8, 4, "lut", "uram"), "stem": (12, 4, "lut", "bram")}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """One generated project on a KV260 (Vitis, io_stream), shared by the tests that only read it."""
    import hw.hls.convert
    from csim_models import in_memory
    from hw.hls.convert import generate

    model = fold_model()
    layers = {name: LayerSettings(reuse=r, fold=f, multiplier=m, storage=s) for name, (r, f, m, s) in URAM.items()}
    cfg = BuildConfig(model=model.name, board="kv260", io="stream", samples=3, layers=layers)
    saved = hw.hls.convert.software_model
    hw.hls.convert.software_model = lambda c: in_memory(model, c)
    try:
        return generate(cfg, tmp_path_factory.mktemp("uram") / "t_fold")[0]
    finally:
        hw.hls.convert.software_model = saved


def test_generation_makes_the_arrays_the_tops(project):
    acc = AcceleratorConfig.load(project)
    memories = {m.layer: m for m in acc.weights.memories}
    assert sorted(memories) == ["g", "pw"]
    # R rows of n_filt x taps / R weights: pw 12 x 8 / 6, g 24 x 27 / 8 (hw/hls/layers/weight_rows.py)
    assert (memories["pw"].rows, memories["pw"].row_elements, memories["pw"].row_words) == (6, 16, 2)
    assert (memories["g"].rows, memories["g"].row_elements, memories["g"].row_words) == (8, 54, 7)
    assert acc.weights.words == 6 * 2 + 8 * 7 and acc.weights.file == WEIGHTS_FILE
    assert (project / WEIGHTS_FILE).stat().st_size == acc.weight_bytes == 68 * 8
    firmware = (project / "firmware" / "t_fold.cpp").read_text()
    assert firmware.count("nnet::group_conv_2d_uram_cl<") == 2 and firmware.count("nnet::group_conv_2d_bram_cl<") == 1
    top = (project / "firmware" / "t_fold_axi.cpp").read_text()
    for m in acc.weights.memories:
        assert f"#pragma HLS BIND_STORAGE variable={m.variable} type=ram_1p impl=uram" in top
        assert f"#pragma HLS RESOURCE variable={m.variable} core=XPM_MEMORY uram" in top
        assert f"static weight" in top and f" {m.variable}[{m.rows * m.row_elements}];" in top
    assert "#include \"weights/" not in top     # the top's arrays start empty: no initialiser reaches them
    assert "accelerator_weights.bin" in (project / "vendor" / "settings.tcl").read_text()
    # the DMA's length register holds the weight frame too (AttendNet-A's 11.1 Mbit: ~1.4 MB, 21 bits)
    from hw.hls.tcl import dma_length_width
    acc.weights.words = 1_400_000 // 8
    assert dma_length_width(acc) == 21 and acc.weight_bytes == 1_400_000


def test_network_csim_is_exact(project):
    assert_exact_and_live(csim(project, modes=("emulation", "testbench")))


def test_axi_test_bench_is_exact_through_the_load(project):
    run = run_testbench(project)
    assert run["exact"], run["log"]
    assert "mismatched=0" in run["log"]


@pytest.mark.parametrize("change,says", [
    (lambda b: bytes(len(b)), "mismatched="),                       # loaded, but zeros: the network has no weights
    (lambda b: b[:-8], "the top read 67 words; it takes exactly 68 words"),
    (lambda b: b + bytes(8), "the top read 69 words; it takes exactly 68 words"),
    (lambda b: b[:-3], "returned -2"),                            # not whole words: the DMA cannot send it
])
def test_a_broken_frame_does_not_give_the_weights(project, tmp_path, change, says):
    frame = tmp_path / "frame.bin"
    frame.write_bytes(change((project / WEIGHTS_FILE).read_bytes()))
    run = run_testbench(project, weight_frame=frame)
    assert not run["exact"] and says in run["log"], run["log"]
    if says == "mismatched=":   # most outputs wrong: the arrays the network reads are the loaded ones
        assert int(run["log"].split("mismatched=")[1]) > 100, run["log"]


def test_host_driver_on_the_simulated_board_loads_once_and_is_exact(project):
    from host.accelerator import AttendNetAccelerator
    from host.io import to_codes

    acc = AttendNetAccelerator(project, backend="sim", library=build_library(project))
    info = acc.info
    log = acc.board.log
    assert log[:4] == [("recvchannel.transfer", info.output_bytes), ("sendchannel.transfer", info.weight_bytes),
                       ("sendchannel.wait", None), ("recvchannel.wait", None)]
    assert acc.board.allocations == [((info.input_bytes,), "|u1"), ((info.output_bytes,), "|u1"),
                                     ((info.weight_bytes,), "|u1")]
    inputs, expected, _ = testbench.read_tb_data(project)
    images = np.round(testbench.as_images(inputs, info.input.shape, project) * 256).astype(np.uint8)
    scores = acc.run(images)
    np.testing.assert_array_equal(to_codes(scores, info.output.fmt), to_codes(expected, info.output.fmt))
    assert sum(1 for event in log if event == ("sendchannel.transfer", info.weight_bytes)) == 1
    assert len(np.unique(scores)) > 20


def test_each_simulated_board_starts_empty_and_a_package_carries_the_frame(project, tmp_path):
    """A second board on the same library is powered on afresh (it takes the frame again), and a
    deployment package holds the frame, listed in its manifest, from which its driver loads it."""
    from host.accelerator import AttendNetAccelerator
    from host.archive import extract, make_archive

    library = build_library(project)
    inputs, expected, _ = testbench.read_tb_data(project)
    first = AttendNetAccelerator(project, backend="sim", library=library)
    images = np.round(testbench.as_images(inputs, first.info.input.shape, project) * 256).astype(np.uint8)
    np.testing.assert_array_equal(first.run(images), expected)
    archive, _ = make_archive(project, sim=True, library=library)
    root = extract(archive, tmp_path)
    assert (root / WEIGHTS_FILE).read_bytes() == (project / WEIGHTS_FILE).read_bytes()
    assert f"  {WEIGHTS_FILE}\n" in (root / "MANIFEST.sha256").read_text()
    second = AttendNetAccelerator(root, backend="sim")
    assert second.board.log[1] == ("sendchannel.transfer", second.info.weight_bytes)
    np.testing.assert_array_equal(second.run(images), expected)
    (root / WEIGHTS_FILE).write_bytes((root / WEIGHTS_FILE).read_bytes()[:-8])
    from host.package import PackageError
    with pytest.raises(PackageError, match=rf"{WEIGHTS_FILE}: 536 bytes, but the weight frame is 68 words of 64 bits"):
        AttendNetAccelerator(root, backend="sim")


def test_vivado_backend_on_zcu104_is_exact_through_the_load(generate_in_memory):
    """The other backend (Vivado HLS's RESOURCE core=XPM_MEMORY binding) and board, one layer in URAM."""
    out, resolved = generate_in_memory(fold_model(), "vivado", layers={"g": LayerSettings(reuse=8, fold=4,
                                                                                          storage="uram")})
    assert resolved["layers"]["g"]["storage"] == "uram" and resolved["board"]["name"] == "zcu104"
    assert [m.layer for m in AcceleratorConfig.load(out).weights.memories] == ["g"]
    run = run_testbench(out)
    assert run["exact"] and "mismatched=0" in run["log"], run["log"]


def test_uram_needs_a_part_with_uram_and_io_stream():
    layers = {"pw": {"storage": "uram"}}
    with pytest.raises(ConfigError, match=r"^config: field 'layers.pw.storage': 'uram' needs UltraRAM, and board "
                                          r"pynq-z2 \(xc7z020\S*\) has none; use bram or lutram$"):
        BuildConfig.from_dict({"model": "attendnet-tiny", "board": "pynq-z2", "layers": layers})
    with pytest.raises(ConfigError, match=r"^config: field 'layers.pw.storage': 'uram' needs io: stream .*got io: "
                                          r"parallel$"):
        BuildConfig.from_dict({"model": "attendnet-tiny", "board": "zcu104", "io": "parallel", "layers": layers})
    assert BuildConfig.from_dict({"model": "attendnet-tiny", "board": "kv260", "layers": layers})


def test_uram_follows_the_rom_rules(generate_in_memory):
    """Our grouped conv's memory path only: a window's taps a clock, convolutions only."""
    model = fold_model()
    with pytest.raises(ConfigError, match="field 'layers.stem.fold': .*R / fold must divide the 27 window taps"):
        generate_in_memory(model, layers={"stem": LayerSettings(reuse=8, fold=4, storage="uram")})
    with pytest.raises(ConfigError, match="field 'layers.input_q.storage': a weight storage is for convolutions"):
        generate_in_memory(model, layers={"input_q": LayerSettings(storage="uram")})


def test_fifo_check_runs_a_project_with_uram(project):
    """The threaded simulation declares the top's external arrays too (hw/sim/threaded.py)."""
    from hw.sim.fifo_check import fifo_check

    assert fifo_check(project)["passed"]


@pytest.mark.slow
def test_attendnet_a_every_conv_in_uram_is_exact_through_the_load(tmp_path):
    """AttendNet-A at 32x32 on a KV260 with all 62 of its convolutions' weights in URAM (1,122,048
    weights, a 140,256-word frame), reuse = the window's taps: exact through the load, and a zero
    frame gives wrong outputs.  About a minute."""
    from hw.hls.convert import generate
    from hw.hls.ops.group_conv import keras_geometry, window_taps
    from qmodels.build import build_model

    model = build_model("attendnet-a", input_shape=[32, 32, 3])
    convs = [layer for layer in model.layers if type(layer).__name__ in ("QConv2D", "QGroupConv2D", "QDepthwiseConv2D")]
    layers = {layer.name: LayerSettings(reuse=window_taps(keras_geometry(layer)), fold=1, storage="uram")
              for layer in convs}
    cfg = BuildConfig(model="attendnet-a", board="kv260", samples=4, input_shape=[32, 32, 3], layers=layers)
    out = generate(cfg, tmp_path / "a")[0]
    acc = AcceleratorConfig.load(out)
    assert len(acc.weights.memories) == len(convs) == 62
    run = run_testbench(out)
    assert run["exact"] and "mismatched=0" in run["log"], run["log"]
    (tmp_path / "zeros.bin").write_bytes(bytes(acc.weight_bytes))
    assert not run_testbench(out, weight_frame=tmp_path / "zeros.bin")["exact"]
