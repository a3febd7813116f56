// One pointwise layer's multiply-accumulates, three ways, timed (hw/sim/mac_bench.py builds it).
//   MAC_FIXED   ap_fixed operands, ap_fixed accumulator: what hls4ml's resource kernel computes
//   MAC_INT     the same raw bits as ap_int/ap_uint operands and an ap_int accumulator
//   MAC_NATIVE  the same raw bits as uint8_t/int8_t operands and an int32_t accumulator
// Each prints ns per MAC, a checksum and the MAC count.  All three print the same checksum (the sum of every accumulator, in accumulator LSBs): the
// difference in time is the C model of the arbitrary-precision types, not the arithmetic.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include "ap_fixed.h"

static const int N_IN = 128, N_OUT = 128, PIXELS = 400;
typedef ap_ufixed<8, 0> data_t;   // a ReLU output
typedef ap_fixed<8, 1> weight_t;  // a quantized_bits(8, 0) kernel
typedef ap_fixed<23, 8> accum_t;  // exact for 128 products of 16 fraction bits

static uint8_t data_bits[PIXELS][N_IN];
static int8_t weight_bits[N_IN * N_OUT];

#if defined(MAC_FIXED)
static data_t x_all[PIXELS][N_IN];
static weight_t w[N_IN * N_OUT];
static void prepare() {
    for (int p = 0; p < PIXELS; p++)
        for (int i = 0; i < N_IN; i++) x_all[p][i].range() = data_bits[p][i];
    for (int k = 0; k < N_IN * N_OUT; k++) w[k].range() = (uint8_t)weight_bits[k];
}
#elif defined(MAC_INT)
static ap_uint<8> x_all[PIXELS][N_IN];
static ap_int<8> w[N_IN * N_OUT];
static void prepare() {
    for (int p = 0; p < PIXELS; p++)
        for (int i = 0; i < N_IN; i++) x_all[p][i] = data_bits[p][i];
    for (int k = 0; k < N_IN * N_OUT; k++) w[k] = weight_bits[k];
}
#else
static void prepare() {}
#endif

static long long pixel(int p) {
    long long sum = 0;
#if defined(MAC_FIXED)
    const data_t *x = x_all[p];
    accum_t acc[N_OUT];
    for (int j = 0; j < N_OUT; j++) acc[j] = 0;
    for (int i = 0; i < N_IN; i++)
        for (int j = 0; j < N_OUT; j++) acc[j] += x[i] * w[i * N_OUT + j];
    for (int j = 0; j < N_OUT; j++) sum += ap_int<23>(acc[j].range()).to_int64();
#elif defined(MAC_INT)
    const ap_uint<8> *x = x_all[p];
    ap_int<23> acc[N_OUT];
    for (int j = 0; j < N_OUT; j++) acc[j] = 0;
    for (int i = 0; i < N_IN; i++)
        for (int j = 0; j < N_OUT; j++) acc[j] += x[i] * w[i * N_OUT + j];
    for (int j = 0; j < N_OUT; j++) sum += acc[j].to_int64();
#elif defined(MAC_NATIVE)
    int32_t acc[N_OUT] = {0};
    for (int i = 0; i < N_IN; i++)
        for (int j = 0; j < N_OUT; j++) acc[j] += data_bits[p][i] * weight_bits[i * N_OUT + j];
    for (int j = 0; j < N_OUT; j++) sum += acc[j];
#else
#error "define MAC_FIXED, MAC_INT or MAC_NATIVE"
#endif
    return sum;
}

int main() {
    for (int p = 0; p < PIXELS; p++)
        for (int i = 0; i < N_IN; i++) data_bits[p][i] = (uint8_t)((p * 7 + i * 13) & 255);
    for (int k = 0; k < N_IN * N_OUT; k++) weight_bits[k] = (int8_t)((k * 31 + 5) & 255);
    prepare();
    long long checksum = 0;
    auto start = std::chrono::steady_clock::now();
    for (int p = 0; p < PIXELS; p++) checksum += pixel(p);
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    const long long macs = (long long)PIXELS * N_IN * N_OUT;
    std::printf("%.3f %lld %lld\n", ns / macs, checksum, macs);
    return 0;
}
