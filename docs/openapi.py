"""Writes docs/openapi.json (run: python3 docs/openapi.py).

The contract is exact, so that a generator (schemathesis, in the test command) can test deeply:
every parameter has its whole range (what the schema admits, the node accepts, and nothing
else), every response body its exact shape (no undeclared fields), every status its body and
headers. OpenAPIDocTests hold the routes and statuses equal to RPCServer.routes; the live tests
hold the rest to the node.
"""
import json
import os

HEIGHT_MAX = 2**63 - 1
U32_MAX = 2**32 - 1


def decimal_pattern(maximum):
    """A regex for the decimal spellings of 0...maximum (no sign, no leading zero), as the node reads them."""
    digits = str(maximum)
    branches = ["0"]
    if len(digits) > 1:
        branches.append(f"[1-9][0-9]{{0,{len(digits) - 2}}}")
    for i, d in enumerate(digits):
        d = int(d)
        low = 1 if i == 0 else 0
        if d > low:
            rest = len(digits) - i - 1
            branches.append(digits[:i] + (f"[{low}-{d - 1}]" if d - 1 > low else (str(low) if d - 1 == low else "")) + (f"[0-9]{{{rest}}}" if rest else ""))
    branches.append(digits)
    return "(?:" + "|".join(b for b in branches if b) + ")"


HEIGHT = decimal_pattern(HEIGHT_MAX)
INDEX = decimal_pattern(U32_MAX)
# Identifiers (docs/data-model.md): lower case, punctuation never doubled nor at an edge.
INSTITUTION = r"(?=[a-z0-9-]{2,16}(?:$|/|@))[a-z](?:-?[a-z0-9])+"
ACCOUNT_NAME = r"(?=[a-z0-9._-]{1,32}@)[a-z0-9](?:[._-]?[a-z0-9])*"


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties, required=None):
    """An object with exactly these properties; all required unless `required` says otherwise."""
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required, "additionalProperties": False}


string = {"type": "string"}
boolean = {"type": "boolean"}
hexdigest = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
hexbytes = {"type": "string", "pattern": "^(?:[0-9a-f]{2})*$"}
u64 = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
height = {"type": "integer", "minimum": 0, "maximum": HEIGHT_MAX}
u32 = {"type": "integer", "minimum": 0, "maximum": U32_MAX}
u16 = {"type": "integer", "minimum": 0, "maximum": 65535}
detail_name = {"type": "string", "pattern": "^(KHQR|ENTRY|FX)_[A-Z_]+$"}
count = {"type": "integer", "minimum": 0}
decimal_text = {"type": "string", "pattern": r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$", "description": "decimal text in major units"}
currency = {"enum": ["KHR", "USD"]}
date = {"type": "string", "format": "date", "pattern": r"^(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$",
        "description": "business date in ICT, 1970-01-01 to 9999-12-31"}
base64 = {"type": "string", "contentEncoding": "base64"}

retry_after = {"Retry-After": {"description": "seconds to wait before retrying", "required": True,
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}


def response(description, schema=None, media="application/json", headers=None):
    r = {"description": description}
    if schema is not None:
        r["content"] = {media: {"schema": schema}}
    if headers:
        r["headers"] = headers
    return r


def error(description, headers=None):
    return response(description, ref("Error"), headers=headers)


LIMITED = error("`RATE_LIMITED`: more than `rpc.rate_limit_per_s` requests from this address", headers=retry_after)
BUSY = error("`NODE_BUSY`: the node cannot take the read now", headers=retry_after)
UNSUPPORTED = error("`UNSUPPORTED_MEDIA_TYPE`: the body must be sent as `Content-Type: application/json`")


def query(name, description, schema):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def path(name, description, schema):
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


# `format` names the rule for generators (the lookaheads state the lengths exactly, which pattern
# generators cannot draw from); validators ignore an unknown format and check the pattern.
account_id = {**path("id", "account id, `name@institution`: a 1-32-byte name and a 2-16-byte institution (docs/data-model.md)",
                     {"type": "string", "format": "tonle-account-id", "pattern": f"^{ACCOUNT_NAME}@{INSTITUTION}$"}), "examples": {"bank": {"value": "sokha@aba"}, "merchant": {"value": "merchant.kampot@wing"}}}
transaction_id = path("id", "transaction id: 64 hex digits (either case)", {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"})
gateway_id = lambda name: {**path(name, "gateway institution id", {"type": "string", "format": "tonle-institution-id", "pattern": f"^{INSTITUTION}$"}), "examples": {"alipay": {"value": "alipay"}, "upi": {"value": "upi"}}}
flag = lambda name, description: query(name, description + " (`true`/`false`, or `1`/`0`)", boolean)
page = query("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})
date_query = query("date", "business date (default: the gateway's current one)", date)

paths = {
    "/health": {"get": {
        "summary": "Liveness: the process is serving", "operationId": "health",
        "responses": {"200": response("Alive", obj({"status": {"const": "ok"}}))}}},
    "/ready": {"get": {
        "summary": "Readiness: caught up with its peers", "operationId": "ready",
        "responses": {"200": response("Caught up", obj({"status": {"const": "ready"}})),
                      "503": response("Not ready: syncing (peers are ahead) or no_quorum (linked validators, with this node, hold at most 2/3 of the power)",
                                      obj({"status": {"enum": ["syncing", "no_quorum"]}}))}}},
    "/metrics": {"get": {
        "summary": "Prometheus metrics (text exposition format 0.0.4)", "operationId": "metrics",
        "responses": {"200": response("Metrics", string, media="text/plain"), "429": LIMITED}}},
    "/v1/status": {"get": {
        "summary": "The node's status", "operationId": "status",
        "responses": {"200": response("Status", ref("Status")), "429": LIMITED}}},
    "/v1/transactions": {"post": {
        "summary": "Submit one signed transaction", "operationId": "submitTransaction",
        "description": "The body is one JSON object with exactly the field `transaction`; a key written twice anywhere in it is refused (`MALFORMED_REQUEST`).",
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("SubmitRequest")}}},
        "responses": {
            "202": response("Admitted to the mempool, or already waiting there (itself, or the same request rebuilt with another expiry: then the id is the original's)", ref("Accepted")),
            "200": response("Already committed — the same transaction, or the same request rebuilt (same creator, client id and commands): the original's status. A settlement entry whose reference is recorded with the same body answers with the original transaction's status too", ref("TransactionStatus")),
            "400": error("`MALFORMED_REQUEST`, `MALFORMED_TRANSACTION`, `BAD_SIGNATURE`, `WRONG_CHAIN`, `EXPIRED`, `EXPIRY_TOO_FAR`, `CREATOR_NOT_FOUND`, `CLIENT_ID_REUSED`, `DUPLICATE_REFERENCE_MISMATCH`"),
            "413": error("`BODY_TOO_LARGE` (over `rpc.body_bytes_max`, announced or sent) or `TRANSACTION_TOO_LARGE`"),
            "415": UNSUPPORTED, "429": LIMITED,
            "503": error("`MEMPOOL_FULL` or `NODE_BUSY`: retry after Retry-After seconds", headers=retry_after)}}},
    "/v1/transactions/batch": {"post": {
        "summary": "Submit up to `rpc.batch_transactions_max` signed transactions; one result each, in order", "operationId": "submitBatch",
        "description": "The body is one JSON object with exactly the field `transactions`; a key written twice anywhere in it is refused (`MALFORMED_REQUEST`).",
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("BatchRequest")}}},
        "responses": {
            "200": response("One result per transaction", ref("BatchResults")),
            "400": error("`MALFORMED_REQUEST`"),
            "413": error("`BODY_TOO_LARGE` or `BATCH_TOO_LARGE`"), "415": UNSUPPORTED, "429": LIMITED,
            "503": error("`NODE_BUSY`: every transaction was refused for now (mempool full); retry after Retry-After seconds", headers=retry_after)}}},
    "/v1/transactions/{id}": {"get": {
        "summary": "Where a transaction is: pending, committed (height, index, result) or unknown", "operationId": "transactionStatus",
        "parameters": [transaction_id,
                       query("wait", "long poll: wait up to this many seconds until it is committed (at most `rpc.wait_seconds_max`, default 60)",
                             {"type": "integer", "minimum": 0, "maximum": 60, "default": 0}),
                       flag("transaction", "include a committed transaction's bytes (reads its block; pending ones always have them)")],
        "responses": {"200": response("Status", ref("TransactionStatus")), "400": error("`MALFORMED_ID` or `MALFORMED_QUERY`"), "429": LIMITED}}},
    "/v1/accounts/{id}": {"get": {
        "summary": "An account: balances, held amounts, keys and quorum, flags; with proof=true a Merkle proof anchored to a certified header", "operationId": "account",
        "parameters": [account_id, flag("proof", "add a Merkle proof and the header and commit certificate it is anchored to")],
        "responses": {"200": response("The account", ref("Account")), "400": error("`MALFORMED_ACCOUNT` or `MALFORMED_QUERY`"),
                      "404": error("`NOT_FOUND`: no such account"), "429": LIMITED,
                      "503": error("`PROOF_NOT_READY` (the anchoring block did not come within `rpc.proof_wait_seconds`) or `NODE_BUSY`", headers=retry_after)}}},
    "/v1/accounts/{id}/transactions": {"get": {
        "summary": "Transactions that named the account, newest first, a page at a time", "operationId": "accountTransactions",
        "parameters": [account_id, page,
                       query("before", "`HEIGHT:INDEX`, the `next` of the previous page: height 0 to 2^63-1, index 0 to 2^32-1",
                             {"type": "string", "pattern": f"^{HEIGHT}:{INDEX}$"})],
        "responses": {"200": response("A page", ref("AccountHistory")), "400": error("`MALFORMED_ACCOUNT`, `MALFORMED_QUERY` or `MALFORMED_CURSOR`"), "429": LIMITED}}},
    "/v1/accounts/{id}/statement": {"get": {
        "summary": "An account's ISO 20022 camt.053 statement for a business date (docs/api.md#statements)", "operationId": "accountStatement",
        "parameters": [account_id, {**query("date", "business date: a day in ICT (UTC+7)", date), "required": True},
                       query("format", "the statement's format", {"type": "string", "enum": ["camt053"], "default": "camt053"})],
        "responses": {"200": response("A camt.053.001.08 document (BankToCustomerStatementV08): one statement per currency", string, media="application/xml"),
                      "400": error("`MALFORMED_ACCOUNT`, `MALFORMED_DATE` or `MALFORMED_QUERY`"),
                      "404": error("`NOT_FOUND`: no such account, or no block of that date yet"),
                      "409": error("`STATEMENT_UNAVAILABLE` (the date's blocks are pruned here, or its history predates this node's balances) or `STATEMENT_TOO_LARGE` (over 10,000 movements)"),
                      "429": LIMITED, "503": BUSY}}},
    "/explorer": {"get": {
        "summary": "The block explorer's page (docs/operations.md#explorer); also at /explorer/", "operationId": "explorer",
        "responses": {"200": response("The explorer's HTML", string, media="text/html"), "429": LIMITED}}},
    "/explorer/{file}": {"get": {
        "summary": "One of the explorer's files: index.html, app.js or style.css", "operationId": "explorerFile",
        "parameters": [path("file", "the file's name", {"type": "string", "enum": ["index.html", "app.js", "style.css"]})],
        "responses": {"200": {"description": "The file", "content": {"text/html": {"schema": string}, "text/javascript": {"schema": string}, "text/css": {"schema": string}}},
                      "404": error("`NOT_FOUND`: no explorer file by that name"), "429": LIMITED}}},
    "/v1/blocks": {"get": {
        "summary": "Block summaries from a height, oldest first (default: the latest `limit`)", "operationId": "blocks",
        "parameters": [query("from", "first height", {"type": "integer", "minimum": 1, "maximum": HEIGHT_MAX}),
                       query("limit", "how many", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20})],
        "responses": {"200": response("Summaries", obj({"blocks": {"type": "array", "items": ref("BlockSummary")}})),
                      "400": error("`MALFORMED_QUERY`"), "429": LIMITED}}},
    "/v1/blocks/{height}": {"get": {
        "summary": "A block: header fields, transaction ids and results, canonical header and commit certificate", "operationId": "block",
        "parameters": [path("height", "block height", {"type": "integer", "minimum": 1, "maximum": HEIGHT_MAX}),
                       flag("transactions", "include the signed transactions' canonical bytes, one per id (what `tonle index` reads)")],
        "responses": {"200": response("The block", ref("Block")), "400": error("`MALFORMED_HEIGHT`"),
                      "404": error("`NOT_FOUND`: not stored here (yet)"), "429": LIMITED}}},
    "/v1/transactions/{id}/receipt": {"get": {
        "summary": "A committed transaction's receipt: its bytes, its result, and Merkle proofs of both against its block's header and the next, certified header (docs/api.md#receipts)",
        "operationId": "receipt",
        "parameters": [transaction_id],
        "responses": {"200": response("The receipt", ref("Receipt")), "400": error("`MALFORMED_ID`"),
                      "404": error("`NOT_FOUND`: not committed here (pending, unknown, or refused)"), "429": LIMITED,
                      "503": error("`PROOF_NOT_READY` (the next block, which certifies the result, did not come within `rpc.proof_wait_seconds`) or `NODE_BUSY`", headers=retry_after)}}},
    "/v1/validators": {"get": {
        "summary": "The validator set that signs a block (default: the next block)", "operationId": "validators",
        "parameters": [query("height", "the block whose signers to return: 1 up to the next block's height", {"type": "integer", "minimum": 1, "maximum": HEIGHT_MAX})],
        "responses": {"200": response("The set", ref("Validators")), "400": error("`MALFORMED_HEIGHT`"),
                      "404": error("`NOT_FOUND`: beyond the next block (not known yet), or older than this node's history"), "429": LIMITED, "503": BUSY}}},
    "/v1/events": {"get": {
        "summary": "Server-sent events: one `block` event per committed block with every transaction's result; the event id is the height", "operationId": "events",
        "parameters": [query("from", "first height to send (default: the next block)", {"type": "integer", "minimum": 1, "maximum": HEIGHT_MAX}),
                       {**query("account", "only transactions naming this account (creator, source, target, ...); blocks with none send no event",
                                {"type": "string", "format": "tonle-account-id", "pattern": f"^{ACCOUNT_NAME}@{INSTITUTION}$"}),
                        "examples": {"bank": {"value": "sokha@aba"}}},
                       {**query("gateway", "only this gateway's transactions (created by its accounts, or carrying its settlement entries); with account, either",
                                {"type": "string", "format": "tonle-institution-id", "pattern": f"^{INSTITUTION}$"}),
                        "examples": {"alipay": {"value": "alipay"}}},
                       {"name": "Last-Event-ID", "in": "header", "required": False, "description": "resume after this height (wins over `from`; 0 replays from block 1)",
                        "schema": {"type": "string", "pattern": f"^{HEIGHT}$"}}],
        "responses": {"200": response("An endless stream of events, each a `block` event whose `data` is a BlockEvent", ref("BlockEventMessage"), media="text/event-stream"),
                      "400": error("`MALFORMED_HEIGHT`, `MALFORMED_EVENT_ID`, `MALFORMED_ACCOUNT` or `MALFORMED_GATEWAY`"), "429": LIMITED,
                      "503": error("`TOO_MANY_STREAMS`", headers=retry_after)}}},
    "/v1/gateways/{id}/positions": {"get": {
        "summary": "A gateway's positions (KHR and USD) on one business date, and its prefund and payable balances now (docs/settlement.md)", "operationId": "gatewayPositions",
        "parameters": [gateway_id("id"), date_query, flag("proof", "add to each position a Merkle proof of its record (or of its absence) anchored to a certified header")],
        "responses": {"200": response("Positions", ref("GatewayPositions")), "400": error("`MALFORMED_GATEWAY`, `MALFORMED_DATE` or `MALFORMED_QUERY`"),
                      "404": error("`NOT_FOUND`: not a gateway participant"), "429": LIMITED,
                      "503": error("`PROOF_NOT_READY` (the anchoring block did not come within `rpc.proof_wait_seconds`) or `NODE_BUSY`", headers=retry_after)}}},
    "/v1/gateways/{id}/entries": {"get": {
        "summary": "A gateway's settlement entries on one business date in one currency, newest first, a page at a time: its statement", "operationId": "gatewayEntries",
        "parameters": [gateway_id("id"), date_query, query("currency", "KHR (default) or USD", {"enum": ["KHR", "USD"], "default": "KHR"}), page,
                       query("before", "the `next` of the previous page", {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"})],
        "responses": {"200": response("A page", ref("GatewayEntries")),
                      "400": error("`MALFORMED_GATEWAY`, `MALFORMED_DATE`, `MALFORMED_QUERY` or `MALFORMED_CURSOR`"),
                      "404": error("`NOT_FOUND`: not a gateway participant, or `before` names no entry of this statement"), "429": LIMITED, "503": BUSY}}},
    "/v1/settlements/{gateway}/{reference}": {"get": {
        "summary": "The entries a gateway recorded under an external reference (one per reference class: payment, correction, funding)", "operationId": "settlement",
        "parameters": [gateway_id("gateway"), {**path("reference", "external reference", {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"}),
                                               "examples": {"payment": {"value": "ALP-20261121-0001"}}},
                       flag("proof", "add to each entry a Merkle proof of its record anchored to a certified header")],
        "responses": {"200": response("The entries", ref("SettlementLookup")), "400": error("`MALFORMED_GATEWAY`, `MALFORMED_REFERENCE` or `MALFORMED_QUERY`"),
                      "404": error("`NOT_FOUND`: not a gateway, or no entry with that reference"), "429": LIMITED,
                      "503": error("`PROOF_NOT_READY` or `NODE_BUSY`", headers=retry_after)}}},
    "/v1/reference-rates/{unit}/{quoted}": {"get": {
        "summary": "The central bank's reference rate of a currency pair on a business date, with its tolerance band (docs/settlement.md#reference-rates)",
        "operationId": "referenceRate",
        "parameters": [{**path("unit", "unit currency (ISO 4217)", {"type": "string", "pattern": "^[A-Z]{3}$"}), "examples": {"cny": {"value": "CNY"}}},
                       {**path("quoted", "quoted currency (ISO 4217)", {"type": "string", "pattern": "^[A-Z]{3}$"}), "examples": {"khr": {"value": "KHR"}}},
                       query("date", "business date (default: today in ICT)", date)],
        "responses": {"200": response("The rate", ref("ReferenceRate")), "400": error("`MALFORMED_CURRENCY` or `MALFORMED_DATE`"),
                      "404": error("`NOT_FOUND`: none published for that pair and date"), "429": LIMITED, "503": BUSY}}},
}

schemas = {
    "Error": obj({"code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$", "description": "stable code (docs/api.md, docs/errors.md)"},
                  "message": {"type": "string", "description": "what went wrong and what to do"}}),
    "SubmitRequest": obj({"transaction": {**base64, "maxLength": 87384, "description": "canonical bytes of a signed transaction (docs/encoding.md), at most 64 KiB"}}),
    "BatchRequest": obj({"transactions": {"type": "array", "maxItems": 4096,
                                          "items": {"type": "string", "description": "base64 of a signed transaction's canonical bytes; an item that is not one is refused in its own result"}}}),
    "Accepted": obj({"id": hexdigest, "status": {"const": "pending"}}),
    "BatchResults": obj({"results": {"type": "array", "items": ref("BatchItem")}}),
    "BatchItem": obj({"id": hexdigest, "status": {"enum": ["pending", "committed", "refused"]}, "code": string, "message": string,
                      "height": height, "result": string}, ["status"]),
    "TransactionStatus": obj({"id": hexdigest, "status": {"enum": ["pending", "committed", "unknown"]}, "height": height, "index": u32,
                              "result": {"type": "string", "description": "applied, or a rejection code"},
                              "command": {**u16, "description": "rejected: the index of the command that caused it, where one did"},
                              "detail": {**detail_name, "description": "rejected: the specific rule, where the code has details (docs/errors.md)"},
                              "transaction": base64}, ["id", "status"]),
    "Rejection": obj({"index": u32, "code": string, "command": u16, "detail": detail_name}, ["index", "code"]),
    "Receipt": obj({"id": hexdigest, "height": height, "index": u32, "transaction": {**base64, "description": "the signed transaction's canonical bytes"},
                    "result": string, "command": u16, "detail": detail_name,
                    "result_bytes": {**hexbytes, "description": "the result's canonical bytes (docs/encoding.md, Block results)"},
                    "transactions_proof": {**hexbytes, "description": "Merkle list proof of the id under the header's transactions root"},
                    "results_proof": {**hexbytes, "description": "Merkle list proof of SHA-256(id ‖ result bytes) under the next header's last results root"},
                    "header": {**hexbytes, "description": "block height's canonical header"},
                    "next_header": {**hexbytes, "description": "block height+1's canonical header"},
                    "next_certificate": {**hexbytes, "description": "block height+1's commit certificate"}},
                   ["id", "height", "index", "transaction", "result", "result_bytes", "transactions_proof", "results_proof", "header", "next_header", "next_certificate"]),
    "Block": obj({"height": height, "hash": hexdigest, "previous_hash": hexdigest, "time_ms": u64, "proposer": hexdigest,
                  "state_root": {**hexdigest, "description": "state root after this block"},
                  "transactions": {"type": "array", "items": hexdigest}, "results": {"type": "array", "items": string},
                  "rejections": {"type": "array", "items": ref("Rejection"), "description": "the rejected transactions in full, by index"},
                  "header": {**hexbytes, "description": "canonical header"}, "certificate": {**hexbytes, "description": "canonical commit certificate"},
                  "next_header": {**hexbytes, "description": "block height+1's canonical header (it certifies this block's results and the state after it); absent until stored"},
                  "next_certificate": {**hexbytes, "description": "its commit certificate"},
                  "transaction_bytes": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"},
                                        "description": "with transactions=true: each signed transaction's canonical bytes (base64), in block order"}},
                 ["height", "hash", "previous_hash", "time_ms", "proposer", "state_root", "transactions", "results", "rejections", "header", "certificate"]),
    "BlockSummary": obj({"height": height, "hash": hexdigest, "time_ms": u64, "proposer": hexdigest, "transactions": count}),
    "BlockEventMessage": obj({"event": {"enum": ["block", "prefund_low"], "description": "`block` (data: a BlockEvent), then `prefund_low` for each gateway prefund the block took below its alert threshold (data: a PrefundLowEvent)"},
                              "id": {"type": "string", "pattern": f"^{HEIGHT}$", "description": "the block's height"},
                              "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": {"oneOf": [ref("BlockEvent"), ref("PrefundLowEvent")]}},
                              "retry": {"type": "integer", "minimum": 0}}, ["event", "id", "data"]),
    "ReferenceRate": obj({"unit_currency": string, "quoted_currency": string, "business_date": date, "rate": string,
                          "tolerance_bps": {"type": "integer", "minimum": 1, "maximum": 10000}, "height": height}),
    "PrefundLowEvent": obj({"gateway": string, "currency": currency, "height": height, "balance": decimal_text, "threshold": decimal_text,
                            "balance_minor": {"type": "integer"}, "threshold_minor": {"type": "integer"}},
                           ["gateway", "currency", "height", "balance", "threshold", "balance_minor", "threshold_minor"]),
    "BlockEvent": obj({"height": height, "hash": hexdigest, "time_ms": u64, "state_root": hexdigest,
                       "transactions": {"type": "array", "items": obj({"id": hexdigest, "result": string, "command": u16, "detail": detail_name}, ["id", "result"])}}),
    "Balance": obj({"currency": currency, "balance": decimal_text, "held": decimal_text, "available": decimal_text,
                    "balance_minor": {"type": "integer"}, "held_minor": {"type": "integer"}}),
    "Limit": obj({"currency": currency, "per_transaction_max": decimal_text, "daily_debit_max": decimal_text, "debited_today": decimal_text},
                 ["currency", "debited_today"]),
    "StateProof": obj({"height": {**height, "description": "the state is after this block; the anchor is block height+1"},
                       "key": {**hexdigest, "description": "the state key (docs/encoding.md#state-keys)"},
                       "value": {**hexbytes, "description": "the state record (tag byte and record, docs/encoding.md#state-records); absent: the proof is of the key's absence"},
                       "proof": {**hexbytes, "description": "Merkle proof (docs/merkle.md)"},
                       "state_root": hexdigest, "header": {**hexbytes, "description": "block height+1's canonical header"},
                       "certificate": {**hexbytes, "description": "its commit certificate"}},
                      ["height", "key", "proof", "state_root", "header", "certificate"]),
    "Account": obj({"id": string, "height": height, "keys": {"type": "array", "items": hexdigest}, "quorum": {"type": "integer", "minimum": 1, "maximum": 255},
                    "flags": {"type": "array", "items": {"enum": ["issuance"]}}, "frozen": boolean,
                    "balances": {"type": "array", "items": ref("Balance")}, "limits": {"type": "array", "items": ref("Limit")}, "proof": ref("StateProof")},
                   ["id", "height", "keys", "quorum", "flags", "frozen", "balances", "limits"]),
    "AccountHistory": obj({"account": string, "transactions": {"type": "array", "items": obj({"id": hexdigest, "height": height, "index": u32})},
                           "next": {"type": "string", "pattern": f"^{HEIGHT}:{INDEX}$", "description": "pass as before= for the next page; absent on the last"}},
                          ["account", "transactions"]),
    "Validators": obj({"height": {**height, "description": "the state height the set is read from"},
                       "block_height": {**height, "minimum": 1, "description": "the block this set signs (height+1)"}, "validators": {"type": "array", "items": obj({"public_key": hexdigest, "name": string, "power": u64})},
                       "total_power": u64, "quorum_power": u64, "encoded": {**hexbytes, "description": "canonical validator set (for tonle verify --validators)"}}),
    "Position": obj({"currency": currency, "count": count, "gross_inward": decimal_text, "gross_outward": decimal_text, "refunds": decimal_text,
                     "reversals": decimal_text, "top_ups": decimal_text, "net_settled": decimal_text,
                     "payable_due": {**decimal_text, "description": "gross_outward - reversals: what the net settlement closing the date moves"},
                     "net_position": {**decimal_text, "description": "(gross_outward - reversals) - (gross_inward - refunds); positive: owed to the gateway"},
                     "entries_digest": hexdigest, "closed_by": {"type": ["string", "null"], "description": "the net settlement's reference once closed; null while open"},
                     **{f"{name}_minor": {"type": "integer", "description": f"{name} in minor units"} for name in
                        ["gross_inward", "gross_outward", "refunds", "reversals", "top_ups", "net_settled", "payable_due", "net_position"]},
                     "reference_checked": {"type": "integer", "minimum": 0, "description": "entries checked against a reference rate that day"},
                     "average_deviation_bps": {"type": "integer", "minimum": 0, "description": "their average deviation from it, basis points (absent when none)"},
                     "proof": {**ref("StateProof"), "description": "with proof=true"}},
                    ["currency", "count", "gross_inward", "gross_outward", "refunds", "reversals", "top_ups", "net_settled", "payable_due", "net_position", "entries_digest",
                     "closed_by", "gross_inward_minor", "gross_outward_minor", "refunds_minor", "reversals_minor", "top_ups_minor", "net_settled_minor",
                     "payable_due_minor", "net_position_minor", "reference_checked"]),
    "GatewayPositions": obj({"gateway": string, "business_date": date, "cutoff_ms": u32,
                             "refund_window_days": {"type": "integer", "minimum": 0, "maximum": 3660, "description": "absent: no refund window"},
                             "reversal_window_days": {"type": "integer", "minimum": 0, "maximum": 3660, "description": "absent: no reversal window"},
                             "prefund_alerts": {"type": "array", "items": obj({"currency": currency, "threshold": decimal_text, "threshold_minor": {"type": "integer"}})},
                             "height": height, "positions": {"type": "array", "items": ref("Position")},
                             "balances": {"type": "array", "items": obj({"account": string, "currency": currency, "balance": decimal_text, "balance_minor": {"type": "integer"}})}},
                            ["gateway", "business_date", "cutoff_ms", "prefund_alerts", "height", "positions", "balances"]),
    "SettlementEntry": obj({"gateway": string, "reference": string, "class": {"enum": ["payment", "correction", "funding"]},
                            "kind": {"enum": ["INWARD_QR_PAYMENT", "OUTWARD_QR_PAYMENT", "INWARD_REMITTANCE", "OUTWARD_REMITTANCE", "REFUND", "REVERSAL", "PREFUND_TOPUP", "NET_SETTLEMENT"]},
                            "amount": decimal_text, "currency": currency, "account": string, "foreign_amount": decimal_text, "foreign_currency": string, "fx_rate": string,
                            "original": string, "returned": {**decimal_text, "description": "refunded or reversed so far"}, "business_date": date, "height": height,
                            "time_ms": u64, "transaction": hexdigest, "command": {"type": "integer", "minimum": 0, "maximum": 65535}, "entry_digest": hexdigest,
                            "amount_minor": {"type": "integer"}, "foreign_amount_minor": {"type": "integer", "description": "in the foreign currency's minor units"},
                            "returned_minor": {"type": "integer"},
                            "uetr": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                                     "description": "ISO 20022 UETR, when the entry carries one"},
                            "reference_rate": {**string, "description": "the central bank's reference rate the quote was checked against, when one was published"},
                            "deviation_bps": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "the quote's deviation from it, basis points"},
                            "proof": {**ref("StateProof"), "description": "with proof=true (the settlement lookup)"}},
                           ["gateway", "reference", "class", "kind", "amount", "currency", "account", "returned", "business_date", "height", "time_ms", "transaction", "command",
                            "entry_digest", "amount_minor", "returned_minor"]),
    "GatewayEntries": obj({"gateway": string, "currency": currency, "business_date": date, "entries": {"type": "array", "items": ref("SettlementEntry")},
                           "next": {**hexdigest, "description": "pass as before= for the next page; absent on the last"}},
                          ["gateway", "currency", "business_date", "entries"]),
    "SettlementLookup": obj({"gateway": string, "reference": string, "entries": {"type": "array", "items": ref("SettlementEntry")}}),
    "Status": obj({"name": string, "chain_id": string, "version": string, "height": height, "round": u32, "state_root": hexdigest,
                   "latest_block_hash": hexdigest, "latest_block_time_ms": u64, "validator": boolean, "peers": {"type": "array", "items": hexdigest},
                   "sync": {"enum": ["caught_up", "syncing", "no_quorum"]}, "mempool_transactions": count,
                   "oldest_block_height": {**height, "minimum": 1, "description": "the lowest height whose block this node keeps: 1, unless older blocks were pruned (storage.retain_blocks) or the node state-synced"}}),
}

document = {
    "openapi": "3.1.0",
    "info": {"title": "Tonle node RPC", "version": "1",
             "description": "The HTTP/JSON API of a Tonle node. See docs/api.md for the guide, examples and error codes. Every error body is an Error. "
                            "A method a route does not take is 405 `METHOD_NOT_ALLOWED` with `Allow`; a path no route has is 404 `NO_SUCH_ROUTE`. "
                            "Numbers in paths, queries and headers are ASCII decimal digits in their one spelling (no sign, no leading zero)."},
    "servers": [{"url": "http://127.0.0.1:26700", "description": "a local validator (deploy/run.sh)"}],
    "security": [{}, {"mutualTLS": []}],
    "paths": paths,
    "components": {
        "schemas": schemas,
        "securitySchemes": {"mutualTLS": {"type": "mutualTLS", "description": "With `rpc.tls_client_ca_file` set, every client presents a certificate signed by that CA (gateways); without it, none is asked for."}},
    },
}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.json"), "w") as out:
    out.write(json.dumps(document, indent=2) + "\n")
