"""Imports flow one way (issue 18): no loop between modules, no stage importing a later one, and the
host code (numpy and pynq only: it runs on the board) importing nothing but itself and the base.

Read from the source with ``ast`` (no module is imported, so no TensorFlow): every ``import`` counts,
at the top of a module or inside a function, since a lazy import is still a dependency.

The stage order, lowest first, is written here once (README.md "Layout" and hw/README.md refer to it).
A module may import its own stage and the stages before it; the shell may import anything.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("qmodels", "hw", "host")

STAGES = (   # (name, module patterns): 'hw.sim*' is hw.sim and every module in it
    ("qmodels", ("qmodels*",)),                              # specs, QKeras models, exact reference, training
    ("hw base", ("hw.config", "hw.boards", "hw.cluster")),   # build recipes, boards, the Dask client
    ("generation", ("hw.hls*",)),                            # hls4ml extension, project, AXI top, vendor scripts
    ("simulation", ("hw.sim*",)),                            # csim, threaded run, sweep, bench, the AXI library
    ("estimate", ("hw.estimate*",)),                         # resource/cycle model, planner, reports
    ("exploration", ("hw.explore*",)),                       # Optuna study over the estimate and csim
    ("vendor build", ("hw.vivado*",)),                       # Vitis HLS / Vivado runs ('attendnets build')
    ("host", ("host*",)),                                    # the driver, simulated board, deploy (numpy, pynq)
    ("shell", ("hw.cli", "hw.ctrl_c", "hw")),                # the command line: registers every stage's commands
)
# The numpy-only modules host may use besides its own (they import nothing else of the package):
# the one fixed-point type reader, which deploy packages carry to the board, and the strict YAML reader
# and the project record, which only the development side of host uses (packages carry JSON).
BASE = ("qmodels.hls_types", "qmodels.strict_yaml", "qmodels.project_record")
HOST = "host"

# Edges left on purpose, each with its reason.  Keep this short: an entry is a debt, not a licence.
EXCEPTIONS = {}


def modules() -> dict:
    """{dotted module name: path} of every module of the three packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str, known) -> str | None:
    """The module ``name`` is or lies in (``hw.sim.csim.gxx`` -> ``hw.sim.csim``), if one of ours."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known) -> set:
    """The modules of ours that ``name`` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # 'from hw.sim import csim' imports the module hw.sim.csim; 'from hw.sim.csim import gxx' hw.sim.csim
            targets = [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                resolved = _resolve(target, known)
                if resolved and resolved != name:
                    found.add(resolved)
    return found


def graph() -> dict:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def _in(module: str, pattern: str) -> bool:
    return module == pattern or (pattern.endswith("*") and (module == pattern[:-1]
                                                            or module.startswith(pattern[:-1] + ".")))


def stage_of(module: str) -> int:
    """Index in STAGES of the stage whose patterns hold ``module``."""
    found = [index for index, (_, patterns) in enumerate(STAGES) if any(_in(module, p) for p in patterns)]
    assert len(found) == 1, f"{module} is in {len(found)} stages of STAGES; put it in the one it belongs to"
    return found[0]


def loops(edges: dict) -> list:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def upward(edges: dict) -> list:
    shell = len(STAGES) - 1
    return [f"{a} ({STAGES[stage_of(a)][0]}) imports {b} ({STAGES[stage_of(b)][0]})"
            for a, targets in sorted(edges.items()) for b in sorted(targets)
            if stage_of(a) != shell and stage_of(b) > stage_of(a) and (a, b) not in EXCEPTIONS]


def outside_host(edges: dict) -> list:
    """Imports of host modules that are neither host nor BASE, and BASE modules importing past BASE."""
    bad = [f"{a} imports {b}" for a, targets in sorted(edges.items()) if _in(a, HOST + "*")
           for b in sorted(targets) if not (_in(b, HOST + "*") or b in BASE)]
    return bad + [f"{a} (base) imports {b}" for a in BASE for b in sorted(edges.get(a, ())) if b not in BASE]


def _without_exceptions(edges: dict) -> dict:
    return {a: {b for b in targets if (a, b) not in EXCEPTIONS} for a, targets in edges.items()}


def test_no_import_loop():
    assert loops(_without_exceptions(graph())) == []


def test_no_stage_imports_a_later_one():
    assert upward(graph()) == []


def test_host_imports_only_itself_and_the_numpy_only_base():
    assert outside_host(graph()) == []


def test_every_module_has_a_stage_and_every_exception_still_exists():
    edges = graph()
    for module in edges:
        stage_of(module)
    stale = [edge for edge in EXCEPTIONS if edge[1] not in edges.get(edge[0], ())]
    assert not stale, f"exceptions no longer needed, remove them: {stale}"


def test_the_checks_fail_on_a_loop_an_upward_import_and_host_reaching_into_hw():
    edges = {"hw.sim.csim": {"hw.sim.csim_cli", "hw.hls.convert"}, "hw.sim.csim_cli": {"hw.sim.csim"},
             "hw.hls.convert": {"hw.estimate.source"}, "host.io": {"qmodels.hls_types", "hw.sim.axi"}}
    assert loops(edges) == [["hw.sim.csim", "hw.sim.csim_cli"]]
    assert upward(edges) == ["hw.hls.convert (generation) imports hw.estimate.source (estimate)"]
    assert outside_host(edges) == ["host.io imports hw.sim.axi"]


def test_lazy_and_relative_imports_count(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from hw.sim import csim\n    import qmodels.spec\n"
                                   "from . import sibling\n")
    known = {"hw.sim", "hw.sim.csim", "qmodels.spec", "qmodels.sibling", "qmodels.m"}
    assert imports("qmodels.m", tmp_path / "m.py", known) == {"hw.sim.csim", "qmodels.spec", "qmodels.sibling"}
