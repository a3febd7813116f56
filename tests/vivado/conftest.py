"""Generated projects shared by the vendor tests (generation and g++ builds take most of the time)."""
import pytest

from hw.config import BuildConfig
from hw.hls.convert import generate

# 16x16x3 packs exactly into 64-bit words; 17x23x3 with 9 classes leaves a padded last word on
# both ports (1173 pixels codes in 147 words, 9 scores in 5 words); "wide" has a 50-class head
PROJECTS = {"vitis": dict(input_shape=[16, 16, 3], backend="vitis", io="stream"),
            "vivado": dict(input_shape=[17, 23, 3], classes=9, backend="vivado", io="stream"),
            "parallel": dict(input_shape=[17, 23, 3], classes=9, backend="vitis", io="parallel"),
            # 50 scores in 32-bit lanes: 1600 bits of output, over ap_int's 1024-bit limit if held in one vector
            "wide": dict(input_shape=[8, 8, 3], classes=50, backend="vitis", io="stream")}


@pytest.fixture(scope="session")
def vendor_project(tmp_path_factory):
    made = {}

    def get(kind: str):
        if kind not in made:
            cfg = BuildConfig(model="attendnet-tiny", board="zcu104", samples=3, **PROJECTS[kind])
            out = tmp_path_factory.mktemp("vendor") / f"tiny_{kind}"
            generate(cfg, out)
            made[kind] = out
        return made[kind]

    return get
