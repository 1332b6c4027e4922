//! Starts and stops a real `redis-server` on 127.0.0.1 for the tests.
//!
//! A missing `redis-server` fails the test that needs it: a test that passes without
//! running would look like a pass. `bash .ci/test` installs Redis where it can and
//! runs the suite. To run the rest of the suite on a machine without Redis, set
//! `NEXIO_SKIP_REDIS_TESTS=1`: each Redis test then says `SKIPPED` on stderr.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable that, set to `1`, skips the Redis tests when no server is installed.
pub const SKIP_VAR: &str = "NEXIO_SKIP_REDIS_TESTS";

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

/// A running server on a free port, or `None` (after a `SKIPPED` line on stderr) when
/// `redis-server` is not installed and `NEXIO_SKIP_REDIS_TESTS=1` is set.
///
/// # Panics
///
/// When `redis-server` is not installed and the tests are not explicitly skipped.
pub fn start() -> Option<RedisServer> {
    let available = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        if std::env::var_os(SKIP_VAR).is_some_and(|v| v == "1") {
            // Written to the process's stderr, not through `eprintln!`, which the test
            // harness captures and hides for a test that passes.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: redis-server is not installed and {SKIP_VAR}=1 is set"
            );
            return None;
        }
        panic!(
            "redis-server is not installed, and this test needs it. Run `bash .ci/test`, \
             which installs it (as root, with apt-get) and runs the suite, or install \
             Redis yourself (Debian/Ubuntu: `apt-get install redis-server`; macOS: \
             `brew install redis`). To skip the Redis tests instead, set {SKIP_VAR}=1."
        );
    }
    let port = free_port();
    let mut server = RedisServer { port, child: None };
    server.restart();
    Some(server)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts (again) on the same port, and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.ping() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGKILL: as abrupt as a crash) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn ping(&self) -> bool {
        self.command(&["PING"])
            .is_some_and(|r| r.starts_with("+PONG"))
    }

    /// Sends one command over a raw RESP connection and returns the first reply line.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        stream.write_all(req.as_bytes()).ok()?;
        let mut line = String::new();
        let mut reader = BufReader::new(stream);
        reader.read_line(&mut line).ok()?;
        if line.starts_with('$') && !line.starts_with("$-1") {
            let mut value = String::new();
            reader.read_line(&mut value).ok()?;
            return Some(value.trim_end().to_owned());
        }
        Some(line.trim_end().to_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
