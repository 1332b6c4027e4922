//! Secrets from the environment or from files — never from a plain argument, never
//! printed. Error messages name the variable or file, never the value.

use std::path::Path;
use std::time::Duration;

use nexio_webhooks::{BearerToken, Secret, Signer, Verifier};
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
/// bearer token the options ask for.
pub fn verifier(policy: &PolicyArgs) -> Result<Verifier, UsageError> {
    let mut secrets = load(&policy.secrets)?.into_iter();
    let first = secrets
        .next()
        .ok_or_else(|| UsageError::new("no signing secret"))?;
    let mut verifier = secrets
        .fold(Verifier::new(first), Verifier::with_secret)
        .with_max_age(Duration::from_secs(policy.max_age))
        .with_max_future(Duration::from_secs(policy.max_future))
        .with_strict(policy.strict);
    if let Some(name) = &policy.bearer_env {
        let token = bearer_from_env(name)?;
        let token =
            BearerToken::new(&token).map_err(|e| UsageError::new(format!("{name}: {e}")))?;
        verifier = verifier.with_bearer_token(token);
    }
    Ok(verifier)
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
