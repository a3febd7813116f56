#ifndef NNET_SELECTIVE_ATTENTION_H_
#define NNET_SELECTIVE_ATTENTION_H_

#include "hls_stream.h"
#include "nnet_common.h"

namespace nnet {

// Selective attention F(V', A, S) of a visual attention condenser, fused in one pass:
//     out = round_half_even_saturate( V' * sigma(A) * S )
// sigma is a table over A's fixed-point grid (one entry per code of attention_t), computed in
// Python exactly as the software model's table, so no approximation enters here.
struct selective_attention_config {
    static const unsigned n_pixels = 1;     // height x width of V' and A
    static const unsigned n_chan = 1;       // channels of V' and A
    static const unsigned n_scale = 1;      // 1: one S per module; n_chan: one S per channel
    static const unsigned attention_width = 8;   // bits of attention_t; the table has 2^width entries
    static const bool attention_signed = true;   // two's-complement codes are offset by 2^(width-1)
    static const unsigned table_size = 256;
    // Reuse factor R: one pixel every R clocks (pipeline II) in both io types, its n_chan
    // channels computed by ceil(n_chan / R) lanes of two multipliers each (V' * sigma, then * S):
    // multiplier_limit = 2 * ceil(n_chan / R) (HLS ALLOCATION).  Any R >= 1 is accepted;
    // hw/hls/layers/selective_attention.py valid_reuse_factors lists the useful ones.
    static const unsigned reuse_factor = 1;
    static const unsigned multiplier_limit = 2;
    typedef ap_fixed<8, 4, AP_RND_CONV, AP_SAT> attention_t;  // A is cast (rounded, saturated) onto this grid
    typedef ap_ufixed<8, 0> sigmoid_t;                       // table entries
    typedef ap_fixed<8, 3> scale_t;                          // S
    // exact types of each stored intermediate (hw/hls/precision.py attention_types): the gate
    // needs its own, since with |S| < 1 the final product has fewer integer bits than V' * sigma
    typedef ap_ufixed<16, 2> gated_t;                        // V' * sigma(A)
    typedef ap_fixed<24, 5> product_t;                       // V' * sigma(A) * S, rounded once into res_T
};

template <typename CONFIG_T> unsigned attention_index(typename CONFIG_T::attention_t a) {
    ap_uint<CONFIG_T::attention_width> code = a.range(CONFIG_T::attention_width - 1, 0);
    if (CONFIG_T::attention_signed)
        code[CONFIG_T::attention_width - 1] = !code[CONFIG_T::attention_width - 1];
    return code.to_uint();
}

template <class v_T, class a_T, class res_T, typename CONFIG_T>
res_T attend(v_T v, a_T a, typename CONFIG_T::sigmoid_t table[CONFIG_T::table_size], typename CONFIG_T::scale_t s) {
    #pragma HLS INLINE
    typename CONFIG_T::attention_t aq = a;
    typename CONFIG_T::gated_t gated = v * table[attention_index<CONFIG_T>(aq)];
    typename CONFIG_T::product_t product = gated * s;
    return (res_T)product;
}

// One pixel: its n_chan channels, elements first .. first + n_chan - 1 of v, a and out (the flat
// io_parallel arrays, indexed as before, or the nnet::array words of io_stream with first = 0).
// Both entry points call this one body, so they cannot compute differently.  It is inlined
// (HLS INLINE) into the caller's pipelined pixel loop, where AttendChan sits exactly as if
// written there: that PIPELINE unrolls it and that ALLOCATION limits its multipliers.
template <class v_T, class a_T, class res_T, typename CONFIG_T, class v_pix_T, class a_pix_T, class res_pix_T>
void attend_pixel(const v_pix_T &v, const a_pix_T &a, res_pix_T &out, const unsigned first,
                  typename CONFIG_T::sigmoid_t table[CONFIG_T::table_size],
                  typename CONFIG_T::scale_t scale[CONFIG_T::n_scale]) {
    #pragma HLS INLINE
AttendChan:
    for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
        out[first + k] = attend<v_T, a_T, res_T, CONFIG_T>(v[first + k], a[first + k], table,
                                                           scale[k % CONFIG_T::n_scale]);
    }
}

// io_parallel: flat channels-last arrays of equal shape, one pixel every reuse_factor clocks.
template <class data1_T, class data2_T, class res_T, typename CONFIG_T>
void selective_attention(data1_T v[CONFIG_T::n_pixels * CONFIG_T::n_chan],
                         data2_T a[CONFIG_T::n_pixels * CONFIG_T::n_chan],
                         res_T res[CONFIG_T::n_pixels * CONFIG_T::n_chan],
                         typename CONFIG_T::sigmoid_t table[CONFIG_T::table_size],
                         typename CONFIG_T::scale_t scale[CONFIG_T::n_scale]) {
AttendPixels:
    for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
        attend_pixel<data1_T, data2_T, res_T, CONFIG_T>(v, a, res, p * CONFIG_T::n_chan, table, scale);
    }
}

// io_stream: V' and A arrive pixel by pixel in the same order; one output pixel every reuse_factor clocks.
template <class data1_T, class data2_T, class res_T, typename CONFIG_T>
void selective_attention(hls::stream<data1_T> &v, hls::stream<data2_T> &a, hls::stream<res_T> &res,
                         typename CONFIG_T::sigmoid_t table[CONFIG_T::table_size],
                         typename CONFIG_T::scale_t scale[CONFIG_T::n_scale]) {
AttendPixels:
    for (unsigned p = 0; p < CONFIG_T::n_pixels; p++) {
        #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
        #pragma HLS ALLOCATION operation instances=mul limit=CONFIG_T::multiplier_limit
        data1_T v_pix = v.read();
        data2_T a_pix = a.read();
        res_T out;
        PRAGMA_DATA_PACK(out)
        attend_pixel<typename data1_T::value_type, typename data2_T::value_type, typename res_T::value_type,
                     CONFIG_T>(v_pix, a_pix, out, 0, table, scale);
        res.write(out);
    }
}

} // namespace nnet

#endif
