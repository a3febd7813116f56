// C bridge of ${name}_axi, written by attendnets from hw/hls/templates/axi_bridge.cpp: the bytes
// AXI DMA moves in and out of the accelerator, run through the AXI4-Stream top in C simulation.
//
//   int ${name}_axi_run(in_bytes, in_len, out_bytes, out_len)
// in_bytes: exactly ${name}_axi_in_bytes() bytes, the input words little-endian (what MM2S reads from
// DDR); out_bytes: at least ${name}_axi_out_bytes() bytes for the output words (what S2MM writes).
// Returns the number of output bytes, or a negative error:
//   -1 a null pointer        -2 in_len is not the input frame's size   -3 out_len is too small
//   -4 the top left input words unread      -5 the top wrote more words than the output frame
//   -6 TLAST not exactly on the last output word      -7 the top wrote fewer words than the frame
//   -8 (g++ library only) the weights could not be put where the network reads them at its first run
#include <cstddef>
#include <map>
#include <string>

#include "firmware/${name}_axi.h"

namespace nnet {
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
} // namespace nnet

using namespace ${name}_axi_io;

static const unsigned long WORD_BYTES = WIDTH / 8;

extern "C" {

unsigned long ${name}_axi_in_bytes() { return IN_WORDS * WORD_BYTES; }

unsigned long ${name}_axi_out_bytes() { return OUT_WORDS * WORD_BYTES; }

int ${name}_axi_run(const unsigned char *in_bytes, unsigned long in_len, unsigned char *out_bytes,
                    unsigned long out_len) {
    if (in_bytes == NULL || out_bytes == NULL)
        return -1;
    if (in_len != IN_WORDS * WORD_BYTES)
        return -2;
    if (out_len < OUT_WORDS * WORD_BYTES)
        return -3;
#ifdef ATTENDNETS_GXX_WEIGHTS // hw.vivado.axi's library: the weights are compiled in (build/<name>_axi_weights.cpp)
    if (${name}_axi_weights_ready() != 0)
        return -8;
#endif
    hls::stream<word_t> in_stream("in_stream"), out_stream("out_stream");
    for (unsigned w = 0; w < IN_WORDS; w++) {
        word_t word;
        word.data = 0;
        for (unsigned b = WORD_BYTES; b-- > 0;) // little-endian: the first byte ends up lowest
            word.data = (word.data << 8) | ap_uint<WIDTH>(in_bytes[w * WORD_BYTES + b]);
        word.keep = -1;
        word.strb = -1;
        word.last = w == IN_WORDS - 1;
        in_stream.write(word);
    }
    ${name}_axi(in_stream, out_stream);
#ifdef ATTENDNETS_GXX_WEIGHTS
    ${name}_axi_weights_loaded();
#endif
    if (!in_stream.empty())
        return -4;
    unsigned words = 0;
    while (!out_stream.empty()) {
        word_t word = out_stream.read();
        if (words == OUT_WORDS)
            return -5;
        if (word.last != (words == OUT_WORDS - 1))
            return -6;
        for (unsigned b = 0; b < WORD_BYTES; b++)
            out_bytes[words * WORD_BYTES + b] = (unsigned char)(word.data >> (8 * b)).to_uint();
        words++;
    }
    return words == OUT_WORDS ? int(OUT_WORDS * WORD_BYTES) : -7;
}
}
