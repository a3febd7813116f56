// Bit-exact C simulation test bench of {project}, written by attendnets from hw/hls/templates/testbench.cpp.
// It replaces hls4ml's test bench, whose log prints 6 significant digits: this one prints every output
// exactly (%.17g of a value with at most 53 significant bits) and compares it with the software model.
//
//   {project}_test [inputs expected results]      (defaults: tb_data/tb_input_features.dat,
//                                                   tb_data/tb_output_predictions.dat, tb_data/csim_results.log)
// Exit status: 0 when every output equals the expected value, 1 otherwise, 2 on unreadable files.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "firmware/{project}.h"
#include "firmware/nnet_utils/nnet_helpers.h"
{weight_includes}
namespace nnet {{
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
}} // namespace nnet

static const unsigned N_IN = {n_in};
static const unsigned N_OUT = {n_out};
static const double OUTPUT_LSB = {output_lsb};

template <class T> void collect(hls::stream<T> &stream, double out[N_OUT]) {{
    for (unsigned i = 0; i < N_OUT / T::size; i++) {{
        T pack = stream.read();
        for (unsigned j = 0; j < T::size; j++)
            out[i * T::size + j] = pack[j].to_double();
    }}
}}

template <class T> void collect(T array[N_OUT], double out[N_OUT]) {{
    for (unsigned i = 0; i < N_OUT; i++)
        out[i] = array[i].to_double();
}}

{read_line}
int main(int argc, char **argv) {{
    const char *inputs_path = argc > 1 ? argv[1] : "tb_data/tb_input_features.dat";
    const char *expected_path = argc > 2 ? argv[2] : "tb_data/tb_output_predictions.dat";
    const char *results_path = argc > 3 ? argv[3] : "tb_data/csim_results.log";
    std::ifstream inputs(inputs_path), expected(expected_path);
    std::ofstream results(results_path);
    if (!inputs.is_open() || !expected.is_open() || !results.is_open()) {{
        std::cerr << "attendnets-csim: cannot open " << inputs_path << ", " << expected_path << " or " << results_path
                  << std::endl;
        return 2;
    }}
    std::vector<float> in;    // inputs are 8-bit pixels p/256: exact in float, as nnet::copy_data wants
    std::vector<double> want; // outputs can be wider than float's 24 bits
    unsigned samples = 0, mismatched = 0;
    double max_diff_lsb = 0;
    while (read_line(inputs, in) && read_line(expected, want)) {{
        if (in.size() != N_IN || want.size() != N_OUT) {{
            std::cerr << "attendnets-csim: sample " << samples << " has " << in.size() << " inputs and " << want.size()
                      << " expected outputs; the model takes " << N_IN << " and gives " << N_OUT << std::endl;
            return 2;
        }}
{declare_and_copy_input}
{declare_output}
        {project}({call_args});
        double got[N_OUT];
        collect({output_name}, got);
        char text[32];
        for (unsigned i = 0; i < N_OUT; i++) {{
            std::snprintf(text, sizeof text, "%.17g", got[i]);
            results << text << (i + 1 < N_OUT ? " " : "\n");
            const double diff = std::fabs(got[i] - want[i]) / OUTPUT_LSB;
            mismatched += diff != 0;
            max_diff_lsb = diff > max_diff_lsb ? diff : max_diff_lsb;
        }}
        samples++;
    }}
    std::printf("attendnets-csim: samples=%u outputs=%u mismatched=%u max_diff_lsb=%g\n", samples, samples * N_OUT,
                mismatched, max_diff_lsb);
    return samples > 0 && mismatched == 0 ? 0 : 1;
}}
