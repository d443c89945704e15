"""Writes docs/openapi.json (run: python3 docs/openapi.py). OpenAPIDocTests hold it equal to
RPCServer.routes: every route and every status it answers with."""
import json
import os
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def resp(desc, schema=None, headers=None, ctype="application/json"):
    r={"description":desc}
    if schema is not None: r["content"]={ctype:{"schema":schema}}
    if headers: r["headers"]=headers
    return r
retry={"Retry-After":{"description":"seconds to wait before retrying","schema":{"type":"integer"}}}
err=lambda d: resp(d, ref("Error"))
limited=resp("Rate limited (`RATE_LIMITED`): more requests than `rpc.rate_limit_per_s` from this address", ref("Error"), retry)
def qp(name, desc, schema): return {"name":name,"in":"query","required":False,"description":desc,"schema":schema}
def pp(name, desc, schema): return {"name":name,"in":"path","required":True,"description":desc,"schema":schema}
hexid={"type":"string","pattern":"^[0-9a-fA-F]{64}$"}
paths={
"/health":{"get":{"summary":"Liveness: the process is serving","operationId":"health","responses":{"200":resp("Alive",{"type":"object","properties":{"status":{"const":"ok"}}})}}},
"/ready":{"get":{"summary":"Readiness: caught up with its peers","operationId":"ready","responses":{"200":resp("Caught up",{"type":"object","properties":{"status":{"const":"ready"}}}),"503":resp("Syncing",{"type":"object","properties":{"status":{"const":"syncing"}}})}}},
"/metrics":{"get":{"summary":"Prometheus metrics (text exposition format 0.0.4)","operationId":"metrics","responses":{"200":resp("Metrics",{"type":"string"},ctype="text/plain"),"429":limited}}},
"/v1/status":{"get":{"summary":"The node's status","operationId":"status","responses":{"200":resp("Status",ref("Status")),"429":limited}}},
"/v1/transactions":{"post":{"summary":"Submit one signed transaction","operationId":"submitTransaction",
  "requestBody":{"required":True,"content":{"application/json":{"schema":ref("SubmitRequest")}}},
  "responses":{"202":resp("Admitted to the mempool",ref("Accepted")),"200":resp("Already committed: its result (submitting again is idempotent). A settlement entry whose reference is already recorded with the same body answers with the original transaction's status",ref("TransactionStatus")),
   "400":err("Refused: `MALFORMED_REQUEST`, `MALFORMED_TRANSACTION`, `BAD_SIGNATURE`, `WRONG_CHAIN`, `EXPIRED`, `EXPIRY_TOO_FAR`, `CREATOR_NOT_FOUND`, `DUPLICATE_REFERENCE_MISMATCH`"),
   "413":err("`BODY_TOO_LARGE` or `TRANSACTION_TOO_LARGE`"),"415":err("`UNSUPPORTED_MEDIA_TYPE`: the body must be sent as `Content-Type: application/json`"),"429":limited,
   "503":resp("`MEMPOOL_FULL` or `NODE_BUSY`: retry after Retry-After seconds",ref("Error"),retry)}}},
"/v1/transactions/batch":{"post":{"summary":"Submit up to `rpc.batch_transactions_max` signed transactions; one result each, in order","operationId":"submitBatch",
  "requestBody":{"required":True,"content":{"application/json":{"schema":ref("BatchRequest")}}},
  "responses":{"200":resp("One result per transaction",ref("BatchResults")),"400":err("`MALFORMED_REQUEST`"),"413":err("`BODY_TOO_LARGE` or `BATCH_TOO_LARGE`"),"415":err("`UNSUPPORTED_MEDIA_TYPE`: the body must be sent as `Content-Type: application/json`"),"429":limited,
   "503":resp("`NODE_BUSY`: every transaction was refused for now (mempool full); retry after Retry-After seconds",ref("Error"),retry)}}},
"/v1/transactions/{id}":{"get":{"summary":"Where a transaction is: pending, committed (height, index, result) or unknown","operationId":"transactionStatus",
  "parameters":[pp("id","transaction id (64 hex digits)",hexid),qp("wait","long poll: wait up to this many seconds (at most `rpc.wait_seconds_max`) until it is committed",{"type":"integer","minimum":0}),
   qp("transaction","include a committed transaction's bytes (reads its block; pending ones always have them)",{"type":"boolean"})],
  "responses":{"200":resp("Status",ref("TransactionStatus")),"400":err("`MALFORMED_ID` or `MALFORMED_QUERY`"),"429":limited}}},
"/v1/accounts/{id}":{"get":{"summary":"An account: balances, held amounts, keys and quorum, flags; with proof=true a Merkle proof anchored to a certified header","operationId":"account",
  "parameters":[pp("id","account id, name@institution",{"type":"string"}),qp("proof","add a Merkle proof and the header and commit certificate it is anchored to",{"type":"boolean"})],
  "responses":{"200":resp("The account",ref("Account")),"400":err("`MALFORMED_ACCOUNT`"),"404":err("`NOT_FOUND`: no such account"),"429":limited,
   "503":resp("`PROOF_NOT_READY` (the anchoring block did not come within `rpc.proof_wait_seconds`) or `NODE_BUSY`",ref("Error"),retry)}}},
"/v1/gateways/{id}/positions":{"get":{"summary":"A gateway's positions (KHR and USD) on one business date, and its prefund and payable balances now (docs/settlement.md)","operationId":"gatewayPositions",
  "parameters":[pp("id","gateway institution id",{"type":"string"}),qp("date","business date YYYY-MM-DD in ICT (default: the gateway's current date)",{"type":"string","format":"date"})],
  "responses":{"200":resp("Positions",ref("GatewayPositions")),"400":err("`MALFORMED_GATEWAY` or `MALFORMED_DATE`"),"404":err("`NOT_FOUND`: not a gateway participant"),"429":limited,
   "503":resp("`NODE_BUSY`",ref("Error"),retry)}}},
"/v1/gateways/{id}/entries":{"get":{"summary":"A gateway's settlement entries on one business date in one currency, newest first, a page at a time: its statement","operationId":"gatewayEntries",
  "parameters":[pp("id","gateway institution id",{"type":"string"}),qp("date","business date YYYY-MM-DD (default: the gateway's current date)",{"type":"string","format":"date"}),
   qp("currency","KHR (default) or USD",{"enum":["KHR","USD"]}),qp("limit","page size, 1 to 1000 (default 100)",{"type":"integer","minimum":1,"maximum":1000}),
   qp("before","the `next` of the previous page",hexid)],
  "responses":{"200":resp("A page",ref("GatewayEntries")),"400":err("`MALFORMED_GATEWAY`, `MALFORMED_DATE`, `MALFORMED_QUERY` or `MALFORMED_CURSOR`"),"404":err("`NOT_FOUND`: not a gateway participant"),"429":limited,
   "503":resp("`NODE_BUSY`",ref("Error"),retry)}}},
"/v1/settlements/{gateway}/{reference}":{"get":{"summary":"The entries a gateway recorded under an external reference (one per reference class: payment, correction, funding)","operationId":"settlement",
  "parameters":[pp("gateway","gateway institution id",{"type":"string"}),pp("reference","external reference",{"type":"string","pattern":"^[A-Za-z0-9._:-]{1,64}$"})],
  "responses":{"200":resp("The entries",ref("SettlementLookup")),"400":err("`MALFORMED_GATEWAY` or `MALFORMED_REFERENCE`"),"404":err("`NOT_FOUND`: not a gateway, or no entry with that reference"),"429":limited,
   "503":resp("`NODE_BUSY`",ref("Error"),retry)}}},
"/v1/accounts/{id}/transactions":{"get":{"summary":"Transactions that named the account, newest first, a page at a time","operationId":"accountTransactions",
  "parameters":[pp("id","account id",{"type":"string"}),qp("limit","page size, 1 to 1000 (default 100)",{"type":"integer","minimum":1,"maximum":1000}),
   qp("before","HEIGHT:INDEX: the `next` of the previous page",{"type":"string","pattern":"^[0-9]+:[0-9]+$"})],
  "responses":{"200":resp("A page",ref("AccountHistory")),"400":err("`MALFORMED_ACCOUNT`, `MALFORMED_QUERY` or `MALFORMED_CURSOR`"),"429":limited}}},
"/v1/blocks":{"get":{"summary":"Block summaries from a height, oldest first (default: the latest `limit`)","operationId":"blocks",
  "parameters":[qp("from","first height",{"type":"integer","minimum":1}),qp("limit","how many, 1 to 1000 (default 20)",{"type":"integer","minimum":1,"maximum":1000})],
  "responses":{"200":resp("Summaries",{"type":"object","required":["blocks"],"properties":{"blocks":{"type":"array","items":ref("BlockSummary")}}}),"400":err("`MALFORMED_QUERY`"),"429":limited}}},
"/v1/blocks/{height}":{"get":{"summary":"A block: header fields, transaction ids and results, canonical header and commit certificate","operationId":"block",
  "parameters":[pp("height","block height, from 1",{"type":"integer","minimum":1})],
  "responses":{"200":resp("The block",ref("Block")),"400":err("`MALFORMED_HEIGHT`"),"404":err("`NOT_FOUND`: not stored here (yet)"),"429":limited}}},
"/v1/validators":{"get":{"summary":"The current validator set","operationId":"validators",
  "responses":{"200":resp("The set",ref("Validators")),"429":limited,"503":resp("`NODE_BUSY`",ref("Error"),retry)}}},
"/v1/events":{"get":{"summary":"Server-sent events: one `block` event per committed block with every transaction's result; the event id is the height","operationId":"events",
  "parameters":[qp("from","first height to send (default: the next block)",{"type":"integer","minimum":1}),
   {"name":"Last-Event-ID","in":"header","required":False,"description":"resume after this height (wins over from)","schema":{"type":"string"}}],
  "responses":{"200":resp("An endless stream; `data` of each event is a BlockEvent",ref("BlockEvent"),ctype="text/event-stream"),"400":err("`MALFORMED_QUERY` or `MALFORMED_EVENT_ID`"),"429":limited,
   "503":resp("`TOO_MANY_STREAMS`",ref("Error"),retry)}}},
}
S=lambda props, req=None: {"type":"object","properties":props,"required":req or list(props.keys())}
st={"type":"string"}; i={"type":"integer"}; b={"type":"boolean"}; h={"type":"string","description":"hex"}
schemas={
"Error":S({"code":{"type":"string","description":"stable code (docs/api.md, docs/errors.md)"},"message":{"type":"string","description":"what went wrong and what to do"}}),
"SubmitRequest":S({"transaction":{"type":"string","contentEncoding":"base64","description":"canonical bytes of a signed transaction (docs/encoding.md)"}}),
"BatchRequest":S({"transactions":{"type":"array","items":{"type":"string","contentEncoding":"base64"}}}),
"Accepted":S({"id":hexid,"status":{"const":"pending"}}),
"BatchResults":S({"results":{"type":"array","items":S({"id":st,"status":{"enum":["pending","committed","refused"]},"code":st,"message":st,"height":i,"result":st},["status"])}}),
"TransactionStatus":S({"id":hexid,"status":{"enum":["pending","committed","unknown"]},"height":i,"index":i,"result":{"type":"string","description":"applied, or a rejection code"},
  "transaction":{"type":"string","contentEncoding":"base64"}},["id","status"]),
"Block":S({"height":i,"hash":h,"previous_hash":h,"time_ms":i,"proposer":h,"state_root":{"type":"string","description":"state root after this block"},
  "transactions":{"type":"array","items":st},"results":{"type":"array","items":st},"header":{"type":"string","description":"canonical header, hex"},
  "certificate":{"type":"string","description":"canonical commit certificate, hex"}}),
"BlockSummary":S({"height":i,"hash":h,"time_ms":i,"proposer":h,"transactions":i}),
"BlockEvent":S({"height":i,"hash":h,"time_ms":i,"state_root":h,"transactions":{"type":"array","items":S({"id":h,"result":st})}}),
"Balance":S({"currency":{"enum":["KHR","USD"]},"balance":st,"held":st,"available":st,"balance_minor":i,"held_minor":i}),
"Limit":S({"currency":st,"per_transaction_max":st,"daily_debit_max":st,"debited_today":st},["currency","debited_today"]),
"AccountProof":S({"height":{"type":"integer","description":"the state is after this block; the anchor is block height+1"},"key":h,"value":{"type":"string","description":"the state record, hex"},
  "proof":{"type":"string","description":"Merkle proof, hex (docs/merkle.md)"},"state_root":h,"header":{"type":"string","description":"block height+1's canonical header, hex"},
  "certificate":{"type":"string","description":"its commit certificate, hex"}}),
"Account":S({"id":st,"height":i,"keys":{"type":"array","items":h},"quorum":i,"flags":{"type":"array","items":{"enum":["issuance"]}},"frozen":b,
  "balances":{"type":"array","items":ref("Balance")},"limits":{"type":"array","items":ref("Limit")},"proof":ref("AccountProof")},
  ["id","height","keys","quorum","flags","frozen","balances","limits"]),
"AccountHistory":S({"account":st,"transactions":{"type":"array","items":S({"id":h,"height":i,"index":i})},"next":{"type":"string","description":"pass as before= for the next page; absent on the last"}},["account","transactions"]),
"Validators":S({"height":i,"validators":{"type":"array","items":S({"public_key":h,"name":st,"power":i})},"total_power":i,"quorum_power":i,
  "encoded":{"type":"string","description":"canonical validator set, hex (for tonle verify --validators)"}}),
"Position":S({"currency":{"enum":["KHR","USD"]},"count":i,"gross_inward":st,"gross_outward":st,"refunds":st,"reversals":st,"top_ups":st,"net_settled":st,
  "payable_due":{"type":"string","description":"gross_outward - reversals: what the net settlement closing the date moves"},
  "net_position":{"type":"string","description":"(gross_outward - reversals) - (gross_inward - refunds); positive: owed to the gateway"},
  "entries_digest":h,"closed_by":{"type":"string","description":"the net settlement's reference, once closed"}},
  ["currency","count","gross_inward","gross_outward","refunds","reversals","top_ups","net_settled","payable_due","net_position","entries_digest"]),
"GatewayPositions":S({"gateway":st,"business_date":{"type":"string","format":"date"},"cutoff_ms":i,"height":i,"positions":{"type":"array","items":ref("Position")},
  "balances":{"type":"array","items":S({"account":st,"currency":st,"balance":st})}}),
"SettlementEntry":S({"gateway":st,"reference":st,"class":{"enum":["payment","correction","funding"]},
  "kind":{"enum":["INWARD_QR_PAYMENT","OUTWARD_QR_PAYMENT","INWARD_REMITTANCE","OUTWARD_REMITTANCE","REFUND","REVERSAL","PREFUND_TOPUP","NET_SETTLEMENT"]},
  "amount":st,"currency":{"enum":["KHR","USD"]},"account":st,"foreign_amount":st,"foreign_currency":st,"fx_rate":st,"original":st,
  "returned":{"type":"string","description":"refunded or reversed so far"},"business_date":{"type":"string","format":"date"},"height":i,"time_ms":i,
  "transaction":h,"command":i,"entry_digest":h},
  ["gateway","reference","class","kind","amount","currency","account","returned","business_date","height","time_ms","transaction","command","entry_digest"]),
"GatewayEntries":S({"gateway":st,"currency":st,"business_date":{"type":"string","format":"date"},"entries":{"type":"array","items":ref("SettlementEntry")},
  "next":{"type":"string","description":"pass as before= for the next page; absent on the last"}},["gateway","currency","business_date","entries"]),
"SettlementLookup":S({"gateway":st,"reference":st,"entries":{"type":"array","items":ref("SettlementEntry")}}),
"Status":S({"name":st,"chain_id":st,"version":st,"height":i,"round":i,"state_root":h,"latest_block_hash":h,"latest_block_time_ms":i,"validator":b,
  "peers":{"type":"array","items":h},"sync":{"enum":["caught_up","syncing"]},"mempool_transactions":i}),
}
doc={"openapi":"3.1.0","info":{"title":"Tonle node RPC","version":"1","description":"The HTTP/JSON API of a Tonle node. See docs/api.md for the guide, examples and error codes. Every error body is an Error."},
"servers":[{"url":"http://127.0.0.1:26700","description":"a local validator (deploy/run.sh)"}],"paths":paths,"components":{"schemas":schemas}}
open(os.path.join(os.path.dirname(os.path.abspath(__file__)),'openapi.json'),'w').write(json.dumps(doc,indent=2)+"\n")
