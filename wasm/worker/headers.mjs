// Header pairs as the wasm functions take them: every name and value one after the
// other in one byte string, with their lengths (name, value, name, value, ...), so
// that values which are not UTF-8 reach the verifier as they were sent.
const utf8 = new TextEncoder();

export function encodeHeaders(pairs) {
  const parts = [];
  const lens = [];
  let total = 0;
  for (const [name, value] of pairs) {
    for (const part of [utf8.encode(name), typeof value === "string" ? utf8.encode(value) : value]) {
      parts.push(part);
      lens.push(part.length);
      total += part.length;
    }
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, lens: Uint32Array.from(lens) };
}
