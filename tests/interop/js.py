"""Running the JavaScript test clients in tests/js (installed by scripts/install)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parents[1] / "js"


def run_script(script: str, payload: Any, *, package: str, timeout: float = 120) -> Any:
    """Run ``tests/js/<script>`` with ``payload`` as JSON on stdin; its stdout, parsed.

    Fails (never skips) when node or the npm ``package`` the script needs is missing.
    """
    node = shutil.which("node")
    assert node is not None, "node is not installed (scripts/install needs Node.js and npm)"
    assert (JS_DIR / "node_modules" / package).is_dir(), (
        f"{package} is missing: run scripts/install"
    )
    done = subprocess.run(
        [node, str(JS_DIR / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
        cwd=JS_DIR,
    )
    return json.loads(done.stdout)
