"""FIFO depths for io_stream that cannot deadlock, from the layer geometry, and a simulator that checks them.

Model.  In io_stream every layer is a dataflow process that walks a fixed loop; each loop
iteration may read one pixel (all channels) from each input stream and may write one pixel to
each output stream.  An iteration is taken as atomic: it fires only when all its reads have data
and all its writes have room (hls4ml's ``clone_stream`` writes both copies in one iteration, and
``selective_attention``/``add`` read both inputs in one).  ``need(n)`` of a layer is the number of
input pixels it has read when it writes output pixel ``n`` (raster order): the reads counted up
to and including the iteration that writes ``n``.

Why only reconvergent forks can deadlock.  In a chain every pixel a process writes is one its
consumer will read, and the consumer reads in the same order, so with any depth >= 1 the
consumer eventually frees room and the chain drains.  A fork F whose copies meet again at a
join J (VAC: V' -> pool/embed/unpool -> attend and V' -> attend; MobileNet-V2: x -> expand/dw/
project -> add and x -> add) is different: to write J's output n, J needs the long branch's
pixel n, which needs F to have produced P(n) = need_1(need_2(... need_m(n) - 1 ...) - 1) pixels:
the need() of the long branch's layers composed from J back to F (each count c is looked up
as the pixel index c-1 in the layer before; a count of 0 stays 0).
F writes every pixel to both copies, so the short copy, of which J has read only n pixels,
must then hold P(n) - n pixels, otherwise F blocks on it, the long branch starves and J waits
forever.  Hence the exact minimum depth of the short copy, in pixels (stream entries):

    D = max_n ( P(n) - n ),   n over the join's H*W pixels.

No +1 for a pixel in flight: with atomic iterations pixel n is still in the FIFO when J fires.
A real HLS pipeline that commits a read before a later stall only adds storage, and more
storage never creates a deadlock in this determinate network, so D is always sufficient; the
hardware minimum can be lower by at most the pixels in flight in J's pipeline.  For a copy
that has layers of its own, the bound used is max_n (max_j P_j(n) - P_i(n-1)), which the long
branch meets with the chain minimum.  Values for 'same' 3x3 convs (W >= 3, H large enough):
  * VAC (2x2 pool, 3x3 embedding, 1x1 conv, 2x unpool): A's row 2i needs K row i, which needs
    pool row i+1 (the 3x3 window looks one row below), i.e. V' rows up to 2i+3: D = 4 rows = 4W.
  * MobileNet-V2 stride 1: add pixel (r,c) needs x up to (r+1,c+1): D = W + 2.
A grouped conv reading a folded stream (hw/hls/ops/stream_fold.py) takes pixel n + 1 before it
writes output n; at a row's end that is the next row, which the windows upstream turn into rows
more.  need() does not model it (it would make the depths depend on the folds), so such a conv is
kept off every path between a fork and its join (``stream_fold.branch_layers``), where only a
chain, which cannot deadlock, sees it.
Every other stream gets CHAIN_DEPTH = 2: 1 already cannot deadlock, 2 lets producer and
consumer each move one pixel per clock (a depth-1 FIFO is full or empty on alternate clocks).
hls4ml's default is a whole tensor (H*W) for every stream.

Speed, not deadlock: at exactly D the fork waits for J after each pixel while the long branch's
pipeline latency elapses (the simulator shows a MobileNet-V2 block running 4x slower).  At one
pixel per clock the fork keeps writing for those L clocks, so the depth written into the
project is D + L, with L = ``latency`` clocks per process on the long branch (PIPELINE_LATENCY,
a budget for one hls4ml kernel's pipeline plus its stream; the simulator's processes take 1).

Public API: ``branch_fifo_depths(model) -> list[BranchFifo]``, ``tensor_fifo_depths(model) ->
{(producer, consumer): depth}`` (every stream, each fork copy separately), ``simulate(model,
depths) -> SimResult`` and ``hls_stream_depths(hls_model, model) -> {hls4ml variable: depth}``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hw.hls import ops
from qmodels.reference import input_layer_names

CHAIN_DEPTH = 2
PIPELINE_LATENCY = 8  # clocks per process on a long branch (throughput margin, not deadlock)


# ---------------------------------------------------------------- graph and geometry
def _graph(model):
    """(layers in topological order, {name: [input layer names]}, {name: [consumer names]})."""
    ins = {layer.name: input_layer_names(layer) for layer in model.layers}
    outs = {name: [] for name in ins}
    for name, sources in ins.items():
        if len(set(sources)) != len(sources):
            raise NotImplementedError(f"{name} reads the same tensor twice")
        for src in sources:
            outs[src].append(name)
    return list(model.layers), ins, outs


def _hw(shape) -> tuple:
    """(height, width) of a stream: one entry per pixel; a vector is a single pixel."""
    shape = shape[0] if isinstance(shape, list) else shape
    return (int(shape[1]), int(shape[2])) if len(shape) == 4 else (1, 1)


def _same(size: int, k: int, s: int) -> tuple:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2  # TensorFlow: the odd pixel goes after


def _geometry(layer):
    """(loop shape, params) of a layer for need() and its loop program: its op's (hw.hls.ops)."""
    kind = type(layer).__name__
    hw_op = ops.of_class(kind)
    shape = hw_op.stream if hw_op is not None else None
    (h, w), (ho, wo) = _hw(layer.input_shape), _hw(layer.output_shape)
    if shape == ops.PIXEL:
        return "pixel", dict(n=ho * wo)
    if shape == ops.WALK:
        (kh, kw) = layer.pool_size if hw_op.kind == "pool" else layer.kernel_size
        (sh, sw) = layer.strides
        pt, pb = _same(h, kh, sh) if layer.padding == "same" else (0, 0)
        pl, pr = _same(w, kw, sw) if layer.padding == "same" else (0, 0)
        # a windowed layer fires at the window's bottom-right corner in padded coordinates
        return "walk", dict(h=h, w=w, pads=(pt, pb, pl, pr), ho=ho, wo=wo,
                            first=(kh - 1, kw - 1), step=(sh, sw))
    if shape == ops.PAD:
        (pt, pb), (pl, pr) = layer.padding
        return "walk", dict(h=h, w=w, pads=(pt, pb, pl, pr), ho=ho, wo=wo, first=(0, 0), step=(1, 1))
    if shape == ops.UNPOOL:
        return "unpool", dict(h=h, w=w, ho=ho, wo=wo, f=layer.size)
    if shape == ops.REDUCE:
        return "reduce", dict(n=h * w)
    raise NotImplementedError(f"no stream model for layer {layer.name} of type {kind}")


# ---------------------------------------------------------------- need(): closed form
def need(layer, n) -> np.ndarray:
    """Input pixels (a count) ``layer`` has read when it writes output pixel(s) ``n``."""
    kind, g = _geometry(layer)
    n = np.asarray(n, dtype=np.int64)
    if kind == "pixel":
        return n + 1
    if kind == "reduce":
        return np.full_like(n, g["n"])
    r, c = n // g["wo"], n % g["wo"]
    if kind == "unpool":  # out row r comes from in row min(r//f, Hin-1), emitted once that row is read
        return (np.minimum(r // g["f"], g["h"] - 1) + 1) * g["w"]
    h, w, (pt, _, pl, _) = g["h"], g["w"], g["pads"]
    row = r * g["step"][0] + g["first"][0] - pt  # real input row of the trigger position
    col = c * g["step"][1] + g["first"][1] - pl
    # line buffer: the trigger reads in raster order, so everything before it has been read;
    # a trigger in the bottom padding comes after the whole image
    inside = row * w + np.clip(col + 1, 0, w)
    return np.where(row < 0, 0, np.where(row >= h, h * w, inside))


def _compose(path, model, count: np.ndarray) -> np.ndarray:
    """F pixels needed so that the last layer of ``path`` (listed join-side first) has written
    ``count`` pixels (count 0 needs nothing)."""
    for name in path:
        count = np.where(count > 0, need(model.get_layer(name), np.maximum(count - 1, 0)), 0)
    return count


# ---------------------------------------------------------------- branch depths
@dataclass
class BranchFifo:
    """One copy of a reconvergent fork: the stream from ``fork`` to ``consumer`` (== ``join``
    for the short copy).  ``minimum``: the exact deadlock-free depth; ``depth``: minimum plus
    the throughput margin; both in pixels (stream entries of ``channels`` x ``bits``);
    ``rows`` = minimum / width; ``default`` is hls4ml's depth (H*W)."""
    fork: str
    join: str
    consumer: str
    minimum: int
    depth: int
    width: int
    height: int
    channels: int
    bits: int

    @property
    def rows(self) -> float:
        return self.minimum / self.width

    @property
    def default(self) -> int:
        return self.height * self.width

    @property
    def saved_bits(self) -> int:
        return (self.default - self.depth) * self.channels * self.bits


def _path_to_fork(name, ins, outs) -> tuple:
    """Walk back from a join input through single-consumer, single-input layers to the fork."""
    path = []
    while len(outs[name]) == 1:
        if len(ins[name]) != 1:
            raise NotImplementedError(f"nested join {name} inside a branch")
        path.append(name)
        name = ins[name][0]
    return name, path


def _bits(layer) -> int:
    quantizer = getattr(layer, "quantizer", None)
    if quantizer is None:
        return 8
    from qmodels.fixed import from_qkeras
    fmt = from_qkeras(quantizer)
    return fmt.width if fmt else 8


def branch_fifo_depths(model, latency: int = PIPELINE_LATENCY) -> list:
    """Every copy of every fork whose copies meet again, with its depths (see the module doc)."""
    _, ins, outs = _graph(model)
    result = []
    for join, sources in ins.items():
        if len(sources) < 2:
            continue
        walks = [_path_to_fork(src, ins, outs) for src in sources]
        forks = {fork for fork, _ in walks}
        if len(forks) != 1:
            raise NotImplementedError(f"inputs of {join} come from different forks {sorted(forks)}")
        fork = forks.pop()
        layer = model.get_layer(fork)
        h, w = _hw(layer.output_shape)
        n = np.arange(h * w, dtype=np.int64)
        produced = [_compose(path, model, n + 1) for _, path in walks]
        read_before = [_compose(path, model, n) for _, path in walks]  # consumed before J writes n
        longest = max(len(path) for _, path in walks)
        for i, (_, path) in enumerate(walks):
            others = np.max([p for j, p in enumerate(produced) if j != i], axis=0)
            minimum = max(int((others - read_before[i]).max()), CHAIN_DEPTH if path else 1)
            margin = latency * (longest - len(path))  # pixels the fork writes while the long branch fills
            result.append(BranchFifo(fork, join, path[-1] if path else join, minimum, minimum + margin,
                                     w, h, int(layer.output_shape[-1]), _bits(layer)))
    return result


def tensor_fifo_depths(model, chain: int = CHAIN_DEPTH, latency: int = PIPELINE_LATENCY) -> dict:
    """{(producer, consumer): depth} for every stream, each fork copy separately."""
    _, ins, _ = _graph(model)
    depths = {(src, dst): chain for dst, sources in ins.items() for src in sources}
    for b in branch_fifo_depths(model, latency):
        depths[(b.fork, b.consumer)] = max(b.depth, chain)
    return depths


def hls_stream_depths(hls_model, model) -> dict:
    """{hls4ml variable name: depth} for the internal streams of an io_stream hls4ml model.

    A Clone copy read by a join gets the join's short-copy depth; every other stream (chains,
    long copies, hls4ml's inserted padding) gets CHAIN_DEPTH.  Top-level ports are left alone."""
    short = {b.join: b.depth for b in branch_fifo_depths(model) if b.consumer == b.join}
    ports = set(hls_model.inputs) | set(hls_model.outputs)
    layers = list(hls_model.get_layers())
    depths = {}
    for layer in layers:
        for var in layer.outputs:
            if var in ports:
                continue
            depth = CHAIN_DEPTH
            if layer.class_name == "Clone":
                readers = [other.name for other in layers if var in other.inputs]
                depth = max([short.get(r, CHAIN_DEPTH) for r in readers] + [CHAIN_DEPTH])
            depths[var] = int(depth)
    return depths


# ---------------------------------------------------------------- loop programs
def program(layer) -> tuple:
    """(reads, writes): per loop iteration of the layer's stream kernel, whether it reads one
    pixel from each input and whether it writes one pixel (to every copy)."""
    kind, g = _geometry(layer)
    if kind == "pixel":
        return np.ones(g["n"], bool), np.ones(g["n"], bool)
    if kind == "reduce":  # accumulate everything, then write the one result
        return np.r_[np.ones(g["n"], bool), False], np.r_[np.zeros(g["n"], bool), True]
    if kind == "unpool":  # nnet_unpooling.h: read a row, then replay it for its output rows
        reads, writes = [], []
        for i in range(g["h"]):
            first = i * g["f"]
            last = g["ho"] if i == g["h"] - 1 else min(first + g["f"], g["ho"])
            reps = max(last - first, 0) * g["wo"]
            reads += [True] * g["w"] + [False] * reps
            writes += [False] * g["w"] + [True] * reps
        return np.array(reads, bool), np.array(writes, bool)
    # walk the padded image (nnet_group_conv2d.h; hls4ml's padding + line-buffer conv is the same)
    (h, w), (pt, pb, pl, pr) = (g["h"], g["w"]), g["pads"]
    hp, wp = h + pt + pb, w + pl + pr
    inside = np.zeros((hp, wp), bool)
    inside[pt:pt + h, pl:pl + w] = True
    fire = np.zeros((hp, wp), bool)
    rows = np.arange(g["ho"]) * g["step"][0] + g["first"][0]
    cols = np.arange(g["wo"]) * g["step"][1] + g["first"][1]
    fire[np.ix_(rows, cols)] = True
    return inside.ravel(), fire.ravel()


# ---------------------------------------------------------------- cycle-level simulation
@dataclass
class SimResult:
    completed: bool
    cycles: int
    stalled_at: list = field(default_factory=list)  # culprit full streams (producer, consumer)
    blocked: dict = field(default_factory=dict)      # process -> ('empty'|'full', stream)


def simulate(model, depths: dict, max_cycles: int | None = None) -> SimResult:
    """Run the stream network with bounded FIFOs (``depths``: (producer, consumer) -> entries).

    Each clock every unfinished process tries its next loop iteration; it fires when every read
    has data and every write (to every fork copy) has room.  Processes are visited consumers
    first, so a pixel read this clock frees room for a write in the same clock, and a pixel
    written this clock is read the next one: one clock of latency per stream, full throughput.
    A clock without any firing before all processes finish is a deadlock."""
    layers, ins, outs = _graph(model)
    sink = model.layers[-1].name
    names = [layer.name for layer in layers]
    index = {(src, dst): k for k, (src, dst) in enumerate((s, d) for d in names for s in ins[d])}
    index[(sink, "<sink>")] = len(index)
    fill = [0] * len(index)
    cap = [depths.get(key, CHAIN_DEPTH) for key in index]
    cap[-1] = 1 << 60
    procs = []
    for layer in reversed(layers):  # consumers first
        if type(layer).__name__ == "InputLayer":
            n = int(np.prod(_hw(layer.output_shape)))
            reads, writes = np.zeros(n, bool), np.ones(n, bool)
        else:
            reads, writes = program(layer)
        targets = outs[layer.name] or ["<sink>"]
        procs.append([layer.name, reads.tolist(), writes.tolist(), 0, len(reads),
                      [index[(s, layer.name)] for s in ins[layer.name]],
                      [index[(layer.name, t)] for t in targets]])
    limit = max_cycles or 100 * sum(p[4] for p in procs) + 100
    active = procs
    cycle = 0
    while active and cycle < limit:
        cycle += 1
        fired = False
        for p in active:
            _, reads, writes, pc, _, src, dst = p
            if reads[pc] and any(fill[k] == 0 for k in src):
                continue
            if writes[pc] and any(fill[k] >= cap[k] for k in dst):
                continue
            if reads[pc]:
                for k in src:
                    fill[k] -= 1
            if writes[pc]:
                for k in dst:
                    fill[k] += 1
            p[3] = pc + 1
            fired = True
        active = [p for p in active if p[3] < p[4]]
        if not fired:
            return _stall(active, fill, cap, index, cycle)
    return SimResult(not active, cycle)


def _stall(active, fill, cap, index, cycle) -> SimResult:
    """Who waits on what; the culprits are the full streams whose reader waits on another,
    empty, stream (the streams behind them are only back-pressure)."""
    key = {k: edge for edge, k in index.items()}
    blocked, full = {}, []
    for name, reads, writes, pc, _, src, dst in active:
        empty = [key[k] for k in src if reads[pc] and fill[k] == 0]
        stuck = [key[k] for k in dst if writes[pc] and fill[k] >= cap[k]]
        blocked[name] = ("empty", empty[0]) if empty else ("full", stuck[0])
        full += stuck
    culprits = sorted({edge for edge in full if blocked.get(edge[1], ("full",))[0] == "empty"})
    return SimResult(False, cycle, culprits, blocked)
