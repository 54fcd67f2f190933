"""The `hyperbeam` command line, run as a real process."""

from __future__ import annotations

import json
import stat
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


def test_wallet_new_then_show(tmp_path: Path) -> None:
    out = tmp_path / "key.json"
    done = _run("wallet", "new", "--out", str(out), tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    address = done.stdout.split("address: ")[1].strip()
    assert len(address) == 43
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    shown = _run("wallet", "show", "--wallet", str(out), tmp=tmp_path)
    assert shown.stdout.strip() == f"address: {address}"


def test_wallet_new_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "key.json"
    assert _run("wallet", "new", "--out", str(out), tmp=tmp_path).returncode == 0
    before = out.read_bytes()
    again = _run("wallet", "new", "--out", str(out), tmp=tmp_path)
    assert again.returncode != 0
    assert "not overwriting" in again.stderr
    assert out.read_bytes() == before


def test_wallet_show_of_a_bad_file_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    done = _run("wallet", "show", "--wallet", str(bad), tmp=tmp_path)
    assert done.returncode != 0
    assert "not an RSA JWK" in done.stderr
