#ifndef NNET_MULT_DSP_H_
#define NNET_MULT_DSP_H_

// A product class for hls4ml's kernels (they multiply through CONFIG_T::product, nnet_mult.h)
// that binds the multiplication to a DSP: the arithmetic of hls4ml's 'mult', a * w in the
// operands' exact product type, with the binding hls4ml's type-based choice cannot express
// (hw/hls/layers/dsp_product.py sets it per layer).  Vitis HLS binds with BIND_OP, Vivado HLS
// with RESOURCE core=DSP48 (the two are told apart by __VITIS_HLS__, as in nnet_dsp_pack.h).

#include "nnet_mult.h"

namespace nnet {
namespace product {

template <class x_T, class w_T> class mult_dsp : public Product {
  public:
    static auto product(x_T a, w_T w) -> decltype(a * w) {
        #pragma HLS INLINE
        decltype(a * w) p = a * w;
#ifdef __VITIS_HLS__
        #pragma HLS BIND_OP variable=p op=mul impl=dsp
#else
        #pragma HLS RESOURCE variable=p core=DSP48
#endif
        return p;
    }
};

} // namespace product
} // namespace nnet

#endif
