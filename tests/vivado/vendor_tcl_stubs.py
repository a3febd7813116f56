"""Vivado and Vitis/Vivado HLS commands stubbed in a real Tcl interpreter (tkinter.Tcl()).

Each stub records its call and checks its arguments against ip_catalog.yaml as the tool would:
unknown options, IP definitions, properties, property values, pins (including pins that exist only
once the PS setting enabling them is made) and paths are Tcl errors, so the script stops there.
"""
from __future__ import annotations

import contextlib
import os
import re
import tkinter
from pathlib import Path

import yaml

CATALOG = yaml.safe_load((Path(__file__).parent / "ip_catalog.yaml").read_text())["ips"]


ERROR = "STUB-ERROR:"


class StubError(Exception):
    pass


def options(args, valued=(), flags=()):
    """(options, positionals) of a vendor command; an option neither valued nor a flag is an error."""
    opts, pos, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and not re.match(r"^-\d", a):
            if a in valued:
                opts[a] = args[i + 1]
                i += 2
                continue
            if a in flags:
                opts[a] = True
                i += 1
                continue
            raise StubError(f"unknown option {a}")
        pos.append(a)
        i += 1
    return opts, pos


class Stub:
    def __init__(self, cwd: Path):
        self.cwd = Path(cwd)
        self.tcl = tkinter.Tcl()
        self.calls = []
        for name in dir(self):
            if name.startswith("cmd_"):
                self._register(name[4:], getattr(self, name))

    def _register(self, name, fn):
        """A Tcl proc around the Python stub, so that a failed check is a Tcl error with its message
        (an exception raised inside a Python command reaches Tcl without one)."""
        def call(*args):
            self.calls.append((name, args))
            try:
                result = fn(list(args))
            except (StubError, LookupError, ValueError) as err:
                return f"{ERROR}{name}: {err!s}"
            return "" if result is None else result
        self.tcl.createcommand(f"_stub_{name}", call)
        self.tcl.eval(f"proc {name} {{args}} {{\n set r [_stub_{name} {{*}}$args]\n"
                      f" if {{[string match {{{ERROR}*}} $r]}} {{ error [string range $r {len(ERROR)} end] }}\n"
                      " return $r\n}")

    def split(self, text) -> list:
        return list(self.tcl.splitlist(text))

    def run(self, script: str, argv=()):
        self.tcl.eval("set ::argv [list " + " ".join("{%s}" % a for a in argv) + "]")
        with contextlib.ExitStack() as stack:
            old = os.getcwd()
            stack.callback(os.chdir, old)
            os.chdir(self.cwd)
            self.tcl.eval(f"source {{{script}}}")

    def called(self, name) -> list:
        return [args for cmd, args in self.calls if cmd == name]

    def cmd_exit(self, args):
        pass  # Tcl's exit would end the test process


class HlsStub(Stub):
    def __init__(self, cwd):
        super().__init__(cwd)
        self.files, self.tb_files, self.top = [], [], None

    def cmd_open_project(self, args):
        options(args, flags=("-reset",))

    def cmd_set_top(self, args):
        self.top = args[0]

    def cmd_add_files(self, args):
        opts, pos = options(args, valued=("-cflags", "-csimflags"), flags=("-tb",))
        for path in pos:
            if not (self.cwd / path).exists():
                raise StubError(f"{path} does not exist in {self.cwd}")
        (self.tb_files if "-tb" in opts else self.files).extend(pos)

    def cmd_open_solution(self, args):
        options(args, valued=("-flow_target",), flags=("-reset",))

    def cmd_set_part(self, args):
        options(args)

    def cmd_create_clock(self, args):
        opts, _ = options(args, valued=("-period", "-name"))
        float(opts["-period"])

    def cmd_set_clock_uncertainty(self, args):
        if not re.match(r"^\d+(\.\d+)?%?$", args[0]):
            raise StubError(f"bad uncertainty {args[0]}")

    def cmd_config_compile(self, args):
        options(args, valued=("-name_max_length",))

    def cmd_csim_design(self, args):
        options(args)

    def cmd_csynth_design(self, args):
        if self.top is None:
            raise StubError("no top function")

    def cmd_cosim_design(self, args):
        options(args)

    def cmd_export_design(self, args):
        options(args, valued=("-format", "-vendor", "-library", "-version", "-display_name", "-description", "-ipname"))


class VivadoStub(Stub):
    def __init__(self, cwd, board_parts: list, hls_ip: dict):
        super().__init__(cwd)
        self.board_parts, self.hls_ip = board_parts, hls_ip   # hls_ip: {"vlnv", "ports": (in, out)}
        self.project, self.properties, self.repo_paths, self.catalog_updated = None, {}, [], False
        self.cells, self.nets, self.intf_nets, self.files, self.top, self.bd = {}, [], [], [], None, None

    # projects, catalogs, boards
    def cmd_create_project(self, args):
        opts, pos = options(args, valued=("-part",), flags=("-force",))
        self.project = {"name": pos[0], "dir": pos[1], "part": opts["-part"]}

    def cmd_current_project(self, args):
        return "project"

    def cmd_current_fileset(self, args):
        return "sources_1"

    def cmd_get_board_parts(self, args):
        opts, pos = options(args, flags=("-quiet",), valued=("-latest_file_version",))
        if "-latest_file_version" in opts:
            prefix = opts["-latest_file_version"].rstrip("*")
            return " ".join(p for p in self.board_parts if p.startswith(prefix))
        return " ".join(p for p in self.board_parts if p == pos[0])

    def cmd_set_property(self, args):
        opts, pos = options(args, valued=("-dict",))
        if "-dict" in opts:
            values, targets = dict(zip(*[iter(self.split(opts["-dict"]))] * 2)), pos
        else:
            values, targets = {pos[0]: pos[1]}, pos[2:]
        for target in targets:
            if target in self.cells:
                self._cell_properties(target, values)
            else:
                self.properties.setdefault(target, {}).update(values)
                if "ip_repo_paths" in values:
                    self._repo(values["ip_repo_paths"])

    def _repo(self, paths):
        for path in self.split(paths):
            if not (self.cwd / path).is_dir():
                raise StubError(f"ip_repo_paths: {path} is not a folder under {self.cwd}")
            self.repo_paths.append(path)

    def cmd_update_ip_catalog(self, args):
        self.catalog_updated = True

    def _definitions(self) -> dict:
        defs = {f"{name}:{v}": name for name, ip in CATALOG.items() for v in ip["versions"]}
        if self.repo_paths and self.catalog_updated:
            defs[self.hls_ip["vlnv"]] = "hls"
        return defs

    def cmd_get_ipdefs(self, args):
        opts, _ = options(args, flags=("-all",), valued=("-filter",))
        prefix = re.match(r"^VLNV =~ (.*)\*$", opts["-filter"]).group(1)
        return " ".join(v for v in self._definitions() if v.startswith(prefix))

    # block design
    def cmd_create_bd_design(self, args):
        self.bd = args[0]

    def cmd_create_bd_cell(self, args):
        opts, pos = options(args, valued=("-type", "-vlnv"))
        definition = self._definitions().get(opts["-vlnv"])
        if definition is None:
            raise StubError(f"IP {opts['-vlnv']} is not in the catalog")
        self.cells[pos[0]] = {"vlnv": opts["-vlnv"], "ip": definition, "props": {}, "automation": None}
        return pos[0]

    def _ip(self, cell):
        if cell not in self.cells:
            raise StubError(f"no cell {cell}")
        name = self.cells[cell]["ip"]
        if name == "hls":
            return {"properties": {}, "pins": {"ap_clk": {"clock": True}, "ap_rst_n": {"reset": True}},
                    "intf_pins": {p: {"protocol": "axis"} for p in self.hls_ip["ports"]}}
        return CATALOG[name]

    def _cell_properties(self, cell, values):
        ip = self._ip(cell)
        for key, value in values.items():
            name = key[len("CONFIG."):] if key.startswith("CONFIG.") else None
            if name is None or name not in ip["properties"]:
                raise StubError(f"{cell} ({self.cells[cell]['vlnv']}) has no property {key}")
            allowed = ip["properties"][name]
            if isinstance(allowed, list) and int(value) not in allowed:
                raise StubError(f"{cell}: {key} = {value} is not one of {allowed}")
            if allowed == "mhz" and not 0 < float(value) <= 600:
                raise StubError(f"{cell}: {key} = {value} MHz")
        self.cells[cell]["props"].update({k[len("CONFIG."):]: v for k, v in values.items()})

    def cmd_apply_bd_automation(self, args):
        opts, pos = options(args, valued=("-rule", "-config"))
        for cell in pos:
            self._ip(cell)
            self.cells[cell]["automation"] = (opts["-rule"], dict(zip(*[iter(self.split(opts["-config"]))] * 2)))
            self.cells[cell]["props"].update({k: str(v) for k, v in self._ip(cell).get("preset_enables", {}).items()})

    def cmd_get_bd_cells(self, args):
        self._ip(args[0])
        return args[0]

    def _pin(self, path, kind):
        cell, _, pin = path.rpartition("/")
        ip = self._ip(cell)
        spec = ip[kind].get(pin)
        if spec is None and kind == "intf_pins" and self.cells[cell]["ip"] == "xilinx.com:ip:smartconnect":
            match = re.match(r"^([SM])(\d\d)_AXI$", pin)
            count = int(self.cells[cell]["props"].get("NUM_SI" if match and match.group(1) == "S" else "NUM_MI", 1))
            spec = {} if match and int(match.group(2)) < count else None
        if spec is None:
            raise StubError(f"{self.cells[cell]['vlnv']} has no {kind[:-1].replace('_', ' ')} {pin}")
        for setting, value in (spec.get("requires") or {}).items():
            if str(self.cells[cell]["props"].get(setting)) != str(value):
                raise StubError(f"{path} exists only with CONFIG.{setting} = {value}")
        return path

    def cmd_get_bd_pins(self, args):
        return " ".join(self._pin(p, "pins") for p in args)

    def cmd_get_bd_intf_pins(self, args):
        return " ".join(self._pin(p, "intf_pins") for p in args)

    def cmd_connect_bd_net(self, args):
        self.nets.append(set(p for a in args for p in self.split(a)))

    def cmd_connect_bd_intf_net(self, args):
        if len(args) != 2:
            raise StubError("connect_bd_intf_net takes two interface pins")
        self.intf_nets.append(tuple(args))

    def cmd_assign_bd_address(self, args):
        options(args)

    def cmd_validate_bd_design(self, args):
        pass

    def cmd_save_bd_design(self, args):
        pass

    def cmd_get_files(self, args):
        if args != [f"{self.bd}.bd"]:
            raise StubError(f"no file {args} (the block design is {self.bd}.bd)")
        return args[0]

    def cmd_make_wrapper(self, args):
        options(args, valued=("-files", "-fileset"), flags=("-top", "-import"))
        wrapper = f"{self.project['dir']}/{self.project['name']}.gen/sources_1/bd/{self.bd}/hdl/{self.bd}_wrapper.v"
        self.wrapper = wrapper
        return wrapper

    def cmd_add_files(self, args):
        _, pos = options(args, flags=("-norecurse",), valued=("-fileset",))
        for path in pos:
            if path != getattr(self, "wrapper", None) and not (self.cwd / path).exists():
                raise StubError(f"{path} does not exist")
        self.files += pos

    def cmd_update_compile_order(self, args):
        options(args, valued=("-fileset",))

    def cmd_launch_runs(self, args):
        opts, pos = options(args, valued=("-jobs", "-to_step"))
        if int(opts["-jobs"]) < 1:
            raise StubError("-jobs must be positive")
        root = self.cwd / self.project["dir"]
        if pos[0] == "synth_1":   # Vivado writes the hardware handoff when it generates the design
            hwh = root / f"{self.project['name']}.gen/sources_1/bd/{self.bd}/hw_handoff/{self.bd}.hwh"
            hwh.parent.mkdir(parents=True, exist_ok=True)
            hwh.write_text("<hwh/>")
        elif opts.get("-to_step") == "write_bitstream":
            bit = root / f"{self.project['name']}.runs/impl_1/{self.properties['sources_1']['top']}.bit"
            bit.parent.mkdir(parents=True, exist_ok=True)
            bit.write_bytes(b"bit")

    def cmd_wait_on_run(self, args):
        pass

    def cmd_get_runs(self, args):
        return args[0]

    def cmd_get_property(self, args):
        return "100%" if args[0] == "PROGRESS" else ""

    def cmd_open_run(self, args):
        pass

    def cmd_report_utilization(self, args):
        opts, _ = options(args, valued=("-file",), flags=("-hierarchical",))
        (self.cwd / opts["-file"]).write_text("utilization")

    def cmd_report_timing_summary(self, args):
        opts, _ = options(args, valued=("-file",))
        (self.cwd / opts["-file"]).write_text("timing")

    def net_of(self, pin) -> set:
        return next((net for net in self.nets if pin in net), set())

    def intf_peer(self, pin):
        for a, b in self.intf_nets:
            if pin in (a, b):
                return b if pin == a else a
        return None
