// Every known-answer vector (tests/data/known-answer.json) and every case of the
// adversarial catalogue (tests/data/adversarial.json) through the wasm module, run by
// Node's WebAssembly engine, with the expectations the Rust tests apply
// (tests/known_answer.rs, tests/adversarial.rs through the core). Exits non-zero on
// any mismatch, and when no case ran.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initSync, verify } from "../pkg/nexio_webhooks_wasm.js";
import { encodeHeaders } from "../worker/headers.mjs";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
initSync({ module: readFileSync(here("../pkg/nexio_webhooks_wasm_bg.wasm")) });

// JSON.parse turns i64::MAX and friends into inexact doubles: integer literals past
// 2^53 are read as BigInt instead (strings are skipped over, escapes included).
function parseExact(text) {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === "-" || (ch >= "0" && ch <= "9")) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j])) j += 1;
      const lit = text.slice(i, j);
      const exact = /^-?[0-9]+$/.test(lit) && !Number.isSafeInteger(Number(lit));
      out += exact ? `"\\u0000bigint:${lit}"` : lit;
      i = j;
    } else {
      out += ch;
      i += 1;
    }
  }
  return JSON.parse(out, (_, v) =>
    typeof v === "string" && v.startsWith("\u0000bigint:") ? BigInt(v.slice(8)) : v,
  );
}

const load = (name) => parseExact(readFileSync(here(`../../tests/data/${name}`), "utf8")).cases;
const utf8 = new TextEncoder();
const b64 = (s) => new Uint8Array(Buffer.from(s, "base64"));
const int = (v) => BigInt(v).toString();

function optionsJson(c) {
  const secrets = c.secrets.map((s) => {
    const spec = typeof s === "string" ? { secret: s } : s;
    const parts = [];
    if (spec.secret !== undefined) parts.push(`"secret":${JSON.stringify(spec.secret)}`);
    if (spec.raw_key_base64 !== undefined)
      parts.push(`"raw_key_hex":"${Buffer.from(spec.raw_key_base64, "base64").toString("hex")}"`);
    if (spec.expires_at !== undefined) parts.push(`"expires_at":${int(spec.expires_at)}`);
    return `{${parts.join(",")}}`;
  });
  const parts = [`"secrets":[${secrets.join(",")}]`];
  if (c.bearer_token !== undefined) parts.push(`"bearer_token":${JSON.stringify(c.bearer_token)}`);
  if (c.strict !== undefined) parts.push(`"strict":${c.strict ? "true" : "false"}`);
  if (c.max_age !== undefined) parts.push(`"max_age":${int(c.max_age)}`);
  if (c.max_future !== undefined) parts.push(`"max_future":${int(c.max_future)}`);
  return `{${parts.join(",")}}`;
}

// Secrets the answers are searched for: none may be quoted, not even a refused one.
let leaks = 0;
function run(headers, body, c) {
  const { bytes, lens } = encodeHeaders(headers);
  const text = verify(optionsJson(c), bytes, lens, body, BigInt(c.now));
  for (const s of c.secrets) {
    const secret = typeof s === "string" ? s : s.secret;
    if (secret !== undefined && secret.length >= 8 && text.includes(secret)) {
      leaks += 1;
      fail(c.name, `${c.name}: the answer quotes a secret`);
    }
  }
  return JSON.parse(text);
}

const failures = [];
// The cases with at least one failure, for the closing count.
const failed = new Set();
const fail = (name, text) => {
  failed.add(name);
  failures.push(text);
};
let ran = 0;

// tests/known_answer.rs: the outcome class of each vector.
const klass = (o) => {
  if (o.ok) return "ok";
  switch (o.code) {
    case "signature_mismatch": return "no_match";
    case "timestamp_too_old": return "too_old";
    case "timestamp_too_new": return "too_new";
    case "malformed_signature":
    case "signature_header_too_large":
    case "too_many_signatures": return "malformed";
    default: return `unexpected error class ${o.code}`;
  }
};
const vectors = load("known-answer.json");
if (vectors.length < 37) failures.push(`vectors file truncated: ${vectors.length}`);
for (const c of vectors) {
  ran += 1;
  const o = run([["X-Nexio-Signature", c.header]], b64(c.body_base64), c);
  const got = klass(o);
  if (got !== c.expect) fail(`v:${c.name}`, `vector ${c.name}: expected ${c.expect}, got ${got}`);
  else if (o.ok && o.timestamp !== 1774180800) fail(`v:${c.name}`, `vector ${c.name}: timestamp ${o.timestamp}`);
}
const vectorsRan = ran;

// tests/adversarial.rs through the core: outcome, then on acceptance the matching key,
// the event's parse and the header mismatches.
const catalogue = load("adversarial.json");
if (catalogue.length < 120) failures.push(`only ${catalogue.length} cases`);
let falseAccepts = 0;
let catalogueRan = 0;
for (const c of catalogue) {
  catalogueRan += 1;
  ran += 1;
  let body;
  if (c.body !== undefined) body = utf8.encode(c.body);
  else if (c.body_base64 !== undefined) body = b64(c.body_base64);
  else {
    const r = c.body_repeat;
    body = utf8.encode(r.prefix + r.unit.repeat(r.count) + r.suffix);
  }
  const headers = c.headers.map(([n, v]) => [n, typeof v === "string" ? v : b64(v.base64)]);
  const o = run(headers, body, c);
  if (o.code === "accept" && c.expect !== "accept") {
    falseAccepts += 1;
    fail(c.name, `FALSE ACCEPT ${c.name}: expected ${c.expect}`);
    continue;
  }
  if (o.code !== c.expect) {
    fail(c.name, `${c.name}: expected ${c.expect}, got ${o.code}`);
    continue;
  }
  if (c.expect === "accept") {
    if (c.expect_key !== undefined && o.key_id !== o.key_ids[c.expect_key])
      fail(c.name, `${c.name}: matched key ${o.key_id}, expected ${o.key_ids[c.expect_key]}`);
    if (c.expect_event !== undefined && o.event !== c.expect_event)
      fail(c.name, `${c.name}: event ${o.event}, expected ${c.expect_event}`);
    const want = JSON.stringify(c.expect_mismatches ?? []);
    if (JSON.stringify(o.mismatches) !== want)
      fail(c.name, `${c.name}: mismatches ${JSON.stringify(o.mismatches)}, expected ${want}`);
  }
}

// Header lengths that do not cut the bytes exactly are refused, never read past.
const options = '{"secrets":[{"secret":"whsec_abc123def456"}]}';
for (const [bytes, lens] of [["ab", [1, 2]], ["abc", [1, 1]], ["ab", [1]], ["ab", [4294967295, 0]]]) {
  ran += 1;
  const o = JSON.parse(verify(options, utf8.encode(bytes), Uint32Array.from(lens), new Uint8Array(0), 0n));
  if (o.ok || o.code !== "invalid_headers") fail(`lens:${lens}`, `header lengths ${lens}: got ${JSON.stringify(o)}`);
}

for (const f of failures) console.error(f);
console.log(
  `wasm (node ${process.version}): ${vectorsRan} known-answer vectors, ${catalogueRan} adversarial cases, ${falseAccepts} false accepts, ${leaks} answers quoting a secret`,
);
console.log(`${ran - failed.size} passed, ${failed.size} failed`);
process.exit(failures.length === 0 && ran > 0 ? 0 : 1);
