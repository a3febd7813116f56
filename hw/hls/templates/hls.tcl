# C synthesis and IP export of the AXI4-Stream top, written by attendnets from hw/hls/templates/hls.tcl.
# Run from the project folder:
#   Vitis HLS:  vitis-run --mode hls --tcl vendor/hls.tcl   (or: vitis_hls -f vendor/hls.tcl)
#   Vivado HLS: vivado_hls -f vendor/hls.tcl
# Steps: the vendor's C simulation of the AXI top on tb_data (the same test bench g++ runs), C
# synthesis, optional C/RTL co-simulation (ATTENDNETS_COSIM=1 in the environment), IP export into
# <hls_project>/solution1/impl/ip, which vendor/vivado.tcl adds to its IP catalog.
source [file join [file dirname [info script]] settings.tcl]

foreach src $hls_sources {
    if {![file exists $src]} {
        error "attendnets: $src is missing; run this script from the project folder"
    }
}
open_project -reset $hls_project
set_top $top
foreach src $hls_sources {
    add_files $src -cflags "-std=c++0x"
}
foreach src $hls_testbench {
    add_files -tb $src -cflags "-std=c++0x"
}
foreach data $hls_tb_data {
    add_files -tb $data
}
if {$hls_backend eq "vitis"} {
    open_solution -reset solution1 -flow_target vivado
} else {
    open_solution -reset solution1
}
set_part $part
create_clock -period $clock_ns -name default
set_clock_uncertainty $clock_uncertainty default
config_compile -name_max_length 80

csim_design
csynth_design
if {[info exists ::env(ATTENDNETS_COSIM)] && $::env(ATTENDNETS_COSIM) eq "1"} {
    cosim_design
}
export_design -format ip_catalog -vendor $ip_vendor -library $ip_library -version $ip_version \
    -display_name $top -description "attendnets accelerator $project_name (AXI4-Stream, ap_ctrl_none)"
exit
