"""Which quantized activations are fused into the layer that produces their input.

A convolution, grouped or depthwise convolution or dense layer ends by casting its exact
accumulator to its result type.  When its only consumer is a QActivation, that activation
computes ``round_half_even(clip(f(x)))`` with f = ReLU (``quantized_relu``, an unsigned format)
or the identity (``quantized_bits``): exactly what a cast of the accumulator into the
activation's own ``ap_[u]fixed<W, I, AP_RND_CONV, AP_SAT>`` does (an unsigned saturating
type clips every negative value to 0, which is the ReLU).  So the producer can write the
activation's format directly: the stream between them carries W bits instead of the
accumulator's 20-25, and the activation's process disappears.  The arithmetic is the one
hls4ml's activation performs today (the same cast from the same accumulator), so the fusion is
exact by construction; csim and the sweep check it.

A global average is fusable for the same reason: hls4ml divides its sum by the pixel count,
truncating at the accumulator's LSB, and hw.hls.precision gives its result type exactly that
LSB and the inputs' range, so the result holds the truncated quotient unchanged and the
activation's cast then rounds it.  Fused, the truncated quotient is cast into the activation's
format directly: the same value through the same cast (its 768-channel, 15-bit stream and a
768-lane activation disappear in AttendNet-A).

A residual addition is fusable too: hw.hls.precision gives its result type the exact sum, and
hls4ml's add assigns ``data1[i] + data2[i]`` (an exact ap_fixed sum) to its result's element type;
with the activation's format as that type, the same exact sum meets the activation's cast
(MobileNet-V2's ten block additions each lose a 9-bit stream and an activation process).

Not fused, and why (``unfused_reasons``): an activation whose producer has other consumers
(the pre-activation value is needed elsewhere), a producer that is a model output, and every
activation after a layer whose op is not ``fusable`` (max pooling: its result feeds the
activation in its own type, derived separately in hw.hls.precision).

``fused_pairs(model)`` is the one rule; generation passes its result to the hls4ml pass
(hw/hls/layers/fuse_quantizer.py), which fuses exactly those pairs and fails if the hls4ml
graph disagrees, and the estimator applies the same pairs to its layer list.
"""
from __future__ import annotations

from hw.hls import ops

FUSABLE_PRODUCERS = ops.keras_classes(fusable=True)   # the matrix ops and the global average (hw.hls.ops)
FUSABLE_QUANTIZERS = ("quantized_relu", "quantized_bits")


def _graph(model) -> tuple:
    from qmodels.reference import input_layer_names

    consumers = {layer.name: [] for layer in model.layers}
    for layer in model.layers:
        for src in input_layer_names(layer):
            consumers[src].append(layer)
    outputs = {t._keras_history.layer.name for t in model.outputs}
    return consumers, outputs


def _quantizer_name(layer) -> str:
    quantizer = getattr(layer, "quantizer", None)
    if isinstance(quantizer, dict):
        return quantizer.get("class_name", "")
    return type(quantizer).__name__


def candidates(model) -> dict:
    """{activation: (producer, reason or None)} for every QActivation after a fusable layer;
    reason None means it can be fused."""
    consumers, outputs = _graph(model)
    found = {}
    for layer in model.layers:
        if type(layer).__name__ not in FUSABLE_PRODUCERS:
            continue
        readers = consumers[layer.name]
        acts = [r for r in readers if type(r).__name__ == "QActivation"]
        for act in acts:
            reason = None
            if len(readers) > 1:
                reason = f"{layer.name}'s output also feeds {', '.join(r.name for r in readers if r is not act)}"
            elif layer.name in outputs:
                reason = f"{layer.name} is a model output"
            elif _quantizer_name(act) not in FUSABLE_QUANTIZERS:
                reason = f"quantizer {_quantizer_name(act)} is not one the cast reproduces"
            found[act.name] = (layer.name, reason)
    return found


def fused_pairs(model, enabled: bool = True) -> dict:
    """{activation name: producer name} of the activations to fuse (none when not ``enabled``)."""
    if not enabled:
        return {}
    return {act: producer for act, (producer, reason) in candidates(model).items() if reason is None}


def unfused_reasons(model) -> dict:
    """{activation name: why it stays a layer of its own} for the candidates that are not fused."""
    return {act: reason for act, (_, reason) in candidates(model).items() if reason is not None}
