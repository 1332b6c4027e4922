#!/usr/bin/env python3
"""Generates tests/data/adversarial.json: the adversarial catalogue.

Every expected signature is computed here, independently of the crate, with Python's
hmac module (HMAC-SHA256 over b"<t>." + body, key = the UTF-8 bytes of the whole
secret). Run `python3 tests/data/gen_adversarial.py [OUT]` to regenerate; the output is
deterministic, and .ci/run checks the committed file is what this script writes.

Case fields (see tests/common/adversarial.rs for the loader):
  name        unique, stable
  source      where the case comes from: a peer test suite it translates
              (stripe-node, stripe-python, stripe-go, stripe-ruby, standard-webhooks),
              a vulnerability class, a bound, or a rule of docs/verification.md
  secrets     [{"secret": "whsec_..."} | {"raw_key_base64": "..."}, optional "expires_at"]
  bearer_token, strict, max_age, max_future   optional verifier configuration
  headers     [[name, value]]; value is text, or {"base64": ...} for raw bytes
  body        text, or body_base64, or body_repeat {"prefix", "unit", "count", "suffix"}
  now         the receiver's clock, Unix seconds
  expect      "accept", or the exact error code (VerifyError::code, or
              "invalid_secret" when the configuration itself must be refused)
  expect_key  index into secrets of the one that must match (accept only)
  expect_event   optional: "ok" or the ParseError code of verified.event()
  expect_mismatches  optional: unsigned headers reported (non-strict) as differing
  http        false when the request cannot cross HTTP/1.1 unchanged (CR/LF or NUL in
              a header value, trailing whitespace that parsers strip): adapter and
              CLI runners skip those
  expect_http optional: the expected outcome when received by an HTTP adapter with
              the default 1 MiB body limit, when it differs from the core's
"""
import base64
import hashlib
import hmac
import json
import os

T = 1774180800
A = "whsec_abc123def456"
B = "whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG"
C = "whsec_C3rdS3cr3tF0rR0tat10nT3sts"
TOKEN = "tok-123"
BODY = ('{"id":"evt_01ADVERSARIAL0000000000000","type":"run.completed",'
        '"webhook_version":"2026-03-22","created_at":"2026-03-22T12:00:05Z",'
        '"data":{"run":{"run_id":"3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03",'
        '"status":"completed","environment":"live",'
        '"created_at":"2026-03-22T11:58:41Z"}}}')
KNOWN_ANSWER_BODY = '{"id":"evt_123","type":"run.completed"}'
MIB = 1024 * 1024


def b(x):
    return x.encode("utf-8") if isinstance(x, str) else x


def mac(secret, t, body, digest=hashlib.sha256):
    return hmac.new(b(secret), b(str(t)) + b"." + b(body), digest).hexdigest()


def raw_mac(key, message, digest=hashlib.sha256):
    return hmac.new(b(key), b(message), digest).hexdigest()


def sig(secret=A, t=T, body=BODY):
    return "t=%s,v1=%s" % (t, mac(secret, t, body))


cases = []


def case(name, source, expect, headers=None, body=BODY, now=T, secrets=(A,), **kw):
    c = {"name": name, "source": source}
    sec = []
    for s in secrets:
        if isinstance(s, dict):
            sec.append(s)
        else:
            sec.append({"secret": s})
    c["secrets"] = sec
    for k in ("bearer_token", "strict", "max_age", "max_future"):
        if k in kw:
            c[k] = kw.pop(k)
    if headers is None:
        headers = [["X-Nexio-Signature", sig(body=body)]]
    hs = []
    for n, v in headers:
        if isinstance(v, bytes):
            hs.append([n, {"base64": base64.b64encode(v).decode()}])
        else:
            hs.append([n, v])
    c["headers"] = hs
    if isinstance(body, dict):
        c["body_repeat"] = body
    elif isinstance(body, bytes):
        c["body_base64"] = base64.b64encode(body).decode()
    else:
        c["body"] = body
    c["now"] = now
    c["expect"] = expect
    c.update(kw)
    assert all(x["name"] != name for x in cases), name
    cases.append(c)


def S(value):
    return [["X-Nexio-Signature", value]]


def full_headers(signature, t=T, event="run.completed", version="2026-03-22", extra=()):
    h = [
        ["Content-Type", "application/json"],
        ["User-Agent", "Nexio-Webhooks/1.0"],
        ["X-Nexio-Event", event],
        ["X-Nexio-Delivery", "5d41402a-bc4b-4a76-b9a3-8f9c2b1e0d7f"],
        ["X-Nexio-Timestamp", str(t)],
        ["X-Nexio-Webhook-Version", version],
        ["X-Nexio-Signature", signature],
    ]
    h.extend([list(x) for x in extra])
    return h


GOOD = mac(A, T, BODY)
GOOD_B = mac(B, T, BODY)

# --------------------------------------------------------------------------------
# Baseline and the published known-answer vector.
case("known-answer vector", "rule: signature", "accept",
     S("t=%d,v1=3681e63d3330eadf2ef7bc7d443ab1ce01bcddeaec56b110db5d4f80c95fa4b4" % T),
     body=KNOWN_ANSWER_BODY, expect_key=0)
case("valid delivery with every Nexio header", "rule: headers", "accept",
     full_headers(sig()), expect_key=0, expect_event="ok", strict=True)
case("valid, signature only", "rule: signature", "accept", expect_key=0, expect_event="ok")

# --------------------------------------------------------------------------------
# Stripe libraries' verifyHeader / construct_event suites, translated.
st = "stripe-node, stripe-python, stripe-ruby, stripe-go: "
case("stripe: header without the expected format", st + "malformed header", "malformed_signature",
     S("I'm not even a real signature header"))
case("stripe: bad_header", "stripe-python test_raise_on_invalid_header", "malformed_signature",
     S("bad_header"))
case("stripe: no signature with the expected scheme (v0 only)", st + "no signatures with expected scheme",
     "malformed_signature", S("t=%d,v0=%s" % (T, GOOD)))
case("stripe: no valid signature for the payload", st + "no valid signatures for payload",
     "signature_mismatch", S("t=%d,v1=bad_signature" % T))
case("stripe: timestamp outside the tolerance", st + "timestamp outside tolerance (now-15, tolerance 10)",
     "timestamp_too_old", S(sig(t=T - 15)), now=T, max_age=10)
case("stripe: timestamp within the tolerance", st + "valid header within tolerance",
     "accept", S(sig(t=T - 5)), now=T, max_age=10, expect_key=0)
case("stripe: one valid signature among several", st + "header contains at least one valid signature",
     "accept", S(sig() + ",v1=potato"), expect_key=0)
case("stripe: valid signature first, bad_signature second", st + "multiple signatures",
     "accept", S("t=%d,v1=%s,v1=bad_signature" % (T, GOOD)), expect_key=0)
case("stripe: timestamp off but no tolerance", st + "timestamp off but no tolerance",
     "accept", S(sig(t=T - 100000)), now=T, max_age=2**63, expect_key=0)
case("stripe: missing header", st + "header undefined", "missing_signature", [])
case("stripe: empty header", st + "empty header", "malformed_signature", S(""))
case("stripe: no timestamp", "stripe-go ErrInvalidHeader: no t", "malformed_signature",
     S("v1=%s" % GOOD))
case("stripe: timestamp not a number", "stripe-go: t=abc", "malformed_signature",
     S("t=abc,v1=%s" % GOOD))
case("stripe: payload that is not JSON but correctly signed", "stripe-python test_raise_on_json_error",
     "accept", S(sig(body="this is not valid JSON")), body="this is not valid JSON",
     expect_key=0, expect_event="invalid_json")
case("stripe: payload re-serialized from parsed JSON", "stripe-node: payload is a parsed JSON object",
     "signature_mismatch", S(sig()),
     body=json.dumps(json.loads(BODY), indent=2))
case("stripe: signature for another timestamp", "stripe-go: signature of a different t",
     "signature_mismatch", S("t=%d,v1=%s" % (T, mac(A, T - 1, BODY))))
case("stripe: wrong secret", st + "wrong secret", "signature_mismatch", S(sig(secret=B)))
case("stripe: secret prefix stripped as HMAC key", "stripe convention: whole secret is the key",
     "signature_mismatch", S("t=%d,v1=%s" % (T, mac("abc123def456", T, BODY))))
case("stripe: body as bytes with non-ASCII", "stripe-python construct_event from bytes",
     "accept", S(sig(body="{\"id\":\"evt_é\"}".encode())), body="{\"id\":\"evt_é\"}".encode(),
     expect_key=0)

# --------------------------------------------------------------------------------
# Standard Webhooks' verification suites, translated to t=/v1= hex.
sw = "standard-webhooks: "
case("standard-webhooks: valid signature", sw + "test_valid_signature_is_valid", "accept", expect_key=0)
case("standard-webhooks: invalid signature", sw + "test_invalid_signature_throws",
     "signature_mismatch", S("t=%d,v1=%s" % (T, mac(A, T, BODY + " "))))
case("standard-webhooks: missing signature header", sw + "test_missing_signature_throws",
     "missing_signature", [["X-Nexio-Timestamp", str(T)]])
case("standard-webhooks: missing timestamp", sw + "test_missing_timestamp_throws",
     "malformed_signature", S("v1=%s" % GOOD))
case("standard-webhooks: invalid timestamp", sw + "test_invalid_timestamp_throws",
     "malformed_signature", S("t=invalid,v1=%s" % GOOD))
case("standard-webhooks: old timestamp", sw + "test_old_timestamp_fails (tolerance + 1 s)",
     "timestamp_too_old", S(sig(t=T - 301)))
case("standard-webhooks: new timestamp", sw + "test_new_timestamp_fails (tolerance + 1 s)",
     "timestamp_too_new", S(sig(t=T + 301)))
case("standard-webhooks: multiple signatures, one valid", sw + "test_multi_sig_payload_is_valid",
     "accept", S("t=%d,v1=%s,v1=%s,v1=%s" % (T, mac(B, T, BODY), "0" * 64, GOOD)), expect_key=0)
case("standard-webhooks: partial signature", sw + "test_partial_signature_is_invalid",
     "signature_mismatch", S("t=%d,v1=%s" % (T, GOOD[:32])))
case("standard-webhooks: signature scheme only, no value", sw + "test_partial_signature (scheme only)",
     "signature_mismatch", S("t=%d,v1=" % T))
case("standard-webhooks: other version scheme", sw + "test_invalid_version_signature (v2)",
     "malformed_signature", S("t=%d,v2=%s" % (T, GOOD)))
case("standard-webhooks: secret with prefix", sw + "test_sign_with_and_without_prefix",
     "accept", expect_key=0)
case("standard-webhooks: secret base64-decoded as key", sw + "base64 secret convention (not ours)",
     "signature_mismatch",
     S("t=%d,v1=%s" % (T, raw_mac(base64.b64decode("abc123def456"), "%d.%s" % (T, BODY)))))
case("standard-webhooks: raw key constructor", sw + "raw key bytes (Secret::from_raw_key)",
     "accept", S("t=%d,v1=%s" % (T, raw_mac(b"\x00\xffraw key", "%d.%s" % (T, BODY)))),
     secrets=({"raw_key_base64": base64.b64encode(b"\x00\xffraw key").decode()},), expect_key=0)
case("standard-webhooks: empty secret", sw + "test_empty_secret_throws", "invalid_secret",
     secrets=("",))
case("standard-webhooks: wrong secret", sw + "test_incorrect_secret", "signature_mismatch",
     secrets=(C,))

# --------------------------------------------------------------------------------
# Vulnerability classes from peer advisories and issues.
vc = "class: "
# Truncation and empty signatures.
for n in (0, 1, 2, 16, 31, 32, 62, 63):
    case("truncated signature to %d hex digits" % n, vc + "truncation", "signature_mismatch",
         S("t=%d,v1=%s" % (T, GOOD[:n])))
case("signature with one extra hex digit", vc + "truncation/extension", "signature_mismatch",
     S("t=%d,v1=%s0" % (T, GOOD)))
case("signature doubled", vc + "extension", "signature_mismatch", S("t=%d,v1=%s" % (T, GOOD * 2)))
case("signature with 0x prefix", vc + "hex format confusion", "signature_mismatch",
     S("t=%d,v1=0x%s" % (T, GOOD[:62])))
case("signature as base64 instead of hex", vc + "encoding confusion", "signature_mismatch",
     S("t=%d,v1=%s" % (T, base64.b64encode(bytes.fromhex(GOOD)).decode())))
case("signature with an inner space", vc + "hex format", "signature_mismatch",
     S("t=%d,v1=%s %s" % (T, GOOD[:32], GOOD[32:])))
case("signature with trailing NUL", vc + "hex format", "signature_mismatch",
     S(("t=%d,v1=%s\x00" % (T, GOOD))), http=False)
case("signature all zeros", vc + "empty signature", "signature_mismatch", S("t=%d,v1=%s" % (T, "0" * 64)))
case("signature uppercase hex", "rule: signature hex", "accept", S("t=%d,v1=%s" % (T, GOOD.upper())), expect_key=0)
case("signature mixed-case hex", "rule: signature hex", "accept",
     S("t=%d,v1=%s" % (T, "".join(c.upper() if i % 2 else c for i, c in enumerate(GOOD)))), expect_key=0)
case("signature with one flipped first digit", vc + "near miss", "signature_mismatch",
     S("t=%d,v1=%x%s" % (T, int(GOOD[0], 16) ^ 1, GOOD[1:])))
case("signature with one flipped last digit", vc + "near miss", "signature_mismatch",
     S("t=%d,v1=%s%x" % (T, GOOD[:-1], int(GOOD[-1], 16) ^ 1)))
case("empty v1 then valid v1", vc + "empty entry masking", "accept",
     S("t=%d,v1=,v1=%s" % (T, GOOD)), expect_key=0)
case("non-hex v1 then valid v1", vc + "bad entry masking", "accept",
     S("t=%d,v1=%s,v1=%s" % (T, "z" * 64, GOOD)), expect_key=0)
case("valid v1 then non-hex v1", vc + "only the last v1 checked", "accept",
     S("t=%d,v1=%s,v1=%s" % (T, GOOD, "z" * 64)), expect_key=0)
case("valid v1 in the middle of 16", vc + "only first/last v1 checked", "accept",
     S("t=%d" % T + "".join(",v1=%s" % (GOOD if i == 7 else "%064x" % i) for i in range(16))),
     expect_key=0)
# Wrong message construction.
case("signature over the body only", vc + "message construction", "signature_mismatch",
     S("t=%d,v1=%s" % (T, raw_mac(A, BODY))))
case("signature over t and body without the dot", vc + "message construction", "signature_mismatch",
     S("t=%d,v1=%s" % (T, raw_mac(A, "%d%s" % (T, BODY)))))
case("signature over body.t", vc + "message construction", "signature_mismatch",
     S("t=%d,v1=%s" % (T, raw_mac(A, "%s.%d" % (BODY, T)))))
case("signature with HMAC-SHA1", vc + "algorithm confusion", "signature_mismatch",
     S("t=%d,v1=%s" % (T, mac(A, T, BODY, hashlib.sha1))))
case("signature with HMAC-SHA512", vc + "algorithm confusion", "signature_mismatch",
     S("t=%d,v1=%s" % (T, mac(A, T, BODY, hashlib.sha512))))
case("signature with HMAC-SHA512 truncated to 64 digits", vc + "algorithm confusion", "signature_mismatch",
     S("t=%d,v1=%s" % (T, mac(A, T, BODY, hashlib.sha512)[:64])))
case("plain SHA-256 of secret and message", vc + "not an HMAC", "signature_mismatch",
     S("t=%d,v1=%s" % (T, hashlib.sha256(b(A) + b"%d." % T + b(BODY)).hexdigest())))
case("key with trailing newline", vc + "whitespace in secrets", "signature_mismatch",
     S("t=%d,v1=%s" % (T, mac(A + "\n", T, BODY))))
case("key uppercased", vc + "key handling", "signature_mismatch",
     S("t=%d,v1=%s" % (T, mac(A.upper(), T, BODY))))
# Timestamps.
case("t overflows i64 by one", vc + "overflowed timestamp", "malformed_signature",
     S("t=9223372036854775808,v1=%s" % GOOD))
case("t of twenty nines", vc + "overflowed timestamp", "malformed_signature",
     S("t=99999999999999999999,v1=%s" % GOOD))
case("t = i64::MAX correctly signed", vc + "overflow in age arithmetic", "timestamp_too_new",
     S(sig(t=9223372036854775807)))
case("t = i64::MAX with now = i64::MIN", vc + "overflow in age arithmetic", "timestamp_too_new",
     S(sig(t=9223372036854775807)), now=-9223372036854775808)
case("t = 0 with now = i64::MAX", vc + "overflow in age arithmetic", "timestamp_too_old",
     S(sig(t=0)), now=9223372036854775807)
case("t = 0 correctly signed", vc + "zero timestamp", "timestamp_too_old", S(sig(t=0)))
case("negative t", vc + "signed timestamp", "malformed_signature", S(sig(t=-1)))
case("negative t, i64::MIN", vc + "signed timestamp", "malformed_signature", S(sig(t=-9223372036854775808)))
case("t with plus sign", vc + "signed timestamp", "malformed_signature", S("t=+%d,v1=%s" % (T, GOOD)))
case("t in exponent notation", vc + "timestamp format", "malformed_signature", S("t=1.7741808e9,v1=%s" % GOOD))
case("t with a fraction", vc + "timestamp format", "malformed_signature", S("t=%d.0,v1=%s" % (T, GOOD)))
case("t in hex", vc + "timestamp format", "malformed_signature", S("t=0x69bf4e40,v1=%s" % GOOD))
case("t with a space after =", vc + "timestamp format", "malformed_signature", S("t= %d,v1=%s" % (T, GOOD)))
case("t with a space before =", vc + "key format", "malformed_signature", S("t =%d,v1=%s" % (T, GOOD)))
case("t in Arabic-Indic digits", vc + "unicode digits", "malformed_signature",
     S("t=\u0661\u0667\u0667\u0664,v1=%s" % GOOD))
case("t in fullwidth digits", vc + "unicode digits", "malformed_signature",
     [["X-Nexio-Signature", "t=\uff11\uff17\uff17\uff14,v1=%s" % GOOD]])
case("t empty", vc + "timestamp format", "malformed_signature", S("t=,v1=%s" % GOOD))
case("duplicate t, equal values", vc + "duplicate t", "malformed_signature",
     S("t=%d,t=%d,v1=%s" % (T, T, GOOD)))
case("duplicate t, fresh then stale", vc + "duplicate t", "malformed_signature",
     S("t=%d,v1=%s,t=%d" % (T, GOOD, T - 10000)))
case("t with leading zero, signed as sent", "rule: header grammar (t is digits as signed)", "accept",
     S("t=0%d,v1=%s" % (T, raw_mac(A, "0%d.%s" % (T, BODY)))), expect_key=0)
case("t with leading zero, signature over the plain number", vc + "timestamp canonicalisation",
     "signature_mismatch", S("t=0%d,v1=%s" % (T, GOOD)))
case("t of 19 digits", "bound: t length at the limit", "timestamp_too_new",
     S(sig(t=1000000000000000000)))
case("t of 20 digits with leading zeros", "bound: t length one past", "malformed_signature",
     S("t=%020d,v1=%s" % (T, GOOD)))
case("t of 19 digits with leading zeros, signed as sent", "bound: t length at the limit", "accept",
     S("t=%019d,v1=%s" % (T, raw_mac(A, "%019d.%s" % (T, BODY)))), expect_key=0)
case("X-Nexio-Timestamp fresh but t= stale", vc + "unsigned timestamp trusted",
     "timestamp_too_old", full_headers(sig(t=T - 1000), t=T))
case("X-Nexio-Timestamp differs, non-strict", "rule: time", "accept",
     full_headers(sig(), t=T + 1), expect_key=0, expect_mismatches=["timestamp"])
case("X-Nexio-Timestamp differs, strict", "rule: time", "timestamp_header_mismatch",
     full_headers(sig(), t=T + 1), strict=True)
case("X-Nexio-Timestamp not a number, strict", "rule: time", "timestamp_header_mismatch",
     full_headers(sig(), t="soon"), strict=True)
case("X-Nexio-Timestamp with plus sign, strict", "rule: time (digits only)", "timestamp_header_mismatch",
     full_headers(sig(), t="+%d" % T), strict=True)
case("X-Nexio-Timestamp of 19 zero-padded digits, strict", "bound: unsigned timestamp length at the limit",
     "accept", full_headers(sig(), t="%019d" % T), strict=True, expect_key=0)
case("X-Nexio-Timestamp of 20 zero-padded digits, strict", "bound: unsigned timestamp length one past",
     "timestamp_header_mismatch", full_headers(sig(), t="%020d" % T), strict=True)
case("X-Nexio-Timestamp repeated, strict", "rule: time", "timestamp_header_mismatch",
     full_headers(sig(), extra=[["X-Nexio-Timestamp", str(T)]]), strict=True)
case("X-Nexio-Timestamp equal with spaces, strict", "rule: time", "accept",
     full_headers(sig(), t=" %d " % T), strict=True, expect_key=0, http=False)
case("clock before 1970", vc + "negative now", "timestamp_too_new", S(sig()), now=-1)
case("clock before 1970 and t = 0", "rule: time", "accept", S(sig(t=0)), now=-300, expect_key=0)
case("replay of a captured delivery after the window", vc + "replay", "timestamp_too_old",
     S(sig()), now=T + 3600)
# Header grammar.
case("element without =", vc + "grammar", "malformed_signature", S(sig() + ",garbage"))
case("trailing comma", vc + "grammar", "malformed_signature", S(sig() + ","))
case("leading comma", vc + "grammar", "malformed_signature", S("," + sig()))
case("double comma", vc + "grammar", "malformed_signature", S("t=%d,,v1=%s" % (T, GOOD)))
case("blank element between commas", vc + "grammar", "malformed_signature", S("t=%d, \t ,v1=%s" % (T, GOOD)))
case("semicolon separators", vc + "grammar", "malformed_signature", S("t=%d;v1=%s" % (T, GOOD)))
case("header of spaces and tabs only", vc + "empty signature", "malformed_signature", S(" \t "), http=False)
case("lone =", vc + "grammar", "malformed_signature", S("="))
case("uppercase V1 key", vc + "scheme confusion", "malformed_signature", S("t=%d,V1=%s" % (T, GOOD)))
case("uppercase T key", vc + "scheme confusion", "malformed_signature", S("T=%d,v1=%s" % (T, GOOD)))
case("v10 key", vc + "scheme confusion", "malformed_signature", S("t=%d,v10=%s" % (T, GOOD)))
case("v1 key with inner space", vc + "scheme confusion", "malformed_signature", S("t=%d,v1 =%s" % (T, GOOD)))
case("invalid v1 and valid v2", vc + "scheme confusion", "signature_mismatch",
     S("t=%d,v1=%s,v2=%s" % (T, "0" * 64, GOOD)))
case("valid v0 and invalid v1", vc + "scheme confusion", "signature_mismatch",
     S("t=%d,v0=%s,v1=%s" % (T, GOOD, "1" * 64)))
case("value containing = signs", "rule: header grammar (split at first =)", "accept",
     S(sig() + ",x=a=b=c"), expect_key=0)
case("spaces and tabs around elements", "rule: header grammar", "accept",
     S(" \tt=%d \t, \tv1=%s\t " % (T, GOOD)), expect_key=0, http=False)
case("tabs around elements inside", "rule: header grammar", "accept",
     S("t=%d\t,\tv1=%s" % (T, GOOD)), expect_key=0)
case("elements in reverse order", "rule: header grammar", "accept", S("v1=%s,t=%d" % (GOOD, T)), expect_key=0)
case("unknown keys ignored", "rule: header grammar", "accept", S(sig() + ",v2=future,v0=legacy,kid=7"), expect_key=0)
case("non-UTF-8 bytes in an ignored value", vc + "non-UTF-8 header", "accept",
     S(b"t=%d,x=\xff\xfe,v1=%s" % (T, GOOD.encode())), expect_key=0)
case("non-UTF-8 bytes in t", vc + "non-UTF-8 header", "malformed_signature",
     S(b"t=\xd9\xa1,v1=%s" % GOOD.encode()))
case("CRLF injected in the signature header", vc + "header injection", "malformed_signature",
     S("t=%d\r\nX-Evil: 1,v1=%s" % (T, GOOD)), http=False)
case("NUL in the signature header", vc + "header injection", "malformed_signature",
     S("t=%d\x00,v1=%s" % (T, GOOD)), http=False)
case("signature header repeated, both valid", vc + "duplicate header", "malformed_signature",
     S(sig()) + S(sig()))
case("signature header repeated, one valid", vc + "duplicate header", "malformed_signature",
     S("t=%d,v1=%s" % (T, "0" * 64)) + S(sig()))
case("signature header name in lowercase", "rule: headers (names are case-insensitive)", "accept",
     [["x-nexio-signature", sig()]], expect_key=0)
case("signature header name in uppercase", "rule: headers", "accept",
     [["X-NEXIO-SIGNATURE", sig()]], expect_key=0)
case("signature in another header name", vc + "header confusion", "missing_signature",
     [["X-Nexio-Signature-V1", sig()], ["Stripe-Signature", sig()]])
# Bounds: header length and entry count.
pad_base = sig() + ",x="
case("header of exactly 4096 bytes", "bound: header length at the limit", "accept",
     S(pad_base + "a" * (4096 - len(pad_base))), expect_key=0)
case("header of 4097 bytes", "bound: header length one past", "signature_header_too_large",
     S(pad_base + "a" * (4097 - len(pad_base))))
case("header of 64 KiB", vc + "huge header", "signature_header_too_large",
     S(pad_base + "a" * 65536), http=False)
case("16 v1 entries, valid last", "bound: entries at the limit", "accept",
     S("t=%d" % T + ",v1=%064x" % 1 * 15 + ",v1=" + GOOD), expect_key=0)
case("16 v1 entries, valid first", "bound: entries at the limit", "accept",
     S("t=%d,v1=%s" % (T, GOOD) + ",v1=%064x" % 1 * 15), expect_key=0)
case("17 v1 entries, valid first", "bound: entries one past", "too_many_signatures",
     S("t=%d,v1=%s" % (T, GOOD) + ",v1=%064x" % 1 * 16))
case("17 empty v1 entries", "bound: entries one past", "too_many_signatures",
     S("t=%d" % T + ",v1=" * 17))
case("thousand empty v1 entries", vc + "thousands of entries", "too_many_signatures",
     S("t=%d" % T + ",v1=" * 1000))
case("thousands of entries beyond 4096 bytes", vc + "thousands of entries", "signature_header_too_large",
     S("t=%d" % T + ",v1=x" * 5000), http=False)
case("thousand ignored entries with a valid v1", vc + "thousands of entries (ignored keys)", "accept",
     S(sig() + ",x=1" * 1000), expect_key=0)
case("16 wrong v1 entries against 3 secrets", vc + "work amplification", "signature_mismatch",
     S("t=%d" % T + "".join(",v1=%064x" % i for i in range(16))), secrets=(A, B, C))
# Bodies.
case("non-UTF-8 body", vc + "non-UTF-8 body", "accept",
     S(sig(body=b"\xff\xfe{\"id\":\"evt_bin\"}\x00\x80")), body=b"\xff\xfe{\"id\":\"evt_bin\"}\x00\x80",
     expect_key=0, expect_event="invalid_json")
case("lone surrogate escape in body", vc + "non-UTF-8 body", "accept",
     S(sig(body='{"id":"\\ud800","type":"x"}')), body='{"id":"\\ud800","type":"x"}', expect_key=0)
case("CRLF body signed as CRLF", vc + "CRLF body", "accept",
     S(sig(body=BODY.replace(",", ",\r\n"))), body=BODY.replace(",", ",\r\n"), expect_key=0,
     expect_event="ok")
case("CRLF body signed as LF", vc + "CRLF body (line ending conversion)", "signature_mismatch",
     S(sig(body=BODY.replace(",", ",\n"))), body=BODY.replace(",", ",\r\n"))
case("LF body signed as CRLF", vc + "CRLF body (line ending conversion)", "signature_mismatch",
     S(sig(body=BODY.replace(",", ",\r\n"))), body=BODY.replace(",", ",\n"))
case("body re-serialized with sorted keys", vc + "JSON re-serialized body", "signature_mismatch",
     S(sig()), body=json.dumps(json.loads(BODY), sort_keys=True, separators=(",", ":")))
case("body re-serialized with spaces", vc + "JSON re-serialized body", "signature_mismatch",
     S(sig()), body=json.dumps(json.loads(BODY)))
case("body with unicode escaped differently", vc + "JSON re-serialized body", "signature_mismatch",
     S(sig(body='{"id":"evt_\\u00e9","type":"run.completed"}')), body='{"id":"evt_é","type":"run.completed"}')
case("body with a BOM added", vc + "decoded text body", "signature_mismatch", S(sig()),
     body=b"\xef\xbb\xbf" + b(BODY))
case("body with a trailing newline added", vc + "body changed in transit", "signature_mismatch",
     S(sig()), body=BODY + "\n")
case("body with leading whitespace added", vc + "body changed in transit", "signature_mismatch",
     S(sig()), body=" " + BODY)
case("body truncated by one byte", vc + "body changed in transit", "signature_mismatch",
     S(sig()), body=BODY[:-1])
case("empty body signed", "rule: signature", "accept", S(sig(body="")), body="", expect_key=0,
     expect_event="invalid_json")
case("empty body, signature of a non-empty one", vc + "body dropped", "signature_mismatch", S(sig()), body="")
case("body with NUL bytes signed", vc + "binary body", "accept", S(sig(body=b"{\x00}")), body=b"{\x00}",
     expect_key=0)
PREFIX = '{"id":"evt_big","type":"run.completed","pad":"'
SUFFIX = '"}'
FILL = MIB - len(PREFIX) - len(SUFFIX)
ONE_MIB_EXACT = {"prefix": PREFIX, "unit": "a", "count": FILL, "suffix": SUFFIX}
ONE_MIB_PLUS = dict(ONE_MIB_EXACT, count=FILL + 1)
ONE_MIB = dict(ONE_MIB_EXACT, count=FILL - 1)


def expand(spec):
    return spec["prefix"] + spec["unit"] * spec["count"] + spec["suffix"]


big_exact, big_plus, big_body = expand(ONE_MIB_EXACT), expand(ONE_MIB_PLUS), expand(ONE_MIB)
assert (len(big_exact), len(big_plus), len(big_body)) == (MIB, MIB + 1, MIB - 1)
case("body of exactly 1 MiB", "bound: adapter body limit at the limit", "accept",
     S(sig(body=big_exact)), body=ONE_MIB_EXACT, expect_key=0)
case("body of 1 MiB + 1 byte", "bound: adapter body limit one past (core has no limit)", "accept",
     S(sig(body=big_plus)), body=ONE_MIB_PLUS, expect_key=0, expect_http="payload_too_large")
case("body of 1 MiB - 1 byte, tampered", "bound: large tampered body", "signature_mismatch",
     S(sig(body=big_body)), body=dict(ONE_MIB, unit="b"))
# Window bounds.
for past, name in ((300, "exactly 300 s old"), (301, "301 s old")):
    case(name, "bound: max_age %s" % ("at the limit" if past == 300 else "one past"),
         "accept" if past == 300 else "timestamp_too_old", S(sig(t=T - past)), **({"expect_key": 0} if past == 300 else {}))
for ahead, name in ((300, "exactly 300 s ahead"), (301, "301 s ahead")):
    case(name, "bound: max_future %s" % ("at the limit" if ahead == 300 else "one past"),
         "accept" if ahead == 300 else "timestamp_too_new", S(sig(t=T + ahead)), **({"expect_key": 0} if ahead == 300 else {}))
case("max_age 0, same second", "bound: zero tolerance at the limit", "accept", S(sig()),
     max_age=0, max_future=0, expect_key=0)
case("max_age 0, one second old", "bound: zero tolerance one past", "timestamp_too_old", S(sig(t=T - 1)),
     max_age=0, max_future=0)
case("max_future 0, one second ahead", "bound: zero tolerance one past", "timestamp_too_new", S(sig(t=T + 1)),
     max_age=0, max_future=0)
case("max_age 60 at the limit", "bound: custom max_age", "accept", S(sig(t=T - 60)), max_age=60,
     max_future=5, expect_key=0)
case("max_age 60 one past", "bound: custom max_age", "timestamp_too_old", S(sig(t=T - 61)), max_age=60,
     max_future=5)
case("max_future 5 at the limit", "bound: custom max_future", "accept", S(sig(t=T + 5)), max_age=60,
     max_future=5, expect_key=0)
case("max_future 5 one past", "bound: custom max_future", "timestamp_too_new", S(sig(t=T + 6)), max_age=60,
     max_future=5)
case("stale and wrongly signed: window first", "rule: order of checks", "timestamp_too_old",
     S("t=%d,v1=%s" % (T - 1000, "0" * 64)))
# Secrets at construction.
for s, label in (("", "empty"), (" " + A, "leading space"), (A + " ", "trailing space"),
                 ("\t" + A, "leading tab"), (A + "\n", "trailing newline"),
                 (A + "\r\n", "trailing CRLF"), ("whsec_abc\n123", "inner newline"),
                 ("nx_live_4f9a8b7c6d5e", "live API key"), ("nx_test_4f9a8b7c6d5e", "test API key"),
                 ("nx_staging_eu_4f9a", "custom-environment API key"), ("whsec_", "bare prefix"),
                 ("abc123def456", "prefix missing"), ("WHSEC_abc123", "uppercase prefix"),
                 ("YWJjMTIzZGVmNDU2", "base64 without prefix")):
    case("secret refused: %s" % label, vc + "whitespace in secrets / API key as secret",
         "invalid_secret", secrets=(s,))
case("second secret refused: API key", vc + "API key as secret", "invalid_secret",
     secrets=(A, "nx_live_abc"))
# Bearer token.
bt = "rule: bearer token: "
def bearer_case(name, value, expect, source=bt + "bearer token", headers=None, **kw):
    h = headers if headers is not None else S(sig())
    if value is not None:
        h = h + [["Authorization", value]]
    case(name, source, expect, h, bearer_token=kw.pop("bearer_token", TOKEN), **kw)
bearer_case("bearer: correct", "Bearer " + TOKEN, "accept", expect_key=0)
bearer_case("bearer: scheme lowercase", "bearer " + TOKEN, "accept", expect_key=0)
bearer_case("bearer: scheme uppercase", "BEARER " + TOKEN, "accept", expect_key=0)
bearer_case("bearer: missing", None, "missing_bearer_token")
bearer_case("bearer: empty Authorization", "", "bearer_token_mismatch")
bearer_case("bearer: scheme only", "Bearer ", "bearer_token_mismatch", http=False)
bearer_case("bearer: wrong token", "Bearer tok-124", "bearer_token_mismatch")
bearer_case("bearer: token prefix", "Bearer tok-12", "bearer_token_mismatch")
bearer_case("bearer: token extended", "Bearer tok-1234", "bearer_token_mismatch")
bearer_case("bearer: token case changed", "Bearer TOK-123", "bearer_token_mismatch")
bearer_case("bearer: double space", "Bearer  " + TOKEN, "bearer_token_mismatch")
bearer_case("bearer: trailing space", "Bearer " + TOKEN + " ", "bearer_token_mismatch", http=False)
bearer_case("bearer: no scheme", TOKEN, "bearer_token_mismatch")
bearer_case("bearer: another 7-character scheme", "Digest " + TOKEN, "bearer_token_mismatch")
bearer_case("bearer: scheme without space", "Bearer:" + TOKEN, "bearer_token_mismatch")
bearer_case("bearer: Basic scheme", "Basic dG9rLTEyMw==", "bearer_token_mismatch")
bearer_case("bearer: repeated header", "Bearer " + TOKEN, "bearer_token_mismatch",
            headers=S(sig()) + [["Authorization", "Bearer " + TOKEN]])
bearer_case("bearer: correct token, bad signature", "Bearer " + TOKEN, "signature_mismatch",
            source=bt + "second factor, never a replacement",
            headers=S("t=%d,v1=%s" % (T, "0" * 64)))
bearer_case("bearer: correct token, no signature", "Bearer " + TOKEN, "missing_signature",
            source=bt + "second factor, never a replacement", headers=[])
bearer_case("bearer: wrong token, stale timestamp", "Bearer nope", "timestamp_too_old",
            source="rule: order of checks", headers=S(sig(t=T - 1000)))
bearer_case("bearer: 1024-byte token", "Bearer " + "k" * 1024, "accept",
            source="bound: token length at the limit", bearer_token="k" * 1024, expect_key=0)
bearer_case("bearer: presented token of 1025 bytes", "Bearer " + "k" * 1025, "bearer_token_mismatch",
            source="bound: token length one past", bearer_token="k" * 1024)
bearer_case("bearer: configured token of 1025 bytes", "Bearer " + "k" * 1025, "invalid_secret",
            source="bound: token length one past", bearer_token="k" * 1025)
bearer_case("bearer: configured token empty", "Bearer ", "invalid_secret", bearer_token="")
bearer_case("bearer: configured token with newline", "Bearer a", "invalid_secret", bearer_token="a\nb")
bearer_case("bearer: configured token with surrounding space", "Bearer a", "invalid_secret", bearer_token=" a")
# Rotation.
rt = "rule: rotation: "
case("rotation: both v1, receiver has new only", rt + "rotation", "accept",
     S("t=%d,v1=%s,v1=%s" % (T, GOOD_B, GOOD)), expect_key=0)
case("rotation: receiver has both, old signed", rt + "rotation", "accept", S(sig(secret=B)),
     secrets=(A, B), expect_key=1)
case("rotation: receiver has both, new signed", rt + "rotation", "accept", S(sig()),
     secrets=(A, B), expect_key=0)
case("rotation: old secret at its expiry instant", rt + "expiry inclusive", "accept", S(sig(secret=B)),
     secrets=(A, {"secret": B, "expires_at": T}), expect_key=1)
case("rotation: old secret one second after expiry", rt + "expiry", "signature_mismatch",
     S(sig(secret=B, t=T + 1)), now=T + 1, secrets=(A, {"secret": B, "expires_at": T}))
case("rotation: three secrets, third matches", rt + "rotation", "accept", S(sig(secret=C)),
     secrets=(A, B, C), expect_key=2)
case("rotation: signature by a secret not configured", rt + "rotation", "signature_mismatch",
     S(sig(secret=C)), secrets=(A, B))
# Unsigned headers and strict mode.
case("X-Nexio-Event differs, non-strict", "rule: events", "accept",
     full_headers(sig(), event="run.failed"), expect_key=0, expect_mismatches=["event"])
case("X-Nexio-Event differs, strict", "rule: events", "event_header_mismatch",
     full_headers(sig(), event="run.failed"), strict=True)
case("X-Nexio-Event differs, no version header, strict", "rule: events", "event_header_mismatch",
     S(sig()) + [["X-Nexio-Event", "run.failed"]], strict=True)
case("X-Nexio-Webhook-Version differs, no event header, strict", "rule: events", "version_header_mismatch",
     S(sig()) + [["X-Nexio-Webhook-Version", "2025-01-01"]], strict=True)
case("X-Nexio-Event on a non-JSON body, strict", "rule: events (nothing signed to compare)", "accept",
     S(sig(body="not json")) + [["X-Nexio-Event", "run.completed"]], body="not json", strict=True,
     expect_key=0, expect_event="invalid_json")
case("X-Nexio-Event repeated, strict", "rule: events", "event_header_mismatch",
     full_headers(sig(), extra=[["X-Nexio-Event", "run.completed"]]), strict=True)
case("X-Nexio-Webhook-Version differs, strict", "rule: events", "version_header_mismatch",
     full_headers(sig(), version="2025-01-01"), strict=True)
case("X-Nexio-Webhook-Version differs, non-strict", "rule: events", "accept",
     full_headers(sig(), version="2025-01-01"), expect_key=0, expect_mismatches=["version"])
case("X-Nexio-Delivery changed by a replayer", vc + "unsigned delivery id", "accept",
     [h if h[0] != "X-Nexio-Delivery" else ["X-Nexio-Delivery", "attacker-chosen"]
      for h in full_headers(sig())], strict=True, expect_key=0)
# Events after verification.
ev = "rule: events: "
other_version = BODY.replace("2026-03-22\"", "2027-01-01\"")
case("event: unsupported version", ev + "version policy", "accept", S(sig(body=other_version)),
     body=other_version, expect_key=0, expect_event="unsupported_version")
unknown = '{"id":"evt_9","type":"run.cancelled","webhook_version":"2026-03-22","data":{}}'
case("event: unknown type", ev + "open event types", "accept", S(sig(body=unknown)), body=unknown,
     expect_key=0, expect_event="ok")
no_run = '{"id":"evt_9","type":"run.failed","webhook_version":"2026-03-22","data":{}}'
case("event: known type without run", ev + "run schema", "accept", S(sig(body=no_run)), body=no_run,
     expect_key=0, expect_event="invalid_event")
alias = BODY.replace("run.completed", "evaluation.completed")
case("event: evaluation.completed alias", ev + "aliases", "accept",
     full_headers(sig(body=alias), event="evaluation.completed"), body=alias, strict=True,
     expect_key=0, expect_event="ok")
deep = '{"id":"evt_deep","type":"x","webhook_version":"2026-03-22","data":' + "[" * 5000 + "]" * 5000 + "}"
case("event: deeply nested data of an unknown event", vc + "parser recursion", "accept", S(sig(body=deep)),
     body=deep, expect_key=0, expect_event="ok")
deep_run = ('{"id":"evt_deep","type":"run.completed","webhook_version":"2026-03-22","data":{"run":'
            + "[" * 5000 + "]" * 5000 + "}}")
case("event: deeply nested run", vc + "parser recursion", "accept", S(sig(body=deep_run)),
     body=deep_run, expect_key=0, expect_event="invalid_event")
dup = '{"id":"evt_1","id":"evt_2","type":"run.completed","webhook_version":"2026-03-22"}'
case("event: duplicate id keys", vc + "JSON duplicate keys", "accept", S(sig(body=dup)), body=dup,
     expect_key=0, expect_event="invalid_event")

out = {
    "about": ("Adversarial catalogue for Nexio webhook verification, generated by "
              "tests/data/gen_adversarial.py with Python's hmac module (never by the crate). "
              "See the script's docstring for the fields."),
    "cases": cases,
}
import sys
path = (sys.argv[1] if len(sys.argv) > 1
        else os.path.join(os.path.dirname(os.path.abspath(__file__)), "adversarial.json"))
with open(path, "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=True)
    f.write("\n")
print("%d cases -> %s" % (len(cases), path))
