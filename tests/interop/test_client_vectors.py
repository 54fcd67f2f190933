"""Requests real JavaScript clients sent, verified on the bytes they sent.

Vectors: tests/vectors/clients/*.json (see README.md there): hbsig 0.2.8 and
the WAO ``HB`` class of weavedb/wao@7a4e569, npm wao 0.35.7 (hbsig 0.1.5),
aoconnect 0.0.98 and arbundles 0.11.2, each request exactly as received
(header order and case, raw body). These clients order and case headers and
parts their own way, sign ``content-length``, lower-case commitment IDs in
part names and sign ``@path`` as a ``path`` header: re-encoding the decoded
message would not give back what they signed.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from hyperbeam.codecs import received, rfc9421, sf
from hyperbeam.errors import SignatureError
from hyperbeam.http.render import request_message
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id, sha256
from hyperbeam.message.wire import wire_of

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "clients"
#: The throwaway key every vector was signed with (its address).
CLIENT = "UIcshuqFE5O7d3kXo6V6inhEHCvp62ivRG-qVItnjzM"


def _load() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(VECTORS.glob("*.json"))}


ALL = _load()
HTTPSIG = sorted(name for name, v in ALL.items() if v["signature"]["format"] == "httpsig")
ANS104 = sorted(name for name, v in ALL.items() if v["signature"]["format"] == "ans104")
#: Vectors whose nested message the client itself garbled (see its notes).
GARBLED = {"hbsig-0.2.8-commit-post-binary"}


def _request(name: str) -> tuple[str, str, str, dict[str, str], bytes]:
    """method, path, query, headers (as the node's HTTP edge joins them), body."""
    vector = ALL[name]
    headers: dict[str, str] = {}
    for key, value in vector["headers"]:
        key = key.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    path, _, query = vector["target"].partition("?")
    return vector["method"], path, query, headers, base64.b64decode(vector["body_b64"])


def _fields(headers: dict[str, str]) -> dict[str, bytes]:
    return {k: v.encode("latin-1") for k, v in headers.items()}


def test_the_corpus_is_there() -> None:
    clients = {name.split("-", 1)[0] for name in ALL}
    assert {"hbsig", "wao", "aoconnect", "arbundles"} <= clients
    assert len(HTTPSIG) >= 20 and len(ANS104) >= 5


@pytest.mark.parametrize("name", [n for n in HTTPSIG if n not in GARBLED])
def test_signed_requests_verify_and_decode(name: str) -> None:
    method, path, query, headers, body = _request(name)
    msg = request_message(method, path, query, headers, body)
    assert commit.signers(msg) == [CLIENT]
    assert commit.verify(msg)
    assert wire_of(msg) is not None


@pytest.mark.parametrize("name", [n for n in HTTPSIG if n not in GARBLED])
def test_rsa_commitment_ids_come_from_the_signatures(name: str) -> None:
    method, path, query, headers, body = _request(name)
    msg = request_message(method, path, query, headers, body)
    [(label, value)] = _signatures(headers["signature"])
    assert human_id(sha256(value)) in msg["commitments"], label
    nested = msg.get("body")
    if isinstance(nested, dict) and "commitments" in nested:
        # The client names the nested commitments' parts in lower case; the
        # IDs (and so the process ID of a spawn) come from the signatures.
        rsa = [c for c in nested["commitments"].values() if c["alg"] == "rsa-pss-sha512"]
        assert len(rsa) == 1
        [sig] = rfc9421.parse(rsa[0]["signature"].encode(), rsa[0]["signature-input"].encode())
        expected = human_id(sha256(sig.value))
        assert commit.id(nested, "all") == expected
        assert commit.verify(nested) and wire_of(nested) is not None


def _signatures(raw: str) -> list[tuple[str, bytes]]:
    return [
        (label, member.bare.value)
        for label, member in sf.parse_dictionary(raw)
        if isinstance(member, sf.Item) and isinstance(member.bare.value, bytes)
    ]


def test_a_spawns_process_id_keeps_its_case() -> None:
    method, path, query, headers, body = _request("hbsig-0.2.8-spawn")
    parts = headers["body-keys"].replace('"', "").split(", ")
    lowered = {name.rsplit("/", 1)[-1] for name in parts}
    msg = request_message(method, path, query, headers, body)
    process_id = commit.id(msg["body"], "all")
    assert process_id.lower() in lowered  # the client's part name, folded
    assert process_id not in lowered and process_id != process_id.lower()


def _body_signed(name: str) -> bool:
    _, _, _, headers, body = _request(name)
    return bool(body) and "content-digest" in headers["signature-input"]


@pytest.mark.parametrize("name", [n for n in HTTPSIG if n not in GARBLED and _body_signed(n)])
def test_a_flipped_body_byte_is_refused(name: str) -> None:
    method, path, query, headers, body = _request(name)
    for at in (0, len(body) // 2, len(body) - 1):
        tampered = body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]
        with pytest.raises(SignatureError):
            request_message(method, path, query, headers, tampered)


@pytest.mark.parametrize("name", [n for n in HTTPSIG if n not in GARBLED])
def test_a_changed_signed_field_is_refused(name: str) -> None:
    method, path, query, headers, body = _request(name)
    [sig] = rfc9421.parse(headers["signature"].encode(), headers["signature-input"].encode())
    for component in sig.names:
        key = component.removeprefix("@")
        if key not in headers or key == "content-digest":
            continue
        changed = {**headers, key: headers[key] + "x"}
        with pytest.raises(SignatureError):
            request_message(method, path, query, changed, body)


def test_an_unsigned_header_added_in_transit_is_dropped() -> None:
    method, path, query, headers, body = _request("hbsig-0.2.8-post-headers")
    msg = request_message(method, path, query, {**headers, "x-injected": "1"}, body)
    assert "x-injected" not in msg and commit.verify(msg)


def test_a_nested_message_that_does_not_verify_says_so() -> None:
    method, path, query, headers, body = _request("hbsig-0.2.8-spawn")
    # The outer signature would catch a changed body first: send the body
    # unsigned, so that only the nested process's own signature can.
    # (Its content-digest goes too: an unsigned request's digest is checked.)
    unsigned = {
        k: v
        for k, v in headers.items()
        if k not in ("signature", "signature-input", "content-digest")
    }
    msg = request_message(method, path, query, unsigned, body)
    assert commit.verify(msg["body"])
    tampered = body.replace(b"type: Process", b"type: Procesz")
    msg = request_message(method, path, query, unsigned, tampered)
    wire = wire_of(msg["body"])
    assert wire is not None and wire.verify() is not None
    assert not commit.verify(msg["body"])
    tabm, wires = received.decode(_fields(unsigned), body)
    assert [where for where, _ in wires] == [("body",)]
    assert "commitments" in tabm["body"]


@pytest.mark.parametrize("name", ANS104)
def test_data_items_verify(name: str) -> None:
    method, path, query, headers, body = _request(name)
    msg = request_message(method, path, query, headers, body)
    assert commit.signers(msg) == [CLIENT]
