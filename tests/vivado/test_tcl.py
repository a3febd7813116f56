"""Every generated vendor script, for every board, run in a real Tcl interpreter with the vendor
commands stubbed (vendor_tcl_stubs.py): syntax, paths, IP definitions, properties, pins, the
board preset and the wiring of the block design are checked against the board file and
accelerator.yaml."""
import shutil

import pytest

from hw.boards import PS_IP, board_names, load_board
from hw.hls import tcl
from hw.vivado import build
from hw.hls.ports import AcceleratorConfig, make_config
from vendor_tcl_stubs import HlsStub, VivadoStub

INSTALLED_BOARD_PARTS = [load_board(n).board_part for n in board_names()]


def project_on(base, board_name, backend, tmp_path):
    """A copy of a generated project with its accelerator.yaml and vendor scripts for another board
    (the scripts are written by the same function generate calls)."""
    project = tmp_path / f"{board_name}_{backend}"
    shutil.copytree(base, project, ignore=shutil.ignore_patterns("build", "*_prj"))
    old = AcceleratorConfig.load(project)
    board = load_board(board_name)
    acc = make_config(old.project, old.input.format, old.input.shape, old.output.format, old.output.shape,
                      board, board.clock_ns)
    acc.save(project)
    tcl.write_scripts(project, acc, board, backend, "27%")
    return project, acc, board


def run_hls(project):
    stub = HlsStub(project)
    stub.run("vendor/hls.tcl")
    return stub


def run_vivado(project, acc, jobs=3):
    (project / f"{acc.top}_prj" / "solution1" / "impl" / "ip").mkdir(parents=True)   # what hls.tcl exports
    ports = tcl.stream_ports((project / "firmware" / f"{acc.project}_axi.cpp").read_text(), acc.top)
    stub = VivadoStub(project, INSTALLED_BOARD_PARTS, {"vlnv": acc.vlnv, "ports": ports})
    stub.run("vendor/vivado.tcl", [str(jobs)])
    return stub, ports


@pytest.mark.parametrize("backend", ["vitis", "vivado"])
def test_hls_script(vendor_project, tmp_path, backend):
    project, acc, board = project_on(vendor_project("vitis"), "zcu104", backend, tmp_path)
    stub = run_hls(project)
    assert stub.top == acc.top
    assert any(f"void {acc.top}(" in (project / f).read_text() for f in stub.files)
    assert sorted(stub.files) == sorted([f"firmware/{acc.project}.cpp", f"firmware/{acc.project}_axi.cpp"])
    assert not any("gxx_axi" in f for f in stub.files + stub.tb_files)   # the tool uses its own ap_axi_sdata.h
    assert {"firmware/weights", "tb_data", f"{acc.project}_axi_test.cpp"} <= set(stub.tb_files)
    assert stub.called("set_part") == [(board.part,)]
    period = stub.called("create_clock")[0]
    assert float(period[period.index("-period") + 1]) == acc.clock_ns
    flow = stub.called("open_solution")[0]
    assert ("-flow_target" in flow) == (backend == "vitis")
    export = dict(zip(*[iter(stub.called("export_design")[0])] * 2))
    assert (export["-format"], export["-vendor"], export["-library"], export["-version"]) == \
        ("ip_catalog", acc.ip_vendor, acc.ip_library, acc.ip_version)
    assert [c for c, _ in stub.calls].index("csynth_design") < [c for c, _ in stub.calls].index("export_design")


def check_vivado(stub, project, acc, board, ports):
    """The block design the script built, against the board file and accelerator.yaml."""
    port_in, port_out = ports
    ps, dma, accel = board.ps.instance, acc.dma_instance, acc.accelerator_instance
    assert stub.project["part"] == board.part
    assert stub.properties["project"]["board_part"] == board.board_part, "board_part differs from the board file"
    assert stub.properties["project"].get("board_connections", "") == " ".join(
        f"{k} {v}" for k, v in board.board_connections.items())
    cells = stub.cells
    assert cells[ps]["vlnv"].rsplit(":", 1)[0] == board.ps.ip == PS_IP[board.family]
    rule, config = cells[ps]["automation"]
    assert rule == board.ps.automation and config.get("apply_board_preset") == "1"
    assert config == {k: str(v) for k, v in board.ps.automation_config.items()}
    assert float(cells[ps]["props"][board.ps.clock_mhz_property]) == pytest.approx(1000 / acc.clock_ns, rel=1e-3)
    assert int(cells[ps]["props"][board.ps.hp_width_property]) == acc.dma_width
    props = cells[dma]["props"]
    assert props["c_include_sg"] == "0"
    for key in ("c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width", "c_m_axi_s2mm_data_width",
                "c_s_axis_s2mm_tdata_width"):
        assert int(props[key]) == acc.dma_width, key
    assert 2 ** int(props["c_sg_length_width"]) - 1 >= max(acc.input_bytes, acc.output_bytes)
    assert cells[accel]["vlnv"] == acc.vlnv
    # streams: DMA -> accelerator -> DMA; memory: both DMA masters reach the HP port; registers: PS -> DMA
    assert stub.intf_peer(f"{dma}/M_AXIS_MM2S") == f"{accel}/{port_in}"
    assert stub.intf_peer(f"{accel}/{port_out}") == f"{dma}/S_AXIS_S2MM"
    hp = stub.intf_peer(f"{ps}/{board.ps.hp_port}")
    smc = hp.split("/")[0]
    assert {stub.intf_peer(f"{dma}/M_AXI_MM2S").split("/")[0], stub.intf_peer(f"{dma}/M_AXI_S2MM").split("/")[0]} == {smc}
    ctrl = stub.intf_peer(f"{ps}/{board.ps.master}").split("/")[0]
    assert stub.intf_peer(f"{dma}/S_AXI_LITE").split("/")[0] == ctrl
    # every clock input of every cell on the fabric clock; every reset on the reset block
    clock = stub.net_of(f"{ps}/{board.ps.clock_pin}")
    reset = stub.net_of("rst_fabric/peripheral_aresetn")
    for cell in cells:
        ip = stub._ip(cell)
        for pin, spec in ip["pins"].items():
            enabled = all(str(cells[cell]["props"].get(k)) == str(v) for k, v in (spec.get("requires") or {}).items())
            if spec.get("clock") and enabled:
                assert f"{cell}/{pin}" in clock, f"{cell}/{pin} is not on the fabric clock"
            if spec.get("reset"):
                assert f"{cell}/{pin}" in reset, f"{cell}/{pin} is not reset"
    assert (project / "bitstream" / f"{acc.project}.bit").exists()
    assert (project / "bitstream" / f"{acc.project}.hwh").exists()
    for name in build.VIVADO_REPORTS:     # what 'attendnets build' collects and 'report' reads
        assert (project / "reports" / name).exists(), name


@pytest.mark.parametrize("board_name", board_names())
def test_vivado_script(vendor_project, tmp_path, board_name):
    project, acc, board = project_on(vendor_project("vitis"), board_name, "vitis", tmp_path)
    stub, ports = run_vivado(project, acc, jobs=3)
    check_vivado(stub, project, acc, board, ports)
    launched = stub.called("launch_runs")
    assert len(launched) == 2 and all(args[args.index("-jobs") + 1] == "3" for args in launched)


def test_syntax_error_fails(vendor_project, tmp_path):
    project, acc, _ = project_on(vendor_project("vitis"), "kv260", "vitis", tmp_path)
    script = project / "vendor" / "vivado.tcl"
    script.write_text(script.read_text().replace("save_bd_design\n", "save_bd_design {\n", 1))
    with pytest.raises(Exception, match="missing close-brace"):
        run_vivado(project, acc)


def test_unknown_ip_property_fails(vendor_project, tmp_path):
    """hls4ml 1.3's pynq-z2 design sets c_s_axis_s2mm_data_width, which AXI DMA does not have."""
    project, acc, _ = project_on(vendor_project("vitis"), "pynq-z2", "vitis", tmp_path)
    script = project / "vendor" / "vivado.tcl"
    script.write_text(script.read_text().replace("c_s_axis_s2mm_tdata_width", "c_s_axis_s2mm_data_width"))
    with pytest.raises(Exception, match="has no property CONFIG.c_s_axis_s2mm_data_width"):
        run_vivado(project, acc)


def test_port_left_disabled_fails(vendor_project, tmp_path):
    project, acc, board = project_on(vendor_project("vitis"), "zcu102", "vitis", tmp_path)
    settings = project / "vendor" / "settings.tcl"
    settings.write_text(settings.read_text().replace("CONFIG.PSU__USE__S_AXI_GP2 1", "CONFIG.PSU__USE__S_AXI_GP2 0"))
    with pytest.raises(Exception, match="saxihp0_fpd_aclk exists only with CONFIG.PSU__USE__S_AXI_GP2 = 1"):
        run_vivado(project, acc)


def test_mismatched_preset_is_caught(vendor_project, tmp_path):
    project, acc, board = project_on(vendor_project("vitis"), "ultra96v2", "vitis", tmp_path)
    settings = project / "vendor" / "settings.tcl"
    settings.write_text(settings.read_text().replace(board.board_part, load_board("zcu104").board_part))
    stub, ports = run_vivado(project, acc)
    with pytest.raises(AssertionError, match="board_part"):
        check_vivado(stub, project, acc, board, ports)


def test_missing_source_fails(vendor_project, tmp_path):
    project, acc, _ = project_on(vendor_project("vitis"), "zcu104", "vivado", tmp_path)
    (project / "firmware" / f"{acc.project}_axi.cpp").unlink()
    with pytest.raises(Exception, match=f"firmware/{acc.project}_axi.cpp is missing"):
        run_hls(project)


def test_vivado_needs_the_hls_export(vendor_project, tmp_path):
    project, acc, _ = project_on(vendor_project("vitis"), "zcu104", "vitis", tmp_path)
    stub = VivadoStub(project, INSTALLED_BOARD_PARTS, {"vlnv": acc.vlnv, "ports": ("a", "b")})
    with pytest.raises(Exception, match="no exported HLS IP"):
        stub.run("vendor/vivado.tcl", ["2"])


def test_uninstalled_board_files_fail(vendor_project, tmp_path):
    project, acc, _ = project_on(vendor_project("vitis"), "pynq-z2", "vitis", tmp_path)
    (project / f"{acc.top}_prj" / "solution1" / "impl" / "ip").mkdir(parents=True)
    stub = VivadoStub(project, ["xilinx.com:zcu104:part0:1.1"], {"vlnv": acc.vlnv, "ports": ("a", "b")})
    with pytest.raises(Exception, match="board files for tul.com.tw:pynq-z2:part0:1.0 are not installed"):
        stub.run("vendor/vivado.tcl", ["2"])
