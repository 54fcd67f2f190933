"""The `hyperbeam` command line, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("hyperbeam"))


def _run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args, "--data-dir", str(tmp / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_resolve_prints_a_scalar(tmp_path: Path) -> None:
    done = _run("resolve", '/~message@1.0&a+map=b="c"/a/b', tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "c\n"


def test_resolve_prints_a_message_as_json(tmp_path: Path) -> None:
    done = _run("resolve", "/~message@1.0&a=1&n+integer=2&priv-x=secret", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"a": "1", "n": 2, "device": "message@1.0"}


def test_resolve_reports_errors_with_a_reason(tmp_path: Path) -> None:
    done = _run("resolve", "/~nope@1.0/x", tmp=tmp_path)
    assert done.returncode != 0
    assert "nope@1.0" in done.stderr
    done = _run("resolve", "/~message@1.0&k=v/missing", tmp=tmp_path)
    assert done.returncode != 0
