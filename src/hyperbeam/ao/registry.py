"""The device registry: wire names (``name@version``) to device instances.

Upstream: hb_opts ``preloaded_devices`` and hb_ao:load_device/2.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hyperbeam.ao.device import Device, DeviceLike
from hyperbeam.errors import DeviceNotFound, HyperbeamError
from hyperbeam.message.ids import is_id
from hyperbeam.message.model import normalize_key


class DeviceConflict(HyperbeamError):
    """Two devices were registered under one name."""


class DeviceRegistry(Mapping[str, Device]):
    """An immutable map of device names to instances."""

    def __init__(self, devices: Iterable[Device | type[Device]]) -> None:
        table: dict[str, Device] = {}
        for dev in devices:
            instance = dev() if isinstance(dev, type) else dev
            name = normalize_key(instance.name)
            if not name:
                raise DeviceConflict(f"device {instance!r} has no name")
            if name in table:
                raise DeviceConflict(f"device name {name!r} registered twice")
            table[name] = instance
        self._table = table

    def __getitem__(self, name: str) -> Device:
        return self._table[normalize_key(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def load(self, ref: Any, opts: Mapping[str, Any]) -> DeviceLike:
        """Find the device a ``device`` key names. Upstream: hb_ao:load_device/2."""
        if isinstance(ref, Device | Mapping):
            return ref
        if isinstance(ref, type) and issubclass(ref, Device):
            return ref()
        if not isinstance(ref, str | bytes):
            raise DeviceNotFound(f"device reference of type {type(ref).__name__} is not loadable")
        name = normalize_key(ref)
        if is_id(ref) and "@" not in name:
            if not opts.get("load_remote_devices", False):
                raise DeviceNotFound(
                    f"device {name} is a message ID and remote devices are disabled"
                )
            raise DeviceNotFound(f"loading remote device {name} is not supported")
        try:
            return self._table[name]
        except KeyError:
            raise DeviceNotFound(f"device {name!r} is not loaded on this node") from None
