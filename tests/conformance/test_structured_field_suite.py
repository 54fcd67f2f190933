"""The public Structured Field test suite (RFC 8941/9651) against our parser and serializer.

Vectors: tests/vectors/structured-field-tests (httpwg, see PROVENANCE.md).
Each parse case is parsed as its ``header_type``; the result, in the suite's
JSON form, must equal ``expected``, ``must_fail`` cases must be refused, and
the ``canonical`` form must come back when we serialize what we parsed.

Our codec is upstream's (hb_structured_fields), on purpose: where upstream is
more lenient than the RFC, or does not know an RFC 9651 type, a case is listed
in DEVIATIONS with the reason, and the test checks that the deviation still
holds, so a change in either direction is noticed.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from hyperbeam.codecs import sf

SUITE = Path(__file__).resolve().parents[1] / "vectors" / "structured-field-tests"


def _cases() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(SUITE.glob("*.json")):
        for case in json.loads(path.read_text()):
            if "raw" in case:
                found.append((f"{path.stem}: {case['name']}", case))
    return found


CASES = _cases()


def _bare(bare: sf.Bare) -> Any:
    if bare.kind == "token":
        return {"__type": "token", "value": bare.value}
    if bare.kind == "binary":
        assert isinstance(bare.value, bytes)
        return {"__type": "binary", "value": base64.b32encode(bare.value).decode()}
    return bare.value


def _params(params: tuple[tuple[str, sf.Bare], ...]) -> list[Any]:
    return [[key, _bare(value)] for key, value in params]


def _member(member: sf.Member) -> Any:
    if isinstance(member, sf.InnerList):
        return [[_member(item) for item in member.items], _params(member.params)]
    return [_bare(member.bare), _params(member.params)]


def _parse(kind: str, text: str) -> Any:
    if kind == "item":
        return sf.parse_item(text)
    if kind == "list":
        return sf.parse_list(text)
    return sf.parse_dictionary(text)


def _to_json(kind: str, parsed: Any) -> Any:
    if kind == "item":
        return _member(parsed)
    if kind == "list":
        return [_member(m) for m in parsed]
    return [[key, _member(m)] for key, m in parsed]


def _serialize(kind: str, parsed: Any) -> str:
    if kind == "item":
        raw = sf.serialize_item(parsed)
    elif kind == "list":
        raw = sf.serialize_list(parsed)
    else:
        raw = sf.serialize_dictionary(parsed)
    return raw.decode("latin-1")


def _outcome(case: dict[str, Any]) -> str:
    """What our codec does with a case: 'pass', or why it departs from the suite."""
    kind = case["header_type"]
    text = ", ".join(case["raw"])
    try:
        parsed = _parse(kind, text)
    except sf.StructuredFieldError:
        if case.get("must_fail") or case.get("can_fail"):
            return "pass"
        return "refused"
    if case.get("must_fail"):
        return "accepted"
    expected = case["expected"]
    if _to_json(kind, parsed) != expected:
        return "different value"
    canonical = case.get("canonical", case["raw"])
    if canonical and _serialize(kind, parsed) != ", ".join(canonical):
        return "different serialization"
    return "pass"


#: (pattern on "file: case name", our outcome, why). Every other case must pass.
DEVIATIONS: list[tuple[str, str, str]] = [
    (
        r"key-generated: 0x(25|2d|3\d|4[1-9a-f]|5[0-9a]|5f) "
        r"(as a single-character|starting a) dictionary key"
        r"|key-generated: 0x(25|4[1-9a-f]|5[0-9a]) in dictionary key"
        r"|dictionary: (numeric|uppercase) key dictionary",
        "accepted",
        "upstream's parser also takes dictionary keys with capitals or starting with a digit, "
        "'%', '-' or '_' (ao-ids keys keep the case of IDs): hb_structured_fields:parse_dictionary",
    ),
    (
        r"date: (date - (1970|2022|1917|2\^3).*|interoperability (max|min) date - .*"
        r"|date with negative zero)"
        r"|display-string: (basic display string \(ascii content\)|all printable ascii"
        r"|non-ascii display string \(lowercase escaping\)|display string quoting"
        r"|BOM in display string|over-encoded display string)",
        "refused",
        "Dates and Display Strings are RFC 9651 types that upstream's codec does not know",
    ),
    (
        r"item: leading and trailing (space|whitespace)"
        r"|dictionary: leading whitespace dictionary"
        r"|key-generated: 0x20 starting a dictionary key|token-generated: 0x20 starting a token",
        "refused",
        "as upstream, a field value must arrive trimmed (the HTTP layer strips surrounding "
        "whitespace before the codec sees it)",
    ),
    (
        r"dictionary: (missing value|all missing value|start missing value|end missing value"
        r"|missing value with params|explicit true value with params) dictionary"
        r"|dictionary: dictionary key ordering|examples: Example-DictHeader \(boolean values\)"
        r"|key-generated: 0x3b in dictionary key",
        "different serialization",
        "upstream writes a dictionary member whose value is true as `key=?1`, not as the bare key",
    ),
]


def _expected_outcome(name: str) -> str:
    for pattern, outcome, _why in DEVIATIONS:
        if re.fullmatch(pattern, name):
            return outcome
    return "pass"


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_structured_field_suite(name: str, case: dict[str, Any]) -> None:
    assert _outcome(case) == _expected_outcome(name)


def test_the_suite_is_all_there() -> None:
    assert len(CASES) > 1500
    assert sum(_expected_outcome(name) == "pass" for name, _ in CASES) > 1400
