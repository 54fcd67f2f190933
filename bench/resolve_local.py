"""In-process resolve: the resolver alone, no HTTP.

Workloads (1 s closed loops, median of 3):
  - ``get``: resolve ``key1`` on ``{key1: {key2: "value1"}}`` without hashpaths;
  - ``get+hashpath``: the same with hashpath linking (computes message IDs);
  - ``3-part path``: resolve ``a/b/c`` on ``{a: {b: {c: 1}}}``, hashpaths on.

Run: .venv/bin/python -m bench.resolve_local
"""

from __future__ import annotations

from bench._common import closed_loop, machine_line, median_of, report
from hyperbeam.ao.resolve import resolve


def main(seconds: float = 1.0, runs: int = 3) -> None:
    print(machine_line())
    msg = {"key1": {"key2": "value1"}}
    deep = {"a": {"b": {"c": 1}}}
    cases = [
        ("get (hashpath ignored)", lambda: resolve(msg, "key1", {"hashpath": "ignore"})),
        ("get + hashpath", lambda: resolve(msg, "key1", {})),
        ("3-part path + hashpaths", lambda: resolve(deep, "a/b/c", {})),
    ]
    for label, func in cases:
        assert func()[0] == "ok"
        rates = [report(label, *closed_loop(func, seconds)) for _ in range(runs)]
        print(f"{label} median: {median_of(rates):,.0f}/s")


if __name__ == "__main__":
    main()
