"""The planner's promises: within budget, valid reuse factors only, monotone in the budget, deterministic;
and clear errors for requests no plan can meet."""
import pytest

from hw.config import BuildConfig
from hw.estimate.network import RESOURCES, board_capacity
from hw.estimate.plan import PlanError, plan, recipe
from hw.estimate.geometry import kernel_geometry
from hw.estimate.reuse import HLS4ML_MATRIX, dsp_reuse_factors, in_our_kernel, valid_reuse_factors
from hw.hls.layers.group_conv import check_fold
from hw.estimate.source import from_config
from hw.hls.ops import op

BUDGETS = (0.35, 0.5, 0.65, 0.8, 1.0)


@pytest.fixture
def tiny(cached_models):
    return cached_models("attendnet-tiny", calibrate=False)


def design(model, board):
    return from_config(BuildConfig(model="attendnet-tiny", board=board), model)


@pytest.mark.parametrize("board", ["pynq-z2", "zcu104"])
def test_never_over_budget_and_more_budget_never_slower(tiny, board):
    d = design(tiny, board)
    capacity = board_capacity(d.board)
    fps = []
    for budget in BUDGETS:
        est = plan(d, budget).estimate
        for k in RESOURCES:
            assert est.totals[k] <= budget * capacity[k] + 0.5, (budget, k, est.totals)
        fps.append(est.fps)
    assert fps == sorted(fps), fps
    if board == "pynq-z2":
        assert fps[-1] > fps[0]      # the budget matters on the small board


def test_only_valid_reuse_factors_and_strategies(tiny):
    p = plan(design(tiny, "pynq-z2"), 0.8)
    changed = 0
    for g in p.design.geoms:
        s = p.settings[g.name]
        if g.kind in HLS4ML_MATRIX + ("group_conv", "attention"):
            ours = in_our_kernel(g, s.multiplier, s.fold, s.storage) or g.kind == "group_conv"
            valid = dsp_reuse_factors(g, s.multiplier) if ours else valid_reuse_factors(g, s.strategy)
            assert s.reuse in valid, (g.name, s)
            if ours:     # the fold generation accepts (the same rule the C++ config is checked with)
                assert check_fold(g.name, kernel_geometry(g), s.reuse, s.multiplier, s.fold, s.storage) == s.fold
            changed += s.reuse > 1
        else:
            assert (s.reuse, s.strategy) == (1, "latency"), g.name
    assert changed, "pynq-z2 cannot take attendnet-tiny at reuse 1: some layer must be shared"


def test_deterministic_and_balanced(tiny):
    from hw.estimate.layers import estimate_layer
    from hw.estimate.network import coefficients
    from hw.estimate.plan import TUNABLE

    d = design(tiny, "pynq-z2")
    a, b = plan(d, 0.8), plan(d, 0.8)
    assert a.settings == b.settings and a.estimate.as_dict() == b.estimate.as_dict()
    # balanced: no layer is faster than the interval needs if a slower valid option within the interval
    # would cost no more of any resource and less of one (such an option would always have been taken)
    interval = a.estimate.interval_cycles
    for g in d.geoms:
        if g.kind not in TUNABLE:
            continue
        chosen = estimate_layer(g, a.settings[g.name], d.board.family, coefficients())
        for rf in valid_reuse_factors(g, a.settings[g.name].strategy):
            slower = estimate_layer(g, type(a.settings[g.name])(rf, a.settings[g.name].strategy), d.board.family,
                                    coefficients())
            if chosen.cycles < slower.cycles < interval:
                pairs = [(getattr(slower.cost, k), getattr(chosen.cost, k)) for k in RESOURCES]
                dominates = all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)
                assert not dominates, (g.name, a.settings[g.name], rf)


def test_target_fps_takes_fewest_resources(tiny):
    d = design(tiny, "zcu104")
    fast = plan(d, 0.8)
    slow = plan(d, 0.8, target_fps=fast.estimate.fps / 4)
    assert slow.estimate.fps >= fast.estimate.fps / 4
    assert slow.estimate.totals["lut"] < fast.estimate.totals["lut"]


def test_impossible_target_fps_names_the_layer(tiny):
    with pytest.raises(PlanError, match=r"--target-fps 1e\+07 is impossible at 200 MHz.*layer \w+ needs at least"):
        plan(design(tiny, "zcu104"), 0.8, target_fps=1e7)


def test_bad_budget(tiny):
    with pytest.raises(PlanError, match="--budget must be in"):
        plan(design(tiny, "zcu104"), 1.5)


def test_recipe_round_trips_through_yaml(tiny, tmp_path):
    p = plan(design(tiny, "pynq-z2"), 0.8)
    cfg = recipe(p, "attendnet-tiny")
    path = tmp_path / "plan.yaml"
    path.write_text(cfg.to_yaml())
    again = BuildConfig.load(path)
    assert again.to_dict() == cfg.to_dict()
    assert {name: s.reuse for name, s in again.layers.items() if s.reuse is not None} == {
        g.name: p.settings[g.name].reuse for g in p.design.geoms if g.name in again.layers and op(g.kind).tunable}
    assert {name: s.fold or 1 for name, s in again.layers.items()} == {   # a global average: a fold, no reuse
        g.name: p.settings[g.name].fold for g in p.design.geoms if g.name in again.layers}
    assert any(op(g.kind).folded for g in p.design.geoms if g.name in again.layers)


def test_attendnet_b_does_not_fit_pynq_z2_and_says_which_resource():
    with pytest.raises(PlanError, match=r"attendnet_b does not fit pynq-z2 .*lut needs at least \d+ of 42560"):
        plan(from_config(BuildConfig(model="attendnet-b", board="pynq-z2")), 0.8)


def test_our_layers_reuse_factors_are_their_modules(tiny):
    from hw.hls.layers import group_conv, selective_attention

    d = design(tiny, "zcu104")
    kinds = {"group_conv": group_conv, "attention": selective_attention}
    seen = set()
    for g in d.geoms:
        if g.kind in kinds:
            module = kinds[g.kind]
            assert valid_reuse_factors(g, "latency") == module.valid_reuse_factors(
                module.keras_geometry(tiny.get_layer(g.name)))
            assert valid_reuse_factors(g, "resource") == ()
            seen.add(g.kind)
    assert seen == set(kinds)


def test_weights_split_between_two_memories_when_no_single_weighting_fits():
    """Two layers whose weights fit BRAM or URAM but not both in one: every fixed weighting sends both
    to the same memory; the fallback (reweighting, then repair a layer at a time) splits them."""
    import numpy as np

    from hw.estimate.plan import _balanced, _choose, _weightings, _within

    capacity = np.array([0, 1000, 1000, 100, 100], float)      # dsp, lut, ff, bram18, uram
    limits = np.full(5, 0.8)
    in_bram, in_uram = [0, 10, 10, 60, 0], [0, 10, 10, 0, 60]
    options = {name: (np.array([100, 100]), np.array([in_bram, in_uram], float), [f"{name}-bram", f"{name}-uram"])
               for name in ("a", "b")}
    fixed, intervals = np.zeros(5), np.array([100])
    for w in _weightings():
        totals, _ = _choose(options, capacity, w, intervals)
        assert not _within(totals, capacity, limits).any()
    (interval, _), chosen = _balanced(options, fixed, capacity, limits, intervals)
    assert interval == 100 and sorted(chosen.values()) in (["a-bram", "b-uram"], ["a-uram", "b-bram"]), chosen
    options["c"] = options["a"]                                   # a third cannot fit anywhere
    assert _balanced(options, fixed, capacity, limits, intervals) is None


def test_a_plan_priced_on_folded_streams_that_do_not_fit_is_planned_again_without_them(tiny, monkeypatch):
    """The options are priced as if each stream folded most; when the plan's own estimate (the
    streams folded as both ends really allow) is over budget, plan() plans as if none were folded."""
    import numpy as np

    from hw.estimate import plan as P
    from hw.estimate.stream_pricing import UNFOLDED

    d = design(tiny, "zcu104")
    monkeypatch.setattr(P, "stream_pricing", lambda _, around=None: {})
    unfolded = plan(d, 0.5)
    lut = RESOURCES.index("lut")
    credit = np.zeros(len(RESOURCES))
    credit[lut] = 1e9            # a saving no FIFO can give: the optimistic plans cannot fit
    monkeypatch.setattr(P, "stream_pricing", lambda des, around=None: {
        g.name: (UNFOLDED[0], lambda s: credit) for g in des.geoms if g.kind in P.TUNABLE})
    guarded = plan(d, 0.5)
    assert guarded.settings == unfolded.settings
    assert guarded.estimate.totals["lut"] <= 0.5 * board_capacity(d.board)["lut"]


def test_a_misleading_first_pricing_is_priced_again_around_its_plan(tiny, monkeypatch):
    """The first search prices each stream as if its neighbour folded most; when that plan does not
    fit, the next is priced around it (each end at its neighbour's fold there), and a plan that fits
    is kept without falling back to unfolded streams."""
    import numpy as np

    from hw.estimate import plan as P
    from hw.estimate.stream_pricing import UNFOLDED, stream_pricing

    d = design(tiny, "zcu104")
    credit = np.zeros(len(RESOURCES))
    credit[RESOURCES.index("lut")] = 1e9
    calls = []

    def pricing(des, around=None):
        calls.append(around)
        if around is None:
            return {g.name: (UNFOLDED[0], lambda s: credit) for g in des.geoms if g.kind in P.TUNABLE}
        return stream_pricing(des, around)

    monkeypatch.setattr(P, "stream_pricing", pricing)
    p = plan(d, 0.5)
    assert calls[0] is None and calls[1] is not None and len(calls) <= P.PRICING_ROUNDS
    assert p.estimate.totals["lut"] <= 0.5 * board_capacity(d.board)["lut"]
    honest = P._search(d, P._options(d, stream_pricing(d, calls[1])), P._limits(0.5))
    assert p.settings == honest
