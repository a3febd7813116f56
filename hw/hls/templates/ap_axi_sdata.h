// Stand-in for the vendor's ap_axi_sdata.h, for plain g++ only (written by attendnets from
// hw/hls/templates/ap_axi_sdata.h).  hls4ml does not ship the header with its ap_types, so the
// project's g++ builds add this folder to the include path; the vendor Tcl never does, and the HLS
// tools use their own header.  Same members as theirs: ap_axiu<D, 0, 0, 0> carries data, keep, strb
// and last; with side channels also user, id and dest.
#ifndef ATTENDNETS_GXX_AP_AXI_SDATA_H_
#define ATTENDNETS_GXX_AP_AXI_SDATA_H_

#if defined(__SYNTHESIS__) || defined(__VITIS_HLS__) || defined(__VIVADO_HLS__)
#error "attendnets' g++ stand-in for ap_axi_sdata.h reached an HLS tool: use the tool's own header"
#endif

#include "ap_int.h"

template <int D, int U, int TI, int TD> struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<U> user;
    ap_uint<1> last;
    ap_uint<TI> id;
    ap_uint<TD> dest;
};

template <int D> struct ap_axiu<D, 0, 0, 0> {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};

#endif
