#!/usr/bin/env python3
"""Verify a Tonle state proof (docs/merkle.md) with nothing but the standard library.

    python3 merkle_verify.py ROOT_HEX KEY_HEX PROOF_HEX [VALUE_HEX]

Prints VALID or INVALID and exits 0 or 1. Without VALUE_HEX it checks that KEY is absent.
Run with no arguments to print the worked example of docs/merkle.md.
"""
import hashlib
import sys

ZERO = bytes(32)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(key: bytes, value_hash: bytes) -> bytes:
    return sha256(b"\x00" + key + value_hash)


def branch_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def bit(key: bytes, index: int) -> int:
    return (key[index // 8] >> (7 - index % 8)) & 1


def root_of(entries: dict, depth: int = 0) -> bytes:
    """The root of a map {key: value_hash}: the definition, computed the slow way."""
    if not entries:
        return ZERO
    if len(entries) == 1:
        (key, value_hash), = entries.items()
        return leaf_hash(key, value_hash)
    left = {k: v for k, v in entries.items() if bit(k, depth) == 0}
    right = {k: v for k, v in entries.items() if bit(k, depth) == 1}
    return branch_hash(root_of(left, depth + 1), root_of(right, depth + 1))


def decode_proof(data: bytes):
    count = int.from_bytes(data[0:2], "little")
    if count > 256:
        raise ValueError("too many siblings")
    siblings = [data[2 + 32 * i: 34 + 32 * i] for i in range(count)]
    rest = data[2 + 32 * count:]
    if rest == b"\x00":
        return siblings, None
    if len(rest) == 65 and rest[0] == 1:
        return siblings, (rest[1:33], rest[33:65])
    raise ValueError("bad terminal")


def verify(root: bytes, key: bytes, proof: bytes, value: bytes = None) -> bool:
    siblings, terminal = decode_proof(proof)
    depth = len(siblings)
    if value is not None:
        if terminal is None or terminal != (key, sha256(value)):
            return False
        node = leaf_hash(*terminal)
    elif terminal is None:
        node = ZERO
    else:
        other, other_value = terminal
        if other == key or any(bit(other, i) != bit(key, i) for i in range(depth)):
            return False
        node = leaf_hash(other, other_value)
    for i in reversed(range(depth)):
        node = branch_hash(node, siblings[i]) if bit(key, i) == 0 else branch_hash(siblings[i], node)
    return node == root


def example():
    """The worked example: keys SHA-256("a"), ("b"), ("c") with values "1", "2", "3"."""
    entries = {sha256(k.encode()): sha256(v.encode()) for k, v in (("a", "1"), ("b", "2"), ("c", "3"))}
    for key in sorted(entries):
        print("key", key.hex(), "first bits", format(key[0], "08b")[:3], "leaf", leaf_hash(key, entries[key]).hex())
    print("root", root_of(entries).hex())


if __name__ == "__main__":
    if len(sys.argv) == 1:
        example()
        sys.exit(0)
    root, key, proof = (bytes.fromhex(a) for a in sys.argv[1:4])
    value = bytes.fromhex(sys.argv[4]) if len(sys.argv) > 4 else None
    ok = verify(root, key, proof, value)
    print("VALID" if ok else "INVALID")
    sys.exit(0 if ok else 1)
