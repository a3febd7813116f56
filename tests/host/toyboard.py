"""The toy accelerator of the host tests: a project folder as 'generate' leaves it (accelerator.yaml,
attendnets.yaml, tb_data) whose hardware is fixtures/toy_axi.cpp, with the AXI top's exact C contract."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"
TOY_SHAPE, TOY_CLASSES = (4, 5, 3), 5
TOY_CONFIG = {
    "project": "toy", "top": "toy_axi", "ip_vendor": "attendnets", "ip_library": "hls", "ip_version": "1.0",
    "dma_instance": "axi_dma_0", "accelerator_instance": "toy_axi_0", "dma_width": 64, "control": "ap_ctrl_none",
    "input": {"format": "ufixed<8,0>", "shape": list(TOY_SHAPE), "lane_bits": 8, "elements": 60, "words": 8},
    "output": {"format": "fixed<12,4>", "shape": [TOY_CLASSES], "lane_bits": 16, "elements": 5, "words": 2},
    "board": "zcu104", "clock_ns": 5.0, "pynq_images": ["3.0", "3.1", "4.0"]}

# the project record (qmodels/project_record.py) a generated toy would carry
TOY_RECORD = {"attendnets_project": 1, "project_name": "toy",
              "io": {"input_type": "ufixed<8,0>", "output_type": "fixed<12,4>"}, "build": {"weights": None},
              "board": {"name": "zcu104", "part": "xczu7ev-ffvc1156-2-e", "clock_ns": 5.0},
              "software_model": {"weights": "seeded", "input_shape": list(TOY_SHAPE), "classes": TOY_CLASSES},
              "testbench": {"samples": 6, "output_lsb": 2.0 ** -8}, "fifo_depths": {}, "layers": {}}


def toy_scores(images: np.ndarray) -> np.ndarray:
    """The toy accelerator's scores in Python (the reference for the driver's results)."""
    codes = images.reshape(len(images), -1).astype(np.int64)
    sign = np.array([1, -1, 1, -1, 1])
    scores = np.stack([(codes[:, k::TOY_CLASSES] * sign[k]).sum(1) for k in range(TOY_CLASSES)], 1) - 300
    return np.clip(scores, -2048, 2047) / 2.0 ** 8


def toy_images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, *TOY_SHAPE), dtype=np.uint8)


def write_toy_project(root: Path, library_dir: Path) -> tuple:
    """A project folder as 'generate' leaves it, for the toy; returns (project, library)."""
    root.mkdir(parents=True)
    (root / "accelerator.yaml").write_text(json.dumps(TOY_CONFIG))   # JSON is YAML
    (root / "attendnets.yaml").write_text(json.dumps(TOY_RECORD))   # JSON is YAML
    images = toy_images(6, seed=1)
    (root / "tb_data").mkdir()
    rows = lambda a: "".join(" ".join(f"{v:.17g}" for v in row) + "\n" for row in a)
    (root / "tb_data" / "tb_input_features.dat").write_text(rows(images.reshape(6, -1) / 256.0))
    (root / "tb_data" / "tb_output_predictions.dat").write_text(rows(toy_scores(images)))
    library = library_dir / "libtoy_axi.so"
    if not library.exists():
        library_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([shutil.which("g++") or "g++", "-O2", "-shared", "-fPIC", str(FIXTURES / "toy_axi.cpp"),
                        "-o", str(library)], check=True)
    return root, library
