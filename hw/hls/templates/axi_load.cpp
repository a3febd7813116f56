
// Run-time weights (written from hw/hls/templates/axi_load.cpp): ${memory_count} weight array(s) live in
// URAM, which takes no initial contents from the bitstream (UG901), so this top owns them, zero at
// power-up, and fills them from the weight frame: the first input frame after reset, WEIGHT_WORDS
// words with TLAST on the last (hw/vivado/README.md, "Run-time weights").  Each array's rows (its
// layer's weight_rows layout) start a word each, their codes in lanes as the input port packs them.
// The top answers the frame with one output word, TLAST set: the number of words it read up to
// and including the frame's TLAST.  Only a frame of exactly WEIGHT_WORDS words, TLAST on the last,
// loads the weights; any other is read to its TLAST and answered the same way, and the top waits
// for a weight frame again.  After that every frame is an image, as without run-time weights.

// One array: ROWS rows of ROW_ELEMENTS codes of BITS bits in LANE-bit lanes, a row ROW_WORDS words.
// A row is gathered in registers and written as one memory word (the array is reshaped by rows).
template <class T, unsigned ROWS, unsigned ROW_ELEMENTS, unsigned LANE, unsigned BITS>
static void load_memory(hls::stream<word_t> &in_stream, T memory[ROWS * ROW_ELEMENTS], unsigned &words,
                        bool &last) {
    const unsigned LANES = WIDTH / LANE, ROW_WORDS = (ROW_ELEMENTS + LANES - 1) / LANES;
LoadRows:
    for (unsigned r = 0; r < ROWS; r++) {
        T row[ROW_WORDS * LANES];
        #pragma HLS ARRAY_PARTITION variable=row complete
    LoadRowWords:
        for (unsigned k = 0; k < ROW_WORDS; k++) {
            #pragma HLS PIPELINE
            word_t word;
            word.data = 0;
            if (!last) { // after an early TLAST the rest is zeros and the frame is refused
                word = in_stream.read();
                words++;
                last = word.last;
            }
            for (unsigned j = 0; j < LANES; j++) {
                #pragma HLS UNROLL
                row[k * LANES + j].range(BITS - 1, 0) = word.data.range(j * LANE + BITS - 1, j * LANE);
            }
        }
    LoadRowWrite:
        for (unsigned e = 0; e < ROW_ELEMENTS; e++) {
            #pragma HLS UNROLL
            memory[r * ROW_ELEMENTS + e] = row[e];
        }
    }
}

// The weight frame: every array in turn, the rest up to TLAST dropped, one answer word.
static bool load_weights(hls::stream<word_t> &in_stream, hls::stream<word_t> &out_stream, ${weight_params}) {
    unsigned words = 0;
    bool last = false;
${load_calls}
    words += drain(in_stream, last);
    word_t answer;
    answer.data = words;
    answer.keep = -1;
    answer.strb = -1;
    answer.last = 1;
    out_stream.write(answer);
    return words == WEIGHT_WORDS;
}

void ${name}_axi(hls::stream<word_t> &in_stream, hls::stream<word_t> &out_stream) {
    #pragma HLS INTERFACE axis port=in_stream
    #pragma HLS INTERFACE axis port=out_stream
    #pragma HLS INTERFACE ap_ctrl_none port=return
    // static: kept between frames, and zero at start in C simulation as URAM is at power-up, so only
    // a working load gives the network its weights
${weight_declarations}
    static bool loaded = false;
    if (!loaded) {
        loaded = load_weights(in_stream, out_stream, ${weight_names});
    } else {
        stream_frames(in_stream, out_stream, ${weight_names});
    }
}
