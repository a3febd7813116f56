"""Training options: the TrainOptions dataclass, the accepted range of every numeric option, and the
argparse type that enforces the same ranges on the command line (one error text for both)."""
from __future__ import annotations

from dataclasses import dataclass

from qmodels.augment import AUGMENT


# Accepted ranges of the numeric options (inclusive); one clear error outside them.
RANGES = {"epochs": (1, 10_000), "float_epochs": (0, 10_000), "batch_size": (1, 4096), "lr": (1e-7, 1.0),
          "seed": (0, 2**31 - 1), "input_size": (8, 1024), "train_images": (1, 10**9), "qat_lr": (1e-7, 1.0),
          "label_smoothing": (0.0, 0.5), "weight_decay": (0.0, 1.0)}


class OptionError(ValueError):
    """A training option outside its range; the message names the option and the range."""


def check_range(name: str, value, kind=int):
    """VALUE as KIND within RANGES[name], else an OptionError naming --name and the range."""
    low, high = RANGES[name]
    option = "--" + name.replace("_", "-")
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
                setattr(self, name, check_range(name, getattr(self, name), kind))
        if self.augment is not None and self.augment not in AUGMENT:
            raise OptionError(f"--augment: must be one of {', '.join(AUGMENT)}, got {self.augment!r}")


def ranged(name: str, kind=int):
    """An argparse type: KIND within RANGES[name]; outside it argparse exits 2 naming the option."""
    import argparse

    def convert(text):
        try:
            return check_range(name, text, kind)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).split(": ", 1)[-1]) from None
    convert.__name__ = "integer" if kind is int else "number"
    return convert
