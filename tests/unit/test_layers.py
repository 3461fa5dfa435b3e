"""Architecture guard (docs: DESIGN.md "Layers"): the sans-I/O packages stay pure, and imports only go down.

    cli > runtime > track|observe > io > proto > config > wire > _types/errors/clock

An AST scan (no import of the code under test), so a violation is reported with file:line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "pyvrrp"

# Modules that touch the OS, the clock or the event loop. config may read files (os, glob) but no network.
IO_MODULES = {"asyncio", "socket", "time", "subprocess", "pyroute2", "scapy", "select", "selectors", "signal"}
FORBIDDEN = {
    "wire": IO_MODULES | {"os", "importlib", "threading", "multiprocessing"},
    "proto": IO_MODULES | {"os", "importlib", "threading", "multiprocessing"},
    "config": IO_MODULES | {"importlib", "threading", "multiprocessing"},
}

# Rank of each pyvrrp subpackage: a module may import only packages of strictly lower rank (or its own).
RANK = {
    "_types": 0,
    "errors": 0,
    "clock": 0,
    "wire": 1,
    "config": 2,
    "proto": 3,
    "io": 4,
    "track": 5,
    "observe": 5,
    "lab": 6,  # test/lab helpers may use io
    "runtime": 6,
    "cli": 7,
    "__main__": 8,
}
BASE = {"_types", "errors", "clock"}


def _imports(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute dotted module) for every import in ``path``, relative imports resolved.
    ``source`` overrides the file's text (for the self-test)."""
    text = path.read_text() if source is None else source
    tree = ast.parse(text, str(path))
    package = list(path.relative_to(PKG.parent).parts[:-1])  # e.g. ["pyvrrp", "wire"]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [mod] if node.module else [f"{mod}.{a.name}" for a in node.names]
                out += [(node.lineno, n) for n in names]
            else:
                out.append((node.lineno, node.module or ""))
                if node.module == "pyvrrp":
                    out += [(node.lineno, f"pyvrrp.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            out.append((node.lineno, "importlib"))
    return out


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _py_files(*subpackages: str) -> list[Path]:
    files: list[Path] = []
    for sub in subpackages:
        d = PKG / sub
        files += (
            sorted(d.rglob("*.py"))
            if d.is_dir()
            else ([d.with_suffix(".py")] if d.with_suffix(".py").exists() else [])
        )
    return files


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_pure_layers_import_no_io(layer: str) -> None:
    files = _py_files(layer)
    assert files, f"pyvrrp/{layer} has no modules"
    bad = [
        f"{p.relative_to(PKG.parent)}:{line}: imports {mod}"
        for p in files
        for line, mod in _imports(p)
        if mod.split(".")[0] in FORBIDDEN[layer]
    ]
    assert not bad, "pure layer imports I/O modules:\n" + "\n".join(bad)


def test_imports_only_go_down() -> None:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        layer = _layer(path)
        if layer not in RANK or layer == "__init__":
            continue
        for line, mod in _imports(path):
            parts = mod.split(".")
            if parts[0] != "pyvrrp" or len(parts) < 2:
                continue
            target = parts[1]
            if target == layer or target not in RANK:
                continue
            if RANK[target] >= RANK[layer] and not (layer in BASE and target in BASE):
                bad.append(f"{path.relative_to(PKG.parent)}:{line}: {layer} imports {mod}")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_guard_detects_violations() -> None:
    """The scanner itself: forbidden imports are seen in absolute, relative and dynamic forms."""
    src = "import os.path\nfrom socket import AF_INET\nfrom ..proto import vrrp\nfrom .. import io\nx = __import__('time')\n"
    found = _imports(PKG / "wire" / "probe.py", src)
    assert [m for _, m in found] == ["os.path", "socket", "pyvrrp.proto", "pyvrrp.io", "importlib"]
    assert [line for line, _ in found] == [1, 2, 3, 4, 5]
