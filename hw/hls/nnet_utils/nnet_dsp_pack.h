#ifndef NNET_DSP_PACK_H_
#define NNET_DSP_PACK_H_

// Multiplier implementations for our kernels: a product in fabric (mult_lut), in one DSP
// (mult_dsp), or two products that share an operand in ONE DSP multiplication (mult_packed2),
// the INT8 packing Xilinx documents for the DSP48E2 (WP486, WP487).
//
// The two tools are told apart by __VITIS_HLS__, which Vitis HLS predefines and Vivado HLS does
// not (UG1399, "Key Behavioral Differences": "Vitis HLS supports the __VITIS_HLS__ predefined
// macro ... Use #if defined(__VITIS_HLS__)"); hls4ml's nnet_common.h relies on the same macro.
// Vitis HLS binds with BIND_OP (impl=dsp / fabric); Vivado HLS with RESOURCE core=DSP48 / Mul_LUT.
// A C compiler ignores both, so the C model is the arithmetic written here, nothing else.

#include "ap_fixed.h"
#include "ap_int.h"
#include <type_traits>

namespace nnet {

// The knob a kernel's config carries (e.g. group_conv2d_config::multiplier).
struct mult_impl {
    static const unsigned lut = 0;     // bound to fabric: what the estimator counts as LUT multipliers
    static const unsigned dsp = 1;     // one product per DSP
    static const unsigned packed = 2;  // two products sharing one operand per DSP (mult_packed2)
};

// A DSP slice's multiplier: port_a is the pre-adder output that feeds it (the packed operand
// w1 * 2^shift + w2 is formed there, from A and D), port_b the other input, both signed.
// shift is where the high product starts.  DSP48E2 (UltraScale/UltraScale+, UG579): 27 x 18,
// shift 18 as in WP486.  DSP48E1 (7 series / Zynq-7000, UG479): 25 x 18; 8-bit x 8-bit needs
// shift >= 16 (the low product's 16 bits) and the packed operand needs shift + 9 <= 25 bits,
// so 16 is the one exact shift (WP486 keeps 18 for accumulating in packed form, which a 25-bit
// port cannot; we unpack every product, so 16 suffices).
struct dsp48e2 {
    static const int port_a = 27;
    static const int port_b = 18;
    static const int shift = 18;
};
struct dsp48e1 {
    static const int port_a = 25;
    static const int port_b = 18;
    static const int shift = 16;
};

// Exactness of the packing, as constexpr (C++11 single-expression) functions so that a test can
// ask them about any widths and the kernels can static_assert them.  Integers of `w` bits,
// signed or not; every bound below is an exact corner of the operand ranges.
constexpr long long pack_min(int w, bool s) { return s ? -(1LL << (w - 1)) : 0; }
constexpr long long pack_max(int w, bool s) { return s ? (1LL << (w - 1)) - 1 : (1LL << w) - 1; }
constexpr bool pack_fits(long long v, int bits) { return v >= -(1LL << (bits - 1)) && v <= (1LL << (bits - 1)) - 1; }
constexpr long long pack_min2(long long a, long long b) { return a < b ? a : b; }
constexpr long long pack_max2(long long a, long long b) { return a > b ? a : b; }
// the extreme products a * w: the corners of the two ranges
constexpr long long pack_prod_min(int wa, bool sa, int ww) {
    return pack_min2(pack_min2(pack_min(wa, sa) * pack_min(ww, true), pack_min(wa, sa) * pack_max(ww, true)),
                     pack_min2(pack_max(wa, sa) * pack_min(ww, true), pack_max(wa, sa) * pack_max(ww, true)));
}
constexpr long long pack_prod_max(int wa, bool sa, int ww) {
    return pack_max2(pack_max2(pack_min(wa, sa) * pack_min(ww, true), pack_min(wa, sa) * pack_max(ww, true)),
                     pack_max2(pack_max(wa, sa) * pack_min(ww, true), pack_max(wa, sa) * pack_max(ww, true)));
}
// Two products a * w1, a * w2 (weights signed, `ww` bits; a `wa` bits, signed or not) come out of
// a * (w1 * 2^shift + w2) exactly when: (1) the packed operand fits port_a at every corner,
// (2) a fits port_b, (3) every a * w fits `shift` signed bits (so the low `shift` bits, read
// signed, are a * w2, and the rest is a * w1 * 2^shift minus 1 when a * w2 < 0: the correction).
// The product of a port_a-bit and a port_b-bit signed number always fits port_a + port_b bits.
// Each product then fits wa + ww signed bits, the type it is returned in.
constexpr bool dsp_pack_exact(int port_a, int port_b, int shift, int wa, bool sa, int ww, bool sw) {
    return sw && wa >= 1 && ww >= 2 && shift >= 1 && shift + ww < 60 && wa < 30 && port_a < 60 && port_b < 60 &&
           pack_fits(pack_min(ww, true) * (1LL << shift) + pack_min(ww, true), port_a) &&
           pack_fits(pack_max(ww, true) * (1LL << shift) + pack_max(ww, true), port_a) &&
           pack_fits(pack_min(wa, sa), port_b) && pack_fits(pack_max(wa, sa), port_b) &&
           pack_fits(pack_prod_min(wa, sa, ww), shift) && pack_fits(pack_prod_max(wa, sa, ww), shift) &&
           pack_fits(pack_prod_min(wa, sa, ww), wa + ww) && pack_fits(pack_prod_max(wa, sa, ww), wa + ww);
}
template <class FAMILY> constexpr bool dsp_pack_exact_on(int wa, bool sa, int ww, bool sw) {
    return dsp_pack_exact(FAMILY::port_a, FAMILY::port_b, FAMILY::shift, wa, sa, ww, sw);
}

// The format of an ap_fixed / ap_ufixed / ap_int / ap_uint: width, integer bits, sign, and its
// bits as an integer (raw) and back.  The packed path works on these integers.
template <class T> struct fixed_format;
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed_format<ap_fixed<W, I, Q, O, N> > {
    static const int width = W, iwidth = I;
    static const bool is_signed = true;
    typedef ap_int<W> raw_t;
    static raw_t raw(const ap_fixed<W, I, Q, O, N> &x) { return raw_t(x.range(W - 1, 0)); }
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct fixed_format<ap_ufixed<W, I, Q, O, N> > {
    static const int width = W, iwidth = I;
    static const bool is_signed = false;
    typedef ap_uint<W> raw_t;
    static raw_t raw(const ap_ufixed<W, I, Q, O, N> &x) { return raw_t(x.range(W - 1, 0)); }
};
template <int W> struct fixed_format<ap_int<W> > {
    static const int width = W, iwidth = W;
    static const bool is_signed = true;
    typedef ap_int<W> raw_t;
    static raw_t raw(const ap_int<W> &x) { return x; }
};
template <int W> struct fixed_format<ap_uint<W> > {
    static const int width = W, iwidth = W;
    static const bool is_signed = false;
    typedef ap_uint<W> raw_t;
    static raw_t raw(const ap_uint<W> &x) { return x; }
};

// Two raw integer products sharing `a`, computed as the DSP computes them:
//   pre-adder   packed = (w1 << shift) + w2          at port_a bits
//   multiplier  prod   = packed * a                  at port_a + port_b bits (45 on a DSP48E2)
//   unpack      low    = prod's low shift bits, read signed            = a * w2
//               high   = (prod >> shift) + (low < 0 ? 1 : 0)           = a * w1
// The correction (+1 when the low product is negative) undoes the borrow the negative low
// product took from the high one; it is a carry-in of the adder that accumulates `high`.
template <class FAMILY, class A_T, int WW>
void mult_packed2_raw(A_T a, ap_int<WW> w1, ap_int<WW> w2, ap_int<A_T::width + WW> &p1, ap_int<A_T::width + WW> &p2) {
    #pragma HLS INLINE
    static_assert(dsp_pack_exact_on<FAMILY>(A_T::width, fixed_format<A_T>::is_signed, WW, true),
                  "two products of these widths are not exact in one multiplication of this DSP family");
    const int PA = FAMILY::port_a, PB = FAMILY::port_b, S = FAMILY::shift;
    ap_int<PA> hi = w1;
    ap_int<PA> packed = (hi << S) + ap_int<PA>(w2);
    ap_int<PB> b = a;
    ap_int<PA + PB> prod = packed * b;
#ifdef __VITIS_HLS__
    #pragma HLS BIND_OP variable=prod op=mul impl=dsp
#else
    #pragma HLS RESOURCE variable=prod core=DSP48
#endif
    ap_int<S> low = prod.range(S - 1, 0);
    ap_int<PA + PB - S> high = prod >> S;
    p2 = low;
    p1 = high + ap_int<2>(low < 0 ? 1 : 0);
}

// The exact product type of A * W: widths and integer bits add (wa + ww bits hold every
// product, signed when either is); what ap_fixed's own operator* returns.
template <class A, class W> struct exact_product {
    typedef fixed_format<A> fa;
    typedef fixed_format<W> fw;
    static const int width = fa::width + fw::width, iwidth = fa::iwidth + fw::iwidth;
    typedef ap_fixed<width, iwidth> signed_t;
    typedef ap_ufixed<width, iwidth> unsigned_t;
    typedef typename std::conditional<fa::is_signed || fw::is_signed, signed_t, unsigned_t>::type type;
};

// One product in fabric.  Bound explicitly (not left to the tool) because the estimator counts
// `lut` products as LUT multipliers and the tool would otherwise put wide ones in DSPs.
template <class A, class W> typename exact_product<A, W>::type mult_lut(A a, W w) {
    #pragma HLS INLINE
    typename exact_product<A, W>::type p = a * w;
#ifdef __VITIS_HLS__
    #pragma HLS BIND_OP variable=p op=mul impl=fabric
#else
    #pragma HLS RESOURCE variable=p core=Mul_LUT
#endif
    return p;
}

// One product in one DSP.
template <class A, class W> typename exact_product<A, W>::type mult_dsp(A a, W w) {
    #pragma HLS INLINE
    typename exact_product<A, W>::type p = a * w;
#ifdef __VITIS_HLS__
    #pragma HLS BIND_OP variable=p op=mul impl=dsp
#else
    #pragma HLS RESOURCE variable=p core=DSP48
#endif
    return p;
}

// a * w1 and a * w2 in one DSP multiplication (mult_packed2_raw on the operands' bits), returned
// in the exact product type: bit for bit what mult_lut(a, w1), mult_lut(a, w2) return.
template <class FAMILY, class A, class W>
void mult_packed2(A a, W w1, W w2, typename exact_product<A, W>::type &p1, typename exact_product<A, W>::type &p2) {
    #pragma HLS INLINE
    typedef fixed_format<A> fa;
    typedef fixed_format<W> fw;
    static_assert(fw::is_signed, "packing needs signed weights (the correction term assumes a signed low product)");
    const int PW = fa::width + fw::width;
    ap_int<PW> r1, r2;
    mult_packed2_raw<FAMILY>(fa::raw(a), ap_int<fw::width>(fw::raw(w1)), ap_int<fw::width>(fw::raw(w2)), r1, r2);
    p1.range(PW - 1, 0) = r1;
    p2.range(PW - 1, 0) = r2;
}

} // namespace nnet

#endif
