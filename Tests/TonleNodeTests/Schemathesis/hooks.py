# Loaded by schemathesis (SCHEMATHESIS_HOOKS=hooks) for EdgeTests.schemathesis: generators for the
# identifier formats the contract names, and long polls kept short.
import schemathesis
from hypothesis import strategies as st


def identifier(first, punctuation, lengths):
    """Identifiers of docs/data-model.md: a first character, then characters each optionally
    preceded by one punctuation mark, ending on a letter or digit, within `lengths` bytes."""
    alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    step = st.tuples(st.sampled_from(["", *punctuation]), st.sampled_from(alnum)).map("".join)
    text = st.tuples(st.sampled_from(first), st.lists(step, max_size=lengths[1])).map(lambda t: t[0] + "".join(t[1]))
    return text.filter(lambda s: lengths[0] <= len(s) <= lengths[1])


INSTITUTION = identifier("abcdefghijklmnopqrstuvwxyz", ["-"], (2, 16))
ACCOUNT = st.tuples(identifier("abcdefghijklmnopqrstuvwxyz0123456789", [".", "_", "-"], (1, 32)), INSTITUTION).map("@".join)
schemathesis.openapi.format("tonle-institution-id", st.sampled_from(["alipay", "upi", "aba"]) | INSTITUTION)
schemathesis.openapi.format("tonle-account-id", st.sampled_from(["sokha@aba", "merchant.kampot@wing", "prefund@alipay"]) | ACCOUNT)


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # Long polls: a wait of up to 60 s is schema-valid and accepted; the run keeps each accepted
    # one to a second. Values outside 0-60 are refused at once and stay as generated.
    wait = (case.query or {}).get("wait")
    if isinstance(wait, str) and wait.isdigit():
        wait = int(wait)
    if isinstance(wait, int) and not isinstance(wait, bool) and 2 <= wait <= 60:
        case.query["wait"] = 1
