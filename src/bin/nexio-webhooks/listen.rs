//! `listen`: a local receiver (work in progress).

use crate::args::ListenArgs;
use crate::fail::{Outcome, UsageError};

#[allow(clippy::unused_async)]
pub async fn run(_args: &ListenArgs) -> Result<Outcome, UsageError> {
    Err(UsageError::new("listen is not built yet"))
}
