"""Folded streams: a stream word that carries one fold step's channels, not a whole pixel (issue 15,
item 4; FINN's folded streams, where a stream word holds PE or SIMD elements).

In io_stream every FIFO word is a pixel of all C channels, so a FIFO costs its depth x C x bits
whatever its producer and consumer compute per clock.  At the end of AttendNet-A the conv before
the global average writes 768 channels a pixel and the average writes 768 means once: two FIFOs of
6,144 bits (about 3,100 LUT each, estimated), between processes that make or use the channels a
few at a time.  A producer that makes its channels F groups at a time can write each group as it
is made, and some consumers can read them so; between such a pair the word is C / F channels:

* writers: our grouped conv folded by F (hw/hls/ops/group_conv.py; a conv, pointwise or depthwise
  conv with a fold runs it) writes each fold step's n_filt / F channels; our folded global average
  (hw/hls/ops/global_average.py) writes each step's means.  A word may also span several whole
  steps (a fold dividing F), so a word never splits a step.
* readers: our folded global average adds a word's channels in the steps it spans (F_avg / F_word
  steps a word); hls4ml's dense layer reads its input vector in n_in / size words (its
  nnet_dense_stream.h ``DataPrepare`` loop), one word a clock; our grouped conv folded by F (any conv
  kind with a fold runs it) reads a pixel in up to F words, a word an iteration while it computes
  the position before (nnet_group_conv2d.h ``group_conv2d_stage``), into n_chan staged registers.

A conv reading words takes pixel n + 1 before it writes output n, one pixel more than the FIFO
depths of reconvergent branches allow for (hw/hls/fifo.py: a pointwise conv at a row's end would
ask for the next row, and the fork then for rows more than the short copy holds: the threaded
``csim --fifo-check`` of AttendNet-B deadlocked), so a conv on a path between a fork and its join
(``branch_layers``) reads whole pixels; a chain cannot deadlock however far a reader reads ahead.

The stream's fold is the largest both ends take: ``edge_fold``.  Only a stream with one reader
(hls4ml's Clone copies whole pixels) that is not the network's output (the AXI top and the host
speak whole pixels) is folded, and only in io_stream.  The values and their order are the same
(the word is hls4ml's own ``PackedType`` with a negative ``n_pack``: n_elem / F elements), so a
folded stream cannot change a bit; csim and the sweep check it.  These rules are read by
generation (hw/hls/layers/stream_fold.py), the estimator and the planner.
"""
from __future__ import annotations

from math import gcd

IO = "stream"
ANY = None          # a reader that takes any word size dividing its input (a dense layer)


def write_fold(op, fold: int) -> int:
    """Words a pixel of ``op``'s output can be written in, at its ``fold``: our grouped conv and our
    folded global average make their channels ``fold`` groups at a time; others write whole pixels."""
    return fold if fold > 1 and (op.grouped_conv or op.folded) else 1


def read_fold(op, fold: int, in_pixels: int, on_branch: bool = False):
    """Words ``op`` can read a pixel of its input in: its fold (our folded global average; our grouped
    conv, whose F iterations a pixel read a word each, unless it is ``on_branch``), ANY (a dense layer
    reading one vector), else 1 (whole pixels)."""
    if op.folded or op.grouped_conv and fold > 1 and not on_branch:
        return fold
    if op.kind == "dense" and in_pixels == 1:
        return ANY
    return 1


def edge_fold(written: int, read) -> int:
    """The stream's fold: the largest that divides the writer's fold and that the reader takes."""
    return written if read is ANY else gcd(written, read)


def fold_between(writer, writer_fold: int, reader, reader_fold: int, reader_in_pixels: int,
                 reader_on_branch: bool = False) -> int:
    """The fold of the one stream from op ``writer`` at ``writer_fold`` to op ``reader`` at
    ``reader_fold`` (reading ``reader_in_pixels`` pixels; ``reader_on_branch``: in ``branch_layers``):
    the rule generation, the estimator and the planner all apply."""
    return edge_fold(write_fold(writer, writer_fold), read_fold(reader, reader_fold, reader_in_pixels,
                                                                reader_on_branch))


def branch_layers(inputs: dict) -> frozenset:
    """The layers on a path between a fork and its join, from ``inputs`` ({layer: [the layers it
    reads]}, any graph: Keras', the estimator's, hls4ml's with its Clones): walking back from each
    input of a join until a layer read by more than one."""
    readers = {}
    for name, sources in inputs.items():
        for src in sources:
            readers[src] = readers.get(src, 0) + 1
    found, todo = set(), [src for sources in inputs.values() if len(sources) > 1 for src in sources]
    while todo:
        name = todo.pop()
        if name in found or readers.get(name, 0) > 1 or name not in inputs:
            continue
        found.add(name)
        todo.extend(inputs[name])
    return frozenset(found)
