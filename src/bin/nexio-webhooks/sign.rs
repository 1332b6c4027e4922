//! `sign`: print a signed delivery.

use std::borrow::Cow;
use std::io::Write as _;

use nexio_webhooks::{EndpointError, unix_now};

use crate::args::{SignArgs, SignFormat};
use crate::delivery::{Blueprint, Target};
use crate::fail::{Outcome, UsageError};
use crate::secrets;

pub fn run(args: &SignArgs) -> Result<Outcome, UsageError> {
    let target = Target::parse(&args.url)?;
    let mut delivery = Cow::Borrowed(&args.delivery);
    let mut events = None;
    if let Some(path) = &args.endpoint_file {
        let endpoint = secrets::endpoint_file(path)?;
        if endpoint.auth_token_configured() && args.delivery.bearer_env.is_none() {
            return Err(secrets::endpoint_error(
                path,
                EndpointError::BearerTokenRequired,
            ));
        }
        if let Some(environment) = endpoint.environment() {
            let value = serde_json::Value::String(environment.as_str().to_owned());
            // First, so a --set of the same path given by the user wins.
            delivery
                .to_mut()
                .set
                .insert(0, format!("data.run.environment={value}"));
        }
        events = endpoint.events().map(<[String]>::to_vec);
    }
    let prepared = Blueprint::from_args(&delivery)?.build(unix_now());
    if let Some(events) = events {
        let event_type = serde_json::from_slice::<serde_json::Value>(&prepared.body)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned));
        if let Some(t) = event_type
            && !events.contains(&t)
        {
            eprintln!(
                "warning: the endpoint did not subscribe to {} (a receiver built from it reports event_not_subscribed)",
                crate::verify::printable(&t)
            );
        }
    }
    let out = match args.format {
        SignFormat::Http => prepared.to_http1(&target),
        SignFormat::Headers => prepared.header_lines().into_bytes(),
        SignFormat::Curl => prepared.to_curl(&args.url)?.into_bytes(),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .map_err(|e| UsageError::new(format!("cannot write to stdout: {e}")))?;
    Ok(Outcome::Success)
}
