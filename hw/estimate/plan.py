"""The reuse planner: per-layer reuse factor and strategy for the highest throughput within a budget
of every board resource, or the fewest resources that reach a target frame rate.

Method (deterministic, numpy, no search randomness).  For every layer that takes a reuse factor
the options are every (strategy, valid reuse factor) pair (``hw.estimate.reuse``), each priced by
the estimator.  For a pipeline interval T each layer takes its cheapest option whose cycles do not
exceed T — no layer faster than the bottleneck needs, which is what balances the pipeline.
"Cheapest" is a weighted sum of the resources as fractions of the board; the weighting does not
depend on the budget, so a larger budget can only admit more intervals: more budget never lowers
the frame rate.  The plan is the smallest feasible T over a few weightings (even, and each
resource emphasised in turn), ties broken by the lower weighted cost.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hw.estimate.layers import LayerSetting, estimate_layer
from hw.estimate.network import RESOURCES, board_capacity, coefficients, stream_cost
from hw.estimate.reuse import (HLS4ML_MATRIX, LATENCY_UNROLL_LIMIT, OUR_KERNEL_KINDS, dsp_reuse_factors,
                               in_our_kernel, largest_fold, multipliers, strategies, valid_reuse_factors)
from hw.config import LOADED_STORAGES, STORAGES, loaded_storage_problem
from hw.hls import ops
from hw.estimate.source import EstimateError
from hw.estimate.stream_pricing import priced, stream_pricing

TUNABLE = ops.kinds(planned=True)   # the ops whose reuse factor or fold the planner chooses (hw.hls.ops)
MULTIPLIER_ORDER = ("lut", "dsp", "packed")    # ties go to the simpler product
EMPHASIS = 4.0


class PlanError(EstimateError):
    """No plan meets the request; the message says which resource or layer stops it."""


@dataclass
class Plan:
    design: object
    settings: dict
    estimate: object
    budget: float
    target_fps: float = None


def _options(design, pricing: dict) -> dict:
    """{layer: (cycles[n], cost[n, 5], settings[n])} sorted by cycles, for every tunable layer, each
    option priced with the streams it lets be folded (``stream_pricing``; {}: none folded)."""
    family, scales = design.board.family, coefficients()
    storages = weight_storages(design.board)
    out = {}
    for g in design.geoms:
        if g.kind not in TUNABLE:
            continue
        rows = []
        for setting in layer_settings(g, family, storages):
            rows.append((*priced(g, setting, pricing, family, scales), setting))
        rows.sort(key=lambda r: (r[0], r[2].strategy, r[2].reuse, MULTIPLIER_ORDER.index(r[2].multiplier),
                                 r[2].fold, storages.index(r[2].storage)))
        out[g.name] = (np.array([r[0] for r in rows]), np.array([r[1] for r in rows], float), [r[2] for r in rows])
    return out


def weight_storages(board) -> tuple:
    """Where our grouped conv may keep its weights on ``board`` (plans are io_stream): constants or
    a ROM the bitstream fills, and URAM filled from the weight frame at run time (hw/vivado/README.md,
    "Run-time weights") where hw.config allows it (a part with URAM)."""
    return STORAGES + tuple(s for s in LOADED_STORAGES if loaded_storage_problem(s, board, "stream") is None)


def layer_settings(g, family: str, storages: tuple = STORAGES) -> list:
    """Every (strategy, reuse factor, multiplier, fold, storage) the layer accepts: hls4ml's strategies and
    factors with its products in LUTs or DSPs, and our grouped conv's factors where the multiplier
    puts the layer there (packed DSPs; DSPs for depthwise and grouped convs) or a fold does, with its
    weights in each of ``storages`` (``weight_storages``)."""
    hw_op = ops.op(g.kind)
    if hw_op.folded:           # no reuse factor, no multiplier: each fold (1 is hls4ml's kernel)
        return [LayerSetting(1, "latency", "lut", fold) for fold in hw_op.rules.valid_folds(g.channels)]
    out = []
    for multiplier in multipliers(g, family):
        if in_our_kernel(g, multiplier):
            out += our_kernel_settings(g, multiplier, folded_only=False, storages=storages)
            continue
        out += [LayerSetting(rf, strategy, multiplier) for strategy in strategies(g)
                for rf in valid_reuse_factors(g, strategy)]
        if g.kind in OUR_KERNEL_KINDS:       # the same products in our kernel, folded
            out += our_kernel_settings(g, multiplier, folded_only=True, storages=storages)
    return out


def our_kernel_settings(g, multiplier: str, folded_only: bool, storages: tuple = STORAGES) -> list:
    """Our grouped conv at each useful reuse factor, with its weights as constants, in a ROM
    (bram, lutram) or in URAM loaded at run time (``storages``), each with its deepest fold (the
    same clocks for the fewest adders and output casts), where a fold step's products stay within
    the unroll limit (the limit binds packed layers, folds and ROM-fed steps; unfolded non-packed
    layers keep today's rule).
    ``folded_only``: only what differs from hls4ml's kernel (a fold, or a ROM)."""
    out = []
    for storage in storages:
        for rf in dsp_reuse_factors(g, multiplier):
            fold = largest_fold(g, rf, multiplier, storage)
            if fold is None or folded_only and fold == 1 and storage == "registers":
                continue
            step_products = math.ceil(g.products_per_pixel / fold) if storage == "registers" else \
                math.ceil(g.products_per_pixel / rf)
            if (fold > 1 or multiplier == "packed" or storage != "registers") and step_products > LATENCY_UNROLL_LIMIT:
                continue
            out.append(LayerSetting(rf, "latency", multiplier, fold, storage))
    return out


def _fixed(design) -> tuple:
    """(cost[5], slowest cycles) of everything the planner cannot change: other layers and FIFOs."""
    total = stream_cost(design.streams)
    slowest = 0
    for g in design.geoms:
        if g.kind not in TUNABLE:
            est = estimate_layer(g, design.settings.get(g.name, LayerSetting()), design.board.family,
                                 coefficients())
            total = total + est.cost
            slowest = max(slowest, est.cycles)
    return np.array([getattr(total, k) for k in RESOURCES], float), slowest


def _choose(options: dict, capacity: np.ndarray, weights: np.ndarray, intervals: np.ndarray) -> tuple:
    """For each candidate interval: (total cost[T, 5], chosen option index per layer[L, T])."""
    scale = np.where(capacity > 0, weights / np.maximum(capacity, 1), 1e9)
    totals = np.zeros((len(intervals), len(RESOURCES)))
    picks = []
    for cycles, cost, _ in options.values():
        score = cost @ scale
        best = np.empty(len(cycles), int)          # cheapest option among the first i+1 (by cycles)
        best[0] = 0
        for i in range(1, len(cycles)):
            best[i] = i if score[i] < score[best[i - 1]] else best[i - 1]
        last = np.searchsorted(cycles, intervals, side="right") - 1
        pick = np.where(last >= 0, best[np.maximum(last, 0)], -1)
        totals += np.where(pick[:, None] >= 0, cost[np.maximum(pick, 0)], np.inf)
        picks.append(pick)
    return totals, np.array(picks)


PRICING_ROUNDS = 3     # searches priced with folded streams: the deepest folds, then the last plan's


def plan(design, budget=0.8, target_fps: float = None) -> Plan:
    """``budget``: the fraction of every resource to use, or {resource: fraction} (e.g. the budget
    shrunk by each resource's measured error band, ``--margin measured``).  A stream's fold depends
    on the settings of both its ends, which the search picks one layer at a time, so the options are
    priced with folded streams (``stream_pricing``) first as if each end's neighbour folded most,
    then, up to PRICING_ROUNDS, as the last plan's neighbours fold.  The fastest plan (at
    ``target_fps``: the smallest) whose own estimate, with the streams folded as its ends really
    allow, fits is kept; when none does, it is planned as if no stream were folded, which its
    estimate can only undercut (a folded stream only narrows a FIFO and a select)."""
    limits = _limits(budget)
    best, no_plan, around = None, None, None
    for _ in range(PRICING_ROUNDS):
        try:
            settings = _search(design, _options(design, stream_pricing(design, around)), limits, target_fps)
        except PlanError as err:       # said rather than the unfolded search's: it knows the folded floor
            no_plan = no_plan or err
            break
        candidate = Plan(design, settings, design.estimate(settings), budget, target_fps)
        if _fits(candidate.estimate, limits) and (best is None or _rank(candidate) < _rank(best)):
            best = candidate
        if settings == around:
            break
        around = settings
    if best is not None:
        return best
    try:
        settings = _search(design, _options(design, {}), limits, target_fps)
    except PlanError as err:
        raise (no_plan or err) from None
    return Plan(design, settings, design.estimate(settings), budget, target_fps)


def _rank(p: Plan) -> tuple:
    """The faster plan first (at a target frame rate, every plan reaches it: the smaller first)."""
    est = p.estimate
    size = sum(est.totals[k] / est.capacity[k] for k in RESOURCES if est.capacity[k])
    return (size,) if p.target_fps is not None else (est.interval_cycles, size)


def _fits(estimate, limits: np.ndarray) -> bool:
    cap = np.array([estimate.capacity[k] for k in RESOURCES], float)
    return bool(_within(np.array([estimate.totals[k] for k in RESOURCES], float), cap, limits))


def _search(design, options: dict, limits: np.ndarray, target_fps: float = None) -> dict:
    """The settings of the fastest plan (or the cheapest at ``target_fps``) over ``options``."""
    fixed, slowest = _fixed(design)
    cap = board_capacity(design.board)
    capacity = np.array([cap[k] for k in RESOURCES], float)
    clock_hz = 1e9 / design.clock_ns
    intervals = np.unique(np.concatenate([c for c, _, _ in options.values()] + [np.array([slowest])]))
    intervals = intervals[intervals >= slowest]
    if target_fps is not None:
        if target_fps <= 0:
            raise PlanError(f"--target-fps must be positive, got {target_fps}")
        limit = math.floor(clock_hz / target_fps) - 1        # interval = slowest process + 1
        intervals = intervals[intervals <= limit]
        if len(intervals) == 0:
            raise PlanError(_too_fast(design, options, slowest, limit, target_fps, clock_hz))
        intervals = intervals[-1:]                           # the slowest allowed: fewest resources
    best = None
    for w in _weightings():
        totals, picks = _choose(options, capacity, w, intervals)
        totals = totals + fixed
        ok = _within(totals, capacity, limits)
        if not ok.any():
            continue
        t = int(np.argmax(ok))
        key = (intervals[t], float(totals[t] @ (1 / np.maximum(capacity, 1))))
        if best is None or key < best[0]:
            best = (key, {name: options[name][2][picks[i, t]] for i, name in enumerate(options)})
    balanced = _balanced(options, fixed, capacity, limits, intervals)
    if balanced is not None and (best is None or balanced[0] < best[0]):
        best = balanced
    if best is None:
        raise PlanError(_no_fit(design, options, fixed, capacity, limits, target_fps,
                                int(intervals[-1]) if target_fps is not None else None))
    return {**design.settings, **best[1]}


def _within(totals: np.ndarray, capacity: np.ndarray, limits: np.ndarray):
    """Whether totals ([..., 5]) fit the budget; a resource the board lacks must stay unused."""
    return np.all((totals <= limits * capacity) | ((capacity == 0) & (totals == 0)), axis=-1)


BALANCE_STEPS = 30     # reweightings per probed interval


def _balanced(options: dict, fixed: np.ndarray, capacity: np.ndarray, limits: np.ndarray, intervals):
    """((interval, size), settings) of the fastest plan found by reweighting and repair, or None.
    A fixed weighting sends every layer to whichever option it prices lower, so it cannot split
    what must be split (weights between BRAM and URAM, products between DSPs and LUTs) and stops
    short of intervals a mixed choice reaches: plan takes the better of the two searches.  At a
    probed interval each layer takes its cheapest option not slower than it; the weights grow on
    every resource over its budget and shrink on those under it (a Lagrangian search) for
    BALANCE_STEPS, then the picks closest to fitting are repaired a layer at a time (``_repair``).
    The interval is bisected (more options at a longer one).  Deterministic."""
    def attempt(interval):
        allowed = [int(np.searchsorted(cycles, interval, side="right")) for cycles, _, _ in options.values()]
        if min(allowed, default=1) == 0:
            return None
        costs = [cost[:n] for (_, cost, _), n in zip(options.values(), allowed)]
        weights, closest = np.ones(len(RESOURCES)), None
        for _ in range(BALANCE_STEPS):
            scale = np.where(capacity > 0, weights / np.maximum(capacity, 1), 1e9)
            picks = [int(np.argmin(cost @ scale)) for cost in costs]
            totals = _total(fixed, costs, picks)
            use = np.where(capacity > 0, totals / np.maximum(limits * capacity, 1e-9), 1.0)
            if closest is None or use.max() < closest[0]:
                closest = (use.max(), picks)
            weights = weights * np.clip(use, 0.5, 2.0) ** 0.5
            weights = weights / weights.mean()
        return _repair(costs, list(closest[1]), fixed, capacity, limits)

    lo, hi, found = 0, len(intervals) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        got = attempt(intervals[mid])
        if got is None:
            lo = mid + 1
        else:
            found, hi = (mid, got), mid - 1
    if found is None:
        return None
    t, (picks, totals) = found
    key = (intervals[t], float(totals @ (1 / np.maximum(capacity, 1))))
    return key, {name: options[name][2][pick] for name, pick in zip(options, picks)}


def _total(fixed: np.ndarray, costs: list, picks: list) -> np.ndarray:
    """The resources of the fixed part plus each layer's picked option."""
    return fixed + sum((cost[p] for cost, p in zip(costs, picks)), np.zeros(len(RESOURCES)))


def _repair(costs: list, picks: list, fixed, capacity, limits):
    """(picks, totals) within the budget, or None: while a resource is over, move the one layer
    whose move to another of its options frees most of it for the least of the other resources'
    remaining headroom (a move that would overrun another resource is not taken)."""
    budget = limits * capacity
    for _ in range(4 * len(costs)):
        totals = _total(fixed, costs, picks)
        if _within(totals, capacity, limits):
            return picks, totals
        r = int(np.argmax(np.where(capacity > 0, totals / np.maximum(budget, 1e-9), 0.0)))
        headroom = np.maximum(budget - totals, 0.0)
        best = None
        for i, (cost, p) in enumerate(zip(costs, picks)):
            delta = cost - cost[p]
            freed = -delta[:, r]
            grows = np.maximum(delta, 0.0)
            grows[:, r] = 0.0
            overrun = np.any((grows > headroom) & (grows > 0), axis=1)
            price = (grows / np.maximum(headroom, 1e-9)).sum(axis=1)
            ratio = np.where((freed > 0) & ~overrun, price / np.maximum(freed, 1e-12), np.inf)
            j = int(np.argmin(ratio))
            if np.isfinite(ratio[j]) and (best is None or ratio[j] < best[0]):
                best = (ratio[j], i, j)
        if best is None:
            return None
        picks[best[1]] = best[2]
    return None


def _limits(budget) -> np.ndarray:
    """The budget per resource (RESOURCES order) from one fraction or a {resource: fraction} mapping
    (a resource the mapping leaves out may use the whole board)."""
    fractions = budget if isinstance(budget, dict) else dict.fromkeys(RESOURCES, budget)
    unknown = sorted(set(fractions) - set(RESOURCES))
    if unknown:
        raise PlanError(f"budget: unknown resource(s) {', '.join(unknown)}; expected {', '.join(RESOURCES)}")
    for k, v in fractions.items():
        if not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise PlanError(f"--budget must be in (0, 1], got {v}" + (f" for {k}" if isinstance(budget, dict) else ""))
    return np.array([float(fractions.get(k, 1.0)) for k in RESOURCES])


def _weightings() -> list:
    even = np.ones(len(RESOURCES))
    return [even] + [np.where(np.arange(len(RESOURCES)) == i, EMPHASIS, 1.0) for i in range(len(RESOURCES))]


def _too_fast(design, options, slowest, limit, fps, clock_hz) -> str:
    fixed_layer = max((g for g in design.geoms if g.kind not in TUNABLE),
                      key=lambda g: estimate_layer(g, LayerSetting(), design.board.family).cycles)
    fastest = {name: int(c.min()) for name, (c, _, _) in options.items()}
    name, cycles = max(fastest.items(), key=lambda kv: kv[1]) if fastest else (fixed_layer.name, slowest)
    if slowest >= cycles:
        name, cycles = fixed_layer.name, slowest
    return (f"--target-fps {fps:g} is impossible at {clock_hz / 1e6:g} MHz: it needs an interval of at most "
            f"{limit} cycles, but layer {name} needs at least {cycles} cycles per image "
            f"(at most {clock_hz / (cycles + 1):.1f} images/s)")


def _no_fit(design, options, fixed, capacity, limits, target_fps, interval) -> str:
    """Why nothing fits: each short resource at its own cheapest, split into what the planner can
    change (the layers with a reuse factor, at the slowest options within ``interval``) and what
    it cannot (per-pixel layers and FIFOs).  ``limits``: the budget per resource."""
    tunable = np.zeros(len(RESOURCES))
    for cycles, cost, _ in options.values():
        within = cost[cycles <= interval] if interval is not None else cost
        tunable += within.min(axis=0)
    cheapest = fixed + tunable
    over = [k for k in range(len(RESOURCES)) if cheapest[k] > limits[k] * capacity[k]]
    goal = f"at {target_fps:g} images/s" if target_fps else "at any reuse factor"
    if over:
        detail = ", ".join(f"{RESOURCES[k]} needs at least {cheapest[k]:.0f} of {limits[k] * capacity[k]:.0f} "
                           f"({limits[k]:.0%} of the board): {fixed[k]:.0f} in layers without a reuse factor and "
                           f"FIFOs, {tunable[k]:.0f} in the {len(options)} layers with one" for k in over)
        return f"{design.name} does not fit {design.board.name} {goal} (estimated): {detail}"
    within = (f"{limits[0]:.0%} of every resource" if np.all(limits == limits[0]) else
              "the budget (" + ", ".join(f"{k} {v:.0%}" for k, v in zip(RESOURCES, limits)) + ")")
    return (f"{design.name} does not fit {design.board.name} within {within} {goal} "
            "(estimated; each resource alone could fit, not all at once)")


def recipe(p: Plan, model: "str | None", input_shape=None, backend: str = "vitis", weights: "str | None" = None):
    """The build recipe (hw.config.BuildConfig) that generates this plan."""
    from hw.config import BuildConfig, LayerSettings

    layers = {g.name: LayerSettings(reuse=None if ops.op(g.kind).folded else p.settings[g.name].reuse,
                                    strategy=p.settings[g.name].strategy if g.kind in HLS4ML_MATRIX else None,
                                    multiplier=None if p.settings[g.name].multiplier == "lut"
                                    else p.settings[g.name].multiplier,
                                    fold=p.settings[g.name].fold if p.settings[g.name].fold > 1 else None,
                                    storage=None if p.settings[g.name].storage == "registers"
                                    else p.settings[g.name].storage)
              for g in p.design.geoms if g.kind in TUNABLE}
    return BuildConfig(model=model, weights=weights, board=p.design.board.name, backend=backend, io="stream",
                       clock_ns=p.design.clock_ns, reuse=1, strategy="latency",
                       input_shape=list(input_shape) if input_shape else None, layers=layers).validate("plan")
