# workerd configuration: the Worker of worker.mjs on 127.0.0.1:8787 (`--socket-addr
# http=127.0.0.1:PORT` to change it), with the secret from the environment variable
# NEXIO_WEBHOOK_SECRET. Build ../pkg first (see ../README.md).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .verifier) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const verifier :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "headers.mjs", esModule = embed "headers.mjs"),
    (name = "nexio_webhooks_wasm.js", esModule = embed "../pkg/nexio_webhooks_wasm.js"),
    (name = "nexio_webhooks_wasm_bg.wasm", wasm = embed "../pkg/nexio_webhooks_wasm_bg.wasm"),
  ],
  bindings = [ (name = "NEXIO_WEBHOOK_SECRET", fromEnvironment = "NEXIO_WEBHOOK_SECRET") ],
  compatibilityDate = "2026-11-01",
);
