"""Parsers for Vivado's own reports, each returning a dataclass.

- ``parse_utilization``: ``report_utilization`` (LUT, registers, DSP, block RAM, URAM) of a
  synthesized, placed or routed design; flat (``-hierarchical`` reports are not read).
- ``parse_timing_summary``: ``report_timing_summary`` (WNS per clock, the achieved period).

Every failure is a ``ReportError`` naming the file and what was missing or malformed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from hw.estimate.vendor_parsers import ReportError, Resources, _cells, _float, _read


@dataclass
class TimingReport:
    path: str
    version: str
    part: str
    clock: str
    period_ns: float
    wns_ns: float
    whs_ns: Optional[float]

    @property
    def achieved_ns(self) -> float:
        """The shortest period the worst setup path allows (period - WNS)."""
        return round(self.period_ns - self.wns_ns, 3)

    @property
    def fmax_mhz(self) -> float:
        return round(1000.0 / self.achieved_ns, 1)


@dataclass
class UtilizationReport:
    path: str
    version: str
    part: str
    design: str
    stage: str                     # post-synthesis, post-placement or post-route
    totals: Resources
    bram36_tiles: float
    detail: dict = field(default_factory=dict)


def _vivado_header(text: str, path, command: str) -> dict:
    head = dict(re.findall(r"^\|\s*([A-Za-z ]+?)\s*:\s*(.*?)\s*$", text[:3000], re.M))
    if "Tool Version" not in head:
        raise ReportError(f"{path}: not a Vivado report (no '| Tool Version :' header)")
    ran = head.get("Command", "").split(" ")
    if ran[0] and ran[0] != command:
        raise ReportError(f"{path}: a {ran[0]} report, expected {command}")
    if "-hierarchical" in ran:
        raise ReportError(f"{path}: a hierarchical {command} report; the flat one is read")
    version = re.search(r"v\.?(\d{4}\.\d+)", head["Tool Version"])
    head["version"] = version.group(1) if version else head["Tool Version"]
    return head


_SITES = {"lut": ("CLB LUTs", "Slice LUTs"), "ff": ("CLB Registers", "Slice Registers"),
          "dsp": ("DSPs",), "tile": ("Block RAM Tile",), "ramb36": ("RAMB36/FIFO",),
          "ramb18": ("RAMB18",), "uram": ("URAM",), "lut_as_logic": ("LUT as Logic",),
          "lut_as_memory": ("LUT as Memory",), "lut_as_shift_register": ("LUT as Shift Register",),
          "lut_as_distributed_ram": ("LUT as Distributed RAM",)}
_STAGES = {"synthesized": "post-synthesis", "fully placed": "post-placement", "routed": "post-route",
           "fully routed": "post-route"}


def parse_utilization(path) -> UtilizationReport:
    """Vivado ``report_utilization`` text (synthesized, placed or routed design)."""
    text = _read(path)
    head = _vivado_header(text, path, "report_utilization")
    found = {}
    for line in text.splitlines():
        if line.startswith("|") and line.count("|") >= 4:
            cells = _cells(line)
            name = cells[0].rstrip("*").strip()
            for key, names in _SITES.items():
                if name in names and key not in found:   # first table only: later SLR tables repeat names
                    found[key] = _float(cells[1])
    missing = [_SITES[k][0] for k in ("lut", "ff", "dsp", "tile") if found.get(k) is None]
    if missing:
        raise ReportError(f"{path}: no {', '.join(missing)} row (truncated, or not a utilization report)")
    if found.get("ramb36") is not None and found.get("ramb18") is not None:
        bram18 = int(2 * found["ramb36"] + found["ramb18"])
    else:
        bram18 = int(round(2 * found["tile"]))
    totals = Resources(lut=int(found["lut"]), ff=int(found["ff"]), dsp=int(found["dsp"]), bram18=bram18,
                       uram=int(found.get("uram") or 0))
    state = head.get("Design State", "").lower()
    detail = {k: int(found[k]) for k in _SITES if k.startswith("lut_as") and found.get(k) is not None}
    return UtilizationReport(path=str(path), version=head["version"], part=head.get("Device", ""),
                             design=head.get("Design", ""), stage=_STAGES.get(state, state or "unknown"),
                             totals=totals, bram36_tiles=found["tile"], detail=detail)


def _block(lines: list, title: str) -> list:
    """Lines of a '| Title' block of report_timing_summary, up to the next block."""
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == f"| {title}")
    except StopIteration:
        return []
    out = []
    for line in lines[start + 3:]:
        if line.startswith("| "):
            break
        out.append(line)
    return out


def parse_timing_summary(path, clock: Optional[str] = None) -> TimingReport:
    """Vivado ``report_timing_summary``: the worst setup slack of ``clock`` (default ap_clk, else
    the first clock) and that clock's period."""
    text = _read(path)
    head = _vivado_header(text, path, "report_timing_summary")
    lines = text.splitlines()
    design = [ln.split() for ln in _block(lines, "Design Timing Summary") if re.match(r"^\s*-?\d", ln)]
    if not design:
        raise ReportError(f"{path}: no 'Design Timing Summary' values (truncated, or not a timing summary)")
    periods = {}
    for line in _block(lines, "Clock Summary"):
        match = re.match(r"^\s*(\S+)\s+\{[^}]*\}\s+([\d.]+)\s+[\d.]+", line)
        if match:
            periods.setdefault(match.group(1), float(match.group(2)))
    if not periods:
        raise ReportError(f"{path}: the 'Clock Summary' table lists no clock")
    name = clock or ("ap_clk" if "ap_clk" in periods else next(iter(periods)))
    if name not in periods:
        raise ReportError(f"{path}: no clock {name!r}; the report has {', '.join(periods)}")
    rows = [ln.split() for ln in _block(lines, "Intra Clock Table")]
    intra = {r[0]: r for r in rows if len(r) > 5 and r[0] in periods}
    if name in intra:
        wns, whs = intra[name][1], intra[name][5]
    elif len(periods) == 1:
        wns, whs = design[0][0], design[0][4] if len(design[0]) > 4 else None
    else:
        raise ReportError(f"{path}: the 'Intra Clock Table' has no row for clock {name!r}")
    if _float(wns) is None:
        raise ReportError(f"{path}: clock {name!r} has no setup slack (WNS {wns!r}); unconstrained?")
    return TimingReport(path=str(path), version=head["version"], part=head.get("Device", ""), clock=name,
                        period_ns=periods[name], wns_ns=_float(wns), whs_ns=_float(whs or ""))
