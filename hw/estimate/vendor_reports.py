"""Synthesized figures: what the vendor tools reported for a project, per layer and in total.

``load_reports(project_dir)`` looks for the reports of an HLS project in its ``reports/`` folder
(where ``attendnets build`` copies them), in the project folder itself (hls4ml writes
``vivado_synth.rpt`` there) and in ``<name>_prj/solution1/syn/report/`` (Vivado/Vitis HLS's own
folder; the name is ``project_name`` in the project's ``attendnets.yaml``; with the AXI wrapper of
``accelerator.yaml`` the top's report gives the totals and the network function's the layers). It
returns ``None`` when there are none, and raises ``ReportError`` (a ValueError naming the file) for a broken one.

Totals are Vivado's (post-synthesis, -placement or -route, whichever is furthest) when a
``report_utilization`` file is there, else HLS's own estimate; ``totals_from`` says which, and
``hls_totals`` always holds HLS's. Per-layer figures exist only in the HLS report (Vivado's flat
utilization has none) and are HLS estimates.

Layer names. hls4ml names every layer's configuration ``configN`` (``relu_config5``, ...) and the
HLS tools carry it into the instance names (``conv_2d_cl_array_array_ap_fixed_16u_config2_U0``,
``grp_dense_latency_..._config4_s_fu_123``, ``call_ret_..._config7_s_fu_88``). The project's
``firmware/<name>.cpp`` names the layer behind each ``configN`` (``... config2>(...); // conv_0``),
and ``firmware/parameters.h`` does too (``// conv_0`` above ``struct config2``). What cannot be
mapped is kept under its instance name and listed in ``unmapped``: instances without a configN
(``Block_proc_U0``, ``entry_proc_U0``, ``Loop_1_proc_U0``: the tools' glue), and everything when
the firmware is absent. With io_parallel and the Latency strategy the HLS tool inlines the layers
into the top function, so the report has no per-layer rows at all (``layers`` is then empty).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

import yaml

from qmodels import strict_yaml
from qmodels.project_record import ProjectRecord, ProjectRecordError

from hw.estimate.calibration import load_calibration  # noqa: F401  (re-exported for the estimator)
from hw.estimate.vendor_parsers import (RESOURCES, HlsReport, ReportError, Resources, parse_csynth_rpt,
                                        parse_csynth_xml)
from hw.estimate.vivado_parsers import (TimingReport, UtilizationReport, parse_timing_summary,
                                        parse_utilization)

__all__ = ["ReportError", "Resources", "SynthesisReports", "load_reports", "load_calibration",
           "layer_names", "parse_csynth_rpt", "parse_csynth_xml", "parse_utilization",
           "parse_timing_summary"]

_STAGE_ORDER = ("post-synthesis", "post-placement", "post-route")


def as_plain(obj) -> dict:
    """A dataclass as plain dicts and lists (Resources as their dicts), for JSON/YAML."""
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, Resources):
            value = value.as_dict()
        elif isinstance(value, list):
            value = [as_plain(v) if hasattr(v, "__dataclass_fields__") else v for v in value]
        out[f.name] = value
    return out


@dataclass
class SynthesisReports:
    source: str                         # e.g. "synthesized: Vivado 2020.1 post-synthesis"
    part: str
    clock_ns: Optional[float]           # the target period
    totals: dict                        # lut, ff, dsp, bram18, uram
    totals_from: str                    # "post-synthesis" / "post-placement" / "post-route" / "HLS estimate"
    hls_totals: Optional[dict]
    latency_cycles: Optional[int]       # HLS, worst case
    interval_cycles: Optional[int]
    layers: dict = field(default_factory=dict)       # HLS per-instance figures, by layer name
    layers_from: Optional[str] = None                 # e.g. "Vivado HLS 2020.1 csynth": always HLS's estimate
    unmapped: list = field(default_factory=list)
    achieved_clock_ns: Optional[float] = None   # from a timing summary: period - WNS
    files: list = field(default_factory=list)
    hls: Optional[HlsReport] = None
    utilization: Optional[UtilizationReport] = None
    timing: Optional[TimingReport] = None

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("source", "part", "clock_ns", "totals", "totals_from",
                                             "hls_totals", "latency_cycles", "interval_cycles", "layers",
                                             "layers_from", "unmapped", "achieved_clock_ns", "files")}
        out["timing"] = {**as_plain(self.timing), "achieved_ns": self.timing.achieved_ns,
                         "fmax_mhz": self.timing.fmax_mhz} if self.timing else None
        return out


def _config_index(name: str) -> Optional[int]:
    found = re.findall(r"config(\d+)(?!\d)", name)
    return int(found[-1]) if found else None


def layer_names(firmware_dir) -> dict:
    """{N: layer name} for hls4ml's ``configN``, from the project's firmware sources."""
    names = {}
    firmware = Path(firmware_dir)
    for cpp in sorted(firmware.glob("*.cpp")):
        for line in cpp.read_text(errors="replace").splitlines():
            match = re.search(r"<([^;]*)>\s*\([^;]*\)\s*;\s*//\s*(\S+)", line)
            if match and _config_index(match.group(1)) is not None:
                names.setdefault(_config_index(match.group(1)), match.group(2))
    params = firmware / "parameters.h"
    if params.exists():
        comment = None
        for line in params.read_text(errors="replace").splitlines():
            text = line.strip()
            if text.startswith("// "):
                comment = text[3:].strip()
            elif comment and re.match(r"struct\s+\w*config\d+\s*:", text):
                names.setdefault(_config_index(text.split(":")[0]), comment)
                comment = None
    return names


def _layers(hls: HlsReport, names: dict) -> tuple:
    layers, unmapped = {}, []
    for inst in hls.instances:
        index = _config_index(inst.instance) or _config_index(inst.module)
        key = names.get(index) if index is not None else None
        if key is None:
            key = inst.instance
            unmapped.append(inst.instance)
        res = inst.resources or Resources()
        entry = layers.setdefault(key, {**Resources().as_dict(), "instances": [], "config": index,
                                        "latency_cycles": None, "interval_cycles": None})
        for r in RESOURCES:
            entry[r] += getattr(res, r)
        entry["instances"].append(inst.instance)
        for k, v in (("latency_cycles", inst.latency_max), ("interval_cycles", inst.interval_max)):
            if v is not None:
                entry[k] = v if entry[k] is None else max(entry[k], v)
    return layers, unmapped


def _project_name(project: Path) -> Optional[str]:
    """The top function's name from the project record; only that field, since report folders of
    projects hls4ml made alone (the calibration designs) carry nothing else of it."""
    try:
        return ProjectRecord.read_name(project)
    except ProjectRecordError as err:
        raise ReportError(str(err)) from None


def _hls_report(folder: Path, name: Optional[str]) -> Optional[HlsReport]:
    """Function ``name``'s report in ``folder``: <name>_csynth.rpt, else <name>_csynth.xml, else
    csynth.xml; without a name (a bare reports/ folder) the folder must hold a single top."""
    if name is None:
        tops = sorted(folder.glob("*_csynth.rpt")) or sorted(folder.glob("*_csynth.xml"))
        if len(tops) > 1:
            raise ReportError(f"{folder}: several *_csynth reports ({', '.join(p.name for p in tops)}) "
                              "and no project_name in attendnets.yaml to tell the top function")
        candidates = tops + [folder / "csynth.xml"]
    else:
        candidates = [folder / f"{name}_csynth.rpt", folder / f"{name}_csynth.xml", folder / "csynth.xml"]
    for path in candidates:
        if path.exists():
            report = parse_csynth_rpt(path) if path.suffix == ".rpt" else parse_csynth_xml(path)
            if name and path.name.startswith(f"{name}_") and report.top != name:
                raise ReportError(f"{path}: a report of function {report.top!r}, expected {name!r} "
                                  "(a report from another project?)")
            return report
    return None


def _accelerator_top(project: Path) -> Optional[str]:
    """The synthesized top when the network sits inside an AXI wrapper (accelerator.yaml's ``top``)."""
    path = project / "accelerator.yaml"
    if not path.exists():
        return None
    try:
        top = (strict_yaml.load(path) or {}).get("top")
    except (yaml.YAMLError, AttributeError):
        raise ReportError(f"{path}: expected a YAML mapping with a 'top' field") from None
    return top if isinstance(top, str) else None


def _find_hls(project: Path, name: Optional[str]) -> tuple:
    """(report of the synthesized top, report of the network function) or (None, None).

    With an AXI wrapper the top is ``<name>_axi`` and the layers are instances of the network
    function ``<name>``, whose own report sits beside the top's."""
    prjs = [project / f"{name}_prj"] if name else sorted(project.glob("*_prj"))
    folders = [(folder, name or prj.name[:-len("_prj")]) for prj in prjs
               for folder in sorted(prj.glob("*/syn/report"), key=lambda f: f.parent.parent.name != "solution1")]
    folders += [(project / "reports", name)] if (project / "reports").is_dir() else []
    top = _accelerator_top(project)
    for folder, function in folders:
        network = _hls_report(folder, function)
        wrapper = _hls_report(folder, top) if top and top != function and \
            (folder / f"{top}_csynth.rpt").exists() else None
        if network or wrapper:
            return wrapper or network, network or wrapper
    return None, None


def _vivado_reports(folders: list) -> tuple:
    util, timing = [], []
    for folder in folders:
        util += [p for p in sorted(folder.glob("*.rpt"))
                 if (p.name == "vivado_synth.rpt" or "utilization" in p.name) and "hier" not in p.name]
        timing += [p for p in sorted(folder.glob("*.rpt")) if "timing_summary" in p.name]
    utils = [parse_utilization(p) for p in util]
    best = max(utils, key=lambda u: _STAGE_ORDER.index(u.stage) if u.stage in _STAGE_ORDER else -1,
               default=None)
    rank = lambda p: 2 if "route" in p.name else 1 if "place" in p.name else 0   # noqa: E731
    return best, parse_timing_summary(max(timing, key=rank)) if timing else None


def _same_part(a: str, b: str) -> bool:
    a, b = (re.sub(r"[^a-z0-9]", "", x.lower()) for x in (a, b))
    return not a or not b or a.startswith(b) or b.startswith(a)


def load_reports(project_dir) -> Optional[SynthesisReports]:
    """The vendor reports of an HLS project, or None when it has none (see the module doc)."""
    project = Path(project_dir)
    if not project.is_dir():
        raise ReportError(f"{project}: not a directory")
    name = _project_name(project)
    hls, network = _find_hls(project, name)
    util, timing = _vivado_reports([d for d in (project / "reports", project) if d.is_dir()])
    if hls is None and util is None and timing is None:
        return None
    for other in (util, timing):
        if hls and other and not _same_part(hls.part, other.part):
            raise ReportError(f"{other.path}: part {other.part} differs from {hls.part} in {hls.path}; "
                              "reports from different builds?")
    layers, unmapped = _layers(network, layer_names(project / "firmware")) if network else ({}, [])
    hls_source = f"{hls.tool} {hls.version} csynth" if hls else None
    totals_from = util.stage if util else "HLS estimate"
    source = f"Vivado {util.version} {util.stage}" if util else hls_source or f"Vivado {timing.version} timing"
    if util and hls and util.design not in (hls.top, network.top):   # e.g. a block design with DMA and PS
        source += f" of {util.design}"
    return SynthesisReports(
        source=f"synthesized: {source}", part=(hls.part if hls else "") or (util or timing).part,
        clock_ns=hls.clock_ns if hls else (timing.period_ns if timing else None),
        totals=(util.totals if util else hls.totals).as_dict() if (util or hls) else {},
        totals_from=totals_from if (util or hls) else "none",
        hls_totals=hls.totals.as_dict() if hls else None,
        latency_cycles=hls.latency_max if hls else None, interval_cycles=hls.interval_max if hls else None,
        layers=layers, layers_from=f"{network.tool} {network.version} csynth" if network else None,
        unmapped=unmapped, achieved_clock_ns=timing.achieved_ns if timing else None,
        files=list(dict.fromkeys(r.path for r in (hls, network, util, timing) if r)), hls=hls,
        utilization=util, timing=timing)
