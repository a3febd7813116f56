"""Synthesized figures of published hls4ml designs: the data the estimator is calibrated against.

One YAML file per design in this folder (schema in README.md beside it). Every figure in them is
copied from a public vendor report named in the file's ``source``; the tests parse the same reports
(tests/estimate/fixtures/) and check that the two agree.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from qmodels import strict_yaml

from hw.estimate import RESOURCES

HERE = Path(__file__).resolve().parent
REQUIRED = ("name", "source", "tool", "part", "clock_ns", "network", "hls_layers",
            "latency_cycles", "interval_cycles", "totals")


class CalibrationError(ValueError):
    """A calibration file that is missing a field or has a malformed one; names the file."""


def _check(record: dict, path: Path) -> dict:
    if not isinstance(record, dict):
        raise CalibrationError(f"{path}: expected a mapping at the top level")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise CalibrationError(f"{path}: missing field(s) {', '.join(missing)}")
    for kind in ("hls", "post_synthesis"):
        totals = record["totals"].get(kind)
        if totals is None:
            continue
        absent = [r for r in RESOURCES if not isinstance(totals.get(r), int)]
        if absent:
            raise CalibrationError(f"{path}: totals.{kind} needs integer {', '.join(absent)}")
    names = {layer["name"] for layer in record["network"].get("layers", [])}
    unknown = sorted(set(record["hls_layers"]) - names)
    if unknown:
        raise CalibrationError(f"{path}: hls_layers name(s) not in network.layers: {', '.join(unknown)}")
    record["file"] = path.name
    return record


def load_calibration(folder: Path | str | None = None, include_hls_only: bool = False) -> list[dict]:
    """The calibration records in ``folder`` (default: this package's), sorted by name.

    Each record is the YAML mapping plus ``file`` (its file name). Resources are
    ``lut``/``ff``/``dsp``/``bram18``/``uram``; ``totals.hls`` is Vivado/Vitis HLS's own estimate,
    ``totals.post_synthesis`` what Vivado synthesis reported. By default only the records that have
    ``totals.post_synthesis`` are returned (what an estimate of post-synthesis figures is checked
    against); ``include_hls_only=True`` adds the designs published with HLS reports only.
    """
    folder = Path(folder) if folder is not None else HERE
    records = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = strict_yaml.load(path)
        except yaml.YAMLError as err:
            raise CalibrationError(f"{path}: not valid YAML ({err})") from None
        record = _check(data, path)
        if include_hls_only or "post_synthesis" in record["totals"]:
            records.append(record)
    return sorted(records, key=lambda r: r["name"])
