#ifndef NNET_MULT_DSP_H_
#define NNET_MULT_DSP_H_

// A product class for hls4ml's kernels (they multiply through CONFIG_T::product, nnet_mult.h)
// whose multiplication is bound to a DSP: hls4ml's 'mult' arithmetic, a * w in the operands'
// exact product type, made by nnet_dsp_pack.h's mult_dsp (BIND_OP impl=dsp for Vitis HLS,
// RESOURCE core=DSP48 for Vivado HLS), the binding hls4ml's type-based choice cannot express
// (hw/hls/layers/dsp_product.py sets it per layer).

#include "nnet_dsp_pack.h"
#include "nnet_mult.h"

namespace nnet {
namespace product {

template <class x_T, class w_T> class mult_dsp : public Product {
  public:
    static auto product(x_T a, w_T w) -> decltype(a * w) {
        #pragma HLS INLINE
        return nnet::mult_dsp(a, w);  // the same value in the same width: a * w holds it exactly
    }
};

} // namespace product
} // namespace nnet

#endif
