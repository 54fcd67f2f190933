"""The functional core stays pure: these modules import no I/O (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "hyperbeam"
PURE = ["message", "codecs", "ao/path.py", "ao/singleton.py", "ao/device.py"]
FORBIDDEN = ("hyperbeam.http", "hyperbeam.store", "socket", "httpx", "anyio", "asyncio", "uvicorn")


def _modules() -> list[Path]:
    found: list[Path] = []
    for entry in PURE:
        path = SRC / entry
        if path.is_dir():
            found.extend(sorted(path.rglob("*.py")))
        elif path.exists():
            found.append(path)
    return found


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module_imports_no_io(module: Path) -> None:
    tree = ast.parse(module.read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(FORBIDDEN), f"{module.name} imports {name}"


def test_some_pure_modules_exist() -> None:
    assert len(_modules()) >= 5
