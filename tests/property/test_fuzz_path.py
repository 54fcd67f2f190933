"""Fuzzing the HyperPATH parser (``ao/singleton.py`` ``from_request``) and the
path-term splitting of ``ao/path.py``.

The node's HTTP edge hands every request's path (its raw bytes read as
Latin-1), query and header keys to :func:`~hyperbeam.ao.singleton.from_request`.
``tests/unit/test_singleton.py`` already feeds it short random paths; here
the inputs are real HyperPATHs (the README's, and generated ones using every
part of the grammar: devices, inline keys, ``+type`` casts with hostile
values, ``(subpaths)``, percent escapes, queries, ``N.key`` scopes) mutated
byte by byte, up to 10 KB, so a parse that is not linear shows. The
answer is always a list of steps or a :class:`~hyperbeam.errors.PathError`
(a ``HyperbeamError``), within the parse budget.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from hyperbeam.ao import path as ao_path
from hyperbeam.ao.path import As, Subresolve
from hyperbeam.ao.singleton import from_request
from tests.property.fuzz import MAX_INPUT, TIMEOUT, fuzz, hostile, latin1, parse_or_refuse

pytestmark = TIMEOUT

ID = "Cq9Xo4dnWcMVDm3T2KpTa1uVrBzLwFA0dR5AAOc9fXY"
#: Paths from the README and the unit tests: each form of the grammar once.
README_PATHS = [
    "/~message@1.0&k=v/k",
    '/~message@1.0&greeting="Hello"&count+integer=42/count',
    "/~meta@1.0/info/~json@1.0/serialize",
    '/~message@1.0&a+map=b="c"/a/b',
    "/~message@1.0&a=1&n+integer=2",
    f"/{ID}~process@1.0/compute&slot=3",
    f"/{ID}~process@1.0/now/results/data",
    f"/{ID}/schedule?from=0&to=10",
    "/a/(/b/c)/d?x+integer=1&0.y=2&1.z+float=2.5",
    '/~message@1.0&l+list=1,2,"x"&f+float=1.5&t+atom=ok&b+binary=raw/l',
    "/compute/results=5",
    "/~relay@1.0/call?relay-path=/~meta@1.0/info",
    "/x+resolve=(/~message@1.0&k=v/k)/x",
    "/a%2Fb/c%28d%29/%25",
    "/~(/~meta@1.0/info/device)/key&flag",
]
TOKENS = [
    b"/", b"~", b"&", b"=", b"+", b"(", b")", b"?", b".", b"%", b"%2F", b"%28", b"%29", b"%2",
    b"@1.0", b"+integer", b"+float", b"+list", b"+map", b"+atom", b"+resolve", b"+binary",
    b"0.", b"-1.", b"(/", b'"', ID.encode(),
]  # fmt: skip

_names = st.from_regex(r"\A[a-z][a-z0-9-]{0,8}\Z")
_values = st.from_regex(r'\A[A-Za-z0-9"=,;:.\- ]{0,12}\Z')
_casts = st.sampled_from(["", "+integer", "+float", "+list", "+map", "+atom", "+binary"])
#: A ``+type`` and a value of that type (``""``: untyped).
_typed = st.one_of(
    st.tuples(st.just(""), _values),
    st.tuples(st.just("+binary"), _values),
    st.tuples(st.just("+integer"), st.integers(-(10**12), 10**12).map(str)),
    st.tuples(st.just("+float"), st.integers(-(10**6), 10**6).map(lambda n: str(n / 8))),
    st.tuples(st.just("+atom"), _names),
    st.tuples(
        st.just("+list"),
        st.lists(st.integers(0, 99), max_size=3).map(lambda ns: ",".join(map(str, ns))),
    ),
    st.tuples(
        st.just("+map"),
        st.dictionaries(_names, st.integers(0, 99), max_size=3).map(
            lambda d: ",".join(f"{k}={v}" for k, v in d.items())
        ),
    ),
)


@st.composite
def _parts(draw: st.DrawFn, depth: int = 0) -> str:
    """One path part: a key, a device, inline keys, a subpath."""
    kind = draw(st.sampled_from(["key", "device", "inline", "pair", "sub", "id"]))
    if kind == "sub" and depth < 2:
        return "(" + draw(_paths(depth + 1)) + ")"
    if kind == "id":
        return ID
    part = draw(_names)
    if kind == "device":
        part += "~" + draw(_names) + "@1.0"
    if kind == "pair":
        part += "=" + draw(_names)
    if kind in ("inline", "device"):
        for _ in range(draw(st.integers(0, 3))):
            cast, value = draw(_typed)
            part += "&" + draw(_names) + cast + "=" + value
    return part


@st.composite
def _paths(draw: st.DrawFn, depth: int = 0) -> str:
    parts = draw(st.lists(_parts(depth), min_size=1, max_size=4))
    path = "/" + "/".join(parts)
    if depth == 0 and draw(st.booleans()):
        pairs = draw(st.lists(st.tuples(_names, _typed), max_size=3))
        path += "?" + "&".join(f"{k}{c}={v}" for k, (c, v) in pairs)
    return path


_seeds = st.one_of(st.sampled_from(README_PATHS), _paths()).map(
    lambda p: p.encode("utf-8", "surrogateescape")
)


def _check_steps(steps: Any) -> None:
    """What a parse gives: a list of messages, IDs, devices and subpaths."""
    assert isinstance(steps, list)
    for step in steps:
        assert isinstance(step, dict | str | As | Subresolve), step
        if isinstance(step, Subresolve):
            _check_steps(step.messages)


# --- hostile paths -----------------------------------------------------------------------


@fuzz(3)
@given(raw=hostile(_seeds, TOKENS))
@example(raw=b"/" + b"(/" * 70 + b"a" + b")" * 70)  # deeper than MAX_NESTING_DEPTH
@example(raw=b"/a&" + b"k=v&" * 2000)  # one long part: over MAX_SEGMENT_LENGTH
@example(raw=b"/" + b"a/" * 4000)  # many parts
@example(raw=b"/x?" + b"(" * 5000)  # unbalanced, long
def test_hostile_paths_parse_or_raise_path_error(raw: bytes) -> None:
    """A path as the HTTP edge passes it (raw bytes read as Latin-1), and the
    same bytes as a ``bytes`` path."""
    assert len(raw) <= MAX_INPUT + 200
    for path in (latin1(raw), raw):
        steps = parse_or_refuse(lambda path=path: from_request({"path": path}))
        if not isinstance(steps, BaseException):
            _check_steps(steps)


_header_keys = st.one_of(
    _names,
    st.tuples(st.integers(-2, 6), _names).map(lambda t: f"{t[0]}.{t[1]}"),
    st.tuples(_names, _casts).map("".join),
    st.tuples(st.integers(0, 3), _names, _casts).map(lambda t: f"{t[0]}.{t[1]}{t[2]}"),
    st.text(max_size=12),
)
_header_values = st.one_of(
    _values,
    st.text(max_size=20),
    st.binary(max_size=20),
    st.sampled_from(["(/a/b)", "(", "/~meta@1.0/info", "1,2,(", 'a="b", c=:AA==:']),
)


@fuzz(2)
@given(
    raw=hostile(_seeds, TOKENS),
    headers=st.dictionaries(_header_keys, _header_values, max_size=5),
)
def test_hostile_headers_and_query_keys_parse_or_raise_path_error(
    raw: bytes, headers: dict[str, Any]
) -> None:
    """Other keys of the request (headers, query parameters) are typed and
    scoped by their names (``N.key``, ``key+type``): hostile names and values."""
    headers.pop("path", None)
    steps = parse_or_refuse(lambda: from_request({**headers, "path": latin1(raw)}))
    if not isinstance(steps, BaseException):
        _check_steps(steps)


@fuzz(1)
@given(path=_paths())
def test_generated_paths_parse(path: str) -> None:
    """Every generated HyperPATH with plain values is valid."""
    _check_steps(from_request(path))


#: Any code point, lone surrogates too: a caller's ``str`` may hold them.
_any_text = st.text(st.characters(exclude_categories=()), max_size=40)


@fuzz(1)
@given(
    path=st.lists(st.sampled_from(README_PATHS) | _any_text, max_size=4).map("/".join),
    value=_any_text,
)
# Regression: a lone surrogate raised UnicodeEncodeError (a part's length, a cast).
@example(path="/a&k=\ud800", value="x")
@example(path="/a", value="\ud800")
def test_any_text_parses_or_raises_path_error(path: str, value: str) -> None:
    """Paths and typed header values holding any code point."""
    steps = parse_or_refuse(lambda: from_request({"path": path, "k+integer": value}))
    if not isinstance(steps, BaseException):
        _check_steps(steps)


# --- path terms (ao/path.py) ------------------------------------------------------------


@fuzz(1)
@given(raw=hostile(_seeds, TOKENS))
def test_path_terms_split_into_plain_parts(raw: bytes) -> None:
    """``term_to_path_parts`` (a message's ``path``, as the resolver pops it)
    never fails on text or bytes, and gives non-empty parts with no ``/``."""
    for term in (raw, latin1(raw)):
        parts = parse_or_refuse(lambda term=term: ao_path.term_to_path_parts(term))
        assert parts is None or isinstance(parts, list)
        for part in parts or []:
            assert isinstance(part, str) and part and "/" not in part
        assert isinstance(ao_path.to_binary(term), str)
