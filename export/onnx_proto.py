"""Just enough of the protobuf wire format to audit an ONNX file without the ``onnx`` package:
list every tensor's external-data location (initializers, Constant attributes, subgraphs,
functions, training info) and the model's opset imports. The torch-free loader uses it to refuse
external data that points outside the export folder before onnxruntime ever opens a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jen_core.errors import JenError

# field numbers from onnx.proto
_MODEL = {7: "graph", 20: "training", 25: "function"}
_GRAPH = {1: "node", 5: "tensor", 15: "sparse"}
_NODE = {5: "attribute"}
_ATTRIBUTE = {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"}
_SPARSE = {1: "tensor", 2: "tensor"}
_FUNCTION = {7: "node"}
_TRAINING = {1: "graph", 2: "graph"}
_KINDS = {"graph": _GRAPH, "node": _NODE, "attribute": _ATTRIBUTE, "sparse": _SPARSE, "function": _FUNCTION,
          "training": _TRAINING}
_MAX_DEPTH = 64


@dataclass
class OnnxAudit:
    """What a model file refers to: ``external`` (tensor name, location) pairs and ``opsets`` {domain: version}."""

    external: list[tuple[str, str]] = field(default_factory=list)
    opsets: dict[str, int] = field(default_factory=dict)


def audit_onnx(path: Path) -> OnnxAudit:
    """Parse ``path`` (an ONNX ModelProto) and collect external-data locations and opsets; JenError if malformed."""
    data = memoryview(path.read_bytes())
    out = OnnxAudit()
    try:
        for num, wire, value in _fields(data):
            if num == 8 and wire == 2:  # opset_import
                domain, version = "", 0
                for n, w, v in _fields(value):  # type: ignore[arg-type]
                    if n == 1 and w == 2:
                        domain = bytes(v).decode("utf-8", "replace")  # type: ignore[arg-type]
                    elif n == 2 and w == 0:
                        version = int(v)  # type: ignore[arg-type]
                out.opsets[domain or "ai.onnx"] = version
            elif num in _MODEL and wire == 2:
                _walk(_MODEL[num], value, out, 0)  # type: ignore[arg-type]
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise JenError(f"{path.name} is not a valid ONNX file ({exc})") from None
    return out


def _walk(kind: str, data: memoryview, out: OnnxAudit, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ValueError("nesting too deep")
    if kind == "tensor":
        _tensor(data, out)
        return
    table = _KINDS[kind]
    for num, wire, value in _fields(data):
        if num in table and wire == 2:
            _walk(table[num], value, out, depth + 1)  # type: ignore[arg-type]


def _tensor(data: memoryview, out: OnnxAudit) -> None:
    name, location = "", None
    for num, wire, value in _fields(data):
        if num == 8 and wire == 2:
            name = bytes(value).decode("utf-8", "replace")  # type: ignore[arg-type]
        elif num == 13 and wire == 2:  # external_data entry
            key = val = ""
            for n, w, v in _fields(value):  # type: ignore[arg-type]
                if n == 1 and w == 2:
                    key = bytes(v).decode("utf-8")  # type: ignore[arg-type]
                elif n == 2 and w == 2:
                    val = bytes(v).decode("utf-8")  # type: ignore[arg-type]
            if key == "location":
                location = val
    if location is not None:
        out.external.append((name, location))


def _fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value): varints as int, length-delimited as a memoryview; others skipped."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield num, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("truncated field")
            yield num, wire, data[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    if pos != end:
        raise ValueError("truncated message")


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
