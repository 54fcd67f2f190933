"""Shared pieces of the fuzz tests (``tests/property/test_fuzz_*.py``).

Budget: two Hypothesis profiles, registered here and nowhere else.

- ``ci`` (the default): derandomized, so every CI run tries the same
  examples; sized so that all the fuzz tests together take about 30 s on
  a 2-core machine (the budget is a minute).
- ``long`` (``HYPOTHESIS_PROFILE=long``): 50 times the examples, random
  seeds, failures saved in the example database and printed as
  ``@reproduce_failure`` blobs.

Each fuzz test takes a *share* of its profile's ``max_examples`` with
:func:`fuzz` (expensive targets take less), so one knob sizes them all. The
profiles are used only by these tests (they are parents of each test's
settings, never loaded as Hypothesis's default), so other tests keep theirs.

What every target must do with hostile input (:func:`parse_or_refuse`):
return a value or raise one of the project's errors
(:class:`~hyperbeam.errors.HyperbeamError` and its subclasses, or the one
module-level error a leaf parser documents), with a reason, and do it in
well under a second (:data:`PARSE_BUDGET` of CPU) for inputs of at most
10 KB (a quadratic parser would not, on the long runs of one chunk the
``repeat`` mutation builds). Anything else (an
``IndexError``, a ``UnicodeDecodeError``, a ``RecursionError``...) fails
the test as it is raised.

Inputs are random bytes, or valid encodings (our encoders' output, the
vectors in ``tests/vectors/``) mutated as a byte fuzzer mutates its corpus
(:func:`mutated`): bits flipped, bytes and dictionary tokens inserted,
ranges deleted, duplicated or repeated, the input truncated.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from hyperbeam.errors import HyperbeamError

T = TypeVar("T")

#: Examples per fuzz test in the ``ci`` profile, before each test's share.
CI_EXAMPLES = 200
#: How many times more the ``long`` profile tries.
LONG_FACTOR = 50

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
}
settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    derandomize=True,
    print_blob=False,
    **_COMMON,
)
settings.register_profile(
    "long",
    max_examples=CI_EXAMPLES * LONG_FACTOR,
    derandomize=False,
    print_blob=True,
    **_COMMON,
)

#: The profile in use: ``ci`` unless ``HYPOTHESIS_PROFILE`` names another.
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
BASE = settings.get_profile(PROFILE)

#: Each fuzz module's ``pytestmark``: the suite's 120 s limit per test in
#: CI; none in the long run (one test may take many minutes).
TIMEOUT = pytest.mark.timeout(0 if PROFILE == "long" else 120)

#: Longest time one parse of one input (at most 10 KB) may take. Every
#: parser here is linear; a valid 10 KB input takes milliseconds.
PARSE_BUDGET = 0.5
#: Largest input the fuzzers build.
MAX_INPUT = 10 * 1024


def fuzz(share: float = 1.0, **overrides: Any) -> settings:
    """The settings of one fuzz test: ``share`` of its profile's examples.

    Shrinking is kept: a failure should come back small enough to become an
    ``@example``.
    """
    examples = max(1, round(BASE.max_examples * share))
    return settings(BASE, max_examples=examples, phases=list(Phase), **overrides)


def parse_or_refuse(
    call: Callable[[], T],
    errors: tuple[type[BaseException], ...] = (HyperbeamError,),
    *,
    budget: float = PARSE_BUDGET,
) -> T | BaseException:
    """Run one parse: its value, or the project error it raised (which must
    carry a reason). Any other exception propagates and fails the test, as
    does a parse that takes more than ``budget`` seconds of CPU twice in a
    row (CPU time of this thread, so other processes on a busy machine do
    not count; twice, so a cold cache or a garbage collection does not)."""
    result, elapsed = _timed(call, errors)
    if elapsed >= budget:
        result, elapsed = _timed(call, errors)
    assert elapsed < budget, f"one parse took {elapsed:.3f} s of CPU (budget {budget} s)"
    return result


def _timed(
    call: Callable[[], T], errors: tuple[type[BaseException], ...]
) -> tuple[T | BaseException, float]:
    started = time.thread_time()
    try:
        result: T | BaseException = call()
    except errors as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        assert reason.strip(), f"{type(exc).__name__} raised without a reason"
        result = exc
    return result, time.thread_time() - started


# --- mutations ---------------------------------------------------------------------------

#: Bytes that often matter to a parser: delimiters, escapes, NUL, high bytes.
INTERESTING = b'\x00\x01\t\n\r "%&()*+,-./0:;<=>?@[\\]^_`{|}~\x7f\x80\xc3\xff'


def _token_insert(tokens: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    interesting = st.sampled_from([bytes([b]) for b in INTERESTING])
    if not tokens:
        return interesting
    return st.one_of(interesting, st.sampled_from(list(tokens)))


@st.composite
def mutated(
    draw: st.DrawFn,
    seeds: st.SearchStrategy[bytes],
    tokens: Sequence[bytes] = (),
    *,
    max_mutations: int = 6,
) -> bytes:
    """A seed with up to ``max_mutations`` byte-level mutations applied."""
    data = bytearray(draw(seeds))
    insert = _token_insert(tokens)
    for _ in range(draw(st.integers(0, max_mutations))):
        kind = draw(
            st.sampled_from(
                ["flip", "set", "insert", "token", "delete", "truncate", "duplicate", "repeat"]
            )
        )
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and at < len(data):
            data[at] = draw(st.sampled_from(list(INTERESTING)) | st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "token":
            data[at:at] = draw(insert)
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "duplicate":
            size = draw(st.integers(1, 32))
            data[at:at] = data[at : at + size]
        elif kind == "repeat":
            # A chunk repeated many times: what makes a quadratic parser show.
            chunk = bytes(data[at : at + draw(st.integers(1, 8))]) or draw(insert)
            times = draw(st.integers(2, max(2, (MAX_INPUT - len(data)) // len(chunk))))
            data[at:at] = chunk * times
    return bytes(data[:MAX_INPUT])


def hostile(
    seeds: st.SearchStrategy[bytes], tokens: Sequence[bytes] = ()
) -> st.SearchStrategy[bytes]:
    """Random bytes, random runs of interesting bytes and tokens, or a
    mutated seed (most often)."""
    tokenish = st.lists(_token_insert(tokens), max_size=64).map(b"".join)
    return st.one_of(
        st.binary(max_size=256),
        tokenish,
        mutated(seeds, tokens),
        mutated(seeds, tokens),
        mutated(seeds, tokens),
    )


def latin1(raw: bytes) -> str:
    """Bytes as the node's HTTP edge turns them into text."""
    return raw.decode("latin-1")
