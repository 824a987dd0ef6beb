"""Installed size of a set of requirements and everything they pull in, measured in the running environment.

``python -m benchmarks.install_size torch numpy`` prints JSON ``{"bytes", "packages"}``: the sum of the
files each distribution's RECORD lists, over the transitive closure of the named requirements (extras
and environment markers that do not apply are skipped). Used to compare the torch install with the
torch-free onnx install (standard library only).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import sys
from pathlib import Path

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _applies(requirement: str) -> bool:
    if ";" not in requirement:
        return True
    marker = requirement.split(";", 1)[1]
    if "extra" in marker:
        return False
    try:
        from packaging.markers import Marker

        return bool(Marker(marker).evaluate())
    except ImportError:  # pragma: no cover - packaging ships with pip
        return True


def closure(names: list[str]) -> dict[str, md.Distribution]:
    found: dict[str, md.Distribution] = {}
    todo = [_norm(n) for n in names]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        found[name] = dist
        for req in dist.requires or []:
            match = _NAME.match(req)
            if match and _applies(req):
                todo.append(_norm(match.group(1)))
    return found


def installed_bytes(names: list[str]) -> tuple[int, list[str]]:
    total = 0
    dists = closure(names)
    for dist in dists.values():
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file():
                total += path.stat().st_size
    return total, sorted(dists)


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")]
    size, packages = installed_bytes(names)
    print(json.dumps({"bytes": size, "packages": packages}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
