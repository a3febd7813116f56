// AXI4-Stream top of ${name} (io_${io}), written by attendnets from hw/vendor/templates/axi_top.cpp.
//
// ap_ctrl_none: the accelerator has no register interface; it starts on the first input word and
// produces one output frame per input frame, so the two AXI DMA transfers are the whole protocol
// and the driver needs no MMIO.  Frames are counted, not delimited by TLAST: the input frame is
// exactly IN_WORDS words and TLAST on the output is set from the count (never copied from the
// input, whose missing TLAST would otherwise hang the DMA's S2MM channel).  If an input frame
// runs past IN_WORDS, the rest up to its TLAST is dropped so the next frame starts aligned.
#include "${name}_axi.h"

using namespace ${name}_axi_io;

// The unpacking buffer holds the lanes of the words read but not yet used; one pixel is
// written per iteration and each iteration reads at most IN_READS words.
static const unsigned IN_READS = (IN_CHANNELS + IN_LANES - 1) / IN_LANES;
static const unsigned OUT_WRITES = (OUT_CHANNELS + 2 * OUT_LANES - 2) / OUT_LANES;
typedef ap_uint<(IN_CHANNELS + IN_LANES) * IN_LANE> in_buffer_t;
typedef ap_uint<(OUT_CHANNELS + OUT_LANES) * OUT_LANE> out_buffer_t;

static void unpack(hls::stream<word_t> &in_stream, ${in_arg}) {
    in_buffer_t buffer = 0;
    unsigned have = 0; // lanes in the buffer
    bool last = false;
UnpackPixels:
    for (unsigned p = 0; p < IN_PIXELS; p++) {
        #pragma HLS PIPELINE
        for (unsigned r = 0; r < IN_READS; r++) {
            #pragma HLS UNROLL
            if (have < IN_CHANNELS) {
                word_t word = in_stream.read();
                buffer |= in_buffer_t(word.data) << (have * IN_LANE);
                have += IN_LANES;
                last = word.last;
            }
        }
        ${in_pixel_declaration}
        for (unsigned c = 0; c < IN_CHANNELS; c++) {
            #pragma HLS UNROLL
            pixel[c].range(IN_BITS - 1, 0) = buffer.range(c * IN_LANE + IN_BITS - 1, c * IN_LANE);
        }
        ${in_emit}
        buffer >>= IN_CHANNELS * IN_LANE;
        have -= IN_CHANNELS;
    }
UnpackDrain:
    while (!last) {
#ifndef __SYNTHESIS__
        if (in_stream.empty())
            break; // C simulation: a frame without TLAST must not spin on an empty stream
#endif
        last = in_stream.read().last;
    }
}

static void pack(${out_arg}, hls::stream<word_t> &out_stream) {
    out_buffer_t buffer = 0;
    unsigned have = 0, sent = 0;
PackPixels:
    for (unsigned p = 0; p < OUT_PIXELS; p++) {
        #pragma HLS PIPELINE
        ${out_take}
        for (unsigned c = 0; c < OUT_CHANNELS; c++) {
            #pragma HLS UNROLL
            ${out_code_t} code;
            code.range(OUT_BITS - 1, 0) = pixel[c].range(OUT_BITS - 1, 0);
            ${out_lane_t} lane = code; // sign- or zero-extended to the lane
            buffer |= out_buffer_t(ap_uint<OUT_LANE>(lane)) << ((have + c) * OUT_LANE);
        }
        have += OUT_CHANNELS;
        for (unsigned w = 0; w < OUT_WRITES; w++) {
            #pragma HLS UNROLL
            if (have >= OUT_LANES || (p == OUT_PIXELS - 1 && have > 0)) {
                word_t word;
                word.data = buffer.range(WIDTH - 1, 0);
                word.keep = -1;
                word.strb = -1;
                word.last = sent == OUT_WORDS - 1;
                out_stream.write(word);
                sent++;
                buffer >>= WIDTH;
                have = have > OUT_LANES ? have - OUT_LANES : 0;
            }
        }
    }
}

void ${name}_axi(hls::stream<word_t> &in_stream, hls::stream<word_t> &out_stream) {
    #pragma HLS INTERFACE axis port=in_stream
    #pragma HLS INTERFACE axis port=out_stream
    #pragma HLS INTERFACE ap_ctrl_none port=return
    #pragma HLS DATAFLOW
    ${locals}
    unpack(in_stream, ${in_var});
    ${name}(${in_var}, ${out_var});
    pack(${out_var}, out_stream);
}
