// Test bench of the AXI4-Stream top ${name}_axi, written by attendnets from hw/hls/templates/axi_test.cpp.
// It plays the host and the DMA: each tb_data image becomes input codes packed into little-endian
// words as the contract says (independently of the top's own unpacking), goes through
// ${name}_axi_run (the bridge: TLAST on the last word, checked on the output), and the unpacked
// output codes must equal the software model's outputs exactly.
//
// With run-time weights it first sends the weight frame (${weights_file}) through ${name}_axi_load,
// as the driver does, and stops unless the top's answer says it read the whole frame.
//
//   ${name}_axi_test [inputs expected results [weight_frame]]    (defaults: tb_data/tb_input_features.dat,
//                                                   tb_data/tb_output_predictions.dat, tb_data/axi_results.log,
//                                                   ${weights_file})
// Exit status: 0 when every output is exact, 1 on a mismatch, a refused weight frame or a bridge
// error, 2 on unreadable files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
unsigned long ${name}_axi_in_bytes();
unsigned long ${name}_axi_out_bytes();
int ${name}_axi_run(const unsigned char *, unsigned long, unsigned char *, unsigned long);
unsigned long ${name}_axi_weight_bytes();
int ${name}_axi_load(const unsigned char *, unsigned long, unsigned char *, unsigned long);
}

static const unsigned N_IN = ${in_elements}, IN_LANE_BYTES = ${in_lane} / 8, IN_FRAC = ${in_frac};
static const long long IN_MIN = ${in_min}LL, IN_MAX = ${in_max}LL; // the input type's codes
static const unsigned N_OUT = ${out_elements}, OUT_LANE_BYTES = ${out_lane} / 8, OUT_FRAC = ${out_frac};
static const bool OUT_SIGNED = ${out_signed};

${read_line}

// element k at byte k * lane bytes: the lanes of consecutive words are consecutive in memory.
// A value becomes its code as the driver makes it (host/io.py to_codes) and as the network's input
// type would: rounded half to even (nearbyint in the default rounding mode) and saturated, since
// tb_data's 8-bit pixels are off the grid of a narrower input type.
static void pack(const std::vector<double> &values, std::vector<unsigned char> &bytes) {
    for (unsigned k = 0; k < N_IN; k++) {
        long long code = (long long)std::nearbyint(std::ldexp(values[k], IN_FRAC));
        code = std::min(std::max(code, IN_MIN), IN_MAX);
        for (unsigned b = 0; b < IN_LANE_BYTES; b++)
            bytes[k * IN_LANE_BYTES + b] = (unsigned char)((unsigned long long)code >> (8 * b));
    }
}

static double unpack(const std::vector<unsigned char> &bytes, unsigned k) {
    unsigned long long raw = 0;
    for (unsigned b = 0; b < OUT_LANE_BYTES; b++)
        raw |= (unsigned long long)bytes[k * OUT_LANE_BYTES + b] << (8 * b);
    long long code = (long long)raw;
    if (OUT_SIGNED && (raw >> (8 * OUT_LANE_BYTES - 1)) & 1)
        code -= 1LL << (8 * OUT_LANE_BYTES);
    return std::ldexp((double)code, -(int)OUT_FRAC);
}

// The weight frame from its file through the top; 0 when loaded, else the exit status.
static int load_weights(const char *path) {
    const unsigned long want = ${name}_axi_weight_bytes();
    if (want == 0)
        return 0;
    std::ifstream file(path, std::ios::binary);
    if (!file.is_open()) {
        std::cerr << "attendnets-axi: cannot open the weight frame " << path << std::endl;
        return 2;
    }
    std::vector<unsigned char> frame((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::vector<unsigned char> answer(${width} / 8);
    int got = ${name}_axi_load(frame.data(), frame.size(), answer.data(), answer.size());
    unsigned long long read = 0;
    for (unsigned b = 0; b < answer.size() && b < 8; b++)
        read |= (unsigned long long)answer[b] << (8 * b);
    if (got != (int)answer.size()) {
        std::printf("attendnets-axi: weight frame %s (%lu bytes): ${name}_axi_load returned %d (the bridge's "
                    "error codes); it takes exactly %lu bytes\n", path, (unsigned long)frame.size(), got, want);
        return 1;
    }
    if (read * answer.size() != want) {
        std::printf("attendnets-axi: weight frame %s (%lu bytes): the top read %llu words; it takes exactly %lu "
                    "words\n", path, (unsigned long)frame.size(), read, want / answer.size());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *inputs_path = argc > 1 ? argv[1] : "tb_data/tb_input_features.dat";
    const char *expected_path = argc > 2 ? argv[2] : "tb_data/tb_output_predictions.dat";
    const char *results_path = argc > 3 ? argv[3] : "tb_data/axi_results.log";
    const char *weights_path = argc > 4 ? argv[4] : "${weights_file}";
    std::ifstream inputs(inputs_path), expected(expected_path);
    std::ofstream results(results_path);
    if (!inputs.is_open() || !expected.is_open() || !results.is_open()) {
        std::cerr << "attendnets-axi: cannot open " << inputs_path << ", " << expected_path << " or " << results_path
                  << std::endl;
        return 2;
    }
    const int loaded = load_weights(weights_path);
    if (loaded != 0)
        return loaded;
    std::vector<double> in, want;
    std::vector<unsigned char> in_bytes(${name}_axi_in_bytes()), out_bytes(${name}_axi_out_bytes());
    unsigned samples = 0, mismatched = 0;
    while (read_line(inputs, in) && read_line(expected, want)) {
        if (in.size() != N_IN || want.size() != N_OUT) {
            std::cerr << "attendnets-axi: sample " << samples << " has " << in.size() << " inputs and " << want.size()
                      << " outputs; the accelerator takes " << N_IN << " and gives " << N_OUT << std::endl;
            return 2;
        }
        std::fill(in_bytes.begin(), in_bytes.end(), 0);
        pack(in, in_bytes);
        int got = ${name}_axi_run(in_bytes.data(), in_bytes.size(), out_bytes.data(), out_bytes.size());
        if (got != (int)out_bytes.size()) {
            std::printf("attendnets-axi: sample %u: ${name}_axi_run returned %d\n", samples, got);
            return 1;
        }
        char text[32];
        for (unsigned i = 0; i < N_OUT; i++) {
            double value = unpack(out_bytes, i);
            std::snprintf(text, sizeof text, "%.17g", value);
            results << text << (i + 1 < N_OUT ? " " : "\n");
            mismatched += value != want[i];
        }
        samples++;
    }
    std::printf("attendnets-axi: samples=%u outputs=%u mismatched=%u\n", samples, samples * N_OUT, mismatched);
    return samples > 0 && mismatched == 0 ? 0 : 1;
}
