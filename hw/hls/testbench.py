"""Test-bench data and the bit-exact test bench of a project.

tb_data holds one sample per line, every value written with %.17g: inputs are 8-bit pixels
p/256 and outputs are the exact float64 reference, so the text is exact both ways.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

TEMPLATE = Path(__file__).parent / "templates" / "testbench.cpp"
READ_LINE = TEMPLATE.with_name("tb_rows.h")  # the C++ reader of tb_data, copied into every test bench
INPUTS, EXPECTED, LABELS, RESULTS = ("tb_input_features.dat", "tb_output_predictions.dat", "tb_labels.dat",
                                     "csim_results.log")


def write_rows(path: Path, rows) -> None:
    with open(path, "w") as f:
        for row in rows:
            f.write(" ".join(f"{v:.17g}" for v in np.asarray(row, np.float64).ravel()) + "\n")


class TbDataError(ValueError):
    """A damaged tb_data file; the message names the file and the line."""


def read_rows(path: Path) -> np.ndarray:
    """One row per non-empty line, every row the same length; TbDataError naming the file and line otherwise."""
    rows = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append([float(v) for v in line.split()])
            except ValueError:
                raise TbDataError(f"{path}: line {number} is not a row of numbers ({line[:40]!r}); "
                                  "generate the project again") from None
            if len(rows[-1]) != len(rows[0]):
                raise TbDataError(f"{path}: line {number} has {len(rows[-1])} values, line 1 has {len(rows[0])}; "
                                  "generate the project again")
    return np.array(rows)


def write_tb_data(project: Path, images: np.ndarray, expected: np.ndarray, labels=None) -> None:
    tb = project / "tb_data"
    tb.mkdir(exist_ok=True)
    for name in (INPUTS, EXPECTED, LABELS):
        (tb / name).unlink(missing_ok=True)
    write_rows(tb / INPUTS, images.reshape(len(images), -1))
    write_rows(tb / EXPECTED, expected.reshape(len(expected), -1))
    if labels is not None:
        (tb / LABELS).write_text("".join(f"{int(label)}\n" for label in labels))


def read_tb_data(project: Path):
    """(inputs, expected outputs, labels or None) of tb_data, checked to hold one row per image each."""
    tb = Path(project) / "tb_data"
    for name in (INPUTS, EXPECTED):
        if not (tb / name).is_file():
            raise TbDataError(f"{tb / name}: missing; generate the project again")
    inputs, expected = read_rows(tb / INPUTS), read_rows(tb / EXPECTED)
    labels = read_rows(tb / LABELS).ravel() if (tb / LABELS).exists() else None
    if labels is not None and not np.array_equal(labels, np.round(labels)):
        raise TbDataError(f"{tb / LABELS}: expected whole class numbers; generate the project again")
    counts = {name: len(rows) for name, rows in ((INPUTS, inputs), (EXPECTED, expected), (LABELS, labels))
              if rows is not None}
    if len(set(counts.values())) != 1 or not counts[INPUTS]:
        raise TbDataError(f"{tb}: {', '.join(f'{n} rows in {k}' for k, n in counts.items())}; expected the same "
                          "number, at least 1; generate the project again")
    return inputs, expected, None if labels is None else labels.astype(np.int64)


def as_images(rows: np.ndarray, shape, project: Path) -> np.ndarray:
    """tb_data's input rows as images of the project's input shape, or TbDataError naming the file."""
    if rows.shape[1] != int(np.prod(shape)):
        raise TbDataError(f"{Path(project) / 'tb_data' / INPUTS}: rows of {rows.shape[1]} values, the model's input "
                          f"{'x'.join(map(str, shape))} needs {int(np.prod(shape))}; generate the project again")
    return rows.reshape(-1, *shape)


def render(hls_model, project_name: str, output_lsb: float) -> str:
    """The test bench source for this model's top function, io type and variable names."""
    stream = hls_model.config.get_config_value("IOType") == "io_stream"
    inp = hls_model.get_input_variables()[0]
    out = hls_model.get_output_variables()[0]
    n_in, n_out = int(np.prod(inp.shape)), int(np.prod(out.shape))
    if stream:
        declare_in = (f'        hls::stream<{inp.type.name}> {inp.name}("{inp.name}");\n'
                      f"        nnet::copy_data<float, {inp.type.name}, 0, N_IN>(in, {inp.name});")
        declare_out = f'        hls::stream<{out.type.name}> {out.name}("{out.name}");'
    else:
        declare_in = (f"        {inp.type.name} {inp.name}[N_IN];\n"
                      f"        nnet::copy_data<float, {inp.type.name}, 0, N_IN>(in, {inp.name});")
        declare_out = f"        {out.type.name} {out.name}[N_OUT];"
    # weights the network takes as arguments (storage uram, hw/hls/layers/uram_weights.py): the header's
    # array, which the network fills from its .txt at its first call, as in hls4ml's own test bench
    from hw.hls.layers.uram_weights import external_weights

    external = [v.name for v in external_weights(hls_model)]
    return TEMPLATE.read_text().format(
        project=project_name, n_in=n_in, n_out=n_out, output_lsb=repr(float(output_lsb)),
        weight_includes="".join(f'#include "firmware/weights/{w}.h"\n' for w in external),
        declare_and_copy_input=declare_in, declare_output=declare_out,
        call_args=", ".join([inp.name, out.name, *external]),
        output_name=out.name, read_line=READ_LINE.read_text())
