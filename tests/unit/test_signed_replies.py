"""The signed-reply memo (hyperbeam.http.render.SignedReplies)."""

from __future__ import annotations

import pytest

from hyperbeam.codecs.httpsig import from_httpsig
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http.render import SignedReplies, render
from hyperbeam.message import commit


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


def _decoded(headers: list[tuple[str, str]], body: bytes) -> dict[str, object]:
    http: dict[str, object] = {
        k: v for k, v in headers if not k.startswith("access-control-") and k != "content-length"
    }
    http["body"] = body
    return from_httpsig(http)


def test_identical_replies_are_signed_once_and_verify(wallet: Wallet) -> None:
    replies = SignedReplies()
    msg = {"a": "1", "n": {"x": "y"}, "status": 200}
    _, first, body1 = render(msg, {}, wallet=wallet, replies=replies)
    _, again, body2 = render(dict(msg), {}, wallet=wallet, replies=replies)
    assert dict(first)["signature"] == dict(again)["signature"]
    assert body1 == body2
    decoded = _decoded(again, body2)
    assert commit.verify(decoded)
    assert commit.signers(decoded) == [wallet.address]


def test_different_content_or_hashpath_is_signed_afresh(wallet: Wallet) -> None:
    replies = SignedReplies()
    _, base, _ = render({"a": "1"}, {}, wallet=wallet, replies=replies)
    _, other, _ = render({"a": "2"}, {}, wallet=wallet, replies=replies)
    _, linked, _ = render(
        {"a": "1", "priv": {"hashpath": "x/y"}}, {}, wallet=wallet, replies=replies
    )
    signatures = {dict(h)["signature"] for h in (base, other, linked)}
    assert len(signatures) == 3
    assert 'tag="x/y"' in dict(linked)["signature-input"]


def test_the_memo_is_bounded(wallet: Wallet) -> None:
    replies = SignedReplies(size=2)
    for value in ("1", "2", "3"):
        render({"a": value}, {}, wallet=wallet, replies=replies)
    assert len(replies._entries) == 2


def test_without_a_wallet_replies_are_unsigned() -> None:
    _, headers, _ = render({"a": "1"}, {}, wallet=None, replies=SignedReplies())
    assert "signature" not in dict(headers)
