// One row of a tb_data file (hw/hls/testbench.py writes one sample a line, every value %.17g),
// converted to T; false at the end of the file.  The one reader of that format in C++: render()
// of hw/hls/testbench.py, hw/hls/accelerator.py (the AXI test bench) and hw/sim/threaded.py copy
// this text into the test benches they write, so each stays one self-contained file (the project
// gains no file, its Tcl no entry).
template <class T> bool read_line(std::ifstream &file, std::vector<T> &values) {
    std::string line;
    if (!std::getline(file, line))
        return false;
    std::istringstream tokens(line);
    values.clear();
    double v;
    while (tokens >> v)
        values.push_back(v);
    return true;
}
