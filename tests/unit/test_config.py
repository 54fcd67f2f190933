from __future__ import annotations

from pathlib import Path

import pytest

from hyperbeam import config
from hyperbeam.config import ConfigError, NodeConfig


def test_defaults_follow_upstream() -> None:
    c = NodeConfig()
    assert c.port == 8734
    assert c.host == "127.0.0.1"
    assert c.await_inprogress == "named"


def test_layers_file_then_env_then_flags(tmp_path: Path) -> None:
    flat = tmp_path / "config.flat"
    flat.write_text("# a comment\nport: 9000\nworkers: 3\nlog-level: debug\n")
    c = config.load(config_file=flat, env={"HB_WORKERS": "5"}, overrides={"log_level": "error"})
    assert (c.port, c.workers, c.log_level) == (9000, 5, "error")


def test_json_config(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"port": 1234, "load-remote-devices": "true"}')
    c = config.load(config_file=path, env={})
    assert c.port == 1234
    assert c.load_remote_devices is True


@pytest.mark.parametrize(
    ("text", "reason"),
    [("port: many\n", "bad value for port"), ("nonsense\n", "expected 'key: value'")],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.flat"
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason):
        config.load(config_file=path, env={})


def test_unknown_keys_are_kept_in_the_node_message() -> None:
    """Upstream keeps keys it does not know (hb_opts:mimic_default_types/2)."""
    c = NodeConfig().with_updates({"mode": "debug", "test-config": {"abc": 1}})
    assert c.extra == {"mode": "debug", "test_config": {"abc": 1}}
    assert c.node_message()["mode"] == "debug"
    assert c.unknown_keys() == ["mode", "test_config"]


def test_upstream_docs_config_flat_starts_a_node(tmp_path: Path) -> None:
    """The example of upstream's docs/misc/installation-core/hyperbeam-setup-config/
    configuration/configuration-examples.md, verbatim."""
    path = tmp_path / "config.flat"
    path.write_text("port: 10000\nmode: debug\npriv_key_location: ./wallet.json\n\n")
    c = config.load(config_file=path, env={})
    assert c.port == 10000
    assert c.wallet == "./wallet.json"
    assert c.extra == {"mode": "debug"}


def test_upstream_test_config_flat() -> None:
    """Upstream test/config.flat, read as hb_opts load_test reads it."""
    c = NodeConfig().with_updates(
        config.parse_flat("port: 1234\nhost: https://ao.computer\nawait-inprogress: false\n")
    )
    assert (c.port, c.host, c.await_inprogress) == (1234, "https://ao.computer", "false")


def test_flat_nests_on_slashes_and_hooks_load(tmp_path: Path) -> None:
    path = tmp_path / "config.flat"
    path.write_text("on/request/device: meta@1.0\non/request/hook/result: error\n")
    c = config.load(config_file=path, env={})
    assert c.on == {"request": {"device": "meta@1.0", "hook": {"result": "error"}}}


def test_store_as_a_list_of_upstream_definitions() -> None:
    c = NodeConfig().with_updates(
        {
            "store": [
                {"store-module": "hb_store_lmdb", "prefix": "cache-mainnet"},
                {"store-module": "hb_store_remote_node", "node": "http://peer:8734"},
            ]
        }
    )
    assert c.store == "chain"
    assert [d["store-module"] for d in c.store_chain] == ["hb_store_lmdb", "hb_store_remote_node"]
    assert c.node_message()["store"][0] == {
        "store-module": "hb_store_lmdb",
        "prefix": "cache-mainnet",
    }
    with pytest.raises(ConfigError, match="store-module 'hb_store_nope'"):
        NodeConfig().with_updates({"store": [{"store-module": "hb_store_nope"}]})
    with pytest.raises(ConfigError, match="needs a 'node' URL"):
        NodeConfig().with_updates({"store": {"store-module": "hb_store_remote_node"}})


def test_upstream_environment(tmp_path: Path) -> None:
    """HB_KEY names the key file, HB_CONFIG the config file, HB_PORT the port."""
    path = tmp_path / "node.flat"
    path.write_text("workers: 3\n")
    c = config.load(env={"HB_KEY": "/keys/k.json", "HB_CONFIG": str(path), "HB_PORT": "9001"})
    assert (c.wallet, c.workers, c.port) == ("/keys/k.json", 3, 9001)


@pytest.mark.parametrize(
    ("updates", "reason"),
    [
        ({"initialized": "maybe"}, "bad value for initialized"),
        ({"on": "not json"}, "bad value for on"),
        ({"port": [1, 2]}, "bad value for port"),
    ],
)
def test_bad_values_are_clear_errors(updates: dict[str, object], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        NodeConfig().with_updates(updates)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        config.load(config_file=tmp_path / "nope.flat", env={})
