"""Arweave wallets: RSA-4096 keys (e = 65537) kept as JWK files, and RSA-PSS.

A wallet's *owner* is its public modulus (512 bytes, big-endian) and its
*address* is base64url(sha256(owner)). Signatures are RSA-PSS with MGF1 over
the same digest and a salt as long as the digest (32 bytes for sha256, 64 for
sha512); verification accepts any salt length, as upstream's rsa_pss does.

Upstream: ar_wallet (new/0, sign/3, verify/4, to_address/1, load_keyfile/1,
new_keyfile/2) and rsa_pss.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hyperbeam.errors import HyperbeamError
from hyperbeam.message.ids import b64url_decode, b64url_encode, human_id, sha256

Digest = Literal["sha256", "sha512"]

PUBLIC_EXPONENT = 65537
KEY_BITS = 4096

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha512": hashes.SHA512}


class WalletError(HyperbeamError):
    """A key file that cannot be read, written or used."""

    status = 500


def _int_bytes(value: int, size: int | None = None) -> bytes:
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def _b64int(value: int) -> str:
    return b64url_encode(_int_bytes(value))


def _jwk_int(jwk: dict[str, Any], name: str) -> int:
    raw = jwk.get(name)
    if not isinstance(raw, str):
        raise WalletError(f"key file has no {name!r} field")
    return int.from_bytes(b64url_decode(raw), "big")


def _pss(digest: Digest, salt_length: Any) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(_HASHES[digest]()), salt_length=salt_length)


@dataclass(frozen=True)
class Wallet:
    """An RSA key pair with its Arweave identity."""

    key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, bits: int = KEY_BITS) -> Wallet:
        return cls(rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=bits))

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> Wallet:
        """A wallet from an Arweave JWK (``kty: RSA`` with ``n e d p q dp dq qi``)."""
        if jwk.get("kty") != "RSA":
            raise WalletError("key file is not an RSA JWK (kty must be 'RSA')")
        public = rsa.RSAPublicNumbers(_jwk_int(jwk, "e"), _jwk_int(jwk, "n"))
        if public.e != PUBLIC_EXPONENT:
            raise WalletError(f"unsupported public exponent {public.e}")
        p, q, d = _jwk_int(jwk, "p"), _jwk_int(jwk, "q"), _jwk_int(jwk, "d")
        numbers = rsa.RSAPrivateNumbers(
            p=p,
            q=q,
            d=d,
            dmp1=_jwk_int(jwk, "dp") if "dp" in jwk else rsa.rsa_crt_dmp1(d, p),
            dmq1=_jwk_int(jwk, "dq") if "dq" in jwk else rsa.rsa_crt_dmq1(d, q),
            iqmp=_jwk_int(jwk, "qi") if "qi" in jwk else rsa.rsa_crt_iqmp(p, q),
            public_numbers=public,
        )
        try:
            return cls(numbers.private_key())
        except ValueError as exc:
            raise WalletError(f"key file holds an invalid RSA key: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> Wallet:
        """Read a JWK key file. Upstream: ar_wallet:load_keyfile/1."""
        try:
            jwk = json.loads(path.read_text())
        except OSError as exc:
            raise WalletError(f"cannot read key file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise WalletError(f"key file {path} is not JSON: {exc}") from None
        if not isinstance(jwk, dict):
            raise WalletError(f"key file {path} is not a JSON object")
        return cls.from_jwk(jwk)

    def to_jwk(self) -> dict[str, str]:
        priv = self.key.private_numbers()
        pub = priv.public_numbers
        return {
            "kty": "RSA",
            "e": _b64int(pub.e),
            "n": b64url_encode(self.owner),
            "d": _b64int(priv.d),
            "p": _b64int(priv.p),
            "q": _b64int(priv.q),
            "dp": _b64int(priv.dmp1),
            "dq": _b64int(priv.dmq1),
            "qi": _b64int(priv.iqmp),
        }

    def save(self, path: Path) -> None:
        """Write the key file, readable by its owner only; never overwrite one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.to_jwk()).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise WalletError(f"refusing to overwrite the key file {path}") from None
        with os.fdopen(fd, "wb") as out:
            out.write(data)

    @property
    def owner(self) -> bytes:
        """The public modulus, big-endian, as long as the key."""
        numbers = self.key.public_key().public_numbers()
        return _int_bytes(numbers.n, (self.key.key_size + 7) // 8)

    @property
    def address(self) -> str:
        return address_of(self.owner)

    def sign(self, data: bytes, digest: Digest = "sha256") -> bytes:
        """RSA-PSS signature of ``data``, salt as long as the digest."""
        return self.key.sign(data, _pss(digest, padding.PSS.DIGEST_LENGTH), _HASHES[digest]())


def address_of(owner: bytes) -> str:
    """The address of a public modulus. Upstream: ar_wallet:to_address/1."""
    return human_id(sha256(owner))


def verify(owner: bytes, data: bytes, signature: bytes, digest: Digest = "sha256") -> bool:
    """Check an RSA-PSS signature by the key whose modulus is ``owner``."""
    try:
        _public_key(owner).verify(
            signature, data, _pss(digest, padding.PSS.AUTO), _HASHES[digest]()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _public_key(owner: bytes) -> rsa.RSAPublicKey:
    """The key of a modulus, made once (the same signers come back again and again)."""
    return rsa.RSAPublicNumbers(PUBLIC_EXPONENT, int.from_bytes(owner, "big")).public_key()


def load_or_create(path: Path) -> Wallet:
    """The wallet at ``path``, generated (and saved, mode 0600) on first use."""
    if path.exists():
        return Wallet.load(path)
    wallet = Wallet.generate()
    try:
        wallet.save(path)
    except WalletError:
        # Another process created it first: use theirs.
        return Wallet.load(path)
    return wallet
