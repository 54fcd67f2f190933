"""Fuzzing the node's settings (``config.py``): ``config.flat`` files, JSON
config files, and values given as text (``--set key=value``, ``HB_<KEY>``),
read into a :class:`~hyperbeam.config.NodeConfig`.

An operator's typo must give a :class:`~hyperbeam.config.ConfigError`
naming the setting (the command prints its reason and exits), never a
traceback. Seeds are config files written the README's way; values are
hostile text and JSON values of every type for every setting. Values
that are valid for their setting, written as text, come back unchanged.
"""

from __future__ import annotations

import json
import math
import string
import tempfile
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hyperbeam import config
from hyperbeam.config import ConfigError, NodeConfig
from tests.property.fuzz import TIMEOUT, fuzz, hostile, parse_or_refuse

pytestmark = TIMEOUT

#: Every setting an operator can set, by name (read from the dataclass, so
#: a new setting is fuzzed as soon as it exists).
SETTINGS = {f.name: f for f in fields(NodeConfig) if f.name not in ("store_chain", "extra")}
DEFAULTS = NodeConfig()

FLAT_SEED = b"""# a node
port: 9000
data-dir: /tmp/hb
force_signed: false
store: hb_store_fs
store/1/store-module: hb_store_lmdb
store/1/name: cache
on/request/device: relay@1.0
process-snapshot-time: 2.5
initialized: permanent
"""
JSON_SEED = json.dumps(
    {
        "port": 9000,
        "force_signed": False,
        "store": [{"store-module": "hb_store_lmdb", "name": "cache"}],
        "on": {"request": {"device": "relay@1.0"}},
        "process_snapshot_time": 2.5,
        "priv_key_location": "wallet.json",
    }
).encode()
TOKENS = [
    b":", b": ", b"/", b"#", b"\n", b"-", b"_", b"{", b"}", b"[", b"]", b'"', b",", b"null",
    b"1e999", b"9" * 30, b"~", b"~nosuchuser", b"store", b"store-module", b"port", b"initialized",
]  # fmt: skip


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-config-") as name:
        yield Path(name)


def _loaded(updates: dict[str, Any]) -> NodeConfig:
    return DEFAULTS.with_updates(updates)


# --- files ---------------------------------------------------------------------------------


@fuzz(1)
@given(raw=hostile(st.just(FLAT_SEED), TOKENS))
def test_hostile_flat_configs_load_or_raise(raw: bytes) -> None:
    """``parse_flat`` on hostile text, then the settings it names applied."""
    text = raw.decode("utf-8", "surrogateescape")
    parsed = parse_or_refuse(lambda: config.parse_flat(text), (ConfigError,))
    if isinstance(parsed, dict):
        parse_or_refuse(lambda: _loaded(parsed), (ConfigError,))


@fuzz(1)
@given(
    raw=hostile(st.sampled_from([JSON_SEED, FLAT_SEED]), TOKENS),
    suffix=st.sampled_from([".json", ".flat"]),
)
# Regressions: each raised a foreign error out of load_file, now a ConfigError.
@example(raw=b"\xff\xfe{}", suffix=".json")  # not UTF-8: UnicodeDecodeError
@example(raw=b"[" * 5000, suffix=".json")  # too deep: RecursionError
@example(raw=b'{"port": ' + b"1" * 5000 + b"}", suffix=".json")  # 5000 digits: ValueError
def test_hostile_config_files_load_or_raise(scratch: Path, raw: bytes, suffix: str) -> None:
    """A config file as ``hyperbeam serve --config`` (or ``HB_CONFIG``) reads it."""
    path = scratch / f"node{suffix}"
    path.write_bytes(raw)
    loaded = parse_or_refuse(lambda: config.load_file(path), (ConfigError,))
    if isinstance(loaded, dict):
        parse_or_refuse(lambda: _loaded(loaded), (ConfigError,))


# --- values --------------------------------------------------------------------------------

_names = st.sampled_from(sorted(SETTINGS)).flatmap(
    lambda name: st.sampled_from([name, name.replace("_", "-"), name.upper()])
)
_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from([10**400, -(10**400), 1e308])
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@fuzz(1)
@given(name=_names, raw=hostile(st.sampled_from([b"9000", b"true", b"2.5", b"/tmp/x"]), TOKENS))
# Regression: a home that does not exist raised RuntimeError from Path.expanduser.
@example(name="data_dir", raw=b"~nosuchuser/data")
def test_hostile_text_values_coerce_or_raise(name: str, raw: bytes) -> None:
    """``--set NAME=VALUE`` (and ``HB_NAME``): any text for any setting."""
    value = raw.decode("utf-8", "surrogateescape")
    parse_or_refuse(lambda: _loaded({name: value}), (ConfigError,))


@fuzz(1)
@given(name=_names, value=_json_values)
# Regressions: each raised a foreign error out of _coerce, now a ConfigError.
@example(name="port", value=None)  # JSON null: TypeError
@example(name="port", value=math.inf)  # JSON 1e999: OverflowError
@example(name="wasm_time_limit", value=10**400)  # too large for a float: OverflowError
def test_json_values_coerce_or_raise(name: str, value: Any) -> None:
    """A JSON config's value of any JSON type for any setting."""
    parse_or_refuse(lambda: _loaded({name: value}), (ConfigError,))


# --- round trip ----------------------------------------------------------------------------


def _valid(kind: type) -> st.SearchStrategy[Any]:
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(-(10**18), 10**18)
    if kind is float:
        return st.floats(allow_nan=False)
    if issubclass(kind, Path):
        return st.text(string.ascii_letters + string.digits + "/._-", min_size=1).map(
            lambda t: Path("/" + t)
        )
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=20)


def _as_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


_SCALARS = sorted(
    name
    for name in SETTINGS
    if type(getattr(DEFAULTS, name)) in (bool, int, float, str) or name == "data_dir"
)


@fuzz(1)
@given(data=st.data(), name=st.sampled_from([n for n in _SCALARS if n != "initialized"]))
def test_valid_values_written_as_text_come_back(data: st.DataObject, name: str) -> None:
    """A setting's value written as ``--set`` text is read back unchanged."""
    current = getattr(DEFAULTS, name)
    if name == "store":
        value = data.draw(st.sampled_from(["lmdb", "fs", "memory"]))
    else:
        value = data.draw(_valid(type(current)), label="value")
    assert getattr(_loaded({name: _as_text(value)}), name) == value
