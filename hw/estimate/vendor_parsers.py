"""Parsers for the HLS tools' reports, one function per format, each returning a dataclass.

- ``parse_csynth_rpt``: Vivado HLS / Vitis HLS ``<top>_csynth.rpt`` (text tables: target part and
  clock, latency/interval, the "Utilization Estimates" summary, per-instance figures, FIFOs).
- ``parse_csynth_xml``: ``csynth.xml`` / ``<module>_csynth.xml`` (totals; per-instance figures
  only where the file has Vitis HLS's ``RTLDesignHierarchy`` and ``ModuleInformation``).
(Vivado's own reports are read by hw.estimate.vivado_parsers.)

Every failure is a ``ReportError`` naming the file and what was missing or malformed.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

from hw.estimate import RESOURCES  # noqa: F401 (re-exported for the report loader)


class ReportError(ValueError):
    """A vendor report that cannot be read: the message names the file and what is wrong."""


@dataclass(frozen=True)
class Resources:
    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram18: int = 0
    uram: int = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict:   # in the order the vendor reports list them
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class HlsInstance:
    instance: str
    module: str
    resources: Optional[Resources] = None
    latency_min: Optional[int] = None
    latency_max: Optional[int] = None
    interval_min: Optional[int] = None
    interval_max: Optional[int] = None


@dataclass
class HlsReport:
    path: str
    tool: str                      # "Vivado HLS" or "Vitis HLS"
    version: str
    top: str
    part: str
    family: str
    clock_ns: Optional[float]
    clock_estimated_ns: Optional[float]
    latency_min: Optional[int]
    latency_max: Optional[int]
    interval_min: Optional[int]
    interval_max: Optional[int]
    totals: Resources
    instances: list = field(default_factory=list)      # HlsInstance, direct children of the top
    fifos: list = field(default_factory=list)          # {name, bram18, ff, lut, depth, bits}


def _read(path) -> str:
    path = Path(path)
    try:
        return path.read_text(errors="replace")
    except OSError as err:
        raise ReportError(f"{path}: cannot read ({err.strerror})") from None


def _int(cell: str) -> Optional[int]:
    cell = cell.strip().replace(",", "")
    return int(cell) if re.fullmatch(r"-?\d+", cell) else None


def _float(cell: str) -> Optional[float]:
    match = re.search(r"-?\d+(\.\d+)?", cell or "")
    return float(match.group()) if match else None


def _cells(line: str) -> list:
    return [c.strip() for c in line.strip().strip("|").split("|")]


# ---------------------------------------------------------------- csynth.rpt (text tables)

def _sections(lines: list) -> dict:
    """'== Title' sections of an HLS report: title -> its lines."""
    out, title = {}, None
    for line in lines:
        match = re.match(r"^== (.+?)\s*$", line)
        if match:
            title = match.group(1)
            out[title] = []
        elif title is not None and not line.startswith("====="):
            out[title].append(line)
    return out


def _table(lines: list, marker: str) -> Optional[list]:
    """Row groups (split at +--- rules) of the first table after the line ``marker``; None if the
    marker is absent, [] if it is followed by N/A."""
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == marker)
    except StopIteration:
        return None
    groups, began = [[]], False
    for line in lines[start + 1:]:
        text = line.strip()
        if not began and text == "N/A":
            return []
        if text.startswith("+-"):
            began = True
            groups.append([])
        elif text.startswith("|") and began:
            groups[-1].append(_cells(text))
        elif began:
            break
    return [g for g in groups if g]


def _resources(header: list, row: list) -> Resources:
    col = {name.upper(): i for i, name in enumerate(header)}
    def get(*names):
        for name in names:
            if name in col and col[name] < len(row):
                return _int(row[col[name]]) or 0
        return 0
    return Resources(lut=get("LUT"), ff=get("FF"), dsp=get("DSP48E", "DSP"), bram18=get("BRAM_18K"),
                     uram=get("URAM"))


def _header_field(text: str, name: str) -> str:
    match = re.search(rf"^\* {name}:\s*(.+?)\s*$", text, re.M)
    return match.group(1) if match else ""


def _hls_instances(perf: list, util: list, where: str) -> list:
    usage = _table(util, "* Instance:")
    if usage is None:
        return []
    if usage and len(usage) < 3:
        raise ReportError(f"{where}: the per-instance utilization table has no Total row (truncated?)")
    instances = {}
    if usage:
        header = usage[0][-1]
        for row in usage[1]:
            instances[row[0]] = HlsInstance(row[0], row[1], _resources(header[2:], row[2:]))
    timing = _table(perf, "* Instance:") or []
    for row in timing[1] if len(timing) > 1 else []:
        if len(row) >= 8 and row[0] in instances:
            inst = instances[row[0]]
            inst.latency_min, inst.latency_max = _int(row[2]), _int(row[3])
            inst.interval_min, inst.interval_max = _int(row[6]), _int(row[7])
    return list(instances.values())


def _fifos(util: list) -> list:
    table = _table(util, "* FIFO:") or []
    if len(table) < 2:
        return []
    header = [h.upper() for h in table[0][-1]]
    out = []
    for row in table[1]:
        item = dict(zip(header, row))
        out.append({"name": row[0], "bram18": _int(item.get("BRAM_18K", "")) or 0,
                    "ff": _int(item.get("FF", "")) or 0, "lut": _int(item.get("LUT", "")) or 0,
                    "depth": _int(item.get("DEPTH", "")), "bits": _int(item.get("BITS", ""))})
    return out


def parse_csynth_rpt(path) -> HlsReport:
    """A Vivado HLS / Vitis HLS ``<top>_csynth.rpt``."""
    text = _read(path)
    title = re.search(r"^== (Vivado|Vitis) HLS Report for '([^']+)'", text, re.M)
    if not title:
        raise ReportError(f"{path}: not a Vivado/Vitis HLS synthesis report "
                          "(no \"== Vivado HLS Report for '...'\" header)")
    sections = _sections(text.splitlines())
    for needed in ("Performance Estimates", "Utilization Estimates"):
        if needed not in sections:
            raise ReportError(f"{path}: the '{needed}' section is missing (truncated report?)")
    perf, util = sections["Performance Estimates"], sections["Utilization Estimates"]
    timing = _table(perf, "+ Timing:")
    summary = _table(perf, "+ Latency:")
    if not summary or len(summary) < 2 or len(summary[1][0]) < 6:
        raise ReportError(f"{path}: 'Performance Estimates' has no latency summary table")
    latency = summary[1][0]
    totals = _table(util, "* Summary:")
    total_row = next((row for group in (totals or [])[1:] for row in group if row[0] == "Total"), None)
    if total_row is None:
        raise ReportError(f"{path}: 'Utilization Estimates' has no summary table with a Total row")
    clock = timing[1][0] if timing and len(timing) > 1 else ["", "", ""]
    version = _header_field(text, "Version").split(" ")[0]
    return HlsReport(
        path=str(path), tool=f"{title.group(1)} HLS", version=version, top=title.group(2),
        part=_header_field(text, "Target device"), family=_header_field(text, "Product family"),
        clock_ns=_float(clock[1]), clock_estimated_ns=_float(clock[2]),
        latency_min=_int(latency[0]), latency_max=_int(latency[1]),
        interval_min=_int(latency[4]), interval_max=_int(latency[5]),
        totals=_resources(totals[0][-1][1:], total_row[1:]),
        instances=_hls_instances(perf, util, str(path)), fifos=_fifos(util))


# ---------------------------------------------------------------- csynth.xml

def _xml_text(node, tag: str, where: str, required: bool = True) -> Optional[str]:
    found = node.find(tag)
    if found is None or found.text is None:
        if required:
            raise ReportError(f"{where}: <{tag}> is missing")
        return None
    return found.text.strip()


def _xml_resources(node, where: str) -> Resources:
    res = node.find("AreaEstimates/Resources")
    if res is None:
        raise ReportError(f"{where}: <AreaEstimates><Resources> is missing")
    def get(*tags):
        for tag in tags:
            value = _xml_text(res, tag, where, required=False)
            if value is not None:
                return _int(value) or 0
        return 0
    return Resources(lut=get("LUT"), ff=get("FF"), dsp=get("DSP", "DSP48E"), bram18=get("BRAM_18K"),
                     uram=get("URAM"))


def _xml_latency(node, where: str) -> tuple:
    lat = node.find("PerformanceEstimates/SummaryOfOverallLatency")
    if lat is None:
        raise ReportError(f"{where}: <PerformanceEstimates><SummaryOfOverallLatency> is missing")
    def get(tag):
        value = _xml_text(lat, tag, where, required=False)
        return _int(value.split("~")[-1]) if value else None
    return get("Best-caseLatency"), get("Worst-caseLatency"), get("Interval-min"), get("Interval-max")


def _xml_instances(root, where: str) -> list:
    top = root.find("RTLDesignHierarchy/TopModule")
    modules = {m.findtext("Name", "").strip(): m for m in root.findall("ModuleInformation/Module")}
    if top is None or not modules:
        return []
    out = []
    for inst in top.findall("InstancesList/Instance"):
        name, module = inst.findtext("InstName", "").strip(), inst.findtext("ModuleName", "").strip()
        info = modules.get(module)
        if info is None:
            raise ReportError(f"{where}: instance {name} names module {module}, "
                              "which <ModuleInformation> does not describe")
        lat = _xml_latency(info, f"{where} (module {module})")
        out.append(HlsInstance(name, module, _xml_resources(info, f"{where} (module {module})"), *lat))
    return out


def parse_csynth_xml(path) -> HlsReport:
    """``csynth.xml`` or ``<module>_csynth.xml`` from Vivado HLS or Vitis HLS."""
    text = _read(path)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise ReportError(f"{path}: not well-formed XML ({err}); truncated report?") from None
    if root.tag != "profile" or root.find("UserAssignments") is None:
        raise ReportError(f"{path}: not an HLS csynth report (expected <profile> with <UserAssignments>)")
    where, user = str(path), root.find("UserAssignments")
    lat = _xml_latency(root, where)
    flow = _xml_text(user, "FlowTarget", where, required=False)
    version = _xml_text(root, "ReportVersion/Version", where)
    tool = "Vitis HLS" if flow or version[:4].isdigit() and int(version[:4]) >= 2021 else "Vivado HLS"
    return HlsReport(
        path=where, tool=tool, version=version, top=_xml_text(user, "TopModelName", where),
        part=_xml_text(user, "Part", where), family=_xml_text(user, "ProductFamily", where, False) or "",
        clock_ns=_float(_xml_text(user, "TargetClockPeriod", where)),
        clock_estimated_ns=_float(_xml_text(root, "PerformanceEstimates/SummaryOfTimingAnalysis/"
                                                   "EstimatedClockPeriod", where, False) or ""),
        latency_min=lat[0], latency_max=lat[1], interval_min=lat[2], interval_max=lat[3],
        totals=_xml_resources(root, where), instances=_xml_instances(root, where))
