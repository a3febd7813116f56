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
// Weights keep Keras' layout [filt_height][filt_width][n_chan / n_groups][n_filt].
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
    // n_filt / F channels, one step every fold_interval = R / F clocks, so adders, output casts
    // and multipliers exist for n_filt / F channels only.  F divides n_filt and R, and a packed
    // pair never straddles two steps (group_conv.py valid_folds); F = 1 is the unfolded kernel.
    static const unsigned fold = 1;
    static const unsigned fold_interval = 1;       // reuse_factor / fold: the pipeline's II
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
    static const unsigned padded_height = CONFIG_T::in_height + CONFIG_T::pad_top + CONFIG_T::pad_bottom;
    static const unsigned padded_width = CONFIG_T::in_width + CONFIG_T::pad_left + CONFIG_T::pad_right;
};

template <typename CONFIG_T>
unsigned group_conv2d_weight_index(unsigned i, unsigned j, unsigned c, unsigned o) {
    return ((i * CONFIG_T::filt_width + j) * group_conv2d_dims<CONFIG_T>::chan_per_group + c) * CONFIG_T::n_filt + o;
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

// Fold step ``step`` of one output pixel (its channels step * filt_per_fold ..
// (step + 1) * filt_per_fold - 1) from its filt_height x filt_width window: the
// multiply-accumulate both io types share, so they cannot compute differently.  It is inlined (HLS INLINE) into the
// caller's pipelined pixel loop, where its loops sit exactly as if written there: that PIPELINE
// unrolls them and that ALLOCATION limits their multipliers.  Each caller keeps only what
// differs, how its window is filled (gathered from the array, or shifted in from the stream).
// Packed: channel k of a group (k even, k + 1 in the group) is computed with k + 1; the sums
// are exact (accum_t), so every implementation gives the same bits.
template <class elem_T, class res_T, typename CONFIG_T>
void group_conv2d_window(elem_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan], res_T &out,
                         typename CONFIG_T::weight_t *weights, typename CONFIG_T::bias_t *biases, unsigned step) {
    #pragma HLS INLINE
    typedef group_conv2d_dims<CONFIG_T> dims;
    typedef group_conv2d_single<CONFIG_T::multiplier> single;
    const bool packed = CONFIG_T::multiplier == mult_impl::packed;
    typedef group_conv2d_pair<CONFIG_T::multiplier == mult_impl::packed> pair;
GConvFilt:
    for (unsigned f = 0; f < dims::filt_per_fold; f++) {
        const unsigned o = step * dims::filt_per_fold + f;
        const unsigned k = o % dims::filt_per_group;
        if (packed && k % 2 == 1)
            continue;  // computed with channel o - 1
        const bool paired = packed && k + 1 < dims::filt_per_group;
        const unsigned first_chan = (o / dims::filt_per_group) * dims::chan_per_group;
        typename CONFIG_T::accum_t acc = biases[o];
        typename CONFIG_T::accum_t acc2 = paired ? biases[o + 1] : typename CONFIG_T::bias_t(0);
    GConvRows:
        for (unsigned i = 0; i < CONFIG_T::filt_height; i++) {
        GConvCols:
            for (unsigned j = 0; j < CONFIG_T::filt_width; j++) {
            GConvChan:
                for (unsigned c = 0; c < dims::chan_per_group; c++) {
                    const elem_T a = window[i][j][first_chan + c];
                    const typename CONFIG_T::weight_t w = weights[group_conv2d_weight_index<CONFIG_T>(i, j, c, o)];
                    if (paired) {
                        pair::template mac<typename CONFIG_T::dsp_family>(
                            a, w, weights[group_conv2d_weight_index<CONFIG_T>(i, j, c, o + 1)], acc, acc2);
                    } else {
                        acc += single::mul(a, w);
                    }
                }
            }
        }
        out[o] = acc;
        if (paired)
            out[o + 1] = acc2;
    }
}

// io_parallel: each output pixel gathers its window from the array (zeros outside the image) at
// its first fold step; every step writes its own channels of the pixel.
template <class data_T, class res_T, typename CONFIG_T>
void group_conv_2d_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                      res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_filt],
                      typename CONFIG_T::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width *
                                                          (CONFIG_T::n_chan / CONFIG_T::n_groups) * CONFIG_T::n_filt],
                      typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    data_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=window complete dim=0
GConvOutRows:
    for (unsigned oh = 0; oh < CONFIG_T::out_height; oh++) {
    GConvOutCols:
        for (unsigned ow = 0; ow < CONFIG_T::out_width; ow++) {
        GConvSteps:
            for (unsigned step = 0; step < CONFIG_T::fold; step++) {
                #pragma HLS PIPELINE II=CONFIG_T::fold_interval
                #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
                if (step == 0) {
                GConvGather:
                    for (unsigned i = 0; i < CONFIG_T::filt_height; i++) {
                        for (unsigned j = 0; j < CONFIG_T::filt_width; j++) {
                            const int ih = int(oh * CONFIG_T::stride_height + i) - int(CONFIG_T::pad_top);
                            const int iw = int(ow * CONFIG_T::stride_width + j) - int(CONFIG_T::pad_left);
                            const bool inside =
                                ih >= 0 && iw >= 0 && ih < int(CONFIG_T::in_height) && iw < int(CONFIG_T::in_width);
                            for (unsigned k = 0; k < CONFIG_T::n_chan; k++)
                                window[i][j][k] = inside ? data[(ih * CONFIG_T::in_width + iw) * CONFIG_T::n_chan + k]
                                                         : data_T(0);
                        }
                    }
                }
                res_T *out = &res[(oh * CONFIG_T::out_width + ow) * CONFIG_T::n_filt];
                group_conv2d_window<data_T, res_T *, CONFIG_T>(window, out, weights, biases, step);
            }
        }
    }
}

// One clock of the padded walk: read the pixel when (pr, pc) is inside the image (zero when it is
// padding), shift the window left one column and feed its right column from the line buffers.
template <class data_T, typename CONFIG_T>
void group_conv2d_shift(hls::stream<data_T> &data,
                        typename data_T::value_type lines[CONFIG_T::filt_height][group_conv2d_dims<CONFIG_T>::padded_width]
                                                         [CONFIG_T::n_chan],
                        typename data_T::value_type window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan],
                        unsigned pr, unsigned pc) {
    #pragma HLS INLINE
    typedef typename data_T::value_type elem_T;
    const bool inside = pr >= CONFIG_T::pad_top && pr < CONFIG_T::pad_top + CONFIG_T::in_height &&
                        pc >= CONFIG_T::pad_left && pc < CONFIG_T::pad_left + CONFIG_T::in_width;
    data_T pixel;
    if (inside) {
        pixel = data.read();
    }
GConvShift:
    for (unsigned i = 0; i < CONFIG_T::filt_height; i++) {
        #pragma HLS UNROLL
        // window row i is padded row pr + 1 - filt_height + i, kept in line buffer (pr + 1 + i) % filt_height
        const unsigned line = (pr + 1 + i) % CONFIG_T::filt_height;
        for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
            #pragma HLS UNROLL
            for (unsigned j = 0; j + 1 < CONFIG_T::filt_width; j++)
                window[i][j][k] = window[i][j + 1][k];
            const elem_T fresh = inside ? pixel[k] : elem_T(0);
            window[i][CONFIG_T::filt_width - 1][k] = (i + 1 == CONFIG_T::filt_height) ? fresh : lines[line][pc][k];
            if (i + 1 == CONFIG_T::filt_height)
                lines[pr % CONFIG_T::filt_height][pc][k] = fresh;
        }
    }
}

// io_stream: pixels arrive row by row; padding pixels are made here, so the loop walks the
// padded image and reads the stream only inside it.  Line buffers keep the filt_height - 1 rows
// above (one read per row per clock, each row its own memory); a register window of
// filt_height x filt_width pixels shifts left one column per clock, so the multiplications read
// registers only.  Each padded pixel takes F fold steps: the first reads and shifts, every step
// computes its channels into the output word, and the last writes it once the window is complete.
// The step loop is the innermost of a perfect nest, which HLS flattens into one pipeline.
template <class data_T, class res_T, typename CONFIG_T>
void group_conv_2d_cl(hls::stream<data_T> &data, hls::stream<res_T> &res,
                      typename CONFIG_T::weight_t weights[CONFIG_T::filt_height * CONFIG_T::filt_width *
                                                          (CONFIG_T::n_chan / CONFIG_T::n_groups) * CONFIG_T::n_filt],
                      typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
    typedef group_conv2d_dims<CONFIG_T> dims;
    typedef typename data_T::value_type elem_T;
    elem_T lines[CONFIG_T::filt_height][dims::padded_width][CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=lines complete dim=1
    #pragma HLS ARRAY_PARTITION variable=lines complete dim=3
    elem_T window[CONFIG_T::filt_height][CONFIG_T::filt_width][CONFIG_T::n_chan];
    #pragma HLS ARRAY_PARTITION variable=window complete dim=0
    res_T out;
    PRAGMA_DATA_PACK(out)

GConvPaddedRows:
    for (unsigned pr = 0; pr < dims::padded_height; pr++) {
    GConvPaddedCols:
        for (unsigned pc = 0; pc < dims::padded_width; pc++) {
        GConvSteps:
            for (unsigned step = 0; step < CONFIG_T::fold; step++) {
                #pragma HLS PIPELINE II=CONFIG_T::fold_interval
                #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
                if (step == 0)
                    group_conv2d_shift<data_T, CONFIG_T>(data, lines, window, pr, pc);
                const unsigned top = pr + 1 - CONFIG_T::filt_height;  // valid only when the window is complete
                const unsigned left = pc + 1 - CONFIG_T::filt_width;
                if (pr + 1 >= CONFIG_T::filt_height && pc + 1 >= CONFIG_T::filt_width &&
                    top % CONFIG_T::stride_height == 0 && left % CONFIG_T::stride_width == 0 &&
                    top / CONFIG_T::stride_height < CONFIG_T::out_height &&
                    left / CONFIG_T::stride_width < CONFIG_T::out_width) {
                    group_conv2d_window<elem_T, res_T, CONFIG_T>(window, out, weights, biases, step);
                    if (step + 1 == CONFIG_T::fold)
                        res.write(out);
                }
            }
        }
    }
}

} // namespace nnet

#endif
