#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/seed-*.

Seeds come from the known-answer vectors (tests/data/known-answer.json) and, when it
exists, the adversarial catalogue (tests/data/adversarial.json), encoded in each
target's input format (see fuzz/src/lib.rs for the framing). Nothing here is
committed: the corpora are regenerated on every run of run.sh.
"""
import base64
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECRET_A = "whsec_abc123def456"
SECRET_B = "whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG"
EXTRA = ["authorization", "x-nexio-timestamp", "x-nexio-event",
         "x-nexio-webhook-version", "x-nexio-delivery", "x-nexio-signature"]


def framed(flags, now, signature, extras, body):
    signature = signature[:0xFFFF]
    extras = extras[:0xFFFF]
    now = max(min(now, 2**63 - 1), -2**63)
    return (bytes([flags]) + struct.pack("<q", now)
            + struct.pack("<H", len(signature)) + signature
            + struct.pack("<H", len(extras)) + extras + body)


def secret_flags(secrets):
    if secrets == [SECRET_A]:
        return 0
    if secrets == [SECRET_B]:
        return 1
    if secrets == [SECRET_A, SECRET_B]:
        return 2
    if secrets and secrets[0] == SECRET_B:
        return 3
    return None


def cases():
    out = []
    with open(os.path.join(ROOT, "tests/data/known-answer.json")) as f:
        for c in json.load(f)["cases"]:
            out.append({
                "secrets": c["secrets"],
                "headers": [["X-Nexio-Signature", c["header"]]],
                "body": base64.b64decode(c["body_base64"]),
                "now": c["now"],
            })
    adv = os.path.join(ROOT, "tests/data/adversarial.json")
    if os.path.exists(adv):
        with open(adv) as f:
            for c in json.load(f)["cases"]:
                if "body_repeat" in c:
                    continue  # megabyte bodies would only slow the fuzzer down
                if "body_base64" in c:
                    body = base64.b64decode(c["body_base64"])
                else:
                    body = c.get("body", "").encode()
                headers = []
                for name, value in c["headers"]:
                    if isinstance(value, dict):
                        value = base64.b64decode(value["base64"])
                    else:
                        value = value.encode("utf-8")
                    headers.append([name, value])
                out.append({
                    "secrets": [s.get("secret") for s in c["secrets"]],
                    "headers": headers,
                    "body": body,
                    "now": c["now"],
                    "bearer": c.get("bearer_token"),
                })
    return out


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def main():
    n = 0
    for c in cases():
        sig = None
        extras = b""
        for name, value in c["headers"]:
            v = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            lname = name.lower()
            if lname == "x-nexio-signature" and sig is None:
                sig = v
            elif lname in EXTRA:
                extras += (b"\n" if extras else b"") + bytes([EXTRA.index(lname)]) + v
        body = c["body"]
        key = hashlib.sha256(repr((sig, extras, body, c["now"])).encode()).hexdigest()[:16]
        if sig is not None:
            write("header_tokenizer", key, sig)
        flags = secret_flags(c["secrets"])
        if flags is not None:
            if c.get("bearer") == "tok-123":
                flags |= 8
            if sig is None:
                flags |= 0x80
            data = framed(flags, c["now"], sig or b"", extras, body)
            write("verify_at", key, data)
            write("differential", key, data)
        write("event_parse", key, body)
        n += 1
    sample_dir = os.path.join(HERE, "seeds")
    if os.path.isdir(sample_dir):
        for f in os.listdir(sample_dir):
            with open(os.path.join(sample_dir, f), "rb") as fh:
                write("event_parse", f, fh.read())
    print(f"seeded from {n} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
