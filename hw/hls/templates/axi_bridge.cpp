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
//   -9 this accelerator has run-time weights (WEIGHT_WORDS > 0) and they are not loaded yet
//
//   int ${name}_axi_load(frame, frame_len, out_bytes, out_len)
// The weight frame (the first input frame after reset when WEIGHT_WORDS > 0): frame_len bytes, any
// whole number of words, TLAST on the last.  Returns the bytes of the top's answer (one word: the
// words it read; the weights are loaded when that is WEIGHT_WORDS), or -1 a null pointer, -2
// frame_len is zero or not whole words, -3 out_len is less than a word, -10 the accelerator has no
// run-time weights, -11 they are loaded already (the top would take the frame as an image),
// -5/-6/-7 the answer is not exactly one word with TLAST.  ${name}_axi_loading() is 1 while the next
// frame is taken as the weight frame.
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
static bool weights_loaded = WEIGHT_WORDS == 0; // what the top's own flag says: it starts unloaded

static void send(hls::stream<word_t> &in_stream, const unsigned char *bytes, unsigned long words) {
    for (unsigned long w = 0; w < words; w++) {
        word_t word;
        word.data = 0;
        for (unsigned b = WORD_BYTES; b-- > 0;) // little-endian: the first byte ends up lowest
            word.data = (word.data << 8) | ap_uint<WIDTH>(bytes[w * WORD_BYTES + b]);
        word.keep = -1;
        word.strb = -1;
        word.last = w == words - 1;
        in_stream.write(word);
    }
}

// The top's output words into out_bytes: their count if it is exactly `expected` with TLAST on
// the last only, else -5 (too many), -6 (TLAST misplaced) or -7 (too few).
static int receive(hls::stream<word_t> &out_stream, unsigned char *out_bytes, unsigned expected) {
    unsigned words = 0;
    while (!out_stream.empty()) {
        word_t word = out_stream.read();
        if (words == expected)
            return -5;
        if (word.last != (words == expected - 1))
            return -6;
        for (unsigned b = 0; b < WORD_BYTES; b++)
            out_bytes[words * WORD_BYTES + b] = (unsigned char)(word.data >> (8 * b)).to_uint();
        words++;
    }
    return words == expected ? int(words) : -7;
}

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
    if (!weights_loaded)
        return -9;
#ifdef ATTENDNETS_GXX_WEIGHTS // hw.sim.axi's library: the weights are compiled in (build/<name>_axi_weights.cpp)
    if (${name}_axi_weights_ready() != 0)
        return -8;
#endif
    hls::stream<word_t> in_stream("in_stream"), out_stream("out_stream");
    send(in_stream, in_bytes, IN_WORDS);
    ${name}_axi(in_stream, out_stream);
#ifdef ATTENDNETS_GXX_WEIGHTS
    ${name}_axi_weights_loaded();
#endif
    if (!in_stream.empty())
        return -4;
    int words = receive(out_stream, out_bytes, OUT_WORDS);
    return words < 0 ? words : int(words * WORD_BYTES);
}

unsigned long ${name}_axi_weight_bytes() { return WEIGHT_WORDS * WORD_BYTES; }

int ${name}_axi_loading() { return weights_loaded ? 0 : 1; }

int ${name}_axi_load(const unsigned char *frame, unsigned long frame_len, unsigned char *out_bytes,
                     unsigned long out_len) {
    if (frame == NULL || out_bytes == NULL)
        return -1;
    if (frame_len == 0 || frame_len % WORD_BYTES)
        return -2;
    if (out_len < WORD_BYTES)
        return -3;
    if (WEIGHT_WORDS == 0)
        return -10;
    if (weights_loaded)
        return -11;
    hls::stream<word_t> in_stream("in_stream"), out_stream("out_stream");
    send(in_stream, frame, frame_len / WORD_BYTES);
    ${name}_axi(in_stream, out_stream);
    if (!in_stream.empty())
        return -4;
    int words = receive(out_stream, out_bytes, 1);
    if (words < 0)
        return words;
    unsigned long read = 0;
    for (unsigned b = 0; b < WORD_BYTES && b < sizeof read; b++)
        read |= (unsigned long)out_bytes[b] << (8 * b);
    weights_loaded = read == WEIGHT_WORDS; // the top's rule (axi_load.cpp): exactly the frame, TLAST on its last word
    return int(WORD_BYTES);
}
}
