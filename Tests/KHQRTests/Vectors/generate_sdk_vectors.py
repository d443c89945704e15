#!/usr/bin/env python3
"""Makes sdk-vectors.json: KHQR payloads produced by the `bakong-khqr` Python SDK (PyPI).

The SDK is not a test dependency: run this by hand when the cases change, and commit the output.

    python3 -m venv /tmp/khqr-sdk && /tmp/khqr-sdk/bin/pip install bakong-khqr==0.6.5
    /tmp/khqr-sdk/bin/python Tests/KHQRTests/Vectors/generate_sdk_vectors.py

Each case lists the SDK's inputs and, separately, what a strict decoder must read back. The
expectations are written by hand (not computed by the SDK), so the Swift test checks our decoder
against the intent, and the SDK's quirks show: amounts without trailing zeros ("10.5"), the
mobile number normalised ("+855 12 345 678" -> "012345678"), tag 62's sub-fields out of order,
and a timestamp template (99) on static codes with the creation time only.
"""
import json
import os
import sys
import time

import bakong_khqr
from bakong_khqr import KHQR
import bakong_khqr.sdk.timestamp as sdk_timestamp

NOW_S = 1795258600.0  # 2026-11-21T...: frozen so the output is reproducible
NOW_MS = int(NOW_S * 1000)
DAY_MS = 86_400_000


class FrozenTime:
    @staticmethod
    def time():
        return NOW_S


sdk_timestamp.time = FrozenTime  # the SDK reads time.time() for tag 99

CASES = [
    {
        "name": "khr-dynamic-khmer-name-all-additional-data",
        "sdk": dict(amount=15000, account_id="sokha@aba", merchant_name="ហាងកាហ្វេស្រីមុំ", merchant_city="Phnom Penh",
                    currency="KHR", store_label="Kampot", phone_number="+855 12 345 678", bill_number="INV-0001",
                    terminal_label="POS-1"),
        "expect": dict(dynamic=True, account="sokha@aba", currency="KHR", amount_minor=15000, merchant_name="ហាងកាហ្វេស្រីមុំ",
                       merchant_city="Phnom Penh", store_label="Kampot", mobile="012345678", bill_number="INV-0001",
                       terminal_label="POS-1", created_ms=NOW_MS, expires_ms=NOW_MS + DAY_MS),
    },
    {
        "name": "usd-dynamic-no-trailing-zero",
        "sdk": dict(amount=10.5, account_id="market@wing", merchant_name="Central Market Stall 12", merchant_city="Phnom Penh",
                    currency="USD", bill_number="A-77", expiration=7),
        "expect": dict(dynamic=True, account="market@wing", currency="USD", amount_minor=1050, merchant_name="Central Market Stall 12",
                       merchant_city="Phnom Penh", bill_number="A-77", created_ms=NOW_MS, expires_ms=NOW_MS + 7 * DAY_MS),
    },
    {
        "name": "usd-dynamic-whole-dollar",
        "sdk": dict(amount=1, account_id="dara@aba", merchant_name="Dara", merchant_city="Siem Reap", currency="USD"),
        "expect": dict(dynamic=True, account="dara@aba", currency="USD", amount_minor=100, merchant_name="Dara",
                       merchant_city="Siem Reap", created_ms=NOW_MS, expires_ms=NOW_MS + DAY_MS),
    },
    {
        "name": "usd-dynamic-one-cent",
        "sdk": dict(amount=0.01, account_id="dara@aba", merchant_name="Dara", merchant_city="Siem Reap", currency="USD"),
        "expect": dict(dynamic=True, account="dara@aba", currency="USD", amount_minor=1, merchant_name="Dara",
                       merchant_city="Siem Reap", created_ms=NOW_MS, expires_ms=NOW_MS + DAY_MS),
    },
    {
        "name": "usd-dynamic-cents",
        "sdk": dict(amount=1234.56, account_id="chenda@acleda", merchant_name="Chenda Guesthouse", merchant_city="Kampot",
                    currency="USD", terminal_label="Front desk"),
        "expect": dict(dynamic=True, account="chenda@acleda", currency="USD", amount_minor=123456, merchant_name="Chenda Guesthouse",
                       merchant_city="Kampot", terminal_label="Front desk", created_ms=NOW_MS, expires_ms=NOW_MS + DAY_MS),
    },
    {
        "name": "khr-static",
        "sdk": dict(account_id="srey@wing", merchant_name="Srey Noodles", merchant_city="Battambang", currency="KHR", static=True),
        "expect": dict(dynamic=False, account="srey@wing", currency="KHR", merchant_name="Srey Noodles",
                       merchant_city="Battambang", created_ms=NOW_MS),
    },
    {
        "name": "usd-static-amount-dropped",
        "sdk": dict(amount=25, account_id="vibol@acleda", merchant_name="Vibol Tuk-Tuk", merchant_city="Phnom Penh",
                    currency="USD", static=True),
        "expect": dict(dynamic=False, account="vibol@acleda", currency="USD", merchant_name="Vibol Tuk-Tuk",
                       merchant_city="Phnom Penh", created_ms=NOW_MS),
    },
    {
        "name": "chinese-merchant-name-khmer-city",
        "sdk": dict(amount=56325, account_id="merchant.kampot@wing", merchant_name="金边大酒店", merchant_city="ភ្នំពេញ",
                    currency="KHR", store_label="大堂"),
        "expect": dict(dynamic=True, account="merchant.kampot@wing", currency="KHR", amount_minor=56325, merchant_name="金边大酒店",
                       merchant_city="ភ្នំពេញ", store_label="大堂", created_ms=NOW_MS, expires_ms=NOW_MS + DAY_MS),
    },
    {
        "name": "longest-fields",
        "sdk": dict(amount=999999999, account_id="a2345678901234567890123456@aba1", merchant_name="M" * 25,
                    merchant_city="C" * 15, currency="KHR", bill_number="B" * 25, store_label="S" * 25, terminal_label="T" * 25),
        "expect": dict(dynamic=True, account="a2345678901234567890123456@aba1", currency="KHR", amount_minor=999999999,
                       merchant_name="M" * 25, merchant_city="C" * 15, bill_number="B" * 25, store_label="S" * 25,
                       terminal_label="T" * 25, created_ms=NOW_MS, expires_ms=NOW_MS + DAY_MS),
    },
]


def main():
    khqr = KHQR()
    out = []
    for case in CASES:
        qr = khqr.create_qr(**case["sdk"])
        out.append({"name": case["name"], "payload": str(qr), "md5": qr.md5, "expect": case["expect"]})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk-vectors.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": f"bakong-khqr {getattr(bakong_khqr, '__version__', '0.6.5')}", "now_ms": NOW_MS, "cases": out},
                  f, ensure_ascii=False, indent=2)
        f.write("\n")
    print(f"wrote {len(out)} cases to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
