"""Training options (the TrainOptions dataclass), LIMITS: the accepted range of every numeric option and
field of every command, and the argparse type that enforces training's on the command line (one error
text for both)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from qmodels.augment import AUGMENT


class Limit(NamedTuple):
    """The range of a numeric field or option: numbers outside are mistakes, not designs."""
    low: float
    high: float
    why: str                # why the bounds (mostly the highest)
    low_open: bool = False  # ``low`` itself excluded


# Every numeric field of a build config and every numeric option of every subcommand, in one place (an
# int ``low`` makes the value an integer).  Here, in the lowest stage, because training (check_range,
# ranged), the build recipes (hw.config.range_error, option_type) and exploration all read it.
LIMITS = {
    # training: train, eval, table1 (``--input-size`` is train_input_size: a square size to train at)
    "epochs": Limit(1, 10_000, "epochs of QAT"),
    "float_epochs": Limit(0, 10_000, "epochs of the float network before QAT"),
    "batch_size": Limit(1, 4096, "images per step"),
    "lr": Limit(1e-7, 1.0, "a peak learning rate"),
    "qat_lr": Limit(1e-7, 1.0, "a peak learning rate"),
    "train_input_size": Limit(8, 1024, "a square input size to train at"),
    "train_images": Limit(1, 10 ** 9, "images per epoch"),
    "label_smoothing": Limit(0.0, 0.5, "of the one-hot targets"),
    "weight_decay": Limit(0.0, 1.0, "decoupled weight decay per step"),
    # build configs (hw.config) and the options that set their fields
    "clock_ns": Limit(0.5, 1000.0, "0.5 ns is 2 GHz, beyond any FPGA fabric; 1000 ns is 1 MHz"),
    "reuse": Limit(1, 2 ** 20, "a multiplier shared by more than 2^20 products takes over a million clocks per "
                   "output"),
    "fold": Limit(1, 4096, "output-channel groups computed one after the other; no layer has more than 4096 "
                  "output channels"),
    "classes": Limit(1, 100_000, "the classifier is one dense layer held on chip; ImageNet-21k has 21,841 classes"),
    "samples": Limit(1, 10_000, "tb_data is text, about 1 MB per 224x224x3 image; csim --samples runs more"),
    "seed": Limit(0, 2 ** 32 - 1, "numpy and TensorFlow take 32-bit seeds"),
    "input_size": Limit(1, 4096, "a 4096-pixel row already needs a line buffer of several BRAMs per channel"),
    "input_channels": Limit(1, 4096, "4096 channels is far beyond any image input"),
    # options of csim, bench, sweep and plan
    "images": Limit(1, 1_000_000, "images simulated in one run; ImageNet's validation split has 50,000"),
    "jobs": Limit(1, 1024, "parallel processes; more than the machine has cores only slows the run"),
    "repeat": Limit(1, 100, "timed runs of each phase, the best reported"),
    "cases": Limit(1, 1_000_000, "random sweep cases; at about 10 s each a million take months on 2 cores"),
    "watchdog_s": Limit(0.001, 86_400.0, "the watchdog counts whole milliseconds; 86,400 s is a day"),
    "budget": Limit(0.0, 1.0, "a fraction of every resource of the board", low_open=True),
    "fps": Limit(0.0, 2e9, "images per second; no design exceeds one image per clock at 2 GHz, the fastest "
                 "clock_ns 0.5", low_open=True),
    # exploration (hw.explore.cli)
    "trials": Limit(1, 100_000, "trained trials of a study"),
    "target_fps": Limit(1e-3, 1e9, "images per second"),
    "max_params": Limit(1, 10 ** 12, "parameters"),
    "max_macs": Limit(1, 10 ** 15, "multiply-accumulates per image"),
    "explore_seed": Limit(0, 2 ** 31 - 1, "each trial trains with seed + trial number, which stays a 32-bit seed"),
    "workers": Limit(1, 256, "local cluster workers"),
    "proxy_epochs": Limit(1, 1000, "QAT epochs of a proxy run"),
    "proxy_float_epochs": Limit(0, 1000, "float epochs of a proxy run"),
    "proxy_images": Limit(1, 10 ** 8, "training images per proxy epoch"),
    "proxy_val": Limit(1, 10 ** 8, "validation images of a proxy run"),
    "explore_budget": Limit(0.01, 1.0, "a fraction of every resource of the board"),
}


class OptionError(ValueError):
    """A training option outside its range; the message names the option and the range."""


def check_range(name: str, value, kind=int, option: str = None):
    """VALUE as KIND within LIMITS[name], else an OptionError naming ``option`` (default --name) and the range."""
    low, high = LIMITS[name][:2]
    option = option or "--" + name.replace("_", "-")
    try:
        number = kind(value)
        if isinstance(value, float) and kind is int and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise OptionError(f"{option}: expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
    if not (low <= number <= high) or number != number:
        shown = value if isinstance(value, str) else repr(value)  # command-line text as typed
        raise OptionError(f"{option}: must be from {low:g} to {high:g}, got {shown}")
    return number


@dataclass
class TrainOptions:
    epochs: int = 80              # QAT epochs
    float_epochs: int = 0         # float-network epochs before QAT
    batch_size: int = 32
    lr: float = 3e-3              # peak learning rate of each phase's cosine schedule
    seed: int = 0
    input_size: "int | None" = None
    augment: "str | None" = None  # default: 'crop' for digits, 'shift' for Fashion-MNIST, 'standard' otherwise
    restart: bool = False
    train_images: "int | None" = None  # images per epoch: a fresh random subset each epoch (None: all)
    qat_lr: "float | None" = None  # peak learning rate of the QAT phase (None: lr)
    label_smoothing: float = 0.0  # of the cross-entropy's one-hot targets (0: none)
    weight_decay: float = 0.0     # decoupled (AdamW) weight decay per step (0: plain Adam)
    validate: bool = False        # evaluate the val split after every epoch: the learning curve in metrics.csv

    def __post_init__(self):
        for name in ("epochs", "float_epochs", "batch_size", "seed"):
            setattr(self, name, check_range(name, getattr(self, name)))
        for name in ("lr", "label_smoothing", "weight_decay"):
            setattr(self, name, check_range(name, getattr(self, name), float))
        for name, kind in (("input_size", int), ("train_images", int), ("qat_lr", float)):
            if getattr(self, name) is not None:
                limit = "train_input_size" if name == "input_size" else name
                setattr(self, name, check_range(limit, getattr(self, name), kind, "--" + name.replace("_", "-")))
        if self.augment is not None and self.augment not in AUGMENT:
            raise OptionError(f"--augment: must be one of {', '.join(AUGMENT)}, got {self.augment!r}")


def ranged(name: str, kind=int):
    """An argparse type: KIND within LIMITS[name]; outside it argparse exits 2 naming the option."""
    import argparse

    def convert(text):
        try:
            return check_range(name, text, kind)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).split(": ", 1)[-1]) from None
    convert.__name__ = "integer" if kind is int else "number"
    return convert
