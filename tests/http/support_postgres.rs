//! Starts and stops a throwaway PostgreSQL cluster on 127.0.0.1 for the tests.
//!
//! Each server is a fresh cluster (`initdb`) in a temporary directory, started on a free
//! port with trust authentication for `postgres@127.0.0.1`, and removed when dropped.
//! PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres`
//! system user (created by Debian's package; `nexio-pg` is created otherwise) and the
//! server runs through `setpriv` as that user.
//!
//! A missing PostgreSQL fails the test that needs it: a test that passes without
//! running would look like a pass. `bash .ci/test` installs PostgreSQL where it can.
//! To run the rest of the suite on a machine without it, set
//! `NEXIO_SKIP_POSTGRES_TESTS=1`: each PostgreSQL test then says `SKIPPED` on stderr.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The variable that, set to `1`, skips the PostgreSQL tests when no server is installed.
pub const SKIP_VAR: &str = "NEXIO_SKIP_POSTGRES_TESTS";

pub struct PgServer {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    /// `(uid, gid)` to run the server as, when this process is root.
    run_as: Option<(String, String)>,
    child: Option<Child>,
}

/// The directory holding `initdb` and `postgres`: `$NEXIO_POSTGRES_BIN`, the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu), or the one of `initdb` on `PATH`.
fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("NEXIO_POSTGRES_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

/// The system user the cluster belongs to when the tests run as root.
fn server_user() -> (String, String) {
    for user in ["postgres", "nexio-pg"] {
        if let (Some(uid), Some(gid)) = (
            output(Command::new("id").args(["-u", user])),
            output(Command::new("id").args(["-g", user])),
        ) {
            return (uid, gid);
        }
    }
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "nexio-pg",
        ])
        .status()
        .expect("run useradd");
    assert!(status.success(), "useradd nexio-pg failed");
    (
        output(Command::new("id").args(["-u", "nexio-pg"])).unwrap(),
        output(Command::new("id").args(["-g", "nexio-pg"])).unwrap(),
    )
}

/// A running cluster on a free port, or `None` (after a `SKIPPED` line on stderr) when
/// PostgreSQL is not installed and `NEXIO_SKIP_POSTGRES_TESTS=1` is set.
///
/// # Panics
///
/// When PostgreSQL is not installed and the tests are not explicitly skipped.
pub fn start() -> Option<PgServer> {
    let Some(bin) = find_bin() else {
        if std::env::var_os(SKIP_VAR).is_some_and(|v| v == "1") {
            eprintln!("SKIPPED: PostgreSQL is not installed and {SKIP_VAR}=1 is set");
            return None;
        }
        panic!(
            "PostgreSQL (initdb, postgres) is not installed, and this test needs it. Run \
             `bash .ci/test`, which installs it (as root, with apt-get) and runs the suite, \
             or install PostgreSQL yourself (Debian/Ubuntu: `apt-get install postgresql`; \
             macOS: `brew install postgresql`), or point NEXIO_POSTGRES_BIN at the directory \
             holding initdb. To skip the PostgreSQL tests instead, set {SKIP_VAR}=1."
        );
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "nexio-pg-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run_as = is_root().then(server_user);
    if let Some((uid, gid)) = &run_as {
        let status = Command::new("chown")
            .args(["-R", &format!("{uid}:{gid}")])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "chown of the cluster directory failed");
    }
    let mut server = PgServer {
        port: free_port(),
        bin,
        dir,
        run_as,
        child: None,
    };
    let out = server
        .command("initdb")
        .arg("-D")
        .arg(server.data())
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ])
        .stdout(Stdio::null())
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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

impl PgServer {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command for one of the server's binaries, as the cluster's owner.
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        match &self.run_as {
            Some((uid, gid)) => {
                let mut cmd = Command::new("setpriv");
                cmd.args([
                    &format!("--reuid={uid}"),
                    &format!("--regid={gid}"),
                    "--clear-groups",
                ])
                .arg(program);
                cmd.current_dir(&self.dir);
                cmd
            }
            None => Command::new(program),
        }
    }

    /// Starts (again) on the same data directory and port, and waits until it accepts
    /// connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.join("server.log")).unwrap();
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ready() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "postgres exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not come up on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ready(&self) -> bool {
        let pg_isready = self.bin.join("pg_isready");
        Command::new(pg_isready)
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the server at once (immediate shutdown: as abrupt as a crash, nothing
    /// flushed; recovery replays the log on restart) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
