// Exhaustive check of nnet_dsp_pack.h (run by tests/csim/test_dsp_pack.py).  For every 8-bit a
// (unsigned and signed) and every pair of signed 8-bit weights w1, w2, the two products unpacked
// from ONE multiplication equal a * w1 and a * w2, for each DSP family; then the same through the
// ap_fixed interface the kernels use, against mult_lut.  Then the exactness table for the test to
// compare with hw/hls/layers/group_conv.py.  Prints "mismatches <n>" lines and "exact ..." rows.
#include <cstdio>
#include "nnet_dsp_pack.h"

template <class FAMILY, class A_T> long raw_mismatches(int a_lo, int a_hi) {
    long bad = 0;
    for (int a = a_lo; a <= a_hi; a++)
        for (int w1 = -128; w1 < 128; w1++)
            for (int w2 = -128; w2 < 128; w2++) {
                ap_int<16> p1, p2;
                nnet::mult_packed2_raw<FAMILY>(A_T(a), ap_int<8>(w1), ap_int<8>(w2), p1, p2);
                if (p1.to_int() != a * w1 || p2.to_int() != a * w2) {
                    if (bad < 5) std::printf("raw a=%d w1=%d w2=%d -> %d %d\n", a, w1, w2, p1.to_int(), p2.to_int());
                    bad++;
                }
            }
    return bad;
}

// through the fixed-point interface: data of FMT_A, weights ap_fixed<8,1>, against mult_lut
template <class FAMILY, class FMT_A> long fixed_mismatches() {
    typedef ap_fixed<8, 1> w_t;
    typedef typename nnet::exact_product<FMT_A, w_t>::type p_t;
    long bad = 0;
    for (int a = 0; a < 256; a++)
        for (int i = 0; i < 256; i++)
            for (int j = 0; j < 256; j++) {
                FMT_A x;
                w_t w1, w2;
                x.range(7, 0) = a;
                w1.range(7, 0) = i;
                w2.range(7, 0) = j;
                p_t p1, p2;
                nnet::mult_packed2<FAMILY>(x, w1, w2, p1, p2);
                if (p1 != nnet::mult_lut(x, w1) || p2 != nnet::mult_lut(x, w2) || p1 != x * w1 || p2 != x * w2) bad++;
            }
    return bad;
}

template <class FAMILY> void table(const char *name) {
    for (int wa = 1; wa <= 12; wa++)
        for (int sa = 0; sa <= 1; sa++)
            for (int ww = 2; ww <= 12; ww++)
                std::printf("exact %s %d %d %d %d\n", name, wa, sa, ww, int(nnet::dsp_pack_exact_on<FAMILY>(wa, sa, ww, true)));
}

int main() {
    std::printf("mismatches raw dsp48e2 unsigned %ld\n", raw_mismatches<nnet::dsp48e2, ap_uint<8> >(0, 255));
    std::printf("mismatches raw dsp48e2 signed %ld\n", raw_mismatches<nnet::dsp48e2, ap_int<8> >(-128, 127));
    std::printf("mismatches raw dsp48e1 unsigned %ld\n", raw_mismatches<nnet::dsp48e1, ap_uint<8> >(0, 255));
    std::printf("mismatches raw dsp48e1 signed %ld\n", raw_mismatches<nnet::dsp48e1, ap_int<8> >(-128, 127));
    std::printf("mismatches fixed dsp48e2 ufixed<8,2> %ld\n", fixed_mismatches<nnet::dsp48e2, ap_ufixed<8, 2> >());
    std::printf("mismatches fixed dsp48e2 fixed<8,3> %ld\n", fixed_mismatches<nnet::dsp48e2, ap_fixed<8, 3> >());
    std::printf("mismatches fixed dsp48e1 ufixed<8,2> %ld\n", fixed_mismatches<nnet::dsp48e1, ap_ufixed<8, 2> >());
    std::printf("mismatches fixed dsp48e1 fixed<8,3> %ld\n", fixed_mismatches<nnet::dsp48e1, ap_fixed<8, 3> >());
    // the exactness conditions themselves, at the boundaries they name
    static_assert(nnet::dsp_pack_exact(27, 18, 18, 8, false, 8, true), "DSP48E2 8x8 unsigned data");
    static_assert(nnet::dsp_pack_exact(27, 18, 16, 8, true, 8, true), "S = 16 holds the low product");
    static_assert(!nnet::dsp_pack_exact(27, 18, 15, 8, true, 8, true), "S = 15 loses -128 * -128");
    static_assert(!nnet::dsp_pack_exact(25, 18, 17, 8, true, 8, true), "S = 17 overflows a 25-bit port");
    static_assert(!nnet::dsp_pack_exact(25, 18, 16, 9, false, 8, true), "9-bit unsigned data: 17-bit low product");
    static_assert(!nnet::dsp_pack_exact(27, 18, 18, 8, false, 8, false), "unsigned weights are not offered");
    static_assert(!nnet::dsp_pack_exact(27, 18, 18, 18, false, 8, true), "18-bit unsigned data exceeds port B");
    table<nnet::dsp48e2>("dsp48e2");
    table<nnet::dsp48e1>("dsp48e1");
    return 0;
}
