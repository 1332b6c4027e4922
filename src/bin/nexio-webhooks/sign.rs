//! `sign`: print a signed delivery.

use std::io::Write as _;

use nexio_webhooks::unix_now;

use crate::args::{SignArgs, SignFormat};
use crate::delivery::{Blueprint, Target};
use crate::fail::{Outcome, UsageError};

pub fn run(args: &SignArgs) -> Result<Outcome, UsageError> {
    let target = Target::parse(&args.url)?;
    let prepared = Blueprint::from_args(&args.delivery)?.build(unix_now());
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
