"""The ``ans104@1.0`` codec: Arweave ANS-104 data items and bundles, and the
mapping between data items and AO-Core messages.

Binary layout of a data item (all integers little-endian unless noted)::

    signature type  2 bytes   1 = Arweave RSA-4096 (the only type supported)
    signature       512 bytes RSA-PSS over the deep hash below (zeros if unsigned)
    owner           512 bytes RSA modulus of the signer (zeros if unsigned)
    target          1 byte presence flag, then 32 bytes if it is 1
    anchor          1 byte presence flag, then 32 bytes if it is 1
    tag count       8 bytes
    tag bytes       8 bytes   length of the Avro block that follows
    tags            Avro array of {name: bytes, value: bytes} (zig-zag varints)
    data            the rest

The signature covers ``deep_hash(["dataitem", "1", "1", owner, target,
anchor, tags, data])`` (sha384 deep hash, :func:`deep_hash`); the item's ID is
``sha256(signature)`` and its *unsigned ID* is ``sha256`` of the same deep
hash taken with a zero owner.

A data item whose data is a ``dict`` or ``list`` of items is a *bundle*: on
serialization the data becomes a bundle binary (32-byte count, then 32-byte
size and 32-byte ID per item, then the items), and the
item gets the ``bundle-format: binary`` and ``bundle-version: 2.0.0`` tags. A
map is written with a first item, the *manifest*, whose data is the JSON
object ``{key: unsigned ID}`` and whose unsigned ID goes in a ``bundle-map``
tag; a list becomes the map ``"1"``, ``"2"``... plus a ``map-format: list``
tag. :func:`deserialize` reverses this (upstream looks for ``map-format:
List``, with a capital, to turn a map back into a list, so lists come back as
maps; this is kept). Upstream writes the bundle's numbers big-endian and
each item's *unsigned* ID in its header, where ANS-104 (and arbundles) use
little-endian numbers and signed IDs; nested bundles here follow upstream,
and :func:`serialize_bundle` / :func:`deserialize_bundle` do either.

Message mapping (upstream dev_codec_ans104 ``to/1`` and ``from/1``): a
TABM's keys ``last_tx`` (anchor), ``target``, ``owner``, ``signature`` and
``data`` fill the data item's fields (43-character IDs given for them are
decoded to 32 bytes), ``id``, ``unsigned_id``, ``format`` and ``tags`` are
dropped; every other binary of at most 128 bytes that is UTF-8 becomes a tag
(named by its normalized key, tags sorted by key); the remaining values
(nested messages, longer or non-UTF-8 binaries) become items of a map bundle
in the data, next to the ``data`` key's value if there is one. A binary on
its own is an item tagged ``ao-type: binary``. Going back, tags become keys
(lower-cased; repeated names become a structured-field list of their values)
and a signed item gets the commitment::

    {ID: {"commitment-device": "ans104@1.0", "alg": "rsa-pss",
          "committer": address, "owner": modulus, "signature": signature}}

If any tag name is not in normal (lower-case) form, the commitment (or, for
an unsigned item, an ``"alg": "unsigned"`` commitment under the all-zero ID)
carries ``original-tags``: ``{"1": {"name": ..., "value": ...}, ...}``, from
which :func:`to_item` restores the exact tags, so the signature still
verifies.

Kept from upstream, though surprising: tags are ordered by key, and bundle
maps too, which is upstream's order only for messages of at most 32 keys
(Erlang maps iterate in hash order beyond that); ``original-tags`` is kept
only when a tag name is not lower case, so a signed item whose lower-case
tags are out of order or repeated cannot be rebuilt from its message (its
commitment does not verify); a ``data`` (or ``target``...) value that looks
like a 43-character ID is decoded to 32 bytes; a signed item whose data was
unbundled verifies only if re-serializing that data gives back the same
bytes; a non-``binary`` ``ao-type`` tag is an error; a message's own
``committer`` or ``alg`` key is signed but then left out when verifying, so
such a message's commitment does not verify.

Departures: upstream stops decoding tags at an empty tag name, this module
reads it; tag encodings that are valid Avro but not the canonical single
block (which upstream could not verify) are rejected; an empty tag value
that structured@1.0 moved into ``ao-types`` still matches its
``original-tags`` entry (upstream throws there); :func:`verify_commitment`
checks the commitment's ID and committer.

API:

* :class:`DataItem` and the byte format: :func:`serialize`
  ``(item | list | dict) -> bytes``, :func:`deserialize`
  ``(raw, *, unbundle=True) -> DataItem``, :func:`encode_tags`,
  :func:`decode_tags`, :func:`deep_hash`, :func:`signature_data`,
  :func:`normalize`, :func:`unbundle`, :func:`serialize_bundle`
  ``(items, *, standard=False) -> bytes``, :func:`deserialize_bundle`
  ``(raw, *, standard=False) -> list[DataItem]``, :func:`find` / :func:`member`.
* Signing: :func:`sign` ``(item, wallet) -> DataItem``, :func:`verify`
  ``(item) -> bool``.
* Messages: :func:`to_item` ``(tabm | binary | DataItem) -> DataItem``,
  :func:`from_item` ``(item) -> Tabm | bytes``, :func:`serialize_message`
  ``(tabm) -> bytes``, :func:`deserialize_message` ``(raw) -> Tabm | bytes``,
  :func:`signed_id` ``(msg) -> str``.
* Commitments, on rich messages (TABMs are accepted too):
  :func:`commit` ``(msg, wallet) -> Message`` (upstream ``commit/3``; replaces
  any commitments the message had), :func:`verify_commitment`
  ``(msg, commitment_id) -> bool`` (upstream ``verify/3`` as reached through
  ``dev_message:verify/3``; it also checks that the commitment's key is the
  item's ID and that ``committer`` is the owner's address, which upstream does
  not), :func:`committed_keys` ``(msg, commitment_id) -> list[str]``
  (upstream ``committed/3``).

Upstream: ar_bundles, ar_deep_hash, dev_codec_ans104.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias

from hyperbeam.codecs import sf
from hyperbeam.codecs.json import decode_json, encode_json
from hyperbeam.codecs.structured import (
    Tabm,
    from_message,
    key_bytes,
    message_to_ordered_list,
    parse_ao_types,
    sort_keys,
    to_bytes,
    to_message,
)
from hyperbeam.crypto.wallet import Wallet, address_of
from hyperbeam.crypto.wallet import verify as rsa_verify
from hyperbeam.errors import CodecError
from hyperbeam.message.ids import b64url_decode, b64url_encode, human_id, is_human_id, sha256
from hyperbeam.message.model import Message, normalize_key
from hyperbeam.message.private import is_private

Tag: TypeAlias = tuple[bytes, bytes]
Endian: TypeAlias = Literal["big", "little"]

CONTENT_TYPE = "application/ans104"
DEVICE = "ans104@1.0"

SIGNATURE_TYPE_RSA = 1
SIGNATURE_LENGTH = 512
OWNER_LENGTH = 512
DEFAULT_SIGNATURE = bytes(SIGNATURE_LENGTH)
DEFAULT_OWNER = bytes(OWNER_LENGTH)
DEFAULT_ID = bytes(32)

MAX_TAGS = 128
"""Most tags a valid (verifiable) item may have."""
MAX_TAG_NAME_BYTES = 1024
"""Longest tag name a valid item may have."""
MAX_TAG_VALUE_BYTES = 3072
"""Longest tag value a valid item may have."""
MAX_TAG_FIELD_BYTES = 3072
"""Longest tag name or value that can be serialized at all."""
MAX_TAG_VALUE_IN_MESSAGE = 128
"""Longest binary that :func:`to_item` writes as a tag rather than as an item."""
MAX_NESTING = 64
"""Deepest nesting of bundles (and messages) handled."""

BUNDLE_TAGS: tuple[Tag, ...] = ((b"bundle-format", b"binary"), (b"bundle-version", b"2.0.0"))
LIST_TAGS: tuple[Tag, ...] = ((b"map-format", b"list"),)
MANIFEST_TAGS: tuple[Tag, ...] = ((b"data-protocol", b"bundle-map"), (b"variant", b"0.0.1"))
BINARY_TAG: Tag = (b"ao-type", b"binary")

# Message keys that fill the data item's fields (upstream ?TX_KEYS plus data),
# keys forced into tags although they name transaction fields, and tags that
# `from_item` drops (they belong to the bundle encoding).
_FIELD_KEYS = ("id", "unsigned_id", "last_tx", "owner", "target", "signature", "data")
_DROPPED_FIELD_KEYS = ("format", "tags")
_FORCED_TAG_KEYS = frozenset(
    {
        "quantity",
        "manifest",
        "data_size",
        "data_tree",
        "data_root",
        "reward",
        "denomination",
        "signature_type",
    }
)
_FILTERED_TAGS = ("bundle-format", "bundle-map", "bundle-version")
_COMMITTED_FIELDS = ["id", "last_tx", "owner", "target", "signature", "data"]
_RSA_PSS = b"rsa-pss"
_UNSIGNED = b"unsigned"


# --- data items --------------------------------------------------------------------


@dataclass
class DataItem:
    """An ANS-104 data item. Upstream: the ``#tx{}`` record as ar_bundles uses it.

    ``data`` is the raw data, or for a bundle a ``dict`` (or ``list``) of
    items; ``manifest`` is the manifest item of a map bundle, filled in by
    :func:`normalize` and :func:`deserialize`.
    """

    data: bytes | dict[str, DataItem] | list[DataItem] = b""
    tags: list[Tag] = field(default_factory=list)
    target: bytes = b""
    anchor: bytes = b""
    owner: bytes = DEFAULT_OWNER
    signature: bytes = DEFAULT_SIGNATURE
    signature_type: int = SIGNATURE_TYPE_RSA
    manifest: DataItem | None = None

    @property
    def is_signed(self) -> bool:
        """Upstream: ar_bundles:is_signed/1."""
        return self.signature != DEFAULT_SIGNATURE

    @property
    def id(self) -> bytes | None:
        """The signed ID, ``sha256(signature)``; None if the item is unsigned.
        Upstream: ar_bundles:id(Item, signed)."""
        return sha256(self.signature) if self.is_signed else None

    @property
    def unsigned_id(self) -> bytes:
        """The ID of the item's content with a zero owner. Upstream:
        ar_bundles:id(Item, unsigned)."""
        return unsigned_id(self)

    @property
    def signer(self) -> bytes | None:
        """The signer's address (raw); None if unsigned. Upstream: ar_bundles:signer/1."""
        return None if self.owner == DEFAULT_OWNER else sha256(self.owner)


def unsigned_id(item: DataItem) -> bytes:
    """``sha256`` of the signature data taken with a zero owner."""
    return sha256(signature_data(replace(item, owner=DEFAULT_OWNER)))


# --- deep hash -----------------------------------------------------------------------


def deep_hash(value: bytes | Sequence[Any]) -> bytes:
    """Arweave's deep hash (sha384) of a binary or a nested list of binaries.
    Upstream: ar_deep_hash:hash/1."""
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        tag = b"blob" + str(len(raw)).encode("ascii")
        return _sha384(_sha384(tag) + _sha384(raw))
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CodecError(f"cannot deep-hash a {type(value).__name__}")
    elements: Sequence[Any] = value
    acc = _sha384(b"list" + str(len(elements)).encode("ascii"))
    for element in elements:
        acc = _sha384(acc + deep_hash(element))
    return acc


def _sha384(data: bytes) -> bytes:
    return hashlib.sha384(data).digest()


# --- tags (Avro) -----------------------------------------------------------------------


def encode_tags(tags: Sequence[Tag]) -> bytes:
    """Tags as one Avro array block: zig-zag count, length-prefixed name and
    value per tag, then a zero. No tags give no bytes. Upstream:
    ar_bundles:encode_tags/1."""
    if not tags:
        return b""
    out = bytearray(_zigzag(len(tags)))
    for name, value in tags:
        for part in (name, value):
            out += _zigzag(len(part))
            out += part
    out.append(0)
    return bytes(out)


def decode_tags(raw: bytes, count: int | None = None) -> list[Tag]:
    """Tags from their Avro encoding, which must be exactly what
    :func:`encode_tags` writes; ``count``, if given, must match.
    Upstream: ar_bundles:decode_tags/1."""
    tags: list[Tag] = []
    if raw:
        pos = 0
        blocks, pos = _read_long(raw, pos)
        if blocks <= 0:
            raise CodecError("data item tags: the first Avro block must hold tags")
        for _ in range(blocks):
            name, pos = _read_bytes(raw, pos)
            value, pos = _read_bytes(raw, pos)
            tags.append((name, value))
        end, pos = _read_long(raw, pos)
        if end != 0:
            raise CodecError("data item tags: more than one Avro block")
        if pos != len(raw):
            raise CodecError("data item tags: bytes left after the Avro array")
        if encode_tags(tags) != raw:
            raise CodecError("data item tags: not in canonical Avro form")
    if count is not None and count != len(tags):
        raise CodecError(f"data item claims {count} tags but holds {len(tags)}")
    return tags


def _zigzag(value: int) -> bytes:
    encoded = (value << 1) if value >= 0 else ((-value << 1) - 1)
    out = bytearray()
    while True:
        byte = encoded & 0x7F
        encoded >>= 7
        if encoded:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_long(raw: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    for index in range(10):
        if pos + index >= len(raw):
            raise CodecError("data item tags: truncated Avro number")
        byte = raw[pos + index]
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            value = (result >> 1) if not result & 1 else -((result >> 1) + 1)
            return value, pos + index + 1
    raise CodecError("data item tags: Avro number longer than 64 bits")


def _read_bytes(raw: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = _read_long(raw, pos)
    if size < 0 or pos + size > len(raw):
        raise CodecError("data item tags: truncated Avro string")
    return raw[pos : pos + size], pos + size


def _keyfind(tags: Iterable[Tag], name: bytes) -> bytes | None:
    """The value of the first tag named ``name``. Upstream: lists:keyfind/3."""
    for tag_name, value in tags:
        if tag_name == name:
            return value
    return None


# --- validity, normalization and IDs ----------------------------------------------------


def _check_item(item: DataItem) -> None:
    """Raise CodecError unless the item can be serialized. Upstream:
    ar_bundles:enforce_valid_tx/1 (which also lets through owners and
    signatures of other lengths, which cannot be serialized)."""
    if not isinstance(item, DataItem):
        raise CodecError(f"not a data item: {type(item).__name__}")
    if item.signature_type != SIGNATURE_TYPE_RSA:
        raise CodecError(f"unsupported signature type {item.signature_type!r}")
    _check_field("anchor", item.anchor, (0, 32))
    _check_field("target", item.target, (0, 32))
    _check_field("owner", item.owner, (OWNER_LENGTH,))
    _check_field("signature", item.signature, (SIGNATURE_LENGTH,))
    if not isinstance(item.tags, list | tuple):
        raise CodecError("data item tags must be a list of (name, value) pairs")
    for tag in item.tags:
        if not (isinstance(tag, tuple | list) and len(tag) == 2):
            raise CodecError(f"invalid data item tag {tag!r}")
        for kind, part in zip(("name", "value"), tag, strict=True):
            if not isinstance(part, bytes):
                raise CodecError(f"data item tag {kind} {part!r} is not bytes")
            if len(part) > MAX_TAG_FIELD_BYTES:
                raise CodecError(f"data item tag {kind} is longer than {MAX_TAG_FIELD_BYTES} bytes")
    if not isinstance(item.data, bytes | dict | list):
        raise CodecError(f"data item data cannot be a {type(item.data).__name__}")


def _check_field(name: str, value: object, sizes: tuple[int, ...]) -> None:
    if not isinstance(value, bytes) or len(value) not in sizes:
        raise CodecError(f"data item {name} must be bytes of length {' or '.join(map(str, sizes))}")


def normalize(item: DataItem | list[DataItem] | dict[str, DataItem]) -> DataItem:
    """The item with bundle data serialized: bytes data, bundle tags and
    manifest set. Upstream: ar_bundles:normalize/1 (normalize_data/1)."""
    if isinstance(item, list | dict):
        item = DataItem(data=item)
    return _normalize(item, 0)


def _normalize(item: DataItem, depth: int) -> DataItem:
    _check_item(item)
    if depth > MAX_NESTING:
        raise CodecError(f"bundles nested more than {MAX_NESTING} deep")
    data = item.data
    if isinstance(data, bytes):
        return item
    if isinstance(data, list):
        numbered = {str(index): _as_item(value) for index, value in enumerate(data, start=1)}
        return _normalize(replace(item, tags=_add_list_tags(item.tags), data=numbered), depth)
    manifest, raw = _bundle_map_data(data, depth)
    tags = _add_manifest_tags(_add_bundle_tags(item.tags), unsigned_id(manifest))
    return replace(item, data=raw, tags=tags, manifest=manifest)


def _as_item(value: Any) -> DataItem:
    if isinstance(value, DataItem):
        return value
    if isinstance(value, list | dict):
        return DataItem(data=value)
    raise CodecError(f"bundle members must be data items, not {type(value).__name__}")


def _bundle_map_data(data: Mapping[str, Any], depth: int) -> tuple[DataItem, bytes]:
    """The manifest and bundle binary of a map. Upstream:
    ar_bundles:serialize_bundle_data/2 and new_manifest/1."""
    pairs = {key: _serialized_pair(_as_item(value), depth + 1) for key, value in data.items()}
    index = {key: b64url_encode(uid) for key, (uid, _) in pairs.items()}
    manifest = _normalize(DataItem(tags=list(MANIFEST_TAGS), data=encode_json(index)), depth + 1)
    ordered = [_serialized_pair(manifest, depth + 1)]
    ordered += [pairs[key] for key in sort_keys(pairs)]
    return manifest, _bundle_binary(ordered)


def _serialized_pair(item: DataItem, depth: int) -> tuple[bytes, bytes]:
    normalized = _normalize(item, depth)
    return unsigned_id(normalized), _to_bytes(normalized)


def _bundle_binary(pairs: Sequence[tuple[bytes, bytes]], order: Endian = "big") -> bytes:
    """Upstream: ar_bundles:finalize_bundle_data/1 (``order`` "big");
    ANS-104 itself writes the numbers little-endian."""
    header = bytearray(len(pairs).to_bytes(32, order))
    for item_id, raw in pairs:
        header += len(raw).to_bytes(32, order) + item_id
    return bytes(header) + b"".join(raw for _, raw in pairs)


def _list_minus(tags: Sequence[Tag], remove: Iterable[Tag]) -> list[Tag]:
    """Erlang's ``--``: remove the first occurrence of each element."""
    out = list(tags)
    for tag in remove:
        if tag in out:
            out.remove(tag)
    return out


def _add_bundle_tags(tags: Sequence[Tag]) -> list[Tag]:
    return [*BUNDLE_TAGS, *_list_minus(tags, BUNDLE_TAGS)]


def _add_list_tags(tags: Sequence[Tag]) -> list[Tag]:
    return [*_add_bundle_tags(tags), *LIST_TAGS]


def _add_manifest_tags(tags: Sequence[Tag], manifest_id: bytes) -> list[Tag]:
    kept = [tag for tag in tags if tag[0] != b"bundle-map"]
    return [*kept, (b"bundle-map", b64url_encode(manifest_id).encode("ascii"))]


def signature_data(item: DataItem) -> bytes:
    """The deep hash an item's signature covers. Upstream:
    ar_bundles:data_item_signature_data/2."""
    normalized = _normalize(item, 0)
    assert isinstance(normalized.data, bytes)
    return deep_hash(
        [
            b"dataitem",
            b"1",
            b"1",
            normalized.owner,
            normalized.target,
            normalized.anchor,
            encode_tags(normalized.tags),
            normalized.data,
        ]
    )


# --- signing -------------------------------------------------------------------------


def sign(item: DataItem, wallet: Wallet) -> DataItem:
    """Sign an item (its bundle data serialized first). Upstream:
    ar_bundles:sign_item/2."""
    base = replace(_normalize(item, 0), owner=wallet.owner, signature_type=SIGNATURE_TYPE_RSA)
    signature = wallet.sign(signature_data(base), "sha256")
    return replace(base, signature=signature)


def verify(item: DataItem) -> bool:
    """Whether the item is signed, its signature valid and its tags within
    the limits (128 tags, names up to 1024 bytes, values up to 3072).
    Upstream: ar_bundles:verify_item/1."""
    try:
        data = signature_data(item)
    except CodecError:
        return False
    tags_valid = len(item.tags) <= MAX_TAGS and all(
        len(name) <= MAX_TAG_NAME_BYTES and len(value) <= MAX_TAG_VALUE_BYTES
        for name, value in item.tags
    )
    return tags_valid and item.is_signed and rsa_verify(item.owner, data, item.signature)


# --- serialization -----------------------------------------------------------------------


def serialize(item: DataItem | list[DataItem] | dict[str, DataItem]) -> bytes:
    """The binary form of an item; a list or map is first wrapped in an
    unsigned bundle item. Upstream: ar_bundles:serialize/1."""
    return _to_bytes(normalize(item))


def _to_bytes(item: DataItem) -> bytes:
    assert isinstance(item.data, bytes)
    tags = encode_tags(item.tags)
    return b"".join(
        [
            item.signature_type.to_bytes(2, "little"),
            item.signature,
            item.owner,
            _optional(item.target),
            _optional(item.anchor),
            len(item.tags).to_bytes(8, "little"),
            len(tags).to_bytes(8, "little"),
            tags,
            item.data,
        ]
    )


def _optional(value: bytes) -> bytes:
    return b"\x01" + value if value else b"\x00"


def deserialize(raw: bytes, *, unbundle: bool = True) -> DataItem:
    """Parse a data item; with ``unbundle``, bundle data is parsed into items
    (see :func:`unbundle`). Upstream: ar_bundles:deserialize/1."""
    item = _parse(raw)
    return _unbundle(item, 0) if unbundle else item


def _parse(raw: bytes) -> DataItem:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise CodecError(f"cannot parse a data item from a {type(raw).__name__}")
    raw = bytes(raw)
    fixed = 2 + SIGNATURE_LENGTH + OWNER_LENGTH
    if len(raw) < 2:
        raise CodecError("data item is truncated before its signature type")
    signature_type = int.from_bytes(raw[:2], "little")
    if signature_type != SIGNATURE_TYPE_RSA:
        raise CodecError(f"unsupported data item signature type {signature_type}")
    if len(raw) < fixed:
        raise CodecError("data item is truncated in its signature or owner")
    signature = raw[2 : 2 + SIGNATURE_LENGTH]
    owner = raw[2 + SIGNATURE_LENGTH : fixed]
    target, pos = _read_optional(raw, fixed, "target")
    anchor, pos = _read_optional(raw, pos, "anchor")
    if len(raw) < pos + 16:
        raise CodecError("data item is truncated in its tag header")
    count = int.from_bytes(raw[pos : pos + 8], "little")
    size = int.from_bytes(raw[pos + 8 : pos + 16], "little")
    pos += 16
    if len(raw) < pos + size:
        raise CodecError("data item is truncated in its tags")
    tags = decode_tags(raw[pos : pos + size], count)
    return DataItem(
        data=raw[pos + size :],
        tags=tags,
        target=target,
        anchor=anchor,
        owner=owner,
        signature=signature,
        signature_type=signature_type,
    )


def _read_optional(raw: bytes, pos: int, name: str) -> tuple[bytes, int]:
    if pos >= len(raw):
        raise CodecError(f"data item is truncated before its {name}")
    flag = raw[pos]
    if flag == 0:
        return b"", pos + 1
    if flag != 1:
        raise CodecError(f"data item {name} has presence byte {flag} (must be 0 or 1)")
    if len(raw) < pos + 33:
        raise CodecError(f"data item is truncated in its {name}")
    return raw[pos + 1 : pos + 33], pos + 33


# --- bundles ---------------------------------------------------------------------------


def unbundle(item: DataItem) -> DataItem:
    """Parse the data of an item tagged ``bundle-format: binary`` and
    ``bundle-version: 2.0.0`` into a map (with a ``bundle-map`` manifest) or
    a list of items. Upstream: ar_bundles:maybe_unbundle/1."""
    return _unbundle(item, 0)


def _unbundle(item: DataItem, depth: int) -> DataItem:
    if not isinstance(item.data, bytes):
        return item
    if _keyfind(item.tags, b"bundle-format") != b"binary":
        return item
    if _keyfind(item.tags, b"bundle-version") != b"2.0.0":
        return item
    if depth >= MAX_NESTING:
        raise CodecError(f"bundles nested more than {MAX_NESTING} deep")
    if not item.data:
        return item  # a detached bundle: its items are not here
    entries = _bundle_entries(item.data, depth + 1)
    map_id = _keyfind(item.tags, b"bundle-map")
    if map_id is None:
        return replace(item, data=[entry for _, entry in entries])
    # Members are found by the unsigned ID of their binary form.
    by_id: dict[bytes, DataItem] = {}
    for parsed, entry in entries:
        by_id.setdefault(unsigned_id(parsed), entry)
    manifest = _find_by_id(by_id, map_id)
    if not isinstance(manifest.data, bytes):
        raise CodecError("bundle manifest is not a binary")
    index = decode_json(manifest.data)
    if not isinstance(index, dict) or not all(isinstance(v, str) for v in index.values()):
        raise CodecError("bundle manifest is not a JSON object of IDs")
    data = {
        key: _find_by_id(by_id, value.encode("ascii", "replace")) for key, value in index.items()
    }
    unbundled = replace(item, data=data, manifest=manifest)
    if _keyfind(item.tags, b"map-format") == b"List":
        try:
            return replace(unbundled, data=message_to_ordered_list(data))
        except CodecError:
            return unbundled
    return unbundled


def _find_by_id(by_id: Mapping[bytes, DataItem], encoded: str | bytes) -> DataItem:
    text = encoded.decode("ascii", "replace") if isinstance(encoded, bytes) else encoded
    if not is_human_id(text):
        raise CodecError(f"bundle map names an invalid ID {text!r}")
    found = by_id.get(b64url_decode(text))
    if found is None:
        raise CodecError(f"bundle holds no item with ID {text}")
    return found


def _bundle_entries(
    raw: bytes, depth: int, order: Endian = "big"
) -> list[tuple[DataItem, DataItem]]:
    """Each member of a bundle binary, as parsed and as unbundled."""
    if len(raw) < 32:
        raise CodecError("bundle is truncated in its item count")
    count = int.from_bytes(raw[:32], order)
    if count > (len(raw) - 32) // 64:
        raise CodecError(f"bundle claims {count} items but is too short for their headers")
    pos = 32 + 64 * count
    entries: list[tuple[DataItem, DataItem]] = []
    for index in range(count):
        start = 32 + 64 * index
        size = int.from_bytes(raw[start : start + 32], order)
        if pos + size > len(raw):
            raise CodecError(f"bundle item {index + 1} runs past the end of the bundle")
        parsed = _parse(raw[pos : pos + size])
        entries.append((parsed, _unbundle(parsed, depth)))
        pos += size
    if pos != len(raw):
        raise CodecError("bundle has bytes left after its last item")
    return entries


def serialize_bundle(items: Sequence[DataItem], *, standard: bool = False) -> bytes:
    """A bundle binary of the items, as upstream writes it: big-endian counts
    and sizes, and each item's *unsigned* ID in the header. With
    ``standard``, as ANS-104 (and arbundles) write it: little-endian numbers
    and signed IDs (every item must then be signed).
    Upstream: ar_bundles:finalize_bundle_data/1."""
    pairs: list[tuple[bytes, bytes]] = []
    for item in items:
        normalized = _normalize(_as_item(item), 1)
        if standard:
            item_id = normalized.id
            if item_id is None:
                raise CodecError("a bundle with signed IDs needs signed items")
        else:
            item_id = unsigned_id(normalized)
        pairs.append((item_id, _to_bytes(normalized)))
    return _bundle_binary(pairs, "little" if standard else "big")


def deserialize_bundle(raw: bytes, *, standard: bool = False) -> list[DataItem]:
    """The items of a bundle binary written as upstream does (big-endian) or,
    with ``standard``, as ANS-104 does (little-endian). Header IDs are not
    checked, as upstream. Upstream: ar_bundles:unbundle/1."""
    order: Endian = "little" if standard else "big"
    return [entry for _, entry in _bundle_entries(bytes(raw), 1, order)]


def find(key: str | bytes, item: Any) -> DataItem | None:
    """The item of a bundle (map, list or item, searched recursively) under
    the map key ``key``, or with ``key`` as its signed or unsigned ID.
    Upstream: ar_bundles:find/2."""
    if isinstance(item, dict):
        if key in item:
            found: Any = item[key]
            return found if isinstance(found, DataItem) else None
        return find(key, list(item.values()))
    if isinstance(item, list):
        for element in item:
            result = find(key, element)
            if result is not None:
                return result
        return None
    if isinstance(item, DataItem):
        if key in (item.id, unsigned_id(item)):
            return item
        if isinstance(item.data, bytes):
            return None
        return find(key, item.data)
    return None


def member(key: str | bytes, item: Any) -> bool:
    """Upstream: ar_bundles:member/2."""
    return find(key, item) is not None


# --- messages -> data items ---------------------------------------------------------------


def to_item(value: Any) -> DataItem:
    """A TABM (or a binary) as a data item. Upstream: dev_codec_ans104:to/1."""
    return _to_item(value, 0)


def _to_item(value: Any, depth: int) -> DataItem:
    if isinstance(value, DataItem):
        return value
    if isinstance(value, str | bytes):
        return DataItem(tags=[BINARY_TAG], data=to_bytes(value))
    if not isinstance(value, Mapping):
        raise CodecError(f"ans104@1.0 cannot encode a {type(value).__name__}")
    if depth > MAX_NESTING:
        raise CodecError(f"message nested more than {MAX_NESTING} deep")
    tabm = _normalized({k: v for k, v in value.items() if k != "commitments"})
    commitments = value.get("commitments", {})
    if not isinstance(commitments, Mapping):
        raise CodecError("commitments must be a message")
    if len(commitments) > 1:
        raise CodecError("ans104@1.0 cannot encode a message with several commitments")
    for commitment in commitments.values():
        if not isinstance(commitment, Mapping):
            raise CodecError("a commitment must be a message")
        skipped = ("commitment-device", "committer", "alg")
        tabm.update(_normalized({k: v for k, v in commitment.items() if k not in skipped}))
    original_tags = _tags_from_map(tabm.pop("original-tags", {}))
    _restore_original_path(tabm)
    fields: dict[str, Any] = {}
    remaining: dict[str, Any] = {}
    for key, val in tabm.items():
        if is_private(key):
            continue
        converted = _to_item(val, depth + 1) if isinstance(val, Mapping) else val
        if key in _FORCED_TAG_KEYS:
            remaining[key] = converted
        elif key in _FIELD_KEYS:
            fields[key] = _field_value(converted)
        elif key not in _DROPPED_FIELD_KEYS:
            remaining[key] = converted
    tags: list[Tag] = []
    items: dict[str, DataItem] = {}
    for key in sort_keys(remaining):
        val = remaining[key]
        if _is_tag_value(val):
            tags.append((key_bytes(key), to_bytes(val)))
        else:
            items[key] = _to_item(val, depth + 1)
    if original_tags:
        _check_original_tags(original_tags, tags)
        tags = original_tags
    data = fields.get("data", b"")
    if isinstance(data, DataItem):
        data = {**items, "data": data}
    elif not isinstance(data, bytes):
        raise CodecError(f"message data cannot be a {type(data).__name__}")
    elif items:
        data = {**items, "data": _to_item(data, depth + 1)} if data else items
    item = DataItem(
        data=data,
        tags=tags,
        target=fields.get("target", b""),
        anchor=fields.get("last_tx", b""),
        owner=fields.get("owner", DEFAULT_OWNER),
        signature=fields.get("signature", DEFAULT_SIGNATURE),
    )
    return _normalize(item, depth)


def _normalized(msg: Mapping[Any, Any]) -> dict[str, Any]:
    return {normalize_key(k): v for k, v in msg.items()}


def _field_value(value: Any) -> Any:
    """A field value, with an ID given in its 43-character form decoded."""
    if isinstance(value, str | bytes):
        raw = to_bytes(value)
        if len(raw) == 43 and is_human_id(raw.decode("ascii", "replace")):
            return b64url_decode(raw)
        return raw
    return value


def _is_tag_value(value: Any) -> bool:
    """Upstream's test for a tag: a binary of at most 128 bytes that
    unicode:characters_to_binary/1 accepts (it lets an incomplete character
    at the very end through)."""
    if not isinstance(value, str | bytes):
        return False
    raw = to_bytes(value)
    if len(raw) > MAX_TAG_VALUE_IN_MESSAGE:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return True


def _restore_original_path(tabm: dict[str, Any]) -> None:
    """Use ``priv/ao-core/original-path`` as ``path`` when both exist."""
    if "path" not in tabm:
        return
    priv = tabm.get("priv")
    core = priv.get("ao-core") if isinstance(priv, Mapping) else None
    if isinstance(core, Mapping) and "original-path" in core:
        tabm["path"] = core["original-path"]


def _check_original_tags(original: list[Tag], tags: list[Tag]) -> None:
    """The message's tag keys must be what the original tags decode to.

    Upstream: the invalid_original_tags check of dev_codec_ans104:to/1. Beyond
    upstream, an empty tag value that structured@1.0 moved into ``ao-types``
    (as ``empty-binary``) still counts as present, so that items with empty
    tag values verify after a round trip through a rich message.
    """
    expected = _dedup_tags(original)
    given = {name.decode("utf-8", "surrogateescape"): value for name, value in tags}
    if given != expected and "ao-types" in given and "ao-types" not in expected:
        types = parse_ao_types(given.pop("ao-types"))
        for key, kind in types.items():
            if kind != "empty-binary" or key in given:
                raise CodecError("message does not match its original-tags")
            given[key] = b""
    if given != expected:
        raise CodecError("message does not match its original-tags")


def _tags_from_map(tag_map: Any) -> list[Tag]:
    """``{"1": {"name": ..., "value": ...}, ...}`` back to a tag list.
    Upstream: dev_codec_ans104:tag_map_to_encoded_tags/1."""
    if not isinstance(tag_map, Mapping):
        raise CodecError("original-tags must be a message")
    entries = {k: v for k, v in tag_map.items() if k not in ("priv", "ao-types")}
    tags: list[Tag] = []
    for entry in message_to_ordered_list(entries):
        if not isinstance(entry, Mapping):
            raise CodecError("an original tag must be a message of name and value")
        raw_types = entry.get("ao-types", b"")
        types = parse_ao_types(raw_types if isinstance(raw_types, str | bytes) else b"")
        tags.append((_tag_part(entry, types, "name"), _tag_part(entry, types, "value")))
    return tags


def _tag_part(entry: Mapping[str, Any], types: Mapping[str, str], part: str) -> bytes:
    if part in entry:
        value = entry[part]
        if isinstance(value, str | bytes):
            return to_bytes(value)
        raise CodecError(f"original tag {part} must be a binary")
    if types.get(part) == "empty-binary":
        return b""
    raise CodecError(f"original tag has no {part}")


def _dedup_tags(tags: Iterable[Tag]) -> dict[str, bytes]:
    """Tags as keys, repeated names joined as a structured-field list of
    strings. Upstream: dev_codec_ans104:deduplicating_from_list/1."""
    grouped: dict[str, list[bytes]] = {}
    for name, value in tags:
        grouped.setdefault(_tag_key(name), []).append(value)
    return {
        key: values[0] if len(values) == 1 else sf.serialize_list(map(sf.string_item, values))
        for key, values in grouped.items()
    }


def _tag_key(name: bytes) -> str:
    return normalize_key(name.decode("utf-8", "surrogateescape"))


# --- data items -> messages -----------------------------------------------------------------


def from_item(item: DataItem) -> Tabm | bytes:
    """A data item as a TABM (a binary for an ``ao-type: binary`` item).
    Upstream: dev_codec_ans104:from/1."""
    return _from_item(item, 0)


def _from_item(item: DataItem, depth: int) -> Tabm | bytes:
    if not isinstance(item, DataItem):
        raise CodecError(f"not a data item: {type(item).__name__}")
    if depth > MAX_NESTING:
        raise CodecError(f"data items nested more than {MAX_NESTING} deep")
    ao_type = _keyfind(item.tags, b"ao-type")
    if ao_type is None:
        return _message_from_item(item, depth)
    if ao_type == b"binary" and isinstance(item.data, bytes):
        return item.data
    raise CodecError(f"data item has an unsupported ao-type {ao_type!r}")


def _message_from_item(raw_item: DataItem, depth: int) -> Tabm:
    item = _unbundle(_normalize(raw_item, 0), depth)
    item_id = item.id
    original = {
        str(index): {"name": name, "value": value}
        for index, (name, value) in enumerate(item.tags, start=1)
    }
    base: dict[str, Any] = {
        "id": item_id or DEFAULT_ID,
        "last_tx": item.anchor,
        "owner": item.owner,
        "target": item.target,
        "signature": item.signature,
        **_dedup_tags(item.tags),
    }
    if isinstance(item.data, dict):
        merged = {key: _from_item(value, depth + 1) for key, value in item.data.items()}
    elif isinstance(item.data, bytes):
        merged = {"data": item.data} if item.data else {}
    else:
        raise CodecError("ans104@1.0 cannot decode a bundle list without a bundle map")
    merged.update(base)
    msg: dict[str, Any] = {}
    for key in sort_keys(merged):
        msg[normalize_key(key)] = merged[key]
    normal = all(_tag_key(name) == name.decode("utf-8", "surrogateescape") for name, _ in item.tags)
    if item_id is None:
        if not normal:
            msg["commitments"] = {
                human_id(DEFAULT_ID): {
                    "commitment-device": DEVICE.encode(),
                    "alg": _UNSIGNED,
                    "original-tags": original,
                }
            }
    else:
        for key in ("id", "owner", "signature", "commitment-device", "committer", "alg"):
            msg.pop(key, None)
        msg.pop("original-tags", None)
        commitment: dict[str, Any] = {
            "commitment-device": DEVICE.encode(),
            "alg": _RSA_PSS,
            "committer": address_of(item.owner).encode("ascii"),
            "owner": item.owner,
            "signature": item.signature,
        }
        if not normal:
            commitment["original-tags"] = original
        msg["commitments"] = {human_id(item_id): commitment}
    for key in _FILTERED_TAGS:
        msg.pop(key, None)
    return msg


# --- message-level helpers --------------------------------------------------------------------


def serialize_message(tabm: Any) -> bytes:
    """A TABM as data item bytes. Upstream: dev_codec_ans104:serialize/1."""
    return _to_bytes(to_item(tabm))


def deserialize_message(raw: bytes | Mapping[str, Any]) -> Tabm | bytes:
    """Data item bytes (or a message whose ``body`` holds them) as a TABM.
    Upstream: dev_codec_ans104:deserialize/1."""
    if isinstance(raw, Mapping):
        body = raw.get("body")
        if not isinstance(body, str | bytes):
            raise CodecError("no data item in the message body")
        raw = to_bytes(body)
    return from_item(deserialize(raw))


def signed_id(msg: Message) -> str:
    """The signed ID of a message encoded as a data item: all zeros if it
    carries no signature. Upstream: dev_codec_ans104:id/1."""
    return human_id(to_item(from_message(msg)).id or DEFAULT_ID)


def commit(msg: Message, wallet: Wallet) -> Message:
    """Sign a message as a data item and attach the commitment, replacing
    any the message had. Upstream: dev_codec_ans104:commit/3 (through
    dev_message:commit/3, so the input and output are rich messages)."""
    tabm = from_message(msg)
    signed = sign(to_item(tabm), wallet)
    assert signed.id is not None
    commitment: dict[str, Any] = {
        "commitment-device": DEVICE.encode(),
        "committer": wallet.address.encode("ascii"),
        "alg": _RSA_PSS,
        "owner": signed.owner,
        "signature": signed.signature,
    }
    prior = _unsigned_commitments(tabm)
    if len(prior) == 1 and "original-tags" in prior[0]:
        commitment["original-tags"] = prior[0]["original-tags"]
    if "hashpath" in tabm:
        commitment["hashpath"] = tabm["hashpath"]
    result = {k: v for k, v in tabm.items() if k not in ("hashpath", "commitments")}
    result["commitments"] = {human_id(signed.id): commitment}
    committed: Message = to_message(result)
    return committed


def _unsigned_commitments(tabm: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    commitments = tabm.get("commitments", {})
    if not isinstance(commitments, Mapping):
        return []
    return [
        c
        for c in commitments.values()
        if isinstance(c, Mapping) and to_bytes(c.get("alg", b"")) == _UNSIGNED
    ]


def _commitment_base(msg: Message, commitment_id: str | bytes) -> tuple[Tabm, Mapping[str, Any]]:
    """The TABM that the commitment's verification encodes: the message with
    the commitment's keys merged in. Upstream: dev_message:exec_for_commitment/5."""
    commitments = msg.get("commitments") if isinstance(msg, Mapping) else None
    if not isinstance(commitments, Mapping):
        raise CodecError("message has no commitments")
    commitment = commitments.get(commitment_id)
    if commitment is None and isinstance(commitment_id, bytes) and len(commitment_id) == 32:
        commitment = commitments.get(human_id(commitment_id))
    if not isinstance(commitment, Mapping):
        raise CodecError(f"message has no commitment {commitment_id!r}")
    device = commitment.get("commitment-device", b"")
    if to_bytes(device) != DEVICE.encode():
        raise CodecError(f"commitment {commitment_id!r} is not an {DEVICE} commitment")
    merged = {**msg, **{k: v for k, v in commitment.items() if k != "commitment-device"}}
    return from_message(merged), commitment


def verify_commitment(msg: Message, commitment_id: str | bytes) -> bool:
    """Whether the ``ans104@1.0`` commitment ``commitment_id`` of ``msg``
    holds. Upstream: dev_codec_ans104:verify/3 as dev_message:verify/3 calls it.

    Beyond upstream, the commitment's key must be the item's ID and its
    ``committer`` (if any) the owner's address.
    """
    tabm, commitment = _commitment_base(msg, commitment_id)
    base = {
        k: v
        for k, v in tabm.items()
        if k not in ("commitments", "committer", "alg") and not is_private(k)
    }
    try:
        item = to_item(base)
    except CodecError:
        return False
    if item.id is None:
        return False
    key = commitment_id if isinstance(commitment_id, str) else human_id(commitment_id)
    if key != human_id(item.id):
        return False
    committer = commitment.get("committer")
    if committer is not None and to_bytes(committer) != address_of(item.owner).encode("ascii"):
        return False
    return verify(item)


def committed_keys(msg: Message, commitment_id: str | bytes) -> list[str]:
    """The keys that the commitment covers. Upstream: dev_codec_ans104:committed/3.

    With ``original-tags``, the names of those tags are trusted (upstream does
    not verify the signature there); otherwise the commitment is verified
    first, and a failing one covers no keys.
    """
    tabm, _ = _commitment_base(msg, commitment_id)
    nested = [k for k, v in tabm.items() if isinstance(v, Mapping)]
    if "original-tags" in tabm:
        names = [_tag_key(name) for name, _ in _tags_from_map(tabm["original-tags"])]
        implicit = _implicit_keys(tabm) if "ao-types" in names else []
        return [*names, *implicit, *nested, *_COMMITTED_FIELDS]
    if not verify_commitment(msg, commitment_id):
        return []
    skipped = ("commitments", "committer", "alg")
    return committed_of(to_item({k: v for k, v in tabm.items() if k not in skipped}), tabm)


def committed_of(item: DataItem, tabm: Mapping[str, Any]) -> list[str]:
    """The keys of ``tabm`` (the message of ``item``) that the item's
    signature covers: its tags' keys, its nested messages, the implicit keys
    of a signed ``ao-types`` and the item's own fields."""
    nested = [k for k, v in tabm.items() if isinstance(v, Mapping)]
    tag_keys = [_tag_key(name) for name, _ in item.tags]
    implicit = _implicit_keys(tabm) if "ao-types" in tabm else []
    return [*tag_keys, *nested, *implicit, *_COMMITTED_FIELDS]


def _implicit_keys(tabm: Mapping[str, Any]) -> list[str]:
    raw = tabm.get("ao-types", b"")
    types = parse_ao_types(raw if isinstance(raw, str | bytes) else b"")
    return sort_keys(k for k, kind in types.items() if kind.startswith("empty-"))
