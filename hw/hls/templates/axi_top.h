// AXI4-Stream top of ${name}, written by attendnets from hw/hls/templates/axi_top.h.
// Port contract (hw/vivado/README.md, the project's accelerator.yaml): ${width}-bit TDATA words; input
// element k (row-major H, W, C) in word k / IN_LANES at bit (k % IN_LANES) * IN_LANE; outputs the same.
// The last word of each frame is zero-padded and is the only one with TLAST.
#ifndef ${NAME}_AXI_H_
#define ${NAME}_AXI_H_

#include "ap_axi_sdata.h"
#include "ap_int.h"
#include "hls_stream.h"

#include "${name}.h"

namespace ${name}_axi_io {
const unsigned WIDTH = ${width};
const unsigned IN_LANE = ${in_lane}, IN_BITS = ${in_bits}, IN_CHANNELS = ${in_channels};
const unsigned IN_ELEMENTS = ${in_elements}, IN_WORDS = ${in_words};
const unsigned OUT_LANE = ${out_lane}, OUT_BITS = ${out_bits}, OUT_CHANNELS = ${out_channels};
const unsigned OUT_ELEMENTS = ${out_elements}, OUT_WORDS = ${out_words};
const unsigned IN_LANES = WIDTH / IN_LANE, IN_PIXELS = IN_ELEMENTS / IN_CHANNELS;
const unsigned OUT_LANES = WIDTH / OUT_LANE, OUT_PIXELS = OUT_ELEMENTS / OUT_CHANNELS;
const unsigned WEIGHT_WORDS = ${weight_words}; // the weight frame's words, 0: no run-time weights (axi_load.cpp)
typedef ap_axiu<WIDTH, 0, 0, 0> word_t; // TDATA, TKEEP, TSTRB, TLAST: what AXI DMA's streams carry
} // namespace ${name}_axi_io

void ${name}_axi(hls::stream<${name}_axi_io::word_t> &in_stream, hls::stream<${name}_axi_io::word_t> &out_stream);

#endif
