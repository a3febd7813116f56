"""YAML as every reader in this package reads it: safe, strict and bounded.

``yaml.safe_load`` lets the last of two equal keys win without a word (``reuse: 64`` then
``reuse: 1`` builds with 1) and expands aliases without limit (a "billion laughs" file of a few
hundred bytes stands for 10^9 nodes, which any traversal, dump or validation then walks).  Here a
repeated key is an error naming the key and both lines, and a document whose aliases expand to
more than MAX_NODES nodes, or refer to themselves, is refused before it is constructed.

Errors are ``yaml.YAMLError`` subclasses, so each reader's existing "<file>: not valid YAML: ..."
wrapping names the file.  Only PyYAML is imported: the host package (numpy only, no TensorFlow)
uses this module too.
"""
from __future__ import annotations

from pathlib import Path

import yaml

MAX_NODES = 100_000   # nodes once aliases are expanded; the largest file the package writes has a few thousand
MAX_BYTES = 16 * 2 ** 20
MERGE_TAG = "tag:yaml.org,2002:merge"
YAMLError = yaml.YAMLError   # what every error of load() is, for readers that do not import yaml themselves


class StrictYAMLError(yaml.YAMLError):
    """A document PyYAML would accept that this package refuses; the message says why and where."""


class _Loader(yaml.SafeLoader):
    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            _check_duplicates(self, node)
        return super().construct_mapping(node, deep=deep)


def _check_duplicates(loader: _Loader, node: yaml.MappingNode) -> None:
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == MERGE_TAG:   # '<<: *base' merges; the mapping's own keys override those by design
            continue
        key, where = loader.construct_object(key_node, deep=True), _line(key_node)
        try:
            first = seen.setdefault(key, where)
        except TypeError:   # an unhashable key: PyYAML's own error names it
            continue
        if first is not where:
            shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else key
            raise StrictYAMLError(f"duplicate key {shown!r} on {first} and again on {where} (a key may appear once "
                                  "in a mapping; the second would silently replace the first)")


def _line(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes the document stands for with every alias expanded, without expanding it."""
    size, on_path = {}, set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            on_path.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in _children(node))
            if size[id(node)] > MAX_NODES:
                raise StrictYAMLError(f"more than {MAX_NODES:,} nodes once its aliases (*name) are expanded, "
                                      f"counting from line {node.start_mark.line + 1}: refused unexpanded "
                                      "(an alias bomb?); write the values out or use fewer aliases")
            continue
        if id(node) in size:
            continue
        if id(node) in on_path:
            raise StrictYAMLError(f"line {node.start_mark.line + 1}: an alias refers to the node that contains it "
                                  "(a recursive structure); the package reads only finite trees")
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def loads(text: str):
    """The one document in ``text``, strictly (see the module's docstring)."""
    try:
        return yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise StrictYAMLError("nested too deeply for the YAML reader (thousands of levels); "
                              "no file of this package nests like that") from None


def load(path):
    """The one document in the file ``path``; UnicodeDecodeError and OSError propagate as from read_text.
    Devices and pipes (``/dev/zero`` would be read forever) and files over MAX_BYTES are refused unread."""
    path = Path(path)
    if path.exists() and not path.is_dir() and not path.is_file():
        raise StrictYAMLError("not a regular file (a device, pipe or socket); expected a .yaml file")
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise StrictYAMLError(f"larger than {MAX_BYTES // 2 ** 20} MiB; the largest file the package writes is a few "
                              "hundred KiB")
    return loads(data.decode("utf-8"))
