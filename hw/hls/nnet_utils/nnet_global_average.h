#ifndef NNET_GLOBAL_AVERAGE_H_
#define NNET_GLOBAL_AVERAGE_H_

#include "hls_stream.h"
#include "nnet_common.h"

namespace nnet {

// Global average pooling, channels last, io_stream, folded (FINN's PE idea on the channels).
//
// hls4ml's global_pooling2d_cl (nnet_pooling_stream.h) adds all n_filt channels of a pixel in one
// clock and divides all of them in the clock that writes the result: n_filt adders and n_filt
// dividers, though a global average sees few pixels.  Here a pixel's channels are added in
// `fold` steps of `lanes` = n_filt / fold channels, one step a clock, into accumulators kept in
// a memory of `fold` rows (one LUTRAM per lane), and the means are made `lanes` at a time in
// `fold` more clocks into the output word, which is written once.  Folded streams
// (hw/hls/ops/stream_fold.py): an input word may hold fewer channels than a pixel, whole steps'
// lanes (data_T::size = n_filt / F_in, F_in dividing fold), read at the first step it spans, and
// the means may leave in words of whole steps too (res_T::size), each written at its last step;
// with a word of one step's lanes no word is held and no lane selects among steps.  One
// pipelined loop of (in_height * in_width + 1) * fold iterations at II 1
// (hw/hls/ops/global_average.py iterations); adders, dividers and output casts exist for `lanes`
// channels only.
//
// The arithmetic is hls4ml's term for term, so no fold changes a bit: every channel's sum
// starts at 0 and adds the pixels in arrival order, each value first cast to accum_t and every
// partial sum assigned to accum_t (hls4ml: data_window[c] = data_window[c] + accum_t(x)); the
// mean is the same expression, acc / (in_height * in_width) with the config's unsigned
// constants, assigned to the result's element type.
struct global_average_config {
    static const unsigned in_height = 7;    // the feature map the average runs over
    static const unsigned in_width = 7;
    static const unsigned n_filt = 768;     // channels (a stream word holds n_filt or whole steps' lanes)
    static const unsigned fold = 8;         // F: clocks a pixel takes; divides n_filt
    static const unsigned lanes = 96;       // n_filt / fold: channels added (and divided) a clock
    // the sum's type: hw/hls/precision.py average_accum makes it exact (no partial sum of a
    // channel can overflow it) with an LSB fine enough that the truncated quotient rounds into
    // the result type as the exact mean would
    typedef ap_fixed<21, 11> accum_t;
};

#define NNET_GLOBAL_AVERAGE_PRAGMA(x) _Pragma(#x)
// Vitis HLS binds a memory with BIND_STORAGE, Vivado HLS with RESOURCE (nnet_dsp_pack.h says how
// the two are told apart): a simple dual-port LUTRAM, one read and one write a clock.
#ifdef __VITIS_HLS__
#define NNET_GLOBAL_AVERAGE_LUTRAM(VAR)                                                                             \
    NNET_GLOBAL_AVERAGE_PRAGMA(HLS BIND_STORAGE variable=VAR type=ram_s2p impl=lutram)
#else
#define NNET_GLOBAL_AVERAGE_LUTRAM(VAR) NNET_GLOBAL_AVERAGE_PRAGMA(HLS RESOURCE variable=VAR core=RAM_S2P_LUTRAM)
#endif

// Iteration (p, step) of the loop: p < pixels adds pixel p's channels step * lanes .. (step + 1)
// * lanes - 1 (the input word holding them is read from the stream into a register at its first
// step); p == pixels makes those channels' means and, at an output word's last step, writes it.
//
// The accumulator row `step` is read and written once every `fold` iterations: a true RAW
// dependence of distance fold, stated so that HLS does not assume distance 1 (which would force
// II = the read-add-write latency).  Stating the true distance can never make wrong hardware: if
// the read (1 clock), the add and the write take longer than `fold` clocks, HLS lengthens the II
// to meet it (a pixel then takes more than `fold` clocks; never a wrong sum).  The smallest fold
// routed here is 2: a LUTRAM read in one clock, then the add and the write in the next, meets it
// at II 1 (the schedule expected, not yet seen in a synthesis report).
template <class data_T, class res_T, typename CONFIG_T>
void global_average_stream(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    static_assert(CONFIG_T::lanes * CONFIG_T::fold == CONFIG_T::n_filt, "fold must divide n_filt into lanes");
    static_assert(CONFIG_T::n_filt % data_T::size == 0 && CONFIG_T::fold % (CONFIG_T::n_filt / data_T::size) == 0,
                  "an input word holds whole steps' lanes");
    static_assert(CONFIG_T::n_filt % res_T::size == 0 && CONFIG_T::fold % (CONFIG_T::n_filt / res_T::size) == 0,
                  "an output word holds whole steps' means");
    typedef typename CONFIG_T::accum_t accum_t;
    const unsigned pixels = CONFIG_T::in_height * CONFIG_T::in_width;
    const unsigned in_steps = data_T::size / CONFIG_T::lanes;    // steps one input word spans
    const unsigned out_steps = res_T::size / CONFIG_T::lanes;    // steps one output word spans

    typename data_T::value_type pixel[in_steps][CONFIG_T::lanes];   // the input word, held in a register
    #pragma HLS ARRAY_PARTITION variable=pixel complete dim=0
    accum_t acc[CONFIG_T::fold][CONFIG_T::lanes];
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=2
    NNET_GLOBAL_AVERAGE_LUTRAM(acc)
    res_T out;
    PRAGMA_DATA_PACK(out)

GAvgPixels:
    for (unsigned p = 0; p < pixels + 1; p++) {
    GAvgSteps:
        for (unsigned step = 0; step < CONFIG_T::fold; step++) {
            #pragma HLS PIPELINE II=1
            #pragma HLS DEPENDENCE variable=acc inter RAW distance=CONFIG_T::fold true
            if (p < pixels) {
                if (step % in_steps == 0) {
                    const data_T word = data.read();
                GAvgHold:
                    for (unsigned i = 0; i < data_T::size; i++) {
                        #pragma HLS UNROLL
                        pixel[i / CONFIG_T::lanes][i % CONFIG_T::lanes] = word[i];
                    }
                }
            GAvgAdd:
                for (unsigned lane = 0; lane < CONFIG_T::lanes; lane++) {
                    #pragma HLS UNROLL
                    const accum_t x = pixel[step % in_steps][lane];   // hls4ml's data_pack: the value cast to accum_t
                    const accum_t sum = (p == 0) ? accum_t(0) : acc[step][lane];
                    acc[step][lane] = sum + x;
                }
            } else {
            GAvgMean:
                for (unsigned lane = 0; lane < CONFIG_T::lanes; lane++) {
                    #pragma HLS UNROLL
                    out[(step % out_steps) * CONFIG_T::lanes + lane] =
                        acc[step][lane] / (CONFIG_T::in_height * CONFIG_T::in_width);
                }
                if ((step + 1) % out_steps == 0) {
                    res.write(out);
                }
            }
        }
    }
}

} // namespace nnet

#endif
