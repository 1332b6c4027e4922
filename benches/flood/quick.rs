//! The flood benchmark as a bench target: the quick size (200 connections) under
//! `cargo test --benches`, the full size under `cargo bench --bench flood_quick`.

#[path = "driver.rs"]
mod driver;

fn main() -> std::process::ExitCode {
    let full = std::env::args().any(|a| a == "--bench");
    let cfg = if full {
        driver::Config::full()
    } else {
        driver::Config::quick()
    };
    match driver::run(cfg) {
        Ok(failed) if failed.is_empty() => std::process::ExitCode::SUCCESS,
        Ok(failed) => {
            for f in failed {
                eprintln!("flood: missed: {f}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("flood: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
