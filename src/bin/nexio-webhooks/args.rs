//! The command line, as clap derives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The default receiver URL for `send`, and the URL `sign --format http|curl` writes.
pub const DEFAULT_URL: &str = "http://127.0.0.1:3000/webhooks";

/// The environment variable secrets are read from unless told otherwise.
pub const DEFAULT_SECRET_ENV: &str = "NEXIO_WEBHOOK_SECRET";

const SECRETS_HELP: &str = "\
Secrets:
  Signing secrets (whsec_...) are read from the environment variable named by
  --secret-env (default NEXIO_WEBHOOK_SECRET; several comma-separated for a
  rotation) or from files given with --secret-file (one secret per line; the flag
  may be repeated). They are never taken as a plain argument, and never printed.
  The first secret is the primary one; with several, `sign` writes one v1 per
  secret and `verify`/`listen` accept any of them and report which matched
  (key=<8 hex digits>, a non-secret fingerprint).";

/// Sign, send, verify and receive Nexio webhook deliveries.
#[derive(Debug, Parser)]
#[command(
    name = "nexio-webhooks",
    version,
    about = "Sign, send, verify and receive Nexio webhook deliveries",
    after_long_help = SECRETS_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a body and print the delivery (raw HTTP request, headers, or a curl command)
    #[command(after_long_help = SECRETS_HELP)]
    Sign(SignArgs),
    /// Sign and POST deliveries to a receiver; exit 1 unless every answer is 2xx
    #[command(after_long_help = SECRETS_HELP)]
    Send(SendArgs),
    /// Verify captured deliveries (raw HTTP request files); exit 1 if any is rejected
    #[command(after_long_help = SECRETS_HELP)]
    Verify(VerifyArgs),
    /// Run a local receiver that verifies and prints every delivery (Ctrl-C stops it)
    #[command(after_long_help = SECRETS_HELP)]
    Listen(ListenArgs),
    /// Re-sign captured deliveries with a fresh timestamp (same body) and send them
    #[command(after_long_help = SECRETS_HELP)]
    Replay(ReplayArgs),
    /// Create a webhook endpoint, or rotate its secret, through Nexio's API
    #[command(subcommand)]
    Endpoint(EndpointCommand),
}

/// Where the signing secrets come from.
#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// Environment variable holding the secret(s), comma-separated for a rotation
    /// [default: NEXIO_WEBHOOK_SECRET]
    #[arg(long, value_name = "NAME")]
    pub secret_env: Option<String>,

    /// File holding secret(s), one per line; repeat for a rotation. When given, the
    /// environment is not read unless --secret-env is given too
    #[arg(long, value_name = "PATH")]
    pub secret_file: Vec<PathBuf>,
}

/// A built-in `2026-03-22` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleKind {
    /// A successful run with output and ranked solutions
    #[value(name = "run.completed")]
    RunCompleted,
    /// A failed run with an error and error details
    #[value(name = "run.failed")]
    RunFailed,
}

/// A deliberate flaw, to check that a receiver rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tamper {
    /// Change one byte of the body after signing
    Body,
    /// Change one hex digit of every v1 signature
    Signature,
    /// Change t= (and X-Nexio-Timestamp) after signing
    Timestamp,
}

/// What to sign and how: shared by `sign` and `send`.
#[derive(Debug, Clone, Args)]
pub struct DeliveryArgs {
    /// The body to sign: a file, or - for stdin (sent byte for byte)
    // Not `required_unless_present`: clap's message would not mention --sample;
    // `Blueprint::from_args` says both ways.
    #[arg(value_name = "BODY", conflicts_with = "sample")]
    pub body: Option<PathBuf>,

    /// Use a realistic built-in 2026-03-22 payload instead of a body file
    #[arg(long, value_enum)]
    pub sample: Option<SampleKind>,

    /// Signing time in Unix seconds [default: now]
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub timestamp: Option<i64>,

    /// Sign as if SECONDS ago: a stale delivery, as a replay would be
    #[arg(long, value_name = "SECONDS")]
    pub stale: Option<u64>,

    /// Break the delivery on purpose (a receiver must reject it)
    #[arg(long, value_enum)]
    pub tamper: Option<Tamper>,

    /// Environment variable holding the endpoint's auth_token: adds
    /// `Authorization: Bearer <token>`
    #[arg(long, value_name = "NAME")]
    pub bearer_env: Option<String>,

    /// The X-Nexio-Delivery header [default: a UUID derived from the body]
    #[arg(long, value_name = "ID")]
    pub delivery_id: Option<String>,

    /// Override a field of the JSON body before signing, e.g.
    /// data.run.status=degraded (VALUE is JSON if it parses as JSON, else a string;
    /// a missing field is added; array items by index). Repeatable. The body is
    /// written again compactly, keys in their order
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,

    /// Give each delivery a new event id (the body's "id"), so a deduplicating
    /// receiver processes every one
    #[arg(long)]
    pub fresh_id: bool,

    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// How `sign` prints the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignFormat {
    /// The raw HTTP/1.1 request, byte for byte (`verify` reads this back)
    Http,
    /// The header lines only
    Headers,
    /// A curl command that sends it to --url
    Curl,
}

#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub delivery: DeliveryArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = SignFormat::Http)]
    pub format: SignFormat,

    /// The receiver's URL (request line and Host for --format http; target for curl)
    #[arg(long, default_value = DEFAULT_URL)]
    pub url: String,

    /// Sign as this endpoint sends (a JSON file, as `endpoint create --endpoint-file`
    /// writes it): the run's data.run.environment set to the endpoint's (the body is
    /// then written again compactly; a --set of it wins), a warning for an event type
    /// it did not subscribe to; with auth_token_configured, --bearer-env is required
    #[arg(long, value_name = "PATH")]
    pub endpoint_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub delivery: DeliveryArgs,

    /// The receiver's URL (http:// only)
    #[arg(long, default_value = DEFAULT_URL)]
    pub url: String,

    /// How many deliveries to send (each signed when it is sent)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub count: u64,

    /// How many requests may be in flight at once
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,

    /// Give up on a request after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// How `verify` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    /// One line per file: `<file>: ok <type> <id> key=<key id>` or `<file>: rejected <code>`
    Text,
    /// One JSON object per line: file, ok, code, event_type, event_id, key_id
    Json,
}

/// Replay window and policy shared by `verify` and `listen`.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Oldest accepted delivery, in seconds
    #[arg(long, value_name = "S", default_value_t = 300)]
    pub max_age: u64,

    /// Furthest accepted timestamp ahead of the clock, in seconds
    #[arg(long, value_name = "S", default_value_t = 300)]
    pub max_future: u64,

    /// Reject (not just warn about) unsigned X-Nexio-Timestamp / X-Nexio-Event /
    /// X-Nexio-Webhook-Version headers that disagree with the signed data
    #[arg(long)]
    pub strict: bool,

    /// Environment variable holding the endpoint's auth_token: require
    /// `Authorization: Bearer <token>`
    #[arg(long, value_name = "NAME")]
    pub bearer_env: Option<String>,

    /// The endpoint as Nexio returned it (a JSON file, as `endpoint create
    /// --endpoint-file` writes it): its run environment and subscribed events are
    /// checked against each signed body (environment_mismatch,
    /// event_not_subscribed); with auth_token_configured, --bearer-env is required.
    /// The secret still comes from --secret-file / --secret-env
    #[arg(long, value_name = "PATH")]
    pub endpoint_file: Option<PathBuf>,

    #[command(flatten)]
    pub secrets: SecretArgs,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Files holding one raw HTTP request each (request line, headers, blank line,
    /// body); - for stdin
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Verify as if the clock read UNIX (seconds) [default: the clock]
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub now: Option<i64>,

    /// Output format
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,

    /// Say why each rejected delivery failed: typed hints (changed body, key
    /// convention, clock, wrong secret, ...); with --format json, a `hints` array
    #[arg(long)]
    pub explain: bool,

    /// Largest accepted body in bytes, as `listen` and the receivers apply it
    /// (larger: payload_too_large, and the file is not read past it)
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body: usize,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Port to listen on (0: any free port; the address is printed)
    #[arg(long, default_value_t = 3000)]
    pub port: u16,

    /// Address to bind
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,

    /// Path deliveries are POSTed to
    #[arg(long, default_value = "/webhooks")]
    pub path: String,

    /// Largest accepted body in bytes (larger: 413)
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body: usize,

    /// Also print each verified payload, pretty-printed
    #[arg(long)]
    pub print_body: bool,

    /// Forward each verified delivery (exact body and headers) to this http:// URL;
    /// the app's status is the answer, and only a 2xx marks the delivery processed
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,

    /// Seconds to wait for the app's answer before answering 502 (and releasing the
    /// delivery so Nexio retries it)
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub forward_timeout: f64,

    /// Write each request received on the delivery path to DIR as a raw .http file
    /// (for `verify --explain` and `replay`); bodies refused before their end are
    /// written as far as they were read
    #[arg(long, value_name = "DIR")]
    pub record: Option<std::path::PathBuf>,

    /// Share the replay guard in Redis (redis://host:port/db), for several listeners
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// Seconds a claim blocks other copies of its delivery before its owner is
    /// presumed crashed
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lease: u64,

    /// Seconds a processed delivery is remembered (keep it longer than Nexio's retry
    /// schedule)
    #[arg(long, value_name = "SECONDS", default_value_t = 72 * 60 * 60)]
    pub retention: u64,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Captured deliveries: raw HTTP request files, as `verify` reads them
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The receiver's URL (http:// only)
    #[arg(long, default_value = DEFAULT_URL)]
    pub url: String,

    /// Give up on a request after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Largest body in bytes, as `verify`, `listen` and the receivers apply it (a
    /// larger capture is refused, and the file is not read past it)
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body: usize,

    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// Nexio's API, where `endpoint` commands go.
pub const DEFAULT_API_BASE: &str = "https://api.nexio.dev";

/// The environment variable the Nexio API key is read from unless told otherwise.
pub const DEFAULT_API_KEY_ENV: &str = "NEXIO_API_KEY";

const ENDPOINT_HELP: &str = "\
The API key (nx_test_..., nx_live_..., nx_<slug>_...) is read from the environment
variable named by --api-key-env (default NEXIO_API_KEY), never from an argument.
The endpoint's signing secret is shown by Nexio only once: it is written to
--secret-file with mode 0600 and never printed unless --print-secret is given.";

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Create a webhook endpoint and store its signing secret in a file
    #[command(after_long_help = ENDPOINT_HELP)]
    Create(EndpointCreateArgs),
    /// Rotate an endpoint's signing secret: the new one first in the file, the
    /// previous one (valid 24 h more) on the next line
    #[command(after_long_help = ENDPOINT_HELP)]
    RotateSecret(EndpointRotateArgs),
}

/// How to reach Nexio's API.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Environment variable holding the Nexio API key
    #[arg(long, value_name = "NAME", default_value = DEFAULT_API_KEY_ENV)]
    pub api_key_env: String,

    /// Nexio's API (https://; http:// only to 127.0.0.1, ::1 or localhost)
    #[arg(long, value_name = "URL", env = "NEXIO_API_BASE", default_value = DEFAULT_API_BASE)]
    pub api_base: String,

    /// Give up on the API after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct EndpointCreateArgs {
    /// The receiver's URL (https:// with a host, as Nexio requires)
    #[arg(long)]
    pub url: String,

    /// Events to subscribe to, comma-separated: run.completed, run.failed
    #[arg(long, value_delimiter = ',', required = true, value_name = "EVENT,...")]
    pub events: Vec<String>,

    /// A description (at most 256 characters)
    #[arg(long)]
    pub description: Option<String>,

    /// Environment variable holding an auth_token (at most 1024 bytes) that Nexio
    /// will send as `Authorization: Bearer <token>`
    #[arg(long, value_name = "NAME")]
    pub auth_token_env: Option<String>,

    /// Create the endpoint inactive
    #[arg(long)]
    pub inactive: bool,

    /// Where to write the signing secret (mode 0600)
    #[arg(long, value_name = "PATH")]
    pub secret_file: PathBuf,

    /// Also write Nexio's answer, without the secret, to this file (mode 0600), for
    /// `verify`, `listen` and `sign --endpoint-file`
    #[arg(long, value_name = "PATH")]
    pub endpoint_file: Option<PathBuf>,

    /// Overwrite --secret-file (and --endpoint-file) if it exists
    #[arg(long)]
    pub force: bool,

    /// Also print the signing secret on stdout
    #[arg(long)]
    pub print_secret: bool,

    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Clone, Args)]
pub struct EndpointRotateArgs {
    /// The endpoint's id
    #[arg(value_name = "ID")]
    pub id: String,

    /// The secret file to update (mode 0600): the new secret first, the previous
    /// one (the file's first line, if it exists) on the next line
    #[arg(long, value_name = "PATH")]
    pub secret_file: PathBuf,

    /// Also print the new signing secret on stdout
    #[arg(long)]
    pub print_secret: bool,

    #[command(flatten)]
    pub api: ApiArgs,
}
