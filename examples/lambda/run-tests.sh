#!/usr/bin/env bash
# The Lambda example's tests: the handler with real event documents (cargo test), then
# the function itself under cargo-lambda's local Lambda emulator, invoked with API
# Gateway HTTP API and function URL events signed now, and over HTTP through the
# emulator's function URL endpoint.
set -euo pipefail

cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
CARGO_LAMBDA_VERSION=1.9.2
FUNCTION=nexio-webhooks-lambda
SECRET=whsec_abc123def456
jobs=(-j 2)

echo "== cargo fmt --check, cargo clippy (with the redis feature, so its path is linted too)"
cargo fmt --check
nice -n 10 cargo clippy --locked "${jobs[@]}" --all-targets --all-features -- -D warnings

echo "== cargo test (event documents through lambda_http's deserialization)"
nice -n 10 cargo test --locked "${jobs[@]}"

# curl and openssl drive the HTTP cases; a clean Debian may lack them.
for tool in curl openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
        else
            echo "$tool is not installed and cannot be installed here (needs root and apt-get)" >&2
            exit 1
        fi
    fi
done
# cargo-lambda ships as binary wheels on PyPI. A Debian python marks its site-packages
# as system-managed (PEP 668); this is a throwaway CI machine, so install there anyway.
if ! cargo lambda --version 2>/dev/null | grep -q "^cargo-lambda $CARGO_LAMBDA_VERSION "; then
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
cargo lambda --version

# Built before the emulator starts, so the first invocation does not wait on a build.
nice -n 10 cargo build --locked "${jobs[@]}"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
emulator_pid=
cleanup() {
    if [[ -n "$emulator_pid" ]]; then
        kill -- "-$emulator_pid" 2>/dev/null || kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== cargo lambda watch on 127.0.0.1:$port"
# Its own process group, so the function it spawns is stopped with it.
set -m
cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$port" \
    --env-var "NEXIO_WEBHOOK_SECRET=$SECRET" >"$work/emulator.log" 2>&1 &
emulator_pid=$!
set +m
for _ in $(seq 1 600); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then break; fi
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
        cat "$work/emulator.log"
        echo "the emulator exited before listening" >&2
        exit 1
    fi
    sleep 0.5
done

# The cases, signed now: one event document each, with the reply it must get.
python3 - "$work" "$SECRET" <<'PY'
import base64, hashlib, hmac, json, sys, time
work, secret = sys.argv[1], sys.argv[2].encode()

def sign(t, body):
    # HMAC-SHA256 over "<t>.<body>", keyed with the whole whsec_ secret's bytes.
    return "t=%d,v1=%s" % (t, hmac.new(secret, b"%d." % t + body, hashlib.sha256).hexdigest())

cases = []
for source in ("http_api", "function_url"):
    template = json.load(open("events/%s.json" % source))
    body = template["body"].encode()
    now = int(time.time())
    def doc(name, payload, b64, signature, t, status, reply):
        event = json.loads(json.dumps(template))
        event["body"] = base64.b64encode(payload).decode() if b64 else payload.decode()
        event["isBase64Encoded"] = b64
        event["headers"]["content-length"] = str(len(payload))
        event["headers"]["x-nexio-timestamp"] = str(t)
        if signature is None:
            del event["headers"]["x-nexio-signature"]
        else:
            event["headers"]["x-nexio-signature"] = signature
        path = "%s/%s-%s.json" % (work, source, name)
        json.dump(event, open(path, "w"))
        cases.append((path, status, reply))
    # Each source's deliveries are distinct events, so none is a duplicate of another.
    text_body = body.replace(b"evt_01JQ7R2M4X9K3T5V8B6N1C0D2E", ("evt_%s_text" % source).encode())
    b64_body = body.replace(b"evt_01JQ7R2M4X9K3T5V8B6N1C0D2E", ("evt_%s_b64" % source).encode())
    doc("text", text_body, False, sign(now, text_body), now, 200, "ok")
    doc("text-retry", text_body, False, sign(now, text_body), now, 200, '{"status":"duplicate"}')
    doc("base64", b64_body, True, sign(now, b64_body), now, 200, "ok")
    doc("tampered", body.replace(b"0.75", b"0.95"), True, sign(now, body), now, 401,
        '{"error":"signature_mismatch"}')
    doc("stale", body, False, sign(now - 3600, body), now - 3600, 401,
        '{"error":"timestamp_too_old"}')
    big = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'
    doc("oversized", big, True, sign(now, big), now, 413, '{"error":"payload_too_large"}')
    doc("missing-header", body, False, None, now, 400, '{"error":"missing_signature"}')
with open("%s/cases.tsv" % work, "w") as f:
    for path, status, reply in cases:
        f.write("%s\t%d\t%s\n" % (path, status, reply))
PY

failed=0
while IFS=$'\t' read -r path status reply; do
    name=$(basename "$path" .json)
    if ! cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$port" \
        --data-file "$path" --output-format json "$FUNCTION" >"$work/out.json" 2>"$work/err"; then
        echo "FAIL $name: invoke failed: $(cat "$work/err")"
        failed=1
        continue
    fi
    got=$(python3 -c '
import base64, json, sys
r = json.load(open(sys.argv[1]))
body = r.get("body") or ""
if r.get("isBase64Encoded"):
    body = base64.b64decode(body).decode()
print("%s\t%s" % (r.get("statusCode"), body))' "$work/out.json")
    if [[ "$got" == "$status"$'\t'"$reply" ]]; then
        echo "ok   $name: $status $reply"
    else
        echo "FAIL $name: expected $status $reply, got $got"
        failed=1
    fi
done <"$work/cases.tsv"

# Over HTTP: the emulator turns a real POST into a function URL event, as AWS does.
url="http://127.0.0.1:$port/lambda-url/$FUNCTION/webhooks"
body_file="$work/http-body.json"
python3 -c '
import json, sys
print(json.load(open("events/function_url.json"))["body"].replace("evt_01JQ7R2M4X9K3T5V8B6N1C0D2E", "evt_over_http"), end="")' >"$body_file"
for content_type in application/json application/octet-stream; do
    t=$(date +%s)
    sig="t=$t,v1=$( (printf '%s.' "$t"; cat "$body_file") | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)"
    first=$(curl -s -w ' %{http_code}' -H "Content-Type: $content_type" \
        -H "X-Nexio-Signature: $sig" -H "X-Nexio-Timestamp: $t" --data-binary "@$body_file" "$url")
    echo "http $content_type: $first"
    case "$content_type:$first" in
        application/json:"ok 200") ;;
        # The same event again: a duplicate, whichever form the body came in.
        application/octet-stream:'{"status":"duplicate"} 200') ;;
        *) echo "FAIL http $content_type"; failed=1 ;;
    esac
done

if [[ "$failed" != 0 ]]; then
    echo "--- emulator log"
    cat "$work/emulator.log"
    exit 1
fi
echo "all Lambda cases passed"
