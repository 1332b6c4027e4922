//! How a command ends: an [`Outcome`] (exit 0 or 1) or a [`UsageError`] (exit 2).

use std::fmt;
use std::process::ExitCode;

/// A command that ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything verified / every request was answered 2xx: exit 0.
    Success,
    /// At least one delivery was rejected (or answered non-2xx): exit 1.
    Rejected,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::Rejected => ExitCode::from(1),
        }
    }
}

/// The command could not do its job as asked: bad arguments, no secret, an
/// unreadable file. Exit 2 (as clap's own usage errors). The message never contains
/// a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn exit_code() -> ExitCode {
        ExitCode::from(2)
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
