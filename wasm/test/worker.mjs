// The Worker of ../worker under workerd (from npm, ../worker/node_modules): started on
// a free 127.0.0.1 port with a secret binding, sent real HTTP requests, each reply's
// status and JSON body checked. The Worker verifies against the runtime's clock, so
// the fresh deliveries here are signed with the current time.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer, connect } from "node:net";
import { fileURLToPath } from "node:url";

const workerDir = fileURLToPath(new URL("../worker/", import.meta.url));
const OLD = "whsec_abc123def456";
const NEW = "whsec_Zt9mQ2vX8pL4nR7sK1wE5yU3iO6aD0fG";
const LIMIT = 1024 * 1024;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const listening = (port) =>
  new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });

const port = await freePort();
const workerd = spawn(
  `${workerDir}node_modules/.bin/workerd`,
  ["serve", "config.capnp", "--socket-addr", `http=127.0.0.1:${port}`],
  { cwd: workerDir, env: { ...process.env, NEXIO_WEBHOOK_SECRET: `${NEW} ${OLD}` }, stdio: ["ignore", "inherit", "inherit"] },
);
let exited = null;
workerd.once("exit", (code, signal) => {
  exited = `workerd exited (${code ?? signal})`;
});

const failures = [];
let ran = 0;
try {
  const started = Date.now();
  while (!(await listening(port))) {
    if (exited) throw new Error(exited);
    if (Date.now() - started > 60_000) throw new Error("workerd did not listen within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`workerd listening on 127.0.0.1:${port} after ${Date.now() - started} ms`);

  const url = `http://127.0.0.1:${port}/webhooks/nexio`;
  const now = () => Math.floor(Date.now() / 1000);
  const sign = (secret, t, body) =>
    `t=${t},v1=${createHmac("sha256", secret).update(`${t}.`).update(body).digest("hex")}`;
  const event = (id) =>
    Buffer.from(
      JSON.stringify({
        id,
        type: "run.completed",
        webhook_version: "2026-03-22",
        created_at: "2026-03-22T12:00:05Z",
        data: { run: { run_id: "3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03", status: "completed", environment: "live", created_at: "2026-03-22T11:58:41Z" } },
      }),
    );
  const headers = (signature) => ({
    "content-type": "application/json",
    "x-nexio-event": "run.completed",
    "x-nexio-delivery": "5d41402a-bc4b-4a76-b9a3-8f9c2b1e0d7f",
    ...(signature === undefined ? {} : { "x-nexio-signature": signature }),
  });

  async function check(name, init, status, expected) {
    ran += 1;
    const res = await fetch(url, { method: "POST", ...init });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    const bodyOk = json !== null && Object.entries(expected).every(([k, v]) => json[k] === v);
    const ok = res.status === status && bodyOk && res.headers.get("content-type") === "application/json";
    console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${res.status} ${text}`);
    if (!ok) failures.push(`${name}: expected ${status} ${JSON.stringify(expected)}, got ${res.status} ${text}`);
  }

  const body = event("evt_worker_valid");
  await check("valid", { headers: headers(sign(NEW, now(), body)), body }, 200, {
    status: "accepted",
    event_type: "run.completed",
    delivery_id: "5d41402a-bc4b-4a76-b9a3-8f9c2b1e0d7f",
  });
  await check("valid, signed with the older secret (rotation)", { headers: headers(sign(OLD, now(), body)), body }, 200, {
    status: "accepted",
  });
  const tampered = Buffer.from(body.toString().replace("completed", "failed"));
  await check("tampered body", { headers: headers(sign(NEW, now(), body)), body: tampered }, 401, {
    error: "signature_mismatch",
  });
  await check("stale t= (1 h old)", { headers: headers(sign(NEW, now() - 3600, body)), body }, 401, {
    error: "timestamp_too_old",
  });
  await check("t= 1 h ahead", { headers: headers(sign(NEW, now() + 3600, body)), body }, 401, {
    error: "timestamp_too_new",
  });
  await check("signed with an unknown secret", { headers: headers(sign("whsec_not_configured", now(), body)), body }, 401, {
    error: "signature_mismatch",
  });
  await check("no signature header", { headers: headers(undefined), body }, 400, { error: "missing_signature" });
  await check("malformed signature header", { headers: headers("t=abc,v1=zz"), body }, 400, {
    error: "malformed_signature",
  });

  // Over 1 MiB, validly signed: refused on its Content-Length before the body is read.
  const big = Buffer.concat([Buffer.from('{"id":"evt_big","type":"run.completed","pad":"'), Buffer.alloc(LIMIT, 0x61), Buffer.from('"}')]);
  await check("oversized (Content-Length)", { headers: headers(sign(NEW, now(), big)), body: big }, 413, {
    error: "payload_too_large",
  });
  // The same without a Content-Length (chunked): refused by the bounded read.
  const chunks = (function* () {
    for (let at = 0; at < big.length; at += 64 * 1024) yield big.subarray(at, at + 64 * 1024);
  })();
  const stream = new ReadableStream({
    pull(controller) {
      const next = chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
  await check("oversized (chunked, no Content-Length)", { headers: headers(sign(NEW, now(), big)), body: stream, duplex: "half" }, 413, {
    error: "payload_too_large",
  });
  // Exactly at the limit is accepted.
  const limitEvent = event("evt_limit");
  const atLimit = Buffer.concat([
    limitEvent.subarray(0, limitEvent.length - 1),
    Buffer.from(',"pad":"'),
    Buffer.alloc(LIMIT - limitEvent.length - 9, 0x61),
    Buffer.from('"}'),
  ]);
  if (atLimit.length !== LIMIT) throw new Error(`at-limit body is ${atLimit.length} bytes`);
  await check("body of exactly 1 MiB", { headers: headers(sign(NEW, now(), atLimit)), body: atLimit }, 200, {
    status: "accepted",
  });
  // Verified, but not an event: 422, never a 2xx for a delivery nobody can process.
  const notJson = Buffer.from("not json");
  await check("verified, not JSON", { headers: headers(sign(NEW, now(), notJson)), body: notJson }, 422, {
    error: "invalid_json",
  });
  const notEvent = Buffer.from('{"id":"evt_not_an_event"}');
  await check("verified, not an event", { headers: headers(sign(NEW, now(), notEvent)), body: notEvent }, 422, {
    error: "invalid_event",
  });
  ran += 1;
  const get = await fetch(url);
  if (get.status !== 405) failures.push(`GET: expected 405, got ${get.status}`);
} catch (e) {
  failures.push(String(e));
} finally {
  workerd.kill("SIGTERM");
}

for (const f of failures) console.error(f);
console.log(`${ran - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length === 0 && ran > 0 ? 0 : 1);
