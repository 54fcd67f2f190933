"""Arweave wallets (hyperbeam.crypto.wallet) against ar_wallet / rsa_pss behaviour."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hyperbeam.crypto.wallet import Digest, Wallet, WalletError, address_of, load_or_create, verify
from hyperbeam.message.ids import b64url_decode, sha256


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


def test_generated_key_is_rsa_4096_with_e_65537(wallet: Wallet) -> None:
    """ar_wallet:new/0 makes {rsa, 65537} keys of 4096 bits."""
    assert wallet.key.key_size == 4096
    assert wallet.key.public_key().public_numbers().e == 65537
    assert len(wallet.owner) == 512


def test_address_is_sha256_of_the_modulus(wallet: Wallet) -> None:
    """ar_wallet:to_address/1."""
    assert b64url_decode(wallet.address) == sha256(wallet.owner)
    assert address_of(wallet.owner) == wallet.address
    assert len(wallet.address) == 43


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
def test_sign_and_verify(wallet: Wallet, digest: Digest) -> None:
    """rsa_pss: the salt is as long as the digest; tampering breaks the signature."""
    data = b"signature base " * 20
    sig = wallet.sign(data, digest)
    assert len(sig) == 512
    assert verify(wallet.owner, data, sig, digest)
    assert not verify(wallet.owner, data + b"!", sig, digest)
    assert not verify(wallet.owner, data, sig[:-1] + bytes([sig[-1] ^ 1]), digest)
    other: Digest = "sha512" if digest == "sha256" else "sha256"
    assert not verify(wallet.owner, data, sig, other)
    # PSS is randomized: two signatures of the same data differ, both verify.
    assert wallet.sign(data, digest) != sig


def test_wrong_key_does_not_verify(wallet: Wallet) -> None:
    other = Wallet.generate(2048)
    sig = other.sign(b"data")
    assert not verify(wallet.owner, b"data", sig)
    assert verify(other.owner, b"data", sig)


def test_jwk_round_trip(wallet: Wallet) -> None:
    jwk = wallet.to_jwk()
    assert set(jwk) == {"kty", "e", "n", "d", "p", "q", "dp", "dq", "qi"}
    assert jwk["e"] == "AQAB"
    again = Wallet.from_jwk(jwk)
    assert again.address == wallet.address
    assert verify(wallet.owner, b"x", again.sign(b"x"))


def test_save_is_private_and_never_overwrites(tmp_path: Path, wallet: Wallet) -> None:
    path = tmp_path / "keys" / "wallet.json"
    wallet.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Wallet.load(path).address == wallet.address
    before = path.read_bytes()
    with pytest.raises(WalletError, match="refusing to overwrite"):
        Wallet.generate(2048).save(path)
    assert path.read_bytes() == before


def test_load_or_create_creates_once(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    first = load_or_create(path)
    assert path.exists()
    assert load_or_create(path).address == first.address


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"kty": "EC"}), "not an RSA JWK"),
        (json.dumps({"kty": "RSA", "n": "AQAB"}), "no 'e' field"),
    ],
)
def test_bad_key_files_get_a_clear_error(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "wallet.json"
    path.write_text(content)
    with pytest.raises(WalletError, match=reason):
        Wallet.load(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="cannot read key file"):
        Wallet.load(tmp_path / "absent.json")
