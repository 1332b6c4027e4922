//! Realistic `2026-03-22` payloads, for tests, examples and the command-line tool.
//!
//! ```
//! use nexio_webhooks::{dangerous, sample, EventKind, VersionPolicy};
//!
//! let event = dangerous::parse_unverified_event(sample::RUN_FAILED.as_bytes(), VersionPolicy::Exact)?;
//! assert_eq!(event.kind(), EventKind::RunFailed);
//! # Ok::<(), nexio_webhooks::ParseError>(())
//! ```

/// A `run.completed` event with an `output` and ranked `solutions`.
pub const RUN_COMPLETED: &str = r#"{"id":"evt_01JQ7R2M4X9K3T5V8B6N1C0D2E","type":"run.completed","webhook_version":"2026-03-22","created_at":"2026-03-22T12:00:05.482Z","data":{"run":{"run_id":"3f8e2a1c-7b4d-4e9f-a6c2-1d5b8e7f9a03","status":"completed","environment":"live","created_at":"2026-03-22T11:58:41.027Z","completed_at":"2026-03-22T12:00:04.913Z","engine_version":"1.3","stage":"EVALUATE","duration_ms":83886,"output":{"summary":"3 of 4 requirements covered","coverage":0.75,"gaps":[{"requirement":"REQ-014","severity":"high","detail":"no test exercises the retry path"}]},"solutions":[{"rank":1,"cluster_label":"recommended","score":0.91,"title":"Add a retry-path integration test"},{"rank":2,"cluster_label":"simplest","score":0.84,"title":"Mock the transport and assert one retry"}]}}}"#;

/// A `run.failed` event with an `error` and `error_details`.
pub const RUN_FAILED: &str = r#"{"id":"evt_01JQ7R5P8Z2W4Y6A9C3E5G7J1K","type":"run.failed","webhook_version":"2026-03-22","created_at":"2026-03-22T12:07:19.306Z","data":{"run":{"run_id":"9b2c4d6e-8f0a-4b1c-9d3e-5f7a9b1c3d5e","status":"failed","environment":"test","created_at":"2026-03-22T12:06:58.114Z","completed_at":"2026-03-22T12:07:19.201Z","engine_version":"1.3","stage":"INGEST","duration_ms":21087,"error":"input document could not be parsed","error_details":{"code":"INGEST_PARSE_ERROR","page":4,"hint":"the PDF is encrypted"}}}}"#;

/// The sample for an event type: `run.completed` or `run.failed`.
pub fn for_type(event_type: &str) -> Option<&'static str> {
    match event_type {
        "run.completed" => Some(RUN_COMPLETED),
        "run.failed" => Some(RUN_FAILED),
        _ => None,
    }
}
