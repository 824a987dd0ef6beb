"""The export folder's ``manifest.json``: every file with its sha256 and size, every graph with its
input/output names, shapes and dtypes, the opset, the source checkpoint's config.json and the tool
versions. :func:`verify_export` is what every loader calls first: it refuses files that do not
match their sha256, paths (including ONNX external-data locations) that leave the folder, and
files the manifest does not list. Only the standard library is imported (torch-free path).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from export.onnx_proto import audit_onnx
from jen_core.errors import JenError
from jen_core.files import atomic_write, sha256_file

FORMAT = "jen-onnx-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def file_entry(folder: Path, rel: str) -> dict[str, Any]:
    """{"sha256", "bytes"} of ``folder / rel``."""
    path = member(folder, rel)
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def member(folder: Path, rel: str) -> Path:
    """``folder / rel`` if ``rel`` is a plain relative path that stays inside ``folder`` (symlinks resolved)."""
    pure = PurePosixPath(rel.replace("\\", "/"))
    if not rel or pure.is_absolute() or ".." in pure.parts or ":" in rel or rel.startswith("~"):
        raise JenError(f"export file path '{rel}' leaves the export folder {folder}; refusing to load it")
    root = folder.resolve()
    path = (root / pure).resolve()
    if not path.is_relative_to(root):
        raise JenError(f"export file path '{rel}' leaves the export folder {folder}; refusing to load it")
    return path


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` atomically (after every file it lists)."""
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    return atomic_write(folder / MANIFEST, lambda tmp: tmp.write_text(text))


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read and check the format of ``folder/manifest.json``; JenError with what is wrong."""
    folder = Path(folder)
    if not folder.exists():
        raise JenError(f"export folder {folder} does not exist")
    path = folder / MANIFEST
    if not folder.is_dir() or not path.is_file():
        raise JenError(f"{folder} has no {MANIFEST}; make one with `jen export onnx --model ... --out {folder}`")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JenError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise JenError(f"{path} is not a jen export manifest (missing format '{FORMAT}')")
    if data.get("format_version") != FORMAT_VERSION:
        raise JenError(f"{folder} has export format version {data.get('format_version')}; this jen reads {FORMAT_VERSION}")
    for key in ("files", "graphs", "checkpoint"):
        if not isinstance(data.get(key), dict):
            raise JenError(f"{path} lacks '{key}'; the export is incomplete, export it again")
    return data


def verify_export(folder: str | Path) -> dict[str, Any]:
    """Read the manifest and check every file: inside the folder, sha256 as recorded, ONNX external data
    only pointing at listed files inside the folder. Returns the manifest."""
    folder = Path(folder)
    data = read_manifest(folder)
    files: dict[str, Any] = data["files"]
    for rel, entry in files.items():
        path = member(folder, rel)
        if not path.is_file():
            raise JenError(f"export file {rel} is missing from {folder}; export it again")
        if not isinstance(entry, dict) or sha256_file(path) != entry.get("sha256"):
            raise JenError(f"{rel} does not match its sha256 in {MANIFEST}; the export is corrupt or was modified")
    for name, graph in data["graphs"].items():
        rel = graph.get("file") if isinstance(graph, dict) else None
        if not isinstance(rel, str) or rel not in files:
            raise JenError(f"graph '{name}' names a file the manifest does not list; refusing to load it")
    for rel in files:
        if rel.endswith(".onnx"):
            check_external_data(folder, rel, files)
    return data


def check_external_data(folder: Path, rel: str, files: dict[str, Any]) -> None:
    """Refuse ONNX external-data locations that leave ``folder`` or that the manifest does not list."""
    audit = audit_onnx(member(folder, rel))
    base = PurePosixPath(rel).parent
    for tensor, location in audit.external:
        target = str(base / location) if str(base) != "." else location
        try:
            member(folder, target)
        except JenError:
            raise JenError(
                f"{rel}: tensor '{tensor}' keeps its data at '{location}', outside the export folder; refusing to load it"
            ) from None
        if str(PurePosixPath(target)) not in files:
            raise JenError(f"{rel}: external data file '{location}' is not listed in {MANIFEST}; refusing to load it")
