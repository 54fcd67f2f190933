"""Process messages shared by the scheduler tests and benchmarks."""

from __future__ import annotations

import random
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
