"""The pure parts of ``dry-run@1.0`` (src/hyperbeam/devices/dryrun.py): the
message a request asks to evaluate, and a legacy compute unit's JSON in and
out. End to end over HTTP: tests/integration/test_dry_run.py and
tests/interop/test_aoconnect_dryrun.py."""

from __future__ import annotations

import json

import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices.dryrun import (
    DryRunDevice,
    legacy_body,
    legacy_message,
    legacy_reply,
    message_of,
    next_request,
)
from hyperbeam.devices.process import DRY_RUN_DEVICE
from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.json_struct import message_to_json_struct

PID = "p" * 43
OWNER = "o" * 43


def test_a_signed_request_is_sent_by_its_signer_without_how_it_travelled() -> None:
    wallet = Wallet.generate()
    signed = commit.commit({"action": "Eval", "data": "return 1", "owner": OWNER}, wallet)
    request = {**signed, "path": "compute", "method": "POST", "require-codec": "application/json"}
    message = message_of(request)
    assert {k for k in message if k != "commitments"} == {"action", "data"}
    assert commit.signers(message) == [wallet.address]
    struct = message_to_json_struct(message)
    assert struct["Owner"] == struct["From"] == wallet.address
    assert struct["Tags"] == [{"name": "Action", "value": "Eval"}]


def test_an_unsigned_request_is_sent_by_its_owner_else_by_nobody() -> None:
    assert commit.signers(message_of({"path": "compute", "owner": OWNER, "a": "b"})) == [OWNER]
    anonymous = message_of({"path": "compute", "a": "b"})
    assert anonymous == {"a": "b", "commitments": {}}
    assert message_to_json_struct(anonymous)["Owner"] == ""


def test_a_legacy_body_becomes_the_message_a_cu_would_evaluate() -> None:
    body = legacy_body(
        json.dumps(
            {
                "Id": "1234",
                "Target": PID,
                "Owner": OWNER,
                "Anchor": "0",
                "Data": "return 1",
                "Tags": [{"name": "Action", "value": "Eval"}, {"name": "N", "value": 3}],
            }
        )
    )
    message = legacy_message(body, PID)
    struct = message_to_json_struct(message)
    assert struct["Owner"] == struct["From"] == OWNER
    assert struct["Target"] == PID and struct["Data"] == "return 1" and struct["Anchor"] == "0"
    assert {"name": "Action", "value": "Eval"} in struct["Tags"]
    assert {"name": "N", "value": "3"} in struct["Tags"]
    # The ID given is used when it is one.
    given = legacy_message({**body, "Id": "i" * 43}, PID)
    assert commit.id(given, "all") == "i" * 43


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'"text"', b'{"Tags": {"name": "a"}}', b'{"Tags": [{"name": 1}]}'],
)
def test_a_malformed_legacy_body_is_a_400(raw: bytes) -> None:
    with pytest.raises(HyperbeamError) as caught:
        legacy_body(raw)
    assert caught.value.status == 400


def test_a_legacy_reply_is_the_aos_response_with_what_it_lacks() -> None:
    response = {"Output": {"data": "42"}, "Messages": [{"Target": PID}]}
    results = {"raw": {"content-type": "application/json", "body": json.dumps(response)}}
    reply = legacy_reply("ok", results)
    assert reply["status"] == 200 and reply["content-type"] == "application/json"
    assert json.loads(reply["body"]) == {
        "Output": {"data": "42"},
        "Messages": [{"Target": PID}],
        "Spawns": [],
        "Assignments": [],
        "GasUsed": 0,
    }
    failed = legacy_reply("error", {"status": 500, "body": "WASM execution error.", "reason": "x"})
    assert failed["status"] == 500 and json.loads(failed["body"])["Error"] == "x"


def test_as_execution_names_this_device() -> None:
    assert DryRunDevice.name == DRY_RUN_DEVICE


def test_the_request_is_the_next_slot_of_the_state() -> None:
    request = next_request({"at-slot": 4}, {"a": "b"}, PID, now_ms=1000)
    assert request["slot"] == 5 and request["body"] == {"a": "b"}
    assert request["process"] == PID and request["timestamp"] == 1000
    assert request["path"] == "compute"
