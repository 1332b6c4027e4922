#!/usr/bin/env bash
# Regenerates the bundled sample deliveries with the crate's own Signer, through the
# command-line tool's `sign --format http`. tests/cli/commands.rs checks that the files in this
# folder are byte for byte what these commands print, and that they verify.
#
# Demo secret: whsec_abc123def456 (the README's). Signed at 1774180800
# (2026-03-22T12:00:00Z); verify them with `--now 1774180802`.
set -euo pipefail
cd "$(dirname "$0")"
sign() { NEXIO_WEBHOOK_SECRET=whsec_abc123def456 cargo run -q --features cli -- sign --timestamp 1774180800 "$@"; }

sign --sample run.completed > run_completed.http
sign --sample run.failed > run_failed.http
# Rejected on purpose:
sign --sample run.completed --tamper body > rejected/tampered_body.http
sign --sample run.failed --stale 600 > rejected/stale.http
NEXIO_WEBHOOK_SECRET=whsec_not_the_endpoint_secret cargo run -q --features cli -- \
    sign --timestamp 1774180800 --sample run.completed > rejected/wrong_secret.http
