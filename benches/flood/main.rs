//! The flood benchmark, full size: 4,000 concurrent forged 1 MiB uploads against an
//! axum server (a child process) behind the verifying layer, valid deliveries mixed
//! in. About 50 s. `--quick`: 200 connections, about 12 s.
//!
//!     ulimit -n 65536   # or at least twice the connections
//!     cargo run --release --manifest-path benches/Cargo.toml --bin flood [-- --quick]

mod driver;

fn main() -> std::process::ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let cfg = if quick {
        driver::Config::quick()
    } else {
        driver::Config::full()
    };
    match driver::run(cfg) {
        Ok(failed) if failed.is_empty() => {
            println!("  all targets met");
            std::process::ExitCode::SUCCESS
        }
        Ok(failed) => {
            for f in failed {
                println!("  MISSED: {f}");
            }
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("flood: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
