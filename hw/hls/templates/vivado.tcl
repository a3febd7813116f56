# Block design, synthesis, implementation and bitstream, written by attendnets from
# hw/hls/templates/vivado.tcl.  Run from the project folder after vendor/hls.tcl:
#   vivado -mode batch -nojournal -nolog -source vendor/vivado.tcl -tclargs JOBS
# The design: the processing system with its board preset, the fabric clock at the HLS clock,
# AXI DMA (simple mode) whose MM2S/S2MM streams feed the accelerator and whose memory side reaches
# DDR through an HP port, the DMA's registers behind a PS master, one reset for the fabric.
# Results: bitstream/<project>.bit and .hwh (same base name, as PYNQ wants), reports/vivado_*_routed.rpt.
source [file join [file dirname [info script]] settings.tcl]
set jobs [expr {[llength $::argv] > 0 ? [lindex $::argv 0] : 2}]
set ip_repo $hls_project/solution1/impl/ip
if {![file isdirectory $ip_repo]} {
    error "attendnets: no exported HLS IP in $ip_repo; run vendor/hls.tcl first"
}

proc latest_ipdef {name} {
    set found [lsort -dictionary [get_ipdefs -all -filter "VLNV =~ ${name}:*"]]
    if {![llength $found]} {
        error "attendnets: IP $name is not in Vivado's catalog"
    }
    return [lindex $found end]
}

proc pick_board_part {wanted} {
    if {[llength [get_board_parts -quiet $wanted]]} {
        return $wanted
    }
    set family [join [lrange [split $wanted :] 0 2] :]
    set newer [get_board_parts -quiet -latest_file_version "${family}:*"]
    if {![llength $newer]} {
        error "attendnets: board files for $wanted are not installed (Vivado's board store, or the board vendor's repository)"
    }
    return [lindex $newer 0]
}

create_project -force $vivado_project $vivado_project -part $part
set_property board_part [pick_board_part $board_part] [current_project]
if {[dict size $board_connections]} {
    set_property board_connections $board_connections [current_project]
}
set_property ip_repo_paths [list $ip_repo] [current_project]
update_ip_catalog
create_bd_design $bd_name

# processing system: board preset first, then exactly the ports and clock this design uses
set ps [create_bd_cell -type ip -vlnv [latest_ipdef $ps_ip] $ps_instance]
apply_bd_automation -rule $ps_automation -config $ps_automation_config $ps
set_property -dict [concat $ps_properties [list CONFIG.$ps_clock_mhz_property $fclk_mhz \
    CONFIG.$ps_hp_width_property $dma_width]] $ps

set dma [create_bd_cell -type ip -vlnv [latest_ipdef xilinx.com:ip:axi_dma] $dma_instance]
set_property -dict [list CONFIG.c_include_sg 0 CONFIG.c_sg_length_width $dma_length_width \
    CONFIG.c_include_mm2s 1 CONFIG.c_include_s2mm 1 \
    CONFIG.c_m_axi_mm2s_data_width $dma_width CONFIG.c_m_axis_mm2s_tdata_width $dma_width \
    CONFIG.c_m_axi_s2mm_data_width $dma_width CONFIG.c_s_axis_s2mm_tdata_width $dma_width \
    CONFIG.c_mm2s_burst_size 64 CONFIG.c_s2mm_burst_size 64] $dma
set accelerator [create_bd_cell -type ip -vlnv $accelerator_vlnv $accelerator_instance]
set reset [create_bd_cell -type ip -vlnv [latest_ipdef xilinx.com:ip:proc_sys_reset] rst_fabric]
set smc_ctrl [create_bd_cell -type ip -vlnv [latest_ipdef xilinx.com:ip:smartconnect] smc_ctrl]
set_property -dict [list CONFIG.NUM_SI 1 CONFIG.NUM_MI 1] $smc_ctrl
set smc_mem [create_bd_cell -type ip -vlnv [latest_ipdef xilinx.com:ip:smartconnect] smc_mem]
set_property -dict [list CONFIG.NUM_SI 2 CONFIG.NUM_MI 1] $smc_mem

# one clock (the PS fabric clock) and one reset for everything in the fabric
connect_bd_net [get_bd_pins $ps_instance/$ps_clock_pin] \
    [get_bd_pins $ps_instance/$ps_master_clock_pin] [get_bd_pins $ps_instance/$ps_hp_clock_pin] \
    [get_bd_pins $dma_instance/s_axi_lite_aclk] [get_bd_pins $dma_instance/m_axi_mm2s_aclk] \
    [get_bd_pins $dma_instance/m_axi_s2mm_aclk] [get_bd_pins $accelerator_instance/ap_clk] \
    [get_bd_pins rst_fabric/slowest_sync_clk] [get_bd_pins smc_ctrl/aclk] [get_bd_pins smc_mem/aclk]
connect_bd_net [get_bd_pins $ps_instance/$ps_reset_pin] [get_bd_pins rst_fabric/ext_reset_in]
connect_bd_net [get_bd_pins rst_fabric/peripheral_aresetn] [get_bd_pins $dma_instance/axi_resetn] \
    [get_bd_pins $accelerator_instance/ap_rst_n] [get_bd_pins smc_ctrl/aresetn] [get_bd_pins smc_mem/aresetn]

# registers: PS master -> DMA; data: DMA <-> DDR through the HP port, DMA <-> accelerator streams
connect_bd_intf_net [get_bd_intf_pins $ps_instance/$ps_master] [get_bd_intf_pins smc_ctrl/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins smc_ctrl/M00_AXI] [get_bd_intf_pins $dma_instance/S_AXI_LITE]
connect_bd_intf_net [get_bd_intf_pins $dma_instance/M_AXI_MM2S] [get_bd_intf_pins smc_mem/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins $dma_instance/M_AXI_S2MM] [get_bd_intf_pins smc_mem/S01_AXI]
connect_bd_intf_net [get_bd_intf_pins smc_mem/M00_AXI] [get_bd_intf_pins $ps_instance/$ps_hp_port]
connect_bd_intf_net [get_bd_intf_pins $dma_instance/M_AXIS_MM2S] [get_bd_intf_pins $accelerator_instance/$accelerator_in]
connect_bd_intf_net [get_bd_intf_pins $accelerator_instance/$accelerator_out] [get_bd_intf_pins $dma_instance/S_AXIS_S2MM]

assign_bd_address
validate_bd_design
save_bd_design
add_files -norecurse [make_wrapper -files [get_files ${bd_name}.bd] -top]
set_property top ${bd_name}_wrapper [current_fileset]
update_compile_order -fileset sources_1

foreach {run step} {synth_1 {} impl_1 write_bitstream} {
    if {$step eq ""} {
        launch_runs $run -jobs $jobs
    } else {
        launch_runs $run -to_step $step -jobs $jobs
    }
    wait_on_run $run
    if {[get_property PROGRESS [get_runs $run]] ne "100%"} {
        error "attendnets: $run failed; see $vivado_project/${vivado_project}.runs/$run/runme.log"
    }
}
open_run impl_1
file mkdir reports bitstream
# named <tool>_<report>_<stage>.rpt, as hw.estimate.vendor_reports (attendnets report) looks for them
report_utilization -file reports/vivado_utilization_routed.rpt
report_utilization -hierarchical -file reports/vivado_utilization_hierarchical_routed.rpt
report_timing_summary -file reports/vivado_timing_summary_routed.rpt

set bit [glob -nocomplain $vivado_project/${vivado_project}.runs/impl_1/${bd_name}_wrapper.bit]
set hwh [glob -nocomplain $vivado_project/${vivado_project}.gen/sources_1/bd/$bd_name/hw_handoff/${bd_name}.hwh \
    $vivado_project/${vivado_project}.srcs/sources_1/bd/$bd_name/hw_handoff/${bd_name}.hwh]
if {![llength $bit] || ![llength $hwh]} {
    error "attendnets: no bitstream or no .hwh under $vivado_project after write_bitstream"
}
file copy -force [lindex $bit 0] bitstream/${project_name}.bit
file copy -force [lindex $hwh 0] bitstream/${project_name}.hwh
