#!/usr/bin/env python3
"""A payment gateway's client for a Tonle node, written from docs/encoding.md, docs/api.md,
docs/settlement.md and docs/khqr.md only (no Tonle code).

It plays Alipay+ settling a tourist's payment: it makes the Cambodian merchant's dynamic KHQR (as
the merchant's terminal would), builds and signs an INWARD_QR_PAYMENT settlement entry with the
CNY leg, an exact FX quote and the payment's ISO 20022 UETR, submits it, waits for its block,
submits the same entry again (the node answers with the original), sends a remittance that reuses
the UETR (its block refuses it with DUPLICATE_UETR) and, when the central bank published a KHR/CNY
reference rate for today, one quoted 5 % off it (REFERENCE_RATE_DEVIATION), then builds, signs and submits an ordinary transfer, rebuilds
it as a client does after a lost answer (same client id, a new expiry) and submits that twice (both
answers name the original, and the money moves once), and prints the gateway's position for the day.

Needs Python 3.9+ and the `cryptography` package (pip install cryptography). Standard library
HTTP only.

    python3 docs/examples/gateway_client.py --node http://127.0.0.1:26700 \\
        --gateway-key .tonle-local/keys/alipay.key --gateway alipay --merchant merchant.kampot@wing \\
        --amount-khr 56325 --rate 0.0017753 \\
        --payer-key .tonle-local/keys/aba.key --transfer-from sokha@aba --transfer-to chenda@acleda --transfer-khr 1000

The last line printed is a JSON summary; the exit status is 0 only if the payment and the transfer
were applied, the replays answered with the originals, and the reused UETR was refused.
"""
import argparse
import base64
import hashlib
import json
import os
import struct
import sys
import time
import uuid
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

# --- The canonical encoding (docs/encoding.md, "Rules" and "Values") -----------------------------

KHR, USD = 116, 840


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i64(v): return struct.pack("<q", v)
def string(s): b = s.encode("utf-8"); return u32(len(b)) + b
def optional(value, encode): return b"\x00" if value is None else b"\x01" + encode(value)
def amount(minor, currency): return u16(currency) + i64(minor)


def transfer_command(source, target, minor, currency, reference):
    return u8(1) + string(source) + string(target) + amount(minor, currency) + string(reference)


def settlement_command(kind, gateway, reference, minor, currency, account, foreign=None, quote=None,
                       country=None, khqr=None, purpose=None, uetr=None):
    """Command 5 (docs/encoding.md, "Settlement entry"). foreign = (letters, minor);
    quote = (id, unit, quoted, rate text, rounding, quoted_at_ms, expires_at_ms)."""
    out = u8(5) + u8(kind) + string(gateway) + string(reference) + amount(minor, currency) + string(account)
    out += optional(None, string)                                        # original: only refunds and reversals
    out += optional(foreign, lambda f: string(f[0]) + i64(f[1]))
    out += optional(quote, lambda q: string(q[0]) + string(q[1]) + string(q[2]) + string(q[3]) + u8(q[4]) + u64(q[5]) + u64(q[6]))
    out += optional(None, string)                                        # counterparty
    out += optional(country, string)
    out += optional(khqr, string)
    out += optional(purpose, string)
    out += optional(None, bytes)                                         # cycle statement: only net settlements
    out += optional(uetr, lambda u: u.bytes)                             # UETR: a version 4 UUID's 16 bytes
    return out


def transaction_body(chain, creator, client_id, expiry_ms, commands):
    return b"\x01\x01" + string(chain) + string(creator) + client_id + u64(expiry_ms) + u32(len(commands)) + b"".join(commands)


def signed_transaction(body, keys):
    """keys: private keys; signatures sorted by public key (docs/encoding.md, "Transactions")."""
    entries = []
    for key in keys:
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        entries.append((public, key.sign(body)))
    entries.sort(key=lambda e: e[0])
    return b"\x02\x01" + body + u32(len(entries)) + b"".join(p + s for p, s in entries)


def read_key(path):
    """The key-file text format of docs/keys.md: the 'seed' line is the RFC 8032 private key."""
    fields = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, value = line.partition(":")
                fields[name.strip()] = value.strip()
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(fields["seed"]))
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    if public != fields["public-key"]:
        raise SystemExit(f"{path}: the public key does not match the seed")
    return key


# --- KHQR (docs/khqr.md): TLV with lengths in characters, CRC-16/CCITT-FALSE over UTF-8 --------

def tlv(tag, value): return f"{tag}{len(value):02d}{value}"


def crc16(text):
    crc = 0xFFFF
    for byte in text.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def dynamic_khqr(account, name, city, riel, now_ms, valid_ms):
    fields = [tlv("00", "01"), tlv("01", "12"), tlv("29", tlv("00", account)), tlv("52", "5999"), tlv("53", "116"),
              tlv("54", str(riel)), tlv("58", "KH"), tlv("59", name), tlv("60", city),
              tlv("99", tlv("00", str(now_ms)) + tlv("01", str(now_ms + valid_ms)))]
    body = "".join(fields) + "6304"
    return body + crc16(body)


# --- FX (docs/settlement.md, "FX without floating point") --------------------------------------

def convert_half_even(unit_minor, rate, unit_exponent, quoted_exponent):
    """round_half_even(unit_minor x rate x 10^(quoted_exp - unit_exp)), in integers."""
    whole, _, fraction = rate.partition(".")
    mantissa, scale = int(whole + fraction), len(fraction)
    numerator = unit_minor * mantissa * 10 ** max(0, quoted_exponent - unit_exponent)
    denominator = 10 ** scale * 10 ** max(0, unit_exponent - quoted_exponent)
    quotient, remainder = divmod(numerator, denominator)
    if remainder * 2 > denominator or (remainder * 2 == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


# --- The RPC API (docs/api.md) -------------------------------------------------------------------

class Node:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def submit(self, transaction):
        return self.call("POST", "/v1/transactions", {"transaction": base64.b64encode(transaction).decode()})

    def wait(self, tx_id, seconds=60):
        deadline = time.time() + seconds
        while True:
            status, view = self.call("GET", f"/v1/transactions/{tx_id}?wait=10")
            if view.get("status") == "committed" or time.time() > deadline:
                return view


def log(message): print(message, file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node", default=os.environ.get("TONLE_NODE", "http://127.0.0.1:26700"))
    parser.add_argument("--gateway", default="alipay")
    parser.add_argument("--gateway-key", required=True, help="the gateway's key file (signs for prefund@GATEWAY)")
    parser.add_argument("--merchant", default="merchant.kampot@wing")
    parser.add_argument("--amount-khr", type=int, default=56325)
    parser.add_argument("--rate", default="0.0017753", help="CNY per riel (the unit is KHR: the KHQR fixes the riel)")
    parser.add_argument("--reference", default=None, help="the gateway's payment id (default: made up from the time)")
    parser.add_argument("--payer-key", required=True, help="key file of the transfer's source account")
    parser.add_argument("--transfer-from", default="sokha@aba")
    parser.add_argument("--transfer-to", default="chenda@acleda")
    parser.add_argument("--transfer-khr", type=int, default=1000)
    args = parser.parse_args()

    node = Node(args.node)
    _, status = node.call("GET", "/v1/status")
    chain = status["chain_id"]
    now = int(time.time() * 1000)
    gateway_key, payer_key = read_key(args.gateway_key), read_key(args.payer_key)
    reference = args.reference or f"ALP-{now}"

    # 1. The merchant's dynamic KHQR for the bill, valid ten minutes.
    khqr = dynamic_khqr(args.merchant, "Kampot Pepper Farm", "Kampot", args.amount_khr, now, 600_000)
    log(f"KHQR  {khqr}")

    # 2. The settlement entry: riel fixed by the KHQR, CNY = riel x rate (half-even, exponents 0 -> 2).
    cny_fen = convert_half_even(args.amount_khr, args.rate, 0, 2)
    quote = (f"Q-{reference}", "KHR", "CNY", args.rate, 1, now - 60_000, now + 600_000)
    payment_uetr = uuid.uuid4()
    entry = settlement_command(1, args.gateway, reference, args.amount_khr, KHR, args.merchant, foreign=("CNY", cny_fen),
                               quote=quote, country="CN", khqr=khqr, purpose="MP2B", uetr=payment_uetr)
    log(f"entry {args.amount_khr} KHR for {cny_fen // 100}.{cny_fen % 100:02d} CNY at {args.rate} CNY/KHR, reference {reference}")

    def payment_transaction():
        body = transaction_body(chain, f"prefund@{args.gateway}", os.urandom(16), now + 600_000, [entry])
        return hashlib.sha256(body).hexdigest(), signed_transaction(body, [gateway_key])

    # 3. Submit and wait.
    payment_id, transaction = payment_transaction()
    code, answer = node.submit(transaction)
    log(f"submit -> {code} {answer}")
    if code not in (200, 202):
        raise SystemExit(f"refused: {answer}")
    payment = node.wait(payment_id)
    log(f"payment {payment_id}: {payment.get('status')} at {payment.get('height')}: {payment.get('result')}")

    # 4. The same entry in a new transaction (a new client id): the node answers with the original.
    replay_id, replay = payment_transaction()
    replay_code, replayed = node.submit(replay)
    log(f"resubmitted as {replay_id} -> {replay_code}: original {replayed.get('id')} {replayed.get('result')}")

    # 4b. A remittance under another reference that reuses the payment's UETR: the node admits it
    # (the UETR is checked in the block), and its block refuses it with DUPLICATE_UETR.
    remit_khr = 1000
    remit_quote = (f"Q-{reference}-R", "KHR", "CNY", args.rate, 1, now - 60_000, now + 600_000)
    remittance = settlement_command(3, args.gateway, f"{reference}-R", remit_khr, KHR, args.merchant,
                                    foreign=("CNY", convert_half_even(remit_khr, args.rate, 0, 2)), quote=remit_quote,
                                    country="CN", purpose="GP2P", uetr=payment_uetr)
    remit_body = transaction_body(chain, f"prefund@{args.gateway}", os.urandom(16), now + 600_000, [remittance])
    remit_code, remit_answer = node.submit(signed_transaction(remit_body, [gateway_key]))
    duplicate = node.wait(hashlib.sha256(remit_body).hexdigest()) if remit_code in (200, 202) else {"result": remit_answer.get("code")}
    log(f"remittance reusing UETR {payment_uetr} -> {remit_code}: {duplicate.get('result')}")

    # 4c. Where the central bank published a reference rate for KHR/CNY today, a remittance quoted
    # 5 % off it: its block refuses it with REFERENCE_RATE_DEVIATION (docs/settlement.md, "Reference rates").
    ref_code, reference_rate = node.call("GET", "/v1/reference-rates/KHR/CNY")
    deviant = None
    if ref_code == 200:
        off_rate = f"{float(reference_rate['rate']) * 1.05:.7f}"
        off_quote = (f"Q-{reference}-X", "KHR", "CNY", off_rate, 1, now - 60_000, now + 600_000)
        off_entry = settlement_command(3, args.gateway, f"{reference}-X", remit_khr, KHR, args.merchant,
                                       foreign=("CNY", convert_half_even(remit_khr, off_rate, 0, 2)), quote=off_quote,
                                       country="CN", purpose="GP2P")
        off_body = transaction_body(chain, f"prefund@{args.gateway}", os.urandom(16), now + 600_000, [off_entry])
        off_code, off_answer = node.submit(signed_transaction(off_body, [gateway_key]))
        off = node.wait(hashlib.sha256(off_body).hexdigest()) if off_code in (200, 202) else {"result": off_answer.get("code")}
        deviant = {"reference": reference_rate["rate"], "band_bps": reference_rate["tolerance_bps"], "quoted": off_rate, "result": off.get("result")}
        log(f"remittance at {off_rate} against the reference {reference_rate['rate']} +/- {reference_rate['tolerance_bps']} bp -> {off.get('result')}")

    # 5. An ordinary transfer, signed by the payer's bank key, under a client id the bank keeps.
    def khr_balance(account):
        _, view = node.call("GET", f"/v1/accounts/{account}")
        return next((b["balance_minor"] for b in view.get("balances", []) if b["currency"] == "KHR"), 0)

    def transfer_transaction(client_id, expiry_ms):
        body = transaction_body(chain, args.transfer_from, client_id, expiry_ms,
                                [transfer_command(args.transfer_from, args.transfer_to, args.transfer_khr, KHR, "python client")])
        return hashlib.sha256(body).hexdigest(), signed_transaction(body, [payer_key])

    before = khr_balance(args.transfer_from)
    client_id = os.urandom(16)
    transfer_id, transaction = transfer_transaction(client_id, now + 600_000)
    code, answer = node.submit(transaction)
    if code not in (200, 202):
        raise SystemExit(f"transfer refused: {answer}")

    # 6. Say the answer was lost. The bank rebuilds the transfer as any client would: the same
    # client id and fields, a new expiry (so a new id and signature), and submits it again, now and
    # after the original is committed. Both answers name the original; the money moves once
    # (docs/data-model.md, "Exactly once").
    retry_id, retry = transfer_transaction(client_id, now + 600_001)
    retry_code, retried = node.submit(retry)
    log(f"retry {retry_id} while waiting -> {retry_code}: {retried.get('status')} {retried.get('id')}")
    transfer = node.wait(transfer_id)
    log(f"transfer {transfer_id}: {transfer.get('status')} at {transfer.get('height')}: {transfer.get('result')}")
    late_code, late = node.submit(retry)
    log(f"retry after the commit -> {late_code}: {late.get('status')} {late.get('id')} {late.get('result')}")
    moved = before - khr_balance(args.transfer_from)

    # 7. What the ledger recorded, and the gateway's position today.
    _, recorded = node.call("GET", f"/v1/settlements/{args.gateway}/{reference}")
    _, positions = node.call("GET", f"/v1/gateways/{args.gateway}/positions")
    khr = next(p for p in positions["positions"] if p["currency"] == "KHR")
    log(f"{args.gateway} on {positions['business_date']}: gross inward {khr['gross_inward']} KHR, net position {khr['net_position']} KHR")

    summary = {
        "payment": {"id": payment_id, "status": payment.get("status"), "result": payment.get("result"), "reference": reference,
                    "foreign_fen": cny_fen, "recorded": recorded.get("entries", [{}])[0].get("foreign_amount")},
        "replay": {"status_code": replay_code, "original": replayed.get("id")},
        "reference_rate": deviant,
        "uetr": {"value": str(payment_uetr), "recorded": recorded.get("entries", [{}])[0].get("uetr"), "reused": duplicate.get("result")},
        "transfer": {"id": transfer_id, "status": transfer.get("status"), "result": transfer.get("result")},
        "retry": {"id": retry_id, "waiting": [retry_code, retried.get("status"), retried.get("id")],
                  "committed": [late_code, late.get("status"), late.get("id")], "moved_khr": moved},
        "position": khr,
    }
    print(json.dumps(summary, sort_keys=True))
    ok = (payment.get("result") == "applied" and transfer.get("result") == "applied" and replayed.get("id") == payment_id
          and duplicate.get("result") == "DUPLICATE_UETR" and recorded.get("entries", [{}])[0].get("uetr") == str(payment_uetr)
          and (deviant is None or deviant["result"] == "REFERENCE_RATE_DEVIATION")
          and retried.get("id") == transfer_id and late.get("id") == transfer_id and moved == args.transfer_khr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
