// AXI4-Stream top of ${name} (io_${io}), written by attendnets from hw/hls/templates/axi_top.cpp.
//
// ap_ctrl_none: the accelerator has no register interface; it starts on the first input word and
// produces one output frame per input frame, so the two AXI DMA transfers are the whole protocol
// and the driver needs no MMIO.  Frames are counted, not delimited by TLAST: the input frame is
// exactly IN_WORDS words and TLAST on the output is set from the count (never copied from the
// input, whose missing TLAST would otherwise hang the DMA's S2MM channel).  If an input frame
// runs past IN_WORDS, the rest up to its TLAST is dropped so the next frame starts aligned.
#include "${name}_axi.h"

using namespace ${name}_axi_io;

// Both sides work one stream word per iteration: a word's lanes are moved into (or out of) the
// pixel being assembled, so no register is wider than one word and one pixel whatever the number
// of channels or classes.  A pixel that straddles two words is carried over to the next iteration.

// The rest of a frame up to its TLAST is dropped, so that the next frame starts aligned; the words dropped.
static unsigned drain(hls::stream<word_t> &in_stream, bool last) {
    unsigned words = 0;
Drain:
    while (!last) {
#ifndef __SYNTHESIS__
        if (in_stream.empty())
            break; // C simulation: a frame without TLAST must not spin on an empty stream
#endif
        last = in_stream.read().last;
        words++;
    }
    return words;
}

static void unpack(hls::stream<word_t> &in_stream, ${in_arg}) {
    ${in_pixel_declaration}
    unsigned c = 0, p = 0; // next channel of the pixel being assembled; pixels emitted
    bool last = false;
UnpackWords:
    for (unsigned w = 0; w < IN_WORDS; w++) {
        #pragma HLS PIPELINE
        word_t word = in_stream.read();
        last = word.last;
        for (unsigned j = 0; j < IN_LANES; j++) {
            #pragma HLS UNROLL
            if (w * IN_LANES + j < IN_ELEMENTS) { // the lanes after the last element are padding
                pixel[c].range(IN_BITS - 1, 0) = word.data.range(j * IN_LANE + IN_BITS - 1, j * IN_LANE);
                if (c == IN_CHANNELS - 1) {
                    ${in_emit}
                    c = 0;
                    p++;
                } else {
                    c++;
                }
            }
        }
    }
    drain(in_stream, last);
}

static void pack(${out_arg}, hls::stream<word_t> &out_stream) {
    ${out_pixel_declaration}
    unsigned c = 0, p = 0; // next channel of the current pixel; pixels taken
PackWords:
    for (unsigned w = 0; w < OUT_WORDS; w++) {
        #pragma HLS PIPELINE
        word_t word;
        word.data = 0; // the lanes after the last element stay zero
        for (unsigned j = 0; j < OUT_LANES; j++) {
            #pragma HLS UNROLL
            if (w * OUT_LANES + j < OUT_ELEMENTS) {
                if (c == 0) {
                    ${out_take}
                }
                ${out_code_t} code;
                code.range(OUT_BITS - 1, 0) = pixel[c].range(OUT_BITS - 1, 0);
                ${out_lane_t} lane = code; // sign- or zero-extended to the lane
                word.data.range(j * OUT_LANE + OUT_LANE - 1, j * OUT_LANE) = ap_uint<OUT_LANE>(lane);
                if (c == OUT_CHANNELS - 1) {
                    c = 0;
                    p++;
                } else {
                    c++;
                }
            }
        }
        word.keep = -1;
        word.strb = -1;
        word.last = w == OUT_WORDS - 1;
        out_stream.write(word);
    }
}

${frames_head} {
    ${frames_pragmas}
    #pragma HLS DATAFLOW
    ${locals}
    unpack(in_stream, ${in_var});
    ${name}(${in_var}, ${out_var}${weight_args});
    pack(${out_var}, out_stream);
}
${loader}