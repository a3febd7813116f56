#ifndef NNET_UNPOOLING_H_
#define NNET_UNPOOLING_H_

#include "hls_stream.h"
#include "nnet_common.h"

namespace nnet {

// Expansion X(K) of a visual attention condenser: nearest-neighbour unpooling back to the
// size of V' (before condensation):
//     out[r][c] = in[min(r / factor, in_height - 1)][min(c / factor, in_width - 1)]
// which crops the extra row/column after a ceil ('same') pool of an odd size, and repeats the
// last one after a floor ('valid') pool.  Values are copied, never computed: res_T = data_T.
struct unpooling2d_config {
    static const unsigned in_height = 4;   // rows of the condensed embedding K
    static const unsigned in_width = 4;    // columns of K
    static const unsigned n_chan = 1;      // channels, unchanged
    static const unsigned out_height = 8;  // rows of V'
    static const unsigned out_width = 8;   // columns of V'
    static const unsigned factor = 2;      // the pooling factor being undone
    static const unsigned max_repeat = 2;  // most output rows made from one input row (static loop bound)
    // Unpooling copies and never multiplies, so a reuse factor R saves nothing: it is only the
    // interval, in clocks, between output pixels (pipeline II).  R = 1 is the useful value;
    // a larger R is accepted (a network-wide --reuse applies here too) and only slows the layer.
    static const unsigned reuse_factor = 1;
};

template <typename CONFIG_T> unsigned unpool_source(unsigned out_index, unsigned in_size) {
    unsigned src = out_index / CONFIG_T::factor;
    return src < in_size ? src : in_size - 1;
}

// io_parallel: flat channels-last arrays.
template <class data_T, class res_T, typename CONFIG_T>
void unpooling2d_cl(data_T data[CONFIG_T::in_height * CONFIG_T::in_width * CONFIG_T::n_chan],
                    res_T res[CONFIG_T::out_height * CONFIG_T::out_width * CONFIG_T::n_chan]) {
UnpoolRows:
    for (unsigned r = 0; r < CONFIG_T::out_height; r++) {
    UnpoolCols:
        for (unsigned c = 0; c < CONFIG_T::out_width; c++) {
            #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
            const unsigned src = unpool_source<CONFIG_T>(r, CONFIG_T::in_height) * CONFIG_T::in_width +
                                 unpool_source<CONFIG_T>(c, CONFIG_T::in_width);
        UnpoolChan:
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                #pragma HLS UNROLL
                res[(r * CONFIG_T::out_width + c) * CONFIG_T::n_chan + k] = data[src * CONFIG_T::n_chan + k];
            }
        }
    }
}

// io_stream: one pixel (all channels) per transfer.  Each input row is held in a row buffer
// and replayed for the output rows it covers, one output pixel every reuse_factor clocks.
template <class data_T, class res_T, typename CONFIG_T>
void unpooling2d_cl(hls::stream<data_T> &data, hls::stream<res_T> &res) {
    typename data_T::value_type row[CONFIG_T::in_width][data_T::size];
    #pragma HLS ARRAY_PARTITION variable=row complete dim=2

UnpoolInRows:
    for (unsigned i = 0; i < CONFIG_T::in_height; i++) {
    UnpoolReadRow:
        for (unsigned j = 0; j < CONFIG_T::in_width; j++) {
            #pragma HLS PIPELINE II=1
            data_T pixel = data.read();
            for (unsigned k = 0; k < data_T::size; k++) {
                #pragma HLS UNROLL
                row[j][k] = pixel[k];
            }
        }
        const unsigned first = i * CONFIG_T::factor;
        const unsigned end_of_row = (i + 1 == CONFIG_T::in_height) ? CONFIG_T::out_height : first + CONFIG_T::factor;
        const unsigned last = end_of_row < CONFIG_T::out_height ? end_of_row : CONFIG_T::out_height;
    UnpoolRepeat:
        for (unsigned rep = 0; rep < CONFIG_T::max_repeat; rep++) {
            if (first + rep >= last)
                break;
        UnpoolWriteRow:
            for (unsigned c = 0; c < CONFIG_T::out_width; c++) {
                #pragma HLS PIPELINE II=CONFIG_T::reuse_factor
                res_T out;
                PRAGMA_DATA_PACK(out)
                const unsigned src = unpool_source<CONFIG_T>(c, CONFIG_T::in_width);
                for (unsigned k = 0; k < res_T::size; k++) {
                    #pragma HLS UNROLL
                    out[k] = row[src][k];
                }
                res.write(out);
            }
        }
    }
}

} // namespace nnet

#endif
