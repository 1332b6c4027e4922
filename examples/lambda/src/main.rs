//! The Lambda function: `nexio_webhooks_lambda::handle` on the Lambda runtime.

use std::process::ExitCode;
use std::sync::Arc;

use lambda_http::{Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let receiver = match nexio_webhooks_lambda::receiver_from_env().await {
        Ok(receiver) => Arc::new(receiver),
        Err(e) => {
            // The function fails its init: Lambda reports it and retries, and the
            // message says which variable is wrong.
            eprintln!("nexio-webhooks-lambda: refusing to start: {e}");
            return ExitCode::from(2);
        }
    };
    let served = lambda_http::run(service_fn(move |request: Request| {
        let receiver = Arc::clone(&receiver);
        async move {
            Ok::<_, std::convert::Infallible>(
                nexio_webhooks_lambda::handle(&receiver, request).await,
            )
        }
    }))
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nexio-webhooks-lambda: runtime error: {e}");
            ExitCode::FAILURE
        }
    }
}
