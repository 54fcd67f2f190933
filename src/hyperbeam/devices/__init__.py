"""Built-in devices, registered in one place.

A new device is a new module plus one line in :data:`BUILTIN_DEVICES`.
Upstream: hb_opts ``preloaded_devices``.
"""

from __future__ import annotations

import functools

from hyperbeam.ao.device import Device
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.devices.cache import CacheDevice
from hyperbeam.devices.codecs import CODEC_DEVICES
from hyperbeam.devices.cron import CronDevice
from hyperbeam.devices.dedup import DedupDevice
from hyperbeam.devices.dryrun import DryRunDevice
from hyperbeam.devices.genesis_wasm import GenesisWasmDevice
from hyperbeam.devices.hyperbuddy import HyperbuddyDevice
from hyperbeam.devices.json_iface import JsonIfaceDevice
from hyperbeam.devices.lookup import LookupDevice
from hyperbeam.devices.lua import LuaDevice
from hyperbeam.devices.message import MessageDevice
from hyperbeam.devices.meta import MetaDevice
from hyperbeam.devices.multipass import MultipassDevice
from hyperbeam.devices.names import LocalNameDevice, NameDevice, NodeProcessDevice
from hyperbeam.devices.p4 import P4Device
from hyperbeam.devices.patch import PatchDevice
from hyperbeam.devices.ping import PingTestDevice
from hyperbeam.devices.process import ProcessDevice
from hyperbeam.devices.push import PushDevice
from hyperbeam.devices.relay import RelayDevice
from hyperbeam.devices.router import RouterDevice
from hyperbeam.devices.scheduler import SchedulerDevice
from hyperbeam.devices.simple_pay import FaffDevice, SimplePayDevice
from hyperbeam.devices.stack import StackDevice
from hyperbeam.devices.test import TestDevice
from hyperbeam.devices.wasi import WasiDevice
from hyperbeam.devices.wasm import Wasm64Alias, WasmDevice

BUILTIN_DEVICES: tuple[type[Device], ...] = (
    CacheDevice,
    CronDevice,
    DedupDevice,
    DryRunDevice,
    GenesisWasmDevice,
    HyperbuddyDevice,
    JsonIfaceDevice,
    LocalNameDevice,
    LookupDevice,
    LuaDevice,
    MessageDevice,
    MetaDevice,
    MultipassDevice,
    NameDevice,
    NodeProcessDevice,
    P4Device,
    PatchDevice,
    PingTestDevice,
    ProcessDevice,
    PushDevice,
    RelayDevice,
    RouterDevice,
    SchedulerDevice,
    SimplePayDevice,
    FaffDevice,
    StackDevice,
    TestDevice,
    WasiDevice,
    WasmDevice,
    Wasm64Alias,
    *CODEC_DEVICES,
)


@functools.cache  # not `cache`: that name is the cache@1.0 submodule
def default_registry() -> DeviceRegistry:
    """The registry of every built-in device."""
    return DeviceRegistry(BUILTIN_DEVICES)
