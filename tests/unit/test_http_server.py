"""``hyperbeam serve``'s process tuning (``hyperbeam.http.server``)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_allocator_is_tuned_unless_the_environment_says_otherwise() -> None:
    """``hyperbeam serve`` bounds glibc's arenas (see http.server.tune_allocator),
    in a fresh interpreter, unless MALLOC_ARENA_MAX is set."""
    code = "from hyperbeam.http.server import tune_allocator; print(tune_allocator())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    tuned = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert tuned.stdout.strip() == "True", tuned.stderr
    env["MALLOC_ARENA_MAX"] = "4"
    kept = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert kept.stdout.strip() == "False", kept.stderr
