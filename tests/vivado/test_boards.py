"""Board files and accelerator.yaml: validated on load, errors naming the file and field, round trips."""
import pytest
import yaml

from hw.boards import Board, BoardError, board_names, load_board, load_board_file
from hw.hls.ports import AcceleratorConfig, AcceleratorConfigError, PortSpec, make_config
from hw.hls.tcl import dma_length_width, fabric_mhz

PARTS = {"zcu104": "xczu7ev-ffvc1156-2-e", "kv260": "xck26-sfvc784-2LV-c", "ultra96v2": "xczu3eg-sbva484-1-i",
         "zcu102": "xczu9eg-ffvb1156-2-e", "pynq-z2": "xc7z020clg400-1"}
BOARD_PARTS = {"zcu104": ["xilinx.com", "zcu104"], "kv260": ["xilinx.com", "kv260_som"],
               "ultra96v2": ["avnet.com", "ultra96v2"], "zcu102": ["xilinx.com", "zcu102"],
               "pynq-z2": ["tul.com.tw", "pynq-z2"]}


def test_five_boards_load_and_round_trip():
    assert board_names() == sorted(PARTS)
    for name, part in PARTS.items():
        board = load_board(name)
        assert board.part == part and board.board_part.split(":")[:2] == BOARD_PARTS[name]
        again = Board.from_dict(yaml.safe_load(yaml.safe_dump(board.to_dict())), "round trip")
        assert again == board


def test_pynq_images_follow_the_releases():
    assert "4.0" not in load_board("pynq-z2").pynq.images and "3.1" in load_board("pynq-z2").pynq.images
    assert "4.0" in load_board("zcu104").pynq.images
    assert load_board("zcu102").pynq.images == []        # community builds only
    assert load_board("pynq-z2").ps.ip.endswith("processing_system7")
    assert load_board("kv260").board_connections       # the SOM sits on its carrier card


def _broken(tmp_path, change):
    data = load_board("zcu104").to_dict()
    change(data)
    path = tmp_path / "zcu104.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("board_part"), "field 'board_part' is missing"),
    (lambda d: d.update(speed="fast"), "field 'speed' is unknown"),
    (lambda d: d.update(dma_width=48), "field 'dma_width': expected one of"),
    (lambda d: d["ps"].update(ip="xilinx.com:ip:processing_system7"), "field 'ps.ip'"),
    (lambda d: d["ps"].pop("hp_port"), "field 'ps.hp_port' is missing"),
    (lambda d: d["ps"]["automation_config"].pop("apply_board_preset"), "field 'ps.automation_config'"),
    (lambda d: d["resources"].update(dsp=-1), "field 'resources.dsp'"),
    (lambda d: d.update(board_part="zcu104"), "field 'board_part': expected vendor:board:part0:version"),
    (lambda d: d.update(name="zcu106"), "field 'name': 'zcu106' differs from the file name"),
    (lambda d: d["ps"]["properties"].update(PSU__SAXIGP2__DATA_WIDTH=128), "field 'ps.properties'"),
])
def test_bad_board_file_names_file_and_field(tmp_path, change, message):
    path = _broken(tmp_path, change)
    with pytest.raises(BoardError, match=message) as err:
        load_board_file(path)
    assert str(path) in str(err.value)


def test_port_lanes():
    assert PortSpec.make("ufixed<8,0,TRN,WRAP,0>", [5, 5, 3], 64) == PortSpec("ufixed<8,0>", [5, 5, 3], 8, 75, 10)
    assert PortSpec.make("fixed<9,2>", [7], 64).lane_bits == 16
    assert PortSpec.make("ap_fixed<22,9>", [10], 64) == PortSpec("fixed<22,9>", [10], 32, 10, 5)
    # 16-bit formats give logits near 40 bits: one 64-bit lane each
    assert PortSpec.make("fixed<38,9>", [10], 64) == PortSpec("fixed<38,9>", [10], 64, 10, 10)
    with pytest.raises(AcceleratorConfigError, match="64-bit lane"):
        PortSpec.make("fixed<72,9>", [10], 64)


def _config():
    return make_config("net", "ufixed<8,0>", [17, 23, 3], "fixed<22,9>", [9], load_board("pynq-z2"), 10.0)


def test_accelerator_yaml_round_trips(tmp_path):
    cfg = _config()
    cfg.save(tmp_path)
    again = AcceleratorConfig.load(tmp_path)
    assert again == cfg and again.vlnv == "attendnets:hls:net_axi:1.0"
    assert (again.input.words, again.output.words, again.input_bytes) == (147, 5, 1176)
    assert again.pynq_images == ["2.7", "3.0", "3.1"]


@pytest.mark.parametrize("change,message", [
    (lambda d: d["input"].update(words=146), "field 'input.words' is 146"),
    (lambda d: d["output"].update(format="fixed<72,9>"), "field 'output.format'"),
    (lambda d: d.pop("dma_instance"), "field 'dma_instance' is missing"),
    (lambda d: d.update(dma_width=24), "field 'dma_width'"),
    (lambda d: d["input"].pop("shape"), "field 'input' must have exactly"),
])
def test_bad_accelerator_yaml(tmp_path, change, message):
    data = _config().to_dict()
    change(data)
    (tmp_path / "accelerator.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(AcceleratorConfigError, match=message):
        AcceleratorConfig.load(tmp_path)


def test_clock_and_dma_length():
    assert (fabric_mhz(5.0), fabric_mhz(6.667), fabric_mhz(10.0), fabric_mhz(4.0)) == ("200", "150", "100", "250")
    cfg = _config()
    assert dma_length_width(cfg) == 14
    big = make_config("net", "ufixed<8,0>", [224, 224, 3], "fixed<22,9>", [50], load_board("zcu104"), 5.0)
    assert dma_length_width(big) == 18 and 2 ** 18 > big.input_bytes == 150528
