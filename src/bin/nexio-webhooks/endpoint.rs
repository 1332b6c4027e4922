//! `endpoint create` and `endpoint rotate-secret`: Nexio's webhook API
//! (`POST /api/v1/webhooks`, `POST /api/v1/webhooks/{id}/rotate-secret`).
//!
//! Nexio shows an endpoint's signing secret once, so the secret file is made ready
//! (created, mode 0600) before the request is sent: a secret that arrives always has
//! somewhere to go. Everything that can be checked locally — the URL, the events, the
//! description, the tokens — is checked before anything is sent. The API key and the
//! auth token come from the environment, never from an argument; the secret reaches
//! stdout only with `--print-secret`, and no message ever contains one of them.

use std::fs::File;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nexio_webhooks::{BearerToken, MAX_BEARER_TOKEN_LEN, Secret};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::args::{ApiArgs, EndpointCommand, EndpointCreateArgs, EndpointRotateArgs};
use crate::fail::{Outcome, UsageError};

/// The event types an endpoint can subscribe to, as Nexio documents them.
pub const EVENTS: [&str; 2] = ["run.completed", "run.failed"];

/// The longest description Nexio accepts, in characters.
pub const MAX_DESCRIPTION: usize = 256;

/// An API answer larger than this is not read (they are a few hundred bytes).
const MAX_ANSWER: usize = 1024 * 1024;

/// How much of an API error message is shown.
const MAX_ERROR_MESSAGE: usize = 500;

type ApiClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub async fn run(command: &EndpointCommand) -> Result<Outcome, UsageError> {
    match command {
        EndpointCommand::Create(args) => create(args).await,
        EndpointCommand::RotateSecret(args) => rotate(args).await,
    }
}

/// What Nexio answers for an endpoint; unknown fields are ignored, and every field
/// is optional so a change in the answer never loses the secret.
#[derive(Default, Deserialize)]
struct EndpointAnswer {
    id: Option<serde_json::Value>,
    url: Option<String>,
    environment: Option<String>,
    events: Option<Vec<String>>,
    active: Option<bool>,
    auth_token_configured: Option<bool>,
    webhook_version: Option<String>,
    secret: Option<String>,
    /// Some APIs wrap the object in `data`.
    data: Option<Box<EndpointAnswer>>,
    /// The answer's object as it came, `data` unwrapped and the secret removed: what
    /// `--endpoint-file` holds.
    #[serde(skip)]
    without_secret: Option<serde_json::Map<String, serde_json::Value>>,
}

impl EndpointAnswer {
    /// The object itself, or the one inside `data` when the top level has no id.
    fn unwrap_data(self) -> Self {
        match self.data {
            Some(inner) if self.id.is_none() && self.secret.is_none() => *inner,
            _ => self,
        }
    }

    fn id_text(&self) -> Option<String> {
        match &self.id {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }
}

async fn create(args: &EndpointCreateArgs) -> Result<Outcome, UsageError> {
    check_https_url(&args.url)?;
    let events = check_events(&args.events)?;
    if let Some(d) = &args.description
        && d.chars().count() > MAX_DESCRIPTION
    {
        return Err(UsageError::new(format!(
            "--description is {} characters long; Nexio accepts at most {MAX_DESCRIPTION}",
            d.chars().count()
        )));
    }
    let auth_token = match &args.auth_token_env {
        Some(name) => Some(auth_token_from_env(name)?),
        None => None,
    };
    let api = Api::new(&args.api)?;

    let mut body = serde_json::Map::new();
    body.insert("url".into(), args.url.clone().into());
    body.insert("events".into(), events.clone().into());
    if let Some(d) = &args.description {
        body.insert("description".into(), d.clone().into());
    }
    if let Some(token) = &auth_token {
        body.insert("auth_token".into(), token.as_str().into());
    }
    if args.inactive {
        body.insert("active".into(), false.into());
    }
    let body = Zeroizing::new(
        serde_json::to_vec(&serde_json::Value::Object(body))
            .map_err(|e| UsageError::new(format!("cannot write the request: {e}")))?,
    );
    // The JSON map holds a copy of the token; it is dropped here, the bytes are wiped.
    drop(auth_token);

    if let Some(path) = &args.endpoint_file
        && !args.force
        && path.exists()
    {
        return Err(UsageError::new(format!(
            "{} exists: choose another --endpoint-file or pass --force",
            path.display()
        )));
    }
    let file = SecretFile::reserve(&args.secret_file, args.force)?;
    let endpoint_file = match &args.endpoint_file {
        // Written beside and renamed over, so a failed request leaves nothing.
        Some(path) => match SecretFile::reserve(path, true) {
            Ok(f) => Some(f),
            Err(e) => {
                file.abandon();
                return Err(e);
            }
        },
        None => None,
    };
    let answer = match api.post("/api/v1/webhooks", &body).await {
        Ok(answer) => answer,
        Err(failure) => {
            file.abandon();
            if let Some(f) = endpoint_file {
                f.abandon();
            }
            return Ok(failure.report());
        }
    };
    let Some(secret) = answer
        .secret
        .as_deref()
        .map(|s| Zeroizing::new(s.to_owned()))
    else {
        file.abandon();
        if let Some(f) = endpoint_file {
            f.abandon();
        }
        eprintln!(
            "error: Nexio created the endpoint{} but its answer has no secret; rotate it with `nexio-webhooks endpoint rotate-secret ID --secret-file PATH`",
            answer
                .id_text()
                .map(|id| format!(" {id}"))
                .unwrap_or_default()
        );
        return Ok(Outcome::Rejected);
    };
    let key = key_note(&secret);
    let path = file.commit(&[secret.as_str()])?;
    let endpoint_path = match endpoint_file {
        Some(f) => {
            let json =
                serde_json::to_string_pretty(&answer.without_secret.clone().unwrap_or_default())
                    .map_err(|e| UsageError::new(format!("cannot write the endpoint: {e}")))?;
            Some(f.commit(&[json.as_str()])?)
        }
        None => None,
    };

    let mut out = String::new();
    out.push_str(&format!(
        "created endpoint {}\n",
        answer.id_text().unwrap_or_else(|| "-".into())
    ));
    let field = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    out.push_str(&format!("  url: {}\n", field(answer.url.clone())));
    out.push_str(&format!(
        "  environment: {}\n",
        field(answer.environment.clone())
    ));
    out.push_str(&format!(
        "  events: {}\n",
        field(answer.events.as_ref().map(|e| e.join(", ")))
    ));
    out.push_str(&format!(
        "  active: {}\n",
        field(answer.active.map(|a| a.to_string()))
    ));
    out.push_str(&format!(
        "  webhook_version: {}\n",
        field(answer.webhook_version.clone())
    ));
    out.push_str(&format!(
        "  auth_token_configured: {}\n",
        field(answer.auth_token_configured.map(|a| a.to_string()))
    ));
    out.push_str(&format!(
        "  secret: written to {} (mode 0600{key})\n",
        path.display()
    ));
    if let Some(endpoint_path) = endpoint_path {
        out.push_str(&format!(
            "  endpoint: written to {} (mode 0600, without the secret; for --endpoint-file)\n",
            endpoint_path.display()
        ));
    }
    let printed = if args.print_secret {
        Some(secret.as_str())
    } else {
        None
    };
    write_out(&out, printed)?;
    Ok(Outcome::Success)
}

async fn rotate(args: &EndpointRotateArgs) -> Result<Outcome, UsageError> {
    check_endpoint_id(&args.id)?;
    let previous = previous_secret(&args.secret_file)?;
    let api = Api::new(&args.api)?;
    let file = SecretFile::reserve(&args.secret_file, true)?;
    let path = format!("/api/v1/webhooks/{}/rotate-secret", args.id);
    let answer = match api.post(&path, b"{}").await {
        Ok(answer) => answer,
        Err(failure) => {
            file.abandon();
            return Ok(failure.report());
        }
    };
    let Some(secret) = answer
        .secret
        .as_deref()
        .map(|s| Zeroizing::new(s.to_owned()))
    else {
        file.abandon();
        eprintln!(
            "error: Nexio's answer to rotate-secret has no secret; {} is unchanged",
            args.secret_file.display()
        );
        return Ok(Outcome::Rejected);
    };
    let mut lines = vec![secret.as_str()];
    if let Some(p) = &previous {
        lines.push(p.as_str());
    }
    let key = key_note(&secret);
    let written = file.commit(&lines)?;
    let mut out = format!(
        "rotated the secret of endpoint {}\n  secret: written to {} (mode 0600{key}), first line\n",
        answer.id_text().unwrap_or_else(|| args.id.clone()),
        written.display()
    );
    match &previous {
        Some(p) => out.push_str(&format!(
            "  previous secret: kept on the next line{} (Nexio accepts it for 24 h more; remove it after)\n",
            key_note(p)
        )),
        None => out.push_str(
            "  previous secret: not known (the file did not exist): deliveries signed with it will not verify with this file\n",
        ),
    }
    let printed = if args.print_secret {
        Some(secret.as_str())
    } else {
        None
    };
    write_out(&out, printed)?;
    Ok(Outcome::Success)
}

fn write_out(out: &str, secret: Option<&str>) -> Result<(), UsageError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| match secret {
            Some(s) => writeln!(stdout, "  secret value: {s}"),
            None => Ok(()),
        })
        .and_then(|()| stdout.flush())
        .map_err(|e| UsageError::new(format!("cannot write to stdout: {e}")))
}

/// `, key 1a2b3c4d` for a secret the crate accepts; a warning for one it refuses.
fn key_note(secret: &str) -> String {
    match Secret::new(secret) {
        Ok(s) => format!(", key {}", s.key_id()),
        Err(e) => {
            eprintln!("warning: the secret Nexio returned is refused by this tool ({e})");
            String::new()
        }
    }
}

/// `https://host/...`: Nexio delivers over HTTPS only.
fn check_https_url(url: &str) -> Result<(), UsageError> {
    let bad = |why: &str| UsageError::new(format!("--url {url:?}: {why}"));
    let uri: http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    if uri.scheme_str() != Some("https") {
        return Err(bad("Nexio delivers to https:// URLs only"));
    }
    let authority = uri.authority().ok_or_else(|| bad("needs a host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("credentials in the URL are not supported"));
    }
    if authority.host().is_empty() {
        return Err(bad("needs a host"));
    }
    Ok(())
}

/// At least one event, each from the documented list; duplicates dropped.
fn check_events(events: &[String]) -> Result<Vec<String>, UsageError> {
    let mut out: Vec<String> = Vec::new();
    for e in events.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        if !EVENTS.contains(&e) {
            return Err(UsageError::new(format!(
                "--events: {e:?} is not an event Nexio sends; choose from {}",
                EVENTS.join(", ")
            )));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_owned());
        }
    }
    if out.is_empty() {
        return Err(UsageError::new(format!(
            "--events: give at least one of {}",
            EVENTS.join(", ")
        )));
    }
    Ok(out)
}

/// Ids go into a URL path: letters, digits, `-`, `_` and `.` only.
fn check_endpoint_id(id: &str) -> Result<(), UsageError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "{id:?} is not an endpoint id (letters, digits, '-', '_' and '.', at most 128)"
        )))
    }
}

fn read_env(name: &str, what: &str) -> Result<Zeroizing<String>, UsageError> {
    match std::env::var(name) {
        Ok(v) => Ok(Zeroizing::new(v)),
        Err(std::env::VarError::NotPresent) => Err(UsageError::new(format!(
            "{what}: the environment variable {name} is not set"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(UsageError::new(format!(
            "{what}: the environment variable {name} is not valid UTF-8"
        ))),
    }
}

fn auth_token_from_env(name: &str) -> Result<Zeroizing<String>, UsageError> {
    let token = read_env(name, "--auth-token-env")?;
    if token.len() > MAX_BEARER_TOKEN_LEN {
        return Err(UsageError::new(format!(
            "{name}: the auth_token is {} bytes long; Nexio accepts at most {MAX_BEARER_TOKEN_LEN}",
            token.len()
        )));
    }
    BearerToken::new(&token).map_err(|e| UsageError::new(format!("{name}: {e}")))?;
    Ok(token)
}

/// `nx_test_…`, `nx_live_…` or `nx_<slug>_…` (slug: 1 to 16 of `a-z0-9_`), with
/// something after the slug, and nothing that cannot go in a header.
fn api_key_is_well_formed(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("nx_") else {
        return false;
    };
    let printable = key.bytes().all(|b| b.is_ascii_graphic());
    let slug_then_key = rest.char_indices().any(|(i, c)| {
        c == '_'
            && (1..=16).contains(&i)
            && rest.get(..i).is_some_and(|slug| {
                slug.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            })
            && rest
                .get(i.saturating_add(1)..)
                .is_some_and(|k| !k.is_empty())
    });
    printable && slug_then_key
}

/// The API's base URL and key, and a client for it.
struct Api {
    base: String,
    key: Zeroizing<String>,
    client: ApiClient,
    timeout: Duration,
}

/// Why the API gave no usable answer; reported on stderr, exit 1.
enum Failure {
    Status {
        status: http::StatusCode,
        message: String,
    },
    Transport(String),
}

impl Failure {
    fn report(&self) -> Outcome {
        match self {
            Self::Status { status, message } => {
                eprintln!("error: Nexio's API answered {status}: {message}");
            }
            Self::Transport(why) => eprintln!("error: {why}"),
        }
        Outcome::Rejected
    }
}

impl Api {
    fn new(args: &ApiArgs) -> Result<Self, UsageError> {
        let key = read_env(&args.api_key_env, "--api-key-env")?;
        if key.starts_with("whsec_") {
            return Err(UsageError::new(format!(
                "{}: holds a webhook signing secret (whsec_...), not a Nexio API key (nx_live_..., nx_test_...)",
                args.api_key_env
            )));
        }
        if !api_key_is_well_formed(&key) {
            return Err(UsageError::new(format!(
                "{}: not a Nexio API key (expected nx_live_..., nx_test_... or nx_<environment>_...)",
                args.api_key_env
            )));
        }
        let base = args.api_base.trim_end_matches('/');
        let bad = |why: &str| UsageError::new(format!("--api-base {base:?}: {why}"));
        let uri: http::Uri = base.parse().map_err(|_| bad("not a valid URL"))?;
        let host = uri.host().ok_or_else(|| bad("needs a host"))?;
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(bad("credentials in the URL are not supported"));
        }
        if uri.query().is_some() {
            return Err(bad("a query string is not supported"));
        }
        let https = match uri.scheme_str() {
            Some("https") => true,
            // The API key must not cross a network in the clear: plain HTTP only to
            // this machine (a local stand-in of the API, as the tests run).
            Some("http") if matches!(host, "127.0.0.1" | "localhost" | "[::1]") => false,
            Some("http") => {
                return Err(bad(
                    "plain http:// only to 127.0.0.1, ::1 or localhost (the API key would cross the network in the clear)",
                ));
            }
            _ => return Err(bad("needs https://")),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let connector = if https {
            builder
                .with_provider_and_native_roots(provider)
                .map_err(|e| {
                    UsageError::new(format!("cannot load the system's root certificates: {e}"))
                })?
                .https_only()
                .enable_http1()
                .build()
        } else {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| UsageError::new(format!("cannot set up TLS: {e}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            builder
                .with_tls_config(config)
                .https_or_http()
                .enable_http1()
                .build()
        };
        Ok(Self {
            base: base.to_owned(),
            key,
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: Duration::from_secs(args.timeout),
        })
    }

    async fn post(&self, path: &str, body: &[u8]) -> Result<EndpointAnswer, Failure> {
        let url = format!("{}{path}", self.base);
        let mut auth =
            http::HeaderValue::from_str(&Zeroizing::new(format!("Bearer {}", *self.key)))
                .map_err(|_| Failure::Transport("the API key cannot go in a header".into()))?;
        auth.set_sensitive(true);
        let request = http::Request::post(&url)
            .header(http::header::AUTHORIZATION, auth)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("nexio-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| Failure::Transport(format!("cannot build the request to {url}: {e}")))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let mut source: &dyn std::error::Error = &e;
                while let Some(inner) = source.source() {
                    source = inner;
                }
                Failure::Transport(format!("cannot reach {url}: {source}"))
            })?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map(|c| Zeroizing::new(c.to_bytes().to_vec()))
                .map_err(|e| Failure::Transport(format!("cannot read the answer of {url}: {e}")))?;
            Ok::<_, Failure>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                Failure::Transport(format!(
                    "{url}: no answer within {} s",
                    self.timeout.as_secs()
                ))
            })??;
        if !status.is_success() {
            return Err(Failure::Status {
                status,
                message: error_message(&bytes),
            });
        }
        serde_json::from_slice::<EndpointAnswer>(&bytes)
            .map(EndpointAnswer::unwrap_data)
            .map(|mut answer| {
                answer.without_secret = object_without_secret(&bytes);
                answer
            })
            .map_err(|e| {
                Failure::Transport(format!(
                    "Nexio's API answered {status} with a body that is not the expected JSON ({e})"
                ))
            })
    }
}

/// The answer's endpoint object (the one inside `data` when the top level has no
/// id), without its `secret`.
fn object_without_secret(bytes: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let serde_json::Value::Object(mut top) = serde_json::from_slice(bytes).ok()? else {
        return None;
    };
    if !top.contains_key("id")
        && !top.contains_key("secret")
        && let Some(serde_json::Value::Object(inner)) = top.remove("data")
    {
        top = inner;
    }
    top.remove("secret");
    Some(top)
}

/// The message of an API error body: `error.message`, `message`, `error` or
/// `detail`, else the body as text; control characters dropped, length bounded.
fn error_message(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let text = json
        .as_ref()
        .and_then(|v| {
            let pick = |v: &serde_json::Value| v.as_str().map(str::to_owned);
            v.pointer("/error/message")
                .and_then(pick)
                .or_else(|| v.get("message").and_then(pick))
                .or_else(|| v.get("error").and_then(pick))
                .or_else(|| v.get("detail").and_then(pick))
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_MESSAGE)
        .collect();
    if clean.trim().is_empty() {
        "(no message)".into()
    } else {
        clean.trim().to_owned()
    }
}

/// The first secret of an existing secret file (the one in use until now), checked;
/// `None` when the file does not exist.
fn previous_secret(path: &Path) -> Result<Option<Zeroizing<String>>, UsageError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(UsageError::new(format!(
                "cannot read secret file {}: {e}",
                path.display()
            )));
        }
    };
    let mut reader = std::io::BufReader::new(file);
    let mut line = Zeroizing::new(String::new());
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| {
            UsageError::new(format!("cannot read secret file {}: {e}", path.display()))
        })?;
        if n == 0 {
            return Ok(None);
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            continue;
        }
        Secret::new(trimmed).map_err(|e| {
            UsageError::new(format!(
                "secret file {}: its first line is not a signing secret ({e}); move the file away or fix it before rotating",
                path.display()
            ))
        })?;
        return Ok(Some(Zeroizing::new(trimmed.to_owned())));
    }
}

/// A secret file made ready before the API is asked (so the once-shown secret always
/// has a place to go): the file itself, created empty with mode 0600 and never over
/// an existing one, or — to replace a file — a new 0600 file beside it, renamed over
/// it once written.
struct SecretFile {
    path: PathBuf,
    file: File,
    /// `Some(temp)`: written to `temp`, then renamed to `path`.
    temp: Option<PathBuf>,
}

impl SecretFile {
    fn reserve(path: &Path, replace: bool) -> Result<Self, UsageError> {
        if !replace && path.exists() {
            return Err(UsageError::new(format!(
                "{} exists: it may hold a secret in use; choose another --secret-file or pass --force",
                path.display()
            )));
        }
        let target = if replace {
            let name = path
                .file_name()
                .ok_or_else(|| UsageError::new(format!("{} is not a file path", path.display())))?;
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}.tmp", std::process::id()));
            path.with_file_name(temp_name)
        } else {
            path.to_owned()
        };
        let file = create_private(&target)
            .map_err(|e| UsageError::new(format!("cannot create {}: {e}", target.display())))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            temp: replace.then_some(target),
        })
    }

    /// The request failed: remove what `reserve` created.
    fn abandon(self) {
        let created = self.temp.as_deref().unwrap_or(&self.path);
        let _ = std::fs::remove_file(created);
    }

    /// Writes one secret a line, flushes it to disk, and puts it in place.
    fn commit(mut self, lines: &[&str]) -> Result<PathBuf, UsageError> {
        let written = self.temp.as_deref().unwrap_or(&self.path).to_owned();
        let mut text = Zeroizing::new(String::new());
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_all())
            .map_err(|e| {
                UsageError::new(format!(
                    "the secret could not be written to {} ({e}); what was written stays there — rotate the secret if it is incomplete",
                    written.display()
                ))
            })?;
        if let Some(temp) = &self.temp {
            std::fs::rename(temp, &self.path).map_err(|e| {
                UsageError::new(format!(
                    "the secret is in {} but could not be moved to {} ({e}); move it by hand",
                    temp.display(),
                    self.path.display()
                ))
            })?;
        }
        Ok(self.path)
    }
}

/// A new file readable and writable by its owner only.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn api_keys() {
        for ok in [
            "nx_test_abc",
            "nx_live_0123",
            "nx_staging_x",
            "nx_eu_west_k",
            "nx_a_b",
        ] {
            assert!(api_key_is_well_formed(ok), "{ok}");
        }
        for bad in [
            "",
            "nx_",
            "nx_test_",
            "nx__x",
            "nx_Test_x",
            "whsec_x",
            "nx_test x",
            "nx_abcdefghijklmnopq_x",
            "nx_test_\u{e9}",
        ] {
            assert!(!api_key_is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn events_urls_ids() {
        assert_eq!(
            check_events(&[
                "run.failed".into(),
                " run.completed".into(),
                "run.failed".into()
            ])
            .unwrap(),
            ["run.failed", "run.completed"]
        );
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["".into()]).is_err());
        assert!(check_events(&["run.started".into()]).is_err());
        assert!(check_https_url("https://example.com/hooks").is_ok());
        for bad in [
            "http://example.com/",
            "https://",
            "example.com",
            "https://u:p@h/",
        ] {
            assert!(check_https_url(bad).is_err(), "{bad}");
        }
        assert!(check_endpoint_id("wh_01J-x.y").is_ok());
        for bad in ["", "..", "a/b", "a?b", "a b", &"x".repeat(129)] {
            assert!(check_endpoint_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(br#"{"error":{"code":"x","message":"url must be https"}}"#),
            "url must be https"
        );
        assert_eq!(error_message(br#"{"message":"bad key"}"#), "bad key");
        assert_eq!(error_message(br#"{"error":"nope"}"#), "nope");
        assert_eq!(error_message(b"plain\x1b[31m text"), "plain[31m text");
        assert_eq!(error_message(b""), "(no message)");
        assert_eq!(error_message(&[b'a'; 2000]).len(), MAX_ERROR_MESSAGE);
    }
}
