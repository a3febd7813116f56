// Threaded C simulation of ${project}, written by attendnets (hw/sim/threaded.py) from hls4ml's model
// of the project: the same kernel calls as firmware/${project}.cpp, each dataflow process in its own
// thread, the streams between them bounded to the depths of the project's #pragma HLS STREAM lines
// (templates/bounded_stream/hls_stream.h replaces the unbounded ap_types model).  The project's own
// top function is compiled in too (--sequential): one build gives both runs, and the kernels are
// instantiated once for both.
//
//   ${project}_threaded INPUTS RESULTS [--sequential] [--depth STREAM=N ...] [--timeout-ms T]
// INPUTS: one image per line (%.17g values); RESULTS: one output row per image (%.17g).
// --sequential: firmware/${project}.cpp's top function in this thread, every stream unbounded (as C
// simulation runs it), instead of the threaded dataflow.
// Prints 'PEAK <stream> <depth> <most held>' for every bounded stream when all images finish.
// Exit status: 0 finished, 2 bad arguments or files, 3 deadlock, 4 no progress for T ms,
// 5 a read of an empty stream outside the threaded dataflow (it would wait forever).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "firmware/${project}.cpp"
${external_weights}
namespace nnet {
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
} // namespace nnet

static const unsigned N_IN = ${n_in};
static const unsigned N_OUT = ${n_out};

// depth of every stream between two processes, as the project declares it
static std::map<std::string, size_t> depth_of = {
${depths}
};

static void load_weights() {
    static bool loaded = false;
    if (loaded)
        return;
${load_weights}
    loaded = true;
}

static void dataflow(hls::stream<${input_type}> &${input_name}, hls::stream<${output_type}> &${output_name},
                     long timeout_ms) {
${streams}
    attendnets_sim::Network net(${n_processes});
${processes}
    net.run(timeout_ms);
}

${read_line}
static int usage(const char *why) {
    std::cerr << "attendnets-threaded: " << why << "\nusage: ${project}_threaded INPUTS RESULTS [--sequential] "
              << "[--depth STREAM=N ...] [--timeout-ms T]" << std::endl;
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return usage("INPUTS and RESULTS are required");
    long timeout_ms = 60000;
    bool sequential = false;
    for (int i = 3; i < argc; i++) {
        if (!std::strcmp(argv[i], "--sequential")) {
            sequential = true;
        } else if (!std::strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
            timeout_ms = std::atol(argv[++i]);
        } else if (!std::strcmp(argv[i], "--depth") && i + 1 < argc) {
            std::string spec = argv[++i];
            size_t eq = spec.find('=');
            if (eq == std::string::npos || !depth_of.count(spec.substr(0, eq)) || std::atol(spec.c_str() + eq + 1) < 1)
                return usage(("--depth " + spec + ": expected STREAM=N, N >= 1, STREAM a stream between processes").c_str());
            depth_of[spec.substr(0, eq)] = std::atol(spec.c_str() + eq + 1);
        } else {
            return usage((std::string("unknown argument ") + argv[i]).c_str());
        }
    }
    std::ifstream inputs(argv[1]);
    std::ofstream results(argv[2]);
    if (!inputs.is_open() || !results.is_open())
        return usage("cannot open INPUTS or RESULTS");
    if (!sequential)
        load_weights(); // the project's top loads them itself on its first call
    std::vector<double> in;
    unsigned samples = 0;
    while (read_line(inputs, in)) {
        if (in.size() != N_IN)
            return usage("an input row does not hold the model's input size");
        hls::stream<${input_type}> ${input_name}("${input_name}");
        hls::stream<${output_type}> ${output_name}("${output_name}");
        nnet::convert_data<double, ${input_type}, N_IN>(in.data(), ${input_name});
        if (sequential)
            ${project}(${input_name}, ${output_name}${external_args});
        else
            dataflow(${input_name}, ${output_name}, timeout_ms);
        double got[N_OUT];
        nnet::convert_data<${output_type}, double, N_OUT>(${output_name}, got);
        char text[32];
        for (unsigned i = 0; i < N_OUT; i++) {
            std::snprintf(text, sizeof text, "%.17g", got[i]);
            results << text << (i + 1 < N_OUT ? " " : "\n");
        }
        results.flush();
        samples++;
    }
    for (const attendnets_sim::Peak &p : attendnets_sim::monitor().peaks)
        std::printf("PEAK %s %zu %zu\n", p.name.c_str(), p.depth, p.peak);
    return samples ? 0 : usage("INPUTS holds no image");
}
