// Weights of ${name}'s simulated-board library, written by hw.sim.axi from
// hw/sim/templates/axi_weights.h into build/ (never into the project) and force-included (-include)
// into every object of that g++ build only; the vendor tools never see it.
//
// hls4ml's C simulation reads each weight array from WEIGHTS_DIR/<w>.txt at the network's first
// call (nnet::load_weights_from_txt).  Here WEIGHTS_DIR is a function of the library, so the
// library does not depend on where the project was: its weights are compiled in (<name>_axi_weights.cpp).
#ifndef ${NAME}_AXI_WEIGHTS_H_
#define ${NAME}_AXI_WEIGHTS_H_

#define ATTENDNETS_GXX_WEIGHTS 1
#define WEIGHTS_DIR ${name}_axi_weights_dir()

const char *${name}_axi_weights_dir();
// before the network's first call: the weights where the loader will find them (0), or -8
int ${name}_axi_weights_ready();
// after it: the network holds its weights; the temporary copy is removed
void ${name}_axi_weights_loaded();
// optional, before the first run: read the weights from this folder instead (0, or -8 if a file is missing)
extern "C" int ${name}_axi_set_weights_dir(const char *dir);

#endif
