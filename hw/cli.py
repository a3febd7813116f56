"""The ``attendnets`` command: thin subcommands over the package's functions.

Every error is one line, ``attendnets COMMAND: error: ...``, naming the option, file or field
and what was expected.  Exit status: 0 done, 1 the work failed (a refusal to overwrite, a
compiler or simulation failure, a file-system error), 2 bad input (an option, or a file or
field it names), 130 interrupted.  --debug shows the traceback; --verbose shows third-party
warnings and logs, hidden otherwise.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import linecache
import logging
import os
import sys
import traceback
import warnings
from pathlib import Path

from hw.ctrl_c import CtrlC

OUR_PACKAGES = ("hw", "qmodels", "host")
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
THIRD_PARTY_LOGGERS = ("tensorflow", "absl", "keras", "tf_keras", "qkeras", "hls4ml", "h5py", "matplotlib", "PIL",
                       "distributed", "optuna")

# Each stage registers its own subcommands (``add_cli(subparsers)``); the order is the help's.
SUBCOMMAND_MODULES = (
    "qmodels.train",        # train, eval
    "qmodels.table1",       # table1
    "hw.sim.csim_cli",      # csim
    "hw.sim.bench",         # bench
    "hw.estimate.cli",      # report, plan, compare
    "hw.sim.sweep",         # sweep
    "hw.explore.cli",       # explore
    "hw.vivado.build",      # build
)   # then deploy (host.deploy), given the simulated board's builder by _add_deploy: host imports nothing of hw


def _models(args) -> int:
    from qmodels.build import build_model
    from qmodels.complexity import PAPER_TABLE1, measure
    from qmodels.spec import builtin_names

    for name in args.names:
        _check_spec_path(name)
    rows = []
    for name in args.names or builtin_names():
        c = measure(build_model(name, calibrate=False), name=name)
        paper = PAPER_TABLE1.get(name)
        row = c.as_dict()
        if paper:
            row["paper"] = paper
            row["params_ratio"] = c.params / paper["params"]
            row["macs_ratio"] = c.macs / paper["macs"]
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(_table1(rows))
    return 0


def _check_spec_path(name: str) -> None:
    """A folder or a binary file given where a spec is expected fails naming it."""
    path = Path(name)
    if name.strip() and path.is_dir():   # '' is '.', a folder; load_spec names the empty name itself
        raise UsageError(f"{name}: is a folder; expected a built-in model name or a spec .yaml file")
    if path.is_file():
        try:
            path.read_text()
        except UnicodeDecodeError:
            raise UsageError(f"{name}: not a text file; expected a spec .yaml file") from None


def _table1(rows) -> str:
    head = (f"{'model':<16}{'top-1':>7}{'params':>10}{'mult-adds':>11}{'w.bits':>8} | "
            f"{'params':>10}{'mult-adds':>11}{'weights':>10}{'p/paper':>9}{'m/paper':>9}")
    lines = ["Table 1 (Wong et al. 2020, ImageNet50)           | this package (8-bit QKeras, counted from the model)",
             head, "-" * len(head)]
    for row in rows:
        p = row.get("paper")
        left = (f"{p['model']:<16}{p['top1']:>6.1f}%{p['params'] / 1e3:>9.0f}K{p['macs'] / 1e6:>10.1f}M"
                f"{p['weight_bits']:>8}" if p else f"{row['name']:<16}{'-':>7}{'-':>10}{'-':>11}{'-':>8}")
        right = f"{row['params'] / 1e3:>9.1f}K{row['macs'] / 1e6:>10.1f}M{row['weight_bytes'] / 1024:>8.0f}KiB"
        ratios = f"{row['params_ratio']:>9.3f}{row['macs_ratio']:>9.3f}" if p else f"{'-':>9}{'-':>9}"
        lines.append(f"{left} | {right}{ratios}")
    lines.append("AttoNet-A/B: architecture not public, not built.  Top-1 is the paper's; train with "
                 "'attendnets train' for ours.")
    return "\n".join(lines)


class UsageError(ValueError):
    """A command line that cannot be run as given; the message names the option."""


def _build_config(args):
    from hw.config import BuildConfig

    if not (args.model or args.config or args.weights):
        raise UsageError("no model: give MODEL (a built-in name, see 'attendnets models', or a spec .yaml file), "
                         "--weights CHECKPOINT or --config FILE")
    cfg = BuildConfig.load(args.config) if args.config else BuildConfig()
    if args.model:
        cfg.model = args.model
    overrides = {"board": args.board, "backend": args.backend, "io": args.io, "clock_ns": args.clock_ns,
                 "reuse": args.reuse, "strategy": args.strategy, "classes": args.classes, "weights": args.weights,
                 "seed": args.seed, "samples": args.samples, "project_name": args.project_name,
                 "input_shape": args.input_shape}
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    return cfg.validate(args.config or "command line")


def _generate(args) -> int:
    import time

    from hw.estimate.cli import generation_summary  # the estimate is the command's, not generation's
    from hw.hls.convert import generate

    cfg = _build_config(args)
    out = args.out or f"hls_projects/{_default_name(cfg)}-{cfg.board}"
    start = time.perf_counter()
    done = generate(cfg, out, force=args.force)
    print(f"{done[1]}: {done[0]} ({cfg.model or 'from ' + str(cfg.weights)}, {cfg.board}, {cfg.backend}, "
          f"io_{cfg.io}) in {time.perf_counter() - start:.1f} s")
    summary = generation_summary(cfg, done.model, done.types)
    if summary:
        print(summary)
    kept = done.installed
    if kept.kept:
        print(f"kept (not written by generate): {', '.join(kept.kept)}")
    if kept.moved_aside:
        print(f"moved aside to {kept.aside} (the new project writes the same paths): {', '.join(kept.moved_aside)}")
    return 0


def _default_name(cfg) -> str:
    name = Path(cfg.model).stem if cfg.model else Path(str(cfg.weights).rstrip("/")).name
    return name.replace("-", "_")


def _add_hw(sub):
    from hw.boards import board_names
    from hw.config import BACKENDS, IO_TYPES, STRATEGIES, identifier_option, input_shape_option, option_type

    p = sub.add_parser("generate", help="write a synthesizable HLS project for a model and board")
    p.add_argument("model", nargs="?", help="built-in model name or spec file (default: the checkpoint's, "
                                            "or 'model' in --config)")
    p.add_argument("--config", help="build config YAML (hls_projects/configs/*.yaml); options override it")
    p.add_argument("--board", choices=board_names())
    p.add_argument("--out", help="project folder (default hls_projects/<model>-<board>)")
    p.add_argument("--input-shape", type=input_shape_option, help="H,W,C (default: the spec's)")
    p.add_argument("--classes", type=option_type("classes"))
    p.add_argument("--weights", help="checkpoint directory from 'attendnets train' (default: seeded weights)")
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--io", choices=IO_TYPES)
    p.add_argument("--clock-ns", type=option_type("clock_ns"))
    p.add_argument("--reuse", type=option_type("reuse"))
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument("--seed", type=option_type("seed"))
    p.add_argument("--samples", type=option_type("samples"), help="test-bench images written to tb_data")
    p.add_argument("--project-name", type=identifier_option, help="top function and file names (default: the model's name)")
    p.add_argument("--force", action="store_true",
                   help="replace a generated project even if it changes or was edited; files generate did not "
                        "write (reports, builds, logs) are kept; a folder that is not a project is never replaced")
    p.set_defaults(func=_generate)


class _Parser(argparse.ArgumentParser):
    """One line for a usage error, like every other error of the command."""

    def error(self, message):
        message = message[len("argument "):] if message.startswith("argument ") else message
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _sim_library(project):
    """The simulated board's hardware for 'deploy --sim': the project's AXI top and network, g++."""
    from hw.sim.axi import build_library

    return build_library(project)


def _add_deploy(sub) -> None:
    from host.deploy import add_cli

    add_cli(sub, _sim_library)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="attendnets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_options(parser, False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("models", help="Table 1 of the paper beside this package's models")
    p.add_argument("names", nargs="*", help="built-in model names or spec files (default: all built-in)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    p.set_defaults(func=_models)
    _add_hw(sub)
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_cli(sub)
    _add_deploy(sub)
    for command in sub.choices.values():  # also after the command, where users type them
        _common_options(command, argparse.SUPPRESS)
    parser.set_defaults(commands=sub.choices)
    return parser


NAME_BYTES = 200    # per path component: the file system's 255, less room for generate's staging and .part names
PATH_BYTES = 4000   # Linux's PATH_MAX is 4096


def check_names(args) -> None:
    """Every free-text argument (a path, a model or host name) checked for length and characters before
    anything runs, so a name the file system cannot hold is a usage error naming the option, not an
    OSError from deep inside (or a folder left behind)."""
    for action in args.commands[args.command]._actions:
        if action.type is not None or action.choices is not None or action.nargs == 0:
            continue
        values = getattr(args, action.dest, None)
        for value in values if isinstance(values, list) else [values]:
            problem = _name_problem(value) if isinstance(value, str) else None
            if problem:
                option = action.option_strings[0] if action.option_strings else action.dest.upper()
                shown = value if len(value) <= 60 else f"{value[:40]}... ({len(value)} characters)"
                raise UsageError(f"{option}: {problem}, got {shown!r}")


def _name_problem(value: str):
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "expected no control characters (NUL, newline, tab ...)"
    if len(value.encode()) > PATH_BYTES:
        return f"expected a path of at most {PATH_BYTES} bytes"
    longest = max(Path(value).parts or [""], key=lambda part: len(part.encode()))
    if len(longest.encode()) > NAME_BYTES:
        return (f"expected at most {NAME_BYTES} bytes per name between '/' (the file system allows 255, less room "
                f"for staging names); one has {len(longest.encode())}")
    return None


def _common_options(parser, default) -> None:
    for flag, text in (("--debug", "show the Python traceback of an error"),
                       ("--verbose", "show TensorFlow, Keras, QKeras and hls4ml warnings and logs")):
        try:
            parser.add_argument(flag, action="store_true", default=default, help=text)
        except argparse.ArgumentError:  # the subcommand has its own
            pass


def main(argv=None) -> int:
    """The command; returns the exit status (0 fine, 1 failed, 2 bad input, 130 interrupted)."""
    as_command = argv is None  # the real command, not a call from Python
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--verbose" not in argv:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before building the parser imports TensorFlow
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # usage errors and --help (argparse has printed them)
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    except KeyboardInterrupt:  # while the subcommands' modules import TensorFlow
        print("attendnets: interrupted", file=sys.stderr)
        return 130
    prefix = f"attendnets {args.command}"
    ctrl_c = CtrlC(as_command)
    with quiet_third_party(args.verbose, prefix):
        try:
            with ctrl_c:
                check_names(args)
                return args.func(args)
        except KeyboardInterrupt:
            return _interrupted(prefix, args.debug)
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except Exception as err:  # noqa: BLE001 - every error becomes one line; --debug shows the traceback
            if ctrl_c.pressed:  # raised while unwinding from Ctrl-C, e.g. by TensorFlow's stack bookkeeping
                return _interrupted(prefix, args.debug)
            if args.debug:
                raise
            status, message = explain(err)
            print(f"{prefix}: error: {message}", file=sys.stderr)
            return status


def _interrupted(prefix: str, debug: bool) -> int:
    from hw.hls.project import remove_staging

    remove_staging()  # a second Ctrl-C may have cut generate's own clean-up short
    if debug:
        traceback.print_exc()
    print(f"{prefix}: interrupted", file=sys.stderr)
    return 130


def explain(err: Exception) -> tuple:
    """(exit status, one-line message) for an error.

    Errors of this package say what was wrong and where: a ValueError subclass is bad input
    (an option, a file or a field: status 2), any other is a failure of the work (status 1).
    File-system errors name the file.  Anything else is a bug, said so."""
    if type(err).__module__.split(".")[0] in OUR_PACKAGES or _raised_by_us(err):
        return (2 if isinstance(err, ValueError) else 1), str(err).strip()
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        return 1, f"{err.filename}: {err.strerror}"
    first = (str(err).strip().splitlines() or [""])[0][:300]
    return 1, f"unexpected {type(err).__name__}: {first} (a bug; run again with --debug and report the traceback)"


def _raised_by_us(err: Exception) -> bool:
    """A built-in exception raised by a ``raise`` statement of this package (its message is written for
    the user), as opposed to one raised inside Python, numpy or TensorFlow on our behalf."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or not _is_ours(tb.tb_frame.f_code.co_filename):
        return False
    return linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno).lstrip().startswith("raise ")


def _is_ours(filename: str) -> bool:
    try:
        path = Path(filename).resolve()
    except (OSError, ValueError):
        return False
    return any(path.is_relative_to(PACKAGE_ROOT / name) for name in OUR_PACKAGES)


@contextlib.contextmanager
def quiet_third_party(verbose: bool, prefix: str):
    """Hide the warnings and logs of TensorFlow, Keras, QKeras, absl and hls4ml unless ``verbose``;
    this package's own warnings are shown, one line each."""
    with warnings.catch_warnings():
        if verbose:
            yield
            return
        show = warnings.showwarning

        def showwarning(message, category, filename, lineno, file=None, line=None):
            if _is_ours(filename):
                print(f"{prefix}: warning: {message}", file=sys.stderr if file is None else file)
        warnings.showwarning = showwarning
        levels = {name: logging.getLogger(name).level for name in THIRD_PARTY_LOGGERS}
        for name in levels:
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            yield
        finally:
            warnings.showwarning = show
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
