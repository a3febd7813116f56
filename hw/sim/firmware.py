"""The firmware csim compiles must be the firmware synthesis reads.

hls4ml writes every weight array twice: ``firmware/weights/<w>.txt``, which the C simulation
loads at run time (``nnet::load_weights_from_txt`` under ``#ifndef __SYNTHESIS__``), and the
initialiser in ``firmware/weights/<w>.h`` (the ``#else`` branch), which is what synthesis
builds into the hardware.  A hand-edited ``.h`` would otherwise still C-simulate as EXACT:
``check_weights`` parses both forms and refuses to go on unless they hold the same numbers.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

# the synthesis initialiser: '<type> <name>[<n>] = {v, v, ...};' (the only '= {' in the file)
_INITIALISER = re.compile(r"\b(\w+)\s*\[\s*(\d+)\s*\]\s*=\s*\{([^}]*)\}\s*;")


class FirmwareMismatch(ValueError):
    """The two weight forms of a project differ, or one of them is missing or unreadable."""


def _numbers(text: str, path: Path, what: str) -> np.ndarray:
    tokens = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    try:
        return np.array([float(t) for t in tokens], np.float64)
    except ValueError as err:
        raise FirmwareMismatch(f"{path}: the {what} holds a token that is not a number ({err})") from None


def header_values(path: Path) -> np.ndarray:
    """The values of the synthesis initialiser in a weight header."""
    found = _INITIALISER.findall(Path(path).read_text())
    if len(found) != 1:
        raise FirmwareMismatch(f"{path}: expected one initialised array '<type> <name>[N] = {{...}};' "
                               f"(the form synthesis reads), found {len(found)}")
    _, size, body = found[0]
    values = _numbers(body, path, "initialiser")
    if len(values) != int(size):
        raise FirmwareMismatch(f"{path}: the array is declared with {size} elements but initialised with {len(values)}")
    return values


def text_values(path: Path) -> np.ndarray:
    """The values of a weight text file (one line, comma separated), as load_weights_from_txt reads it."""
    lines = Path(path).read_text().splitlines()
    return _numbers(lines[0] if lines else "", path, "first line")


def check_weights(project) -> dict:
    """Both weight forms of every array are present and identical; {"arrays": n, "values": total}.

    Raises FirmwareMismatch naming the file and the first differing index otherwise."""
    folder = Path(project) / "firmware" / "weights"
    if not folder.is_dir():
        raise FirmwareMismatch(f"{folder}: no weights folder; regenerate the project with 'attendnets generate'")
    texts = {p.stem: p for p in folder.glob("*.txt")}
    headers = {p.stem: p for p in folder.glob("*.h")}
    lonely = sorted(set(texts) ^ set(headers))
    if lonely:
        missing = [f"{n}.h" if n in texts else f"{n}.txt" for n in lonely]
        raise FirmwareMismatch(f"{folder}: {', '.join(missing)} missing: every weight needs both its .txt "
                               "(C simulation) and its .h (synthesis)")
    total = 0
    for stem in sorted(texts):
        txt, hdr = text_values(texts[stem]), header_values(headers[stem])
        if len(txt) != len(hdr):
            raise FirmwareMismatch(f"{texts[stem]} holds {len(txt)} values but {headers[stem]} initialises {len(hdr)}")
        differ = np.flatnonzero(txt != hdr)
        if differ.size:
            i = int(differ[0])
            raise FirmwareMismatch(
                f"{headers[stem]} differs from {texts[stem].name} at index {i} ({hdr[i]!r} vs {txt[i]!r}; "
                f"{differ.size} values differ): synthesis would build other weights than csim simulates; "
                "regenerate the project, or make both files hold the same values")
        total += len(txt)
    return {"arrays": len(texts), "values": total}
