//! Secrets from the environment or from files — never from a plain argument, never
//! printed. Error messages name the variable or file, never the value.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use nexio_webhooks::{BearerToken, Endpoint, EndpointError, Secret, Signer, Verifier};
use zeroize::Zeroizing;

use crate::args::{DEFAULT_SECRET_ENV, PolicyArgs, SecretArgs};
use crate::fail::UsageError;

/// Every configured secret, primary first: the files in the order given, then the
/// environment variable's comma-separated list.
///
/// The environment is read when no file is given, or when `--secret-env` is given
/// explicitly.
pub fn load(args: &SecretArgs) -> Result<Vec<Secret>, UsageError> {
    let mut secrets = Vec::new();
    for path in &args.secret_file {
        secrets.extend(from_file(path)?);
    }
    if args.secret_file.is_empty() || args.secret_env.is_some() {
        let name = args.secret_env.as_deref().unwrap_or(DEFAULT_SECRET_ENV);
        secrets.extend(from_env(name)?);
    }
    if secrets.is_empty() {
        return Err(UsageError::new(
            "no signing secret: set NEXIO_WEBHOOK_SECRET (comma-separated for a rotation) or pass --secret-file PATH",
        ));
    }
    Ok(secrets)
}

fn from_env(name: &str) -> Result<Vec<Secret>, UsageError> {
    let value = match std::env::var(name) {
        Ok(v) => Zeroizing::new(v),
        Err(std::env::VarError::NotPresent) => {
            return Err(UsageError::new(format!(
                "no signing secret: the environment variable {name} is not set (set it to the endpoint's whsec_... secret, comma-separated for a rotation, or pass --secret-file PATH)"
            )));
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(UsageError::new(format!(
                "the environment variable {name} is not valid UTF-8"
            )));
        }
    };
    // Only the comma separates: a space around an item is refused like any secret
    // with surrounding whitespace, as the library refuses it, not silently trimmed.
    value
        .split(',')
        .enumerate()
        .map(|(i, item)| {
            Secret::new(item).map_err(|e| {
                UsageError::new(format!("{name}, secret {}: {e}", i.saturating_add(1)))
            })
        })
        .collect()
}

fn from_file(path: &Path) -> Result<Vec<Secret>, UsageError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        UsageError::new(format!("cannot read secret file {}: {e}", path.display()))
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        UsageError::new(format!("secret file {} is not valid UTF-8", path.display()))
    })?;
    let secrets = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            Secret::new(line).map_err(|e| {
                UsageError::new(format!(
                    "secret file {}, line {}: {e}",
                    path.display(),
                    i.saturating_add(1)
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if secrets.is_empty() {
        return Err(UsageError::new(format!(
            "secret file {} holds no secret",
            path.display()
        )));
    }
    Ok(secrets)
}

/// A signer with one `v1` per secret, in order.
pub fn signer(args: &SecretArgs) -> Result<Signer, UsageError> {
    let mut secrets = load(args)?.into_iter();
    let first = secrets
        .next()
        .ok_or_else(|| UsageError::new("no signing secret"))?;
    Ok(secrets.fold(Signer::new(first), Signer::with_secret))
}

/// A verifier for every secret (primary first) with the window, strictness and
/// bearer token the options ask for; with `--endpoint-file`, built from the endpoint
/// (its environment and events checked against each body, its token required).
pub fn verifier(policy: &PolicyArgs) -> Result<Verifier, UsageError> {
    let mut secrets = load(&policy.secrets)?.into_iter();
    let first = secrets
        .next()
        .ok_or_else(|| UsageError::new("no signing secret"))?;
    let bearer = match &policy.bearer_env {
        Some(name) => {
            let token = bearer_from_env(name)?;
            Some(BearerToken::new(&token).map_err(|e| UsageError::new(format!("{name}: {e}")))?)
        }
        None => None,
    };
    let verifier = match &policy.endpoint_file {
        None => {
            let verifier = Verifier::new(first);
            match bearer {
                Some(token) => verifier.with_bearer_token(token),
                None => verifier,
            }
        }
        Some(path) => {
            let mut endpoint = endpoint_file(path)?;
            if let Some(token) = bearer {
                endpoint = endpoint.with_bearer_token(token);
            }
            Verifier::for_endpoint_with_secret(&endpoint, first)
                .map_err(|e| endpoint_error(path, e))?
        }
    };
    Ok(secrets
        .fold(verifier, Verifier::with_secret)
        .with_max_age(Duration::from_secs(policy.max_age))
        .with_max_future(Duration::from_secs(policy.max_future))
        .with_strict(policy.strict))
}

/// An endpoint file larger than this is refused (an answer is a few hundred bytes).
const MAX_ENDPOINT_FILE: u64 = 1024 * 1024;

/// The endpoint in `path`: Nexio's answer as `endpoint create --endpoint-file`
/// writes it (a secret in it is not used: the secret comes from --secret-file or
/// --secret-env). A parse error names its place, never a value from the file.
pub fn endpoint_file(path: &Path) -> Result<Endpoint, UsageError> {
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(MAX_ENDPOINT_FILE.saturating_add(1))
                .read_to_end(&mut bytes)
        })
        .map_err(|e| {
            UsageError::new(format!("cannot read endpoint file {}: {e}", path.display()))
        })?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_ENDPOINT_FILE {
        return Err(UsageError::new(format!(
            "endpoint file {} is larger than 1 MiB",
            path.display()
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        UsageError::new(format!(
            "endpoint file {} is not an endpoint as Nexio returns it (JSON with an \"id\"; at line {} column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// The message for an endpoint the verifier refuses: its code, and what to do.
pub fn endpoint_error(path: &Path, e: EndpointError) -> UsageError {
    let advice = match e {
        EndpointError::BearerTokenRequired => {
            "; pass --bearer-env NAME, the variable holding the auth_token it was created with"
        }
        _ => "",
    };
    UsageError::new(format!(
        "--endpoint-file {}: {} ({e}){advice}",
        path.display(),
        e.code()
    ))
}

/// The endpoint's `auth_token` from an environment variable, checked like the
/// library checks it.
pub fn bearer_from_env(name: &str) -> Result<Zeroizing<String>, UsageError> {
    let token = match std::env::var(name) {
        Ok(v) => Zeroizing::new(v),
        Err(std::env::VarError::NotPresent) => {
            return Err(UsageError::new(format!(
                "--bearer-env: the environment variable {name} is not set"
            )));
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(UsageError::new(format!(
                "the environment variable {name} is not valid UTF-8"
            )));
        }
    };
    BearerToken::new(&token).map_err(|e| UsageError::new(format!("{name}: {e}")))?;
    Ok(token)
}
