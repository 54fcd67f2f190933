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


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown setting"):
        NodeConfig().with_updates({"prot": 1})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        config.load(config_file=tmp_path / "nope.flat", env={})
