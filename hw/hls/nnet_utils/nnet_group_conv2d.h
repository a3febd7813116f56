#ifndef NNET_GROUP_CONV2D_H_
#define NNET_GROUP_CONV2D_H_

#include "hls_stream.h"
#include "nnet_common.h"
#include "nnet_dsp_pack.h"

namespace nnet {

// Grouped 2D convolution, channels last, with 'same' zero padding done here (no separate
// padding layer).  Output channel o belongs to group g = o / (n_filt / n_groups) and sees input
// channels [g * n_chan / n_groups, (g + 1) * n_chan / n_groups).  A depthwise convolution with
// a channel multiplier m is the case n_groups = n_chan, n_filt = m * n_chan.
// Weights keep Keras' layout [filt_height][filt_width][n_chan / n_groups][n_filt] when they are
// constants (weights_in_rows false), or come as one row per clock when they live in a memory.
struct group_conv2d_config {
    static const unsigned in_height = 8;
    static const unsigned in_width = 8;
    static const unsigned n_chan = 4;       // input channels
    static const unsigned n_filt = 4;       // output channels
    static const unsigned n_groups = 2;     // divides both n_chan and n_filt
    static const unsigned filt_height = 3;
    static const unsigned filt_width = 3;
    static const unsigned stride_height = 1;
    static const unsigned stride_width = 1;
    static const unsigned pad_top = 1;      // TensorFlow 'same': the odd pixel goes after
    static const unsigned pad_bottom = 1;
    static const unsigned pad_left = 1;
    static const unsigned pad_right = 1;
    static const unsigned out_height = 8;
    static const unsigned out_width = 8;
    // Reuse factor R (hls4ml's latency strategy, nnet_dense_latency.h): one output pixel every R
    // clocks (its pipeline II), with its n_filt * filt_height * filt_width * n_chan / n_groups
    // multiplications shared by multiplier_limit = ceil(that / R) multipliers (HLS ALLOCATION).
    // Any R >= 1 is accepted; hw/hls/layers/group_conv.py valid_reuse_factors lists the useful ones.
    static const unsigned reuse_factor = 1;
    static const unsigned multiplier_limit = 72;   // ceil(4 * 3 * 3 * 2 / 1)
    // Fold F (FINN's PE on the output channels): a pixel's n_filt outputs are made in F steps of
    // n_filt / F channels, so adders, output casts and multipliers exist for n_filt / F channels
    // only.  F divides n_filt and R, and a packed pair never straddles two steps (group_conv.py
    // valid_folds); F = 1 is the unfolded kernel.  Each step takes R / F clocks, either as one
    // pipeline iteration at II = R / F whose products ALLOCATION shares (weights constants,
    // in_steps = 1), or as in_steps = R / F iterations at II = 1, each reading one row of
    // filt_per_fold x taps_per_step weights from a memory (FINN's SIMD on the window's taps,
    // which in_steps divides: weights_in_rows, the layout group_conv.py rows_layout writes).
    static const unsigned fold = 1;
    static const unsigned in_steps = 1;
    static const unsigned fold_interval = 1;       // the pipeline's II: R / F, or 1 with weights in rows
    static const bool weights_in_rows = false;
    static const unsigned row_words = 72;          // weights a memory row holds: n_filt / F x taps / in_steps
    // How the products are made (nnet_dsp_pack.h): mult_impl::lut (fabric), dsp (one product per
    // DSP) or packed (two output channels of a group, which see the same input value, in one DSP
    // multiplication; with an odd filt_per_group the last channel of each group takes a DSP of
    // its own).  multiplier_limit counts multiplications, i.e. DSPs when packed: per pixel
    // n_groups * (filt_per_group / 2 + filt_per_group % 2) * filt_height * filt_width * chan_per_group
    // (group_conv.py mul_ops), so ALLOCATION's limit on `mul` is the DSP count.
    static const unsigned multiplier = mult_impl::lut;
    typedef dsp48e2 dsp_family;             // the part's DSP (packed only): dsp48e2, or dsp48e1 on Zynq-7000
    // exact: holds every product and every partial sum bias + products (hw/hls/precision.py conv_accum),
    // so the order in which the shared multipliers accumulate cannot change a bit
    typedef ap_fixed<24, 8> accum_t;
    typedef ap_fixed<8, 1> weight_t;        // the kernel's format (from its QKeras quantizer)
    typedef ap_fixed<8, 3> bias_t;          // the bias's format
};

template <typename CONFIG_T> struct group_conv2d_dims {
    static const unsigned chan_per_group = CONFIG_T::n_chan / CONFIG_T::n_groups;
    static const unsigned filt_per_group = CONFIG_T::n_filt / CONFIG_T::n_groups;
    static const unsigned filt_per_fold = CONFIG_T::n_filt / CONFIG_T::fold;
    static const unsigned taps = CONFIG_T::filt_height * CONFIG_T::filt_width * chan_per_group;
    static const unsigned taps_per_step = taps / CONFIG_T::in_steps;
    static const unsigned padded_height = CONFIG_T::in_height + CONFIG_T::pad_top + CONFIG_T::pad_bottom;
    static const unsigned padded_width = CONFIG_T::in_width + CONFIG_T::pad_left + CONFIG_T::pad_right;
};

// Where the weight of tap t (= (i * filt_width + j) * chan_per_group + c) and output channel o is:
// Keras' layout, or row (step * in_steps + in_step) of the memory, lane f * taps_per_step + s.
template <typename CONFIG_T>
unsigned group_conv2d_weight_index(unsigned t, unsigned o, unsigned row, unsigned f, unsigned s) {
    typedef group_conv2d_dims<CONFIG_T> dims;
    return CONFIG_T::weights_in_rows ? (row * dims::filt_per_fold + f) * dims::taps_per_step + s : t * CONFIG_T::n_filt + o;
}

// The product of one data value and one weight, at the config's implementation (the unpaired
// channel of a packed group takes a DSP of its own).
template <unsigned M> struct group_conv2d_single;
template <> struct group_conv2d_single<mult_impl::lut> {
    template <class A, class W> static typename exact_product<A, W>::type mul(A a, W w) { return mult_lut(a, w); }
};
template <> struct group_conv2d_single<mult_impl::dsp> {
    template <class A, class W> static typename exact_product<A, W>::type mul(A a, W w) { return mult_dsp(a, w); }
};
template <> struct group_conv2d_single<mult_impl::packed> {
    template <class A, class W> static typename exact_product<A, W>::type mul(A a, W w) { return mult_dsp(a, w); }
};

// Two channels' products from one value: one packed DSP multiplication, instantiated only when the
// config asks for packing (so that its exactness static_assert binds only those layers).
template <bool PACKED> struct group_conv2d_pair {
    template <class F, class A, class W, class ACC> static void mac(A, W, W, ACC &, ACC &) {}
};
template <> struct group_conv2d_pair<true> {
    template <class F, class A, class W, class ACC> static void mac(A a, W w1, W w2, ACC &acc1, ACC &acc2) {
        #pragma HLS INLINE
        typename exact_product<A, W>::type p1, p2;
        mult_packed2<F>(a, w1, w2, p1, p2);
        acc1 += p1;
        acc2 += p2;
    }
};

// One iteration of a pixel: fold step ``step`` (output channels step * filt_per_fold ..
// (step + 1) * filt_per_fold - 1), taps in_step * taps_per_step .. (in_step + 1) * taps_per_step - 1
// of the filt_height x filt_width window, added into the step's accumulators; the step's outputs
// are written at its last in_step, channel o at out[o % WORD] (WORD: the channels one output word holds,
// n_filt, or a folded stream's n_filt / F_word: whole fold steps, never a packed pair split).  Both io
// types share it, so they cannot compute differently.
// It is inlined (HLS INLINE) into the caller's pipelined loop, where its loops sit exactly as if
// written there: that PIPELINE unrolls them and that ALLOCATION limits their multipliers.
// Packed: channel k of a group (k even, k + 1 in the group) is computed with k + 1; the sums
// are exact (accum_t), so every implementation and every order gives the same bits.
template <class elem_T, class res_T, typename CONFIG_T, unsigned WORD>
void group_conv2d_step(elem_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan],
                       typename CONFIG_T::accum_t acc[group_conv2d_dims<CONFIG_T>::filt_per_fold], res_T &out,
                       typename CONFIG_T::weight_t *weights, typename CONFIG_T::bias_t *biases, unsigned step,
                       unsigned in_step) {
    #pragma HLS INLINE
    typedef group_conv2d_dims<CONFIG_T> dims;
    typedef group_conv2d_single<CONFIG_T::multiplier> single;
    const bool packed = CONFIG_T::multiplier == mult_impl::packed;
    typedef group_conv2d_pair<CONFIG_T::multiplier == mult_impl::packed> pair;
    const unsigned row = step * CONFIG_T::in_steps + in_step;
GConvFilt:
    for (unsigned f = 0; f < dims::filt_per_fold; f++) {
        const unsigned o = step * dims::filt_per_fold + f;
        const unsigned k = o % dims::filt_per_group;
        if (packed && k % 2 == 1)
            continue;  // computed with channel o - 1
        const bool paired = packed && k + 1 < dims::filt_per_group;
        const unsigned first_chan = (o / dims::filt_per_group) * dims::chan_per_group;
        if (in_step == 0) {
            acc[f] = biases[o];
            if (paired)
                acc[f + 1] = biases[o + 1];
        }
    GConvTaps:
        for (unsigned s = 0; s < dims::taps_per_step; s++) {
            const unsigned t = in_step * dims::taps_per_step + s;
            const unsigned i = t / (CONFIG_T::filt_width * dims::chan_per_group);
            const unsigned j = (t / dims::chan_per_group) % CONFIG_T::filt_width;
            const elem_T a = window[i][j][first_chan + t % dims::chan_per_group];
            const typename CONFIG_T::weight_t w = weights[group_conv2d_weight_index<CONFIG_T>(t, o, row, f, s)];
            if (paired) {
                pair::template mac<typename CONFIG_T::dsp_family>(
                    a, w, weights[group_conv2d_weight_index<CONFIG_T>(t, o + 1, row, f + 1, s)], acc[f], acc[f + 1]);
            } else {
                acc[f] += single::mul(a, w);
            }
        }
        if (in_step + 1 == CONFIG_T::in_steps) {
            out[o % WORD] = acc[f];
            if (paired)
                out[(o + 1) % WORD] = acc[f + 1];
        }
    }
}

// io_parallel: output pixel (oh, ow)'s window from the array, zeros outside the image.
template <class data_T, typename CONFIG_T>
void group_conv2d_gather(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                         data_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan], unsigned oh,
                         unsigned ow) {
    #pragma HLS INLINE
GConvGather:
    for (unsigned i = 0; i < CONFIG_T::filt_height; i++) {
        for (unsigned j = 0; j < CONFIG_T::filt_width; j++) {
            const int ih = int(oh * CONFIG_T::stride_height + i) - int(CONFIG_T::pad_top);
            const int iw = int(ow * CONFIG_T::stride_width + j) - int(CONFIG_T::pad_left);
            const bool inside = ih >= 0 && iw >= 0 && ih < int(CONFIG_T::in_height) && iw < int(CONFIG_T::in_width);
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++)
                window[i][j][k] = inside ? data[(ih * CONFIG_T::in_width + iw) * CONFIG_T::n_chan + k] : data_T(0);
        }
    }
}

// io_parallel: each output pixel gathers its window from the array (zeros outside the image) at
// its first iteration; every iteration adds its taps for its fold step's channels.
template <class data_T, class res_T, typename CONFIG_T>
void group_conv_2d_body(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                        res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
                        typename CONFIG_T::weight_t *weights, typename CONFIG_T::bias_t *biases) {
    #pragma HLS INLINE
    data_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=window complete dim=0
    typename CONFIG_T::accum_t acc[group_conv2d_dims<CONFIG_T>::filt_per_fold];
    #pragma HLS ARRAY_PARTITION variable=acc complete
GConvOutRows:
    for (unsigned oh = 0; oh < CONFIG_T::out_height; oh++) {
    GConvOutCols:
        for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
        GConvSteps:
            for (unsigned step = 0; step < CONFIG_T::fold; step++) {
            GConvInSteps:
                for (unsigned in_step = 0; in_step < CONFIG_T::in_steps; in_step++) {
                    #pragma HLS PIPELINE II=CONFIG_T::fold_interval
                    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
                    if (step == 0 && in_step == 0)
                        group_conv2d_gather<data_T, CONFIG_T>(data, window, oh, ow);
                    res_T *out = &res[(oh * CONFIG_T::out_width + ow) * CONFIG_T::n_filt];
                    group_conv2d_step<data_T, res_T *, CONFIG_T, CONFIG_T::n_filt>(window, acc, out, weights, biases,
                                                                                   step, in_step);
                }
            }
        }
    }
}

// Whether padded position (pr, pc) is a pixel of the image, not padding.
template <typename CONFIG_T> bool group_conv2d_inside(unsigned pr, unsigned pc) {
    #pragma HLS INLINE
    return pr >= CONFIG_T::pad_top && pr < CONFIG_T::pad_top + CONFIG_T::in_height && pc >= CONFIG_T::pad_left &&
           pc < CONFIG_T::pad_left + CONFIG_T::in_width;
}

// The pixel at padded position (pr, pc): zeros when it is padding; else read from the stream now
// (whole-pixel words) or the one staged while the position before it was computed (a folded input
// stream, whose words group_conv2d_stage collects).
template <class data_T, typename CONFIG_T>
void group_conv2d_fresh(hls::stream<data_T> &data, const typename data_T::value_type staged[CONFIG_T::n_chan],
                        typename data_T::value_type fresh[CONFIG_T::n_chan], unsigned pr, unsigned pc) {
    #pragma HLS INLINE
    typedef typename data_T::value_type elem_T;
    const bool inside = group_conv2d_inside<CONFIG_T>(pr, pc);
    data_T pixel;
    if (data_T::size == CONFIG_T::n_chan && inside)
        pixel = data.read();
GConvFresh:
    for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
        #pragma HLS UNROLL
        const elem_T value = data_T::size == CONFIG_T::n_chan ? elem_T(pixel[k % data_T::size]) : staged[k];
        fresh[k] = inside ? value : elem_T(0);
    }
}

// A folded input stream (a pixel in n_chan / data_T::size words, hw/hls/ops/stream_fold.py): word
// ``word`` of the pixel at padded position ``next`` (a linear index; the walk's one after the position
// being computed), read at that position's iteration ``word`` so that the pixel is whole when its own
// first iteration shifts it in.  The words arrive one an iteration, as their producer writes them.
template <class data_T, typename CONFIG_T>
void group_conv2d_stage(hls::stream<data_T> &data, typename data_T::value_type staged[CONFIG_T::n_chan],
                        unsigned next, unsigned word) {
    #pragma HLS INLINE
    const unsigned padded_width = group_conv2d_dims<CONFIG_T>::padded_width;
    const unsigned in_words = CONFIG_T::n_chan / data_T::size;
    if (word < in_words && next < group_conv2d_dims<CONFIG_T>::padded_height * padded_width &&
        group_conv2d_inside<CONFIG_T>(next / padded_width, next % padded_width)) {
        const data_T in = data.read();
    GConvStage:
        for (unsigned j = 0; j < data_T::size; j++) {
            #pragma HLS UNROLL
            staged[word * data_T::size + j] = in[j];
        }
    }
}

// One clock of the padded walk: shift the window left one column and feed its right column from
// the line buffers and, in the bottom row, the fresh pixel, which the line buffer keeps.
template <class elem_T, typename CONFIG_T>
void group_conv2d_shift(const elem_T fresh[CONFIG_T::n_chan],
                        elem_T lines[CONFIG_T::filt_height][group_conv2d_dims<CONFIG_T>::padded_width][CONFIG_T::n_chan],
                        elem_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan], unsigned pr,
                        unsigned pc) {
    #pragma HLS INLINE
GConvShift:
    for (unsigned i = 0; i < CONFIG_T::filt_height; i++) {
        #pragma HLS UNROLL
        // window row i is padded row pr + 1 - filt_height + i, kept in line buffer (pr + 1 + i) % filt_height
        const unsigned line = (pr + 1 + i) % CONFIG_T::filt_height;
        for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
            #pragma HLS UNROLL
            for (unsigned j = 0; j + 1 < CONFIG_T::filt_width; j++)
                window[i][j][k] = window[i][j + 1][k];
            window[i][CONFIG_T::filt_width - 1][k] = (i + 1 == CONFIG_T::filt_height) ? fresh[k] : lines[line][pc][k];
            if (i + 1 == CONFIG_T::filt_height)
                lines[pr % CONFIG_T::filt_height][pc][k] = fresh[k];
        }
    }
}

// io_stream: pixels arrive row by row; padding pixels are made here, so the loop walks the
// padded image and reads the stream only inside it.  Line buffers keep the filt_height - 1 rows
// above (one read per row per clock, each row its own memory); a register window of
// filt_height x filt_width pixels shifts left one column per padded pixel, so the multiplications
// read registers only.  Each padded pixel takes fold x in_steps iterations: the first takes the
// pixel and shifts, every one adds its taps for its step's channels, and once the window is
// complete an output word is written when its last step ends (the pixel's last, unless the
// output stream is folded).  A whole-pixel input is read at the pixel's first iteration; a folded
// one (in_words words a pixel, no more than the iterations) is read a word an iteration while the
// position before is computed, so a pixel is read one position ahead (staged: n_chan registers).
// The step loops are the innermost of a perfect nest, which HLS flattens into one pipeline.
template <class data_T, class res_T, typename CONFIG_T>
void group_conv_2d_body(hls::stream<data_T> &data, hls::stream<res_T> &res, typename CONFIG_T::weight_t *weights,
                        typename CONFIG_T::bias_t *biases) {
    #pragma HLS INLINE
    typedef group_conv2d_dims<CONFIG_T> dims;
    typedef typename data_T::value_type elem_T;
    // a pixel is read in n_chan / data_T::size words and written in n_filt / res_T::size words (folded
    // streams, hw/hls/ops/stream_fold.py), an output word holding whole fold steps
    static_assert(CONFIG_T::n_chan % data_T::size == 0, "an input word holds a whole share of the pixel");
    static_assert(CONFIG_T::n_chan / data_T::size <= CONFIG_T::fold * CONFIG_T::in_steps,
                  "a pixel's input words are read in the iterations of the position before it");
    static_assert(CONFIG_T::n_filt % res_T::size == 0 && CONFIG_T::fold % (CONFIG_T::n_filt / res_T::size) == 0,
                  "an output word holds whole fold steps");
    const unsigned steps_per_word = CONFIG_T::fold / (CONFIG_T::n_filt / res_T::size);
    const bool folded_input = data_T::size != CONFIG_T::n_chan;
    elem_T lines[CONFIG_T::filt_height][dims::padded_width][CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=lines complete dim=1
    #pragma HLS ARRAY_PARTITION variable=lines complete dim=3
    elem_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=window complete dim=0
    elem_T staged[CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=staged complete
    typename CONFIG_T::accum_t acc[dims::filt_per_fold];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    res_T out;
    PRAGMA_DATA_PACK(out)

    if (folded_input) {
    GConvFirstPixel:  // the first position has none before it to be staged in
        for (unsigned word = 0; word < CONFIG_T::n_chan / data_T::size; word++) {
            #pragma HLS PIPELINE II=1
            group_conv2d_stage<data_T, CONFIG_T>(data, staged, 0, word);
        }
    }
GConvPaddedRows:
    for (unsigned pr = 0; pr < dims::padded_height; pr++) {
    GConvPaddedCols:
        for (unsigned pc = 0; pc < dims::padded_width; pc++) {
        GConvSteps:
            for (unsigned step = 0; step < CONFIG_T::fold; step++) {
            GConvInSteps:
                for (unsigned in_step = 0; in_step < CONFIG_T::in_steps; in_step++) {
                    #pragma HLS PIPELINE II=CONFIG_T::fold_interval
                    #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
                    if (step == 0 && in_step == 0) {
                        elem_T fresh[CONFIG_T::n_chan];
                        #pragma HLS ARRAY_PARTITION variable=fresh complete
                        group_conv2d_fresh<data_T, CONFIG_T>(data, staged, fresh, pr, pc);
                        group_conv2d_shift<elem_T, CONFIG_T>(fresh, lines, window, pr, pc);
                    }
                    if (folded_input)  // after the shift has taken the staged pixel
                        group_conv2d_stage<data_T, CONFIG_T>(data, staged, pr * dims::padded_width + pc + 1,
                                                             step * CONFIG_T::in_steps + in_step);
                    const unsigned top = pr + 1 - CONFIG_T::filt_height;  // valid only when the window is complete
                    const unsigned left = pc + 1 - CONFIG_T::filt_width;
                    if (pr + 1 >= CONFIG_T::filt_height && pc + 1 >= CONFIG_T::filt_width &&
                        top % CONFIG_T::stride_height == 0 && left % CONFIG_T::stride_width == 0 &&
                        top / CONFIG_T::stride_height < CONFIG_T::out_height &&
                        left / CONFIG_T::stride_width < CONFIG_T::out_width) {
                        group_conv2d_step<elem_T, res_T, CONFIG_T, res_T::size>(window, acc, out, weights, biases, step,
                                                                               in_step);
                        if ((step + 1) % steps_per_word == 0 && in_step + 1 == CONFIG_T::in_steps)
                            res.write(out);
                    }
                }
            }
        }
    }
}

// The entry points: the same computation, with the weights as constants (logic) or in a ROM of
// one row per clock (reshaped so a row is one word; hls4ml's resource kernels do the same), in
// block RAM or distributed RAM.  Vitis HLS binds with BIND_STORAGE, Vivado HLS with RESOURCE
// (nnet_dsp_pack.h says how the two are told apart).  URAM powers up as zeros and holds no
// initial contents (UG901, "Differences between UltraRAM and Block RAM"): its entry is below.
// in_T / out_T: hls::stream<data_T> / hls::stream<res_T> (io_stream) or data_T[...] / res_T[...]
// (io_parallel), deduced from the call.
template <class data_T, class res_T, typename CONFIG_T, class in_T, class out_T>
void group_conv_2d_cl(in_T &data, out_T &res,
                   typename CONFIG_T::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width *
                                                       (CONFIG_T::n_chan / CONFIG_T::n_groups) * CONFIG_T::n_filt],
                   typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    group_conv_2d_body<data_T, res_T, CONFIG_T>(data, res, weights, biases);
}

#define NNET_GROUP_CONV_PRAGMA(x) _Pragma(#x)
#ifdef __VITIS_HLS__
#define NNET_GROUP_CONV_ROM(IMPL, CORE) NNET_GROUP_CONV_PRAGMA(HLS BIND_STORAGE variable=weights type=rom_1p impl=IMPL)
#else
#define NNET_GROUP_CONV_ROM(IMPL, CORE) NNET_GROUP_CONV_PRAGMA(HLS RESOURCE variable=weights core=CORE)
#endif
// One entry point per ROM implementation: a pragma's options cannot come from a template argument.
#define NNET_GROUP_CONV_ROM_ENTRY(NAME, IMPL, CORE)                                                                  \
    template <class data_T, class res_T, typename CONFIG_T, class in_T, class out_T>                                 \
    void NAME(in_T &data, out_T &res,                                                                                \
              typename CONFIG_T::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width *                     \
                                                  (CONFIG_T::n_chan / CONFIG_T::n_groups) * CONFIG_T::n_filt],       \
              typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {                                                  \
        NNET_GROUP_CONV_PRAGMA(HLS ARRAY_RESHAPE variable=weights cyclic factor=CONFIG_T::row_words)                 \
        NNET_GROUP_CONV_ROM(IMPL, CORE)                                                                              \
        group_conv_2d_body<data_T, res_T, CONFIG_T>(data, res, weights, biases);                                     \
    }

NNET_GROUP_CONV_ROM_ENTRY(group_conv_2d_bram_cl, bram, ROM_1P_BRAM)
NNET_GROUP_CONV_ROM_ENTRY(group_conv_2d_lutram_cl, lutram, ROM_1P_LUTRAM)

// URAM: the same rows, in a memory this kernel does not own.  UltraRAM takes no initial contents
// from the bitstream, so the array is an argument of the network's top function (hls4ml's external
// weights, hw/hls/layers/uram_weights.py) that the AXI top declares, binds to URAM and fills from
// its weight frame before the first image (hw/hls/templates/axi_load.cpp).  The reshape here is the
// one the owner declares too: one row per memory word.
template <class data_T, class res_T, typename CONFIG_T, class in_T, class out_T>
void group_conv_2d_uram_cl(in_T &data, out_T &res,
                           typename CONFIG_T::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width *
                                                               (CONFIG_T::n_chan / CONFIG_T::n_groups) * CONFIG_T::n_filt],
                           typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    NNET_GROUP_CONV_PRAGMA(HLS ARRAY_RESHAPE variable=weights cyclic factor=CONFIG_T::row_words)
    group_conv_2d_body<data_T, res_T, CONFIG_T>(data, res, weights, biases);
}

} // namespace nnet

#endif
