// A Worker that verifies Nexio deliveries with nexio-webhooks compiled to WebAssembly.
// The secret comes from the `NEXIO_WEBHOOK_SECRET` binding (several, separated by
// whitespace, for rotation: primary first). The time is read by the library itself,
// from the runtime's clock (its `wasm` feature), not passed in from here.
import { initSync, check_head, verify, body_limit, payload_too_large } from "nexio_webhooks_wasm.js";
import wasmModule from "nexio_webhooks_wasm_bg.wasm";
import { encodeHeaders } from "headers.mjs";

initSync({ module: wasmModule });

const JSON_TYPE = { "content-type": "application/json" };

function reply(outcome) {
  return new Response(outcome.reply, { status: outcome.status, headers: JSON_TYPE });
}

// Header values as the bytes that were sent: the Fetch API hands them over as byte
// strings (one character per byte).
function bytesOf(value) {
  const out = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return new TextEncoder().encode(value);
    out[i] = code;
  }
  return out;
}

// The body, read chunk by chunk and never past `limit` bytes: `null` once it is
// longer, after cancelling the rest of the upload.
async function readBounded(stream, limit) {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

export default {
  async fetch(request, env) {
    if (request.method !== "POST") {
      return new Response('{"error":"method_not_allowed"}', { status: 405, headers: JSON_TYPE });
    }
    const secrets = (env.NEXIO_WEBHOOK_SECRET ?? "").split(/\s+/).filter((s) => s !== "");
    const options = JSON.stringify({ secrets: secrets.map((secret) => ({ secret })) });
    const { bytes, lens } = encodeHeaders([...request.headers].map(([n, v]) => [n, bytesOf(v)]));

    // Signature header, window, then the announced length: before a byte of the body.
    const announced = request.headers.get("content-length");
    const length = announced !== null && /^[0-9]{1,19}$/.test(announced) ? BigInt(announced) : undefined;
    const head = JSON.parse(check_head(options, bytes, lens, length));
    if (!head.ok) return reply(head);

    const body = await readBounded(request.body, body_limit(options));
    if (body === null) return reply(JSON.parse(payload_too_large(options)));

    const outcome = JSON.parse(verify(options, bytes, lens, body, undefined));
    if (!outcome.ok) return reply(outcome);
    // Verified, but not an event this receiver can process (`invalid_json`,
    // `invalid_event`, `unsupported_version`: every one of them is 422 in the library's
    // replies). Never 2xx: Nexio retries, and the delivery is there once the cause is fixed.
    if (outcome.event !== "ok") {
      return new Response(JSON.stringify({ error: outcome.event }), { status: 422, headers: JSON_TYPE });
    }
    // Here a real receiver processes the event (outcome.event_type, the body).
    return new Response(
      JSON.stringify({ status: "accepted", event_type: outcome.event_type ?? null, delivery_id: outcome.delivery_id ?? null }),
      { status: 200, headers: JSON_TYPE },
    );
  },
};
