#!/usr/bin/env python3
"""Verify a Tonle transaction receipt offline, written from docs/encoding.md, docs/api.md and
docs/errors.md only (no Tonle code).

    python3 receipt_verify.py RECEIPT.json VALIDATORS.json

RECEIPT.json is `GET /v1/transactions/{id}/receipt` (or `tonle tx receipt ID --json`);
VALIDATORS.json is `GET /v1/validators?height=H+1` (or `tonle validators --height H+1 --json`)
for a receipt of block H: the set that signed block H+1, which certifies the result. Prints
VALID or INVALID with the reason and exits 0 or 1.

The checks: block H+1's header is certified by that set (signers with more than 2/3 of the power,
each signature over the precommit vote body); it links to block H's header by hash; the
transaction's id (SHA-256 of its body) is leaf `index` of block H's transactions root; its
signatures verify; the result bytes say what `result` says (names from docs/errors.md); and
SHA-256(u32 index || id || result bytes) is leaf `index` of block H+1's last results root.

Needs Python 3.9+ and the `cryptography` package (pip install cryptography).
"""
import base64
import hashlib
import json
import os
import re
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Invalid(Exception):
    pass


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class Reader:
    """Canonical decoding (docs/encoding.md, Rules): little-endian integers, u32-prefixed strings and lists."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise Invalid("truncated bytes")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def string(self) -> bytes:
        return self.take(self.u32())

    def optional(self, read):
        flag = self.u8()
        if flag not in (0, 1):
            raise Invalid("a presence byte is neither 00 nor 01")
        return read() if flag else None

    def kind(self, expected: int):
        kind, version = self.u8(), self.u8()
        if (kind, version) != (expected, 1):
            raise Invalid(f"expected message kind {expected:02x} version 1, found {kind:02x} {version}")

    def finish(self):
        if self.at != len(self.data):
            raise Invalid("bytes left over after the value")


def header(data: bytes) -> dict:
    """Block header (kind 03)."""
    r = Reader(data)
    r.kind(0x03)
    fields = {"chain_id": r.string(), "height": r.u64(), "time": r.u64()}
    for name in ["previous", "transactions_root", "last_results_root", "state_root", "validators_hash",
                 "next_validators_hash", "proposer", "last_commit_hash"]:
        fields[name] = r.take(32)
    r.finish()
    fields["hash"] = sha256(data)
    return fields


def validator_set(encoded: bytes) -> dict:
    """Validator set (kind 0a): public key -> power; its hash names it in headers."""
    r = Reader(encoded)
    r.kind(0x0A)
    powers = {}
    for _ in range(r.u32()):
        key, power = r.take(32), r.u64()
        r.string()  # name
        powers[key] = power
    r.finish()
    return {"powers": powers, "hash": sha256(encoded), "total": sum(powers.values())}


def verify_certificate(data: bytes, head: dict, validators: dict):
    """Commit certificate (kind 09): precommits for the header's hash by more than 2/3 of the power."""
    r = Reader(data)
    r.kind(0x09)
    height, round_, block_hash = r.u64(), r.u32(), r.take(32)
    if height != head["height"] or block_hash != head["hash"]:
        raise Invalid(f"the certificate is for block {height} {block_hash.hex()}, not {head['height']} {head['hash'].hex()}")
    if head["validators_hash"] != validators["hash"]:
        raise Invalid(f"block {head['height']} is signed by the set with hash {head['validators_hash'].hex()}, "
                      f"not the one given ({validators['hash'].hex()}); pass the set of that height")
    signed, previous = 0, b""
    for _ in range(r.u32()):
        key, signature = r.take(32), r.take(64)
        if key <= previous:
            raise Invalid("the certificate's signers are not in ascending order")
        previous = key
        if key not in validators["powers"]:
            raise Invalid(f"signer {key.hex()} is not in the validator set")
        vote = (b"\x05\x01" + struct.pack("<I", len(head["chain_id"])) + head["chain_id"] + b"\x02"
                + struct.pack("<QI", height, round_) + b"\x01" + block_hash + key)
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(signature, vote)
        except InvalidSignature:
            raise Invalid(f"the precommit signature of {key.hex()} does not verify")
        signed += validators["powers"][key]
    r.finish()
    if 3 * signed <= 2 * validators["total"]:
        raise Invalid(f"the signers hold {signed} of {validators['total']} power, not more than 2/3")


def transaction(data: bytes):
    """Transaction (kind 02): the body (kind 01), then list<(key, signature)>. Returns (id, body, signatures)."""
    if data[:2] != b"\x02\x01" or data[2:4] != b"\x01\x01":
        raise Invalid("the transaction is not a kind 02 message holding a kind 01 body")
    # The body runs to the signature list: u32 count n, then n entries of 32 + 64 bytes.
    for n in range(1, 17):
        start = len(data) - 96 * n - 4
        if start > 4 and struct.unpack("<I", data[start:start + 4])[0] == n:
            body = data[2:start]
            signatures = [(data[start + 4 + 96 * i:start + 36 + 96 * i], data[start + 36 + 96 * i:start + 100 + 96 * i]) for i in range(n)]
            return sha256(body), body, signatures
    raise Invalid("the transaction does not end with a signature list")


def rejection_names() -> dict:
    """Rejection code and detail numbers -> names, read from docs/errors.md."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "errors.md")
    codes, details = {}, {}
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit() and cells[1].startswith("`"):
            codes[int(cells[0])] = cells[1].strip("`")
        elif len(cells) >= 4 and cells[0].startswith("`") and cells[1].isdigit():
            details[int(cells[1])] = cells[0].strip("`")
    return codes, details


def result(data: bytes) -> dict:
    """Result: 00, or 01 || u16 code || optional<u16> command || optional<u16> detail."""
    r = Reader(data)
    if r.u8() == 0:
        r.finish()
        return {"result": "applied", "command": None, "detail": None}
    r.at = 0
    if r.u8() != 1:
        raise Invalid("a result starts 00 or 01")
    codes, details = rejection_names()
    code = r.u16()
    command = r.optional(r.u16)
    detail = r.optional(r.u16)
    r.finish()
    if code not in codes or (detail is not None and detail not in details):
        raise Invalid(f"rejection code {code} or detail {detail} is not in docs/errors.md")
    return {"result": codes[code], "command": command, "detail": details.get(detail)}


def list_proof_root(data: bytes, leaf: bytes, index: int) -> bytes:
    """A Merkle list proof (u32 index, u32 count, list<bytes32> path) applied to `leaf`, as
    RFC 9162 section 2.1.3.2 verifies an audit path; returns the root it leads to."""
    r = Reader(data)
    proven, count = r.u32(), r.u32()
    path = [r.take(32) for _ in range(r.u32())]
    r.finish()
    if proven != index or index >= count:
        raise Invalid(f"a proof is of leaf {proven} of {count}, not of leaf {index}")
    fn, sn, node = index, count - 1, sha256(b"\x00" + leaf)
    for sibling in path:
        if sn == 0:
            raise Invalid("a proof's path is longer than its tree")
        if fn % 2 == 1 or fn == sn:
            node = sha256(b"\x01" + sibling + node)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            node = sha256(b"\x01" + node + sibling)
        fn, sn = fn // 2, sn // 2
    if sn != 0:
        raise Invalid("a proof's path is shorter than its tree")
    return node


def verify(receipt: dict, validators: dict) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", receipt.get("id", "")):
        raise Invalid("the receipt's id is not 64 hex digits")
    block, following = header(bytes.fromhex(receipt["header"])), header(bytes.fromhex(receipt["next_header"]))
    height, index = receipt["height"], receipt["index"]
    if block["height"] != height or following["height"] != height + 1:
        raise Invalid(f"the headers are of blocks {block['height']} and {following['height']}, not {height} and {height + 1}")
    if following["previous"] != block["hash"] or following["chain_id"] != block["chain_id"]:
        raise Invalid(f"block {height + 1} does not follow block {height} {block['hash'].hex()}")
    verify_certificate(bytes.fromhex(receipt["next_certificate"]), following, validators)

    tx_id, body, signatures = transaction(base64.b64decode(receipt["transaction"], validate=True))
    if tx_id.hex() != receipt["id"]:
        raise Invalid(f"the transaction's id is {tx_id.hex()}, not {receipt['id']}")
    for key, signature in signatures:
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(signature, body)
        except InvalidSignature:
            raise Invalid(f"the signature of {key.hex()} does not verify")
    if list_proof_root(bytes.fromhex(receipt["transactions_proof"]), tx_id, index) != block["transactions_root"]:
        raise Invalid(f"the transaction is not leaf {index} of block {height}'s transactions root")

    result_bytes = bytes.fromhex(receipt["result_bytes"])
    outcome = result(result_bytes)
    claimed = {"result": receipt["result"], "command": receipt.get("command"), "detail": receipt.get("detail")}
    if outcome != claimed:
        raise Invalid(f"the result bytes say {outcome}, the receipt {claimed}")
    leaf = sha256(struct.pack("<I", index) + tx_id + result_bytes)
    if list_proof_root(bytes.fromhex(receipt["results_proof"]), leaf, index) != following["last_results_root"]:
        raise Invalid(f"the result is not leaf {index} of the results root certified by block {height + 1}")
    return f"transaction {receipt['id']} is number {index} of block {height}; its result {receipt['result']} is certified by block {height + 1}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        receipt = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        validators = validator_set(bytes.fromhex(json.load(f)["encoded"]))
    try:
        print("VALID: " + verify(receipt, validators))
    except (Invalid, KeyError, ValueError, TypeError, struct.error) as error:
        print(f"INVALID: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
