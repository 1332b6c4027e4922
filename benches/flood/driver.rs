//! The load generator of the flood benchmark: starts `flood_server` as a child
//! process, floods it from raw tokio sockets with forged 1 MiB uploads (a fresh `t=`,
//! a wrong `v1`, `Content-Length: 1 MiB`, the body trickled or never sent), mixes in
//! valid deliveries (retried after a 503, as Nexio retries), probes `/health`
//! throughout, and reads the child's RSS from `/proc`. Bounded in connections,
//! deliveries and time; every wait has a deadline.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nexio_webhooks::{Secret, Signer, sample, unix_now};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

const SECRET: &str = "whsec_abc123def456";
/// Signs the forged uploads: a well-formed header whose `v1` the server's secret
/// does not produce.
const WRONG_SECRET: &str = "whsec_wrongwrongwrong";
const MIB: u64 = 1024 * 1024;
/// The receiver's default memory budget, which the server keeps.
pub const BUDGET: u64 = 64 * MIB;

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Forged uploads held open at once.
    pub connections: usize,
    /// Valid deliveries sent during the flood.
    pub deliveries: usize,
    /// How long the flood lasts.
    pub flood: Duration,
    /// How long after the flood a valid delivery may still be retried.
    pub grace: Duration,
}

impl Config {
    pub fn full() -> Self {
        Self {
            connections: 4000,
            deliveries: 200,
            flood: Duration::from_secs(30),
            grace: Duration::from_secs(15),
        }
    }

    pub fn quick() -> Self {
        Self {
            connections: 200,
            deliveries: 40,
            flood: Duration::from_secs(5),
            grace: Duration::from_secs(6),
        }
    }
}

#[derive(Default)]
struct Counters {
    forged_attempts: AtomicUsize,
    forged_connect_errors: AtomicUsize,
    forged_statuses: std::sync::Mutex<BTreeMap<u16, usize>>,
    health_ok: AtomicUsize,
    health_failed: AtomicUsize,
    health_worst_ms: AtomicU64,
    peak_rss_kib: AtomicU64,
}

/// One valid delivery's fate.
#[derive(Debug)]
struct Fate {
    id: String,
    statuses: Vec<u16>,
}

fn server_exe() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_flood_server") {
        return PathBuf::from(path);
    }
    let me = std::env::current_exe().unwrap_or_default();
    let dir = me.parent().map(PathBuf::from).unwrap_or_default();
    // A bench target lives in deps/; the bins one level up.
    for candidate in [dir.join("flood_server"), dir.join("../flood_server")] {
        if candidate.exists() {
            return candidate;
        }
    }
    dir.join("flood_server")
}

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Reads a response head; `(status, Retry-After)`, or `None` on close or timeout.
async fn read_status(stream: &mut TcpStream, timeout: Duration) -> Option<(u16, Option<u64>)> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(chunk.get(..n)?);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(buf.get(..end)?).into_owned();
                let status = head.split(' ').nth(1)?.parse::<u16>().ok()?;
                let retry_after = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("retry-after")
                        .then(|| value.trim().parse::<u64>().ok())
                        .flatten()
                });
                return Some((status, retry_after));
            }
            if buf.len() > 64 * 1024 {
                return None;
            }
        }
    };
    tokio::time::timeout(timeout, read).await.ok().flatten()
}

fn head_for(addr: SocketAddr, headers: &[(&'static str, String)], content_length: u64) -> Vec<u8> {
    let mut req = format!("POST /webhooks HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str(&format!(
        "Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
    ));
    req.into_bytes()
}

/// How a forger sends the 1 MiB it announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// 8 KiB every 100 ms (80 KiB/s).
    Trickle,
    /// Not at all.
    Never,
    /// As fast as the socket takes it.
    Full,
}

/// One forged-upload slot: reconnects until `until`, each time announcing 1 MiB and
/// then sending it at `pace`.
async fn forger(addr: SocketAddr, pace: Pace, until: Instant, counters: Arc<Counters>) {
    let signer = Signer::new(Secret::new(WRONG_SECRET).unwrap_or_else(|_| unreachable()));
    let chunk = vec![b'x'; 8 * 1024];
    while Instant::now() < until {
        let d = signer
            .delivery(vec![b'x'; 16])
            .timestamp(unix_now())
            .build();
        let head = head_for(addr, d.headers(), MIB);
        counters.forged_attempts.fetch_add(1, Ordering::Relaxed);
        let Ok(Ok(mut stream)) =
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await
        else {
            counters
                .forged_connect_errors
                .fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if stream.write_all(&head).await.is_err() {
            continue;
        }
        let left = until.saturating_duration_since(Instant::now());
        let (mut rd, mut wr) = stream.split();
        let trickle = async {
            if pace != Pace::Never {
                let mut sent = 0u64;
                while sent < MIB {
                    if wr.write_all(&chunk).await.is_err() {
                        break;
                    }
                    sent += chunk.len() as u64;
                    if pace == Pace::Trickle {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            std::future::pending::<()>().await;
        };
        let mut buf = [0u8; 512];
        let answer = async {
            let n = rd.read(&mut buf).await.unwrap_or(0);
            let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
            text.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok())
        };
        let status = tokio::select! {
            s = answer => s,
            () = trickle => None,
            () = tokio::time::sleep(left) => None,
        };
        if let Some(status) = status {
            *counters
                .forged_statuses
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(status)
                .or_default() += 1;
            // An answered forger comes back, as an attacker would, a little later.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn unreachable() -> ! {
    eprintln!("flood: a constant secret did not parse");
    std::process::exit(2)
}

/// Sends one valid delivery, retrying after a 503 (honouring `Retry-After`, at most
/// 2 s) until it is answered otherwise or `until`.
async fn deliver(addr: SocketAddr, n: usize, until: Instant) -> Fate {
    let id = format!("evt_flood_{n:05}");
    let body = sample::RUN_COMPLETED.replace("evt_01JQ7R2M4X9K3T5V8B6N1C0D2E", &id);
    let signer = Signer::new(Secret::new(SECRET).unwrap_or_else(|_| unreachable()));
    let mut statuses = Vec::new();
    while Instant::now() < until {
        let d = signer.delivery(body.clone()).timestamp(unix_now()).build();
        let mut req = head_for(addr, d.headers(), d.body().len() as u64);
        req.extend_from_slice(d.body());
        let mut wait = Duration::from_millis(500);
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
            Ok(Ok(mut stream)) => {
                if stream.write_all(&req).await.is_ok() {
                    match read_status(&mut stream, Duration::from_secs(10)).await {
                        Some((status, retry_after)) => {
                            statuses.push(status);
                            if status != 503 && status != 409 {
                                break;
                            }
                            wait = Duration::from_secs(retry_after.unwrap_or(1).min(2));
                        }
                        None => statuses.push(0),
                    }
                } else {
                    statuses.push(0);
                }
            }
            _ => statuses.push(0),
        }
        tokio::time::sleep(wait).await;
    }
    Fate { id, statuses }
}

async fn health(addr: SocketAddr, until: Instant, counters: Arc<Counters>) {
    while Instant::now() < until {
        let started = Instant::now();
        let ok = async {
            let mut s = TcpStream::connect(addr).await.ok()?;
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .ok()?;
            read_status(&mut s, Duration::from_secs(2)).await
        };
        let answered = tokio::time::timeout(Duration::from_secs(2), ok).await;
        if matches!(answered, Ok(Some((200, _)))) {
            counters.health_ok.fetch_add(1, Ordering::Relaxed);
            let ms = started.elapsed().as_millis() as u64;
            counters.health_worst_ms.fetch_max(ms, Ordering::Relaxed);
        } else {
            counters.health_failed.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn processed(addr: SocketAddr) -> Result<HashSet<String>, String> {
    Ok(get(addr, "/processed")
        .await?
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The bytes the server's allocations hold: `(now, at most so far)`.
async fn heap(addr: SocketAddr) -> Result<(u64, u64), String> {
    let body = get(addr, "/heap").await?;
    let mut numbers = body.split_whitespace().map(str::parse::<u64>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(live)), Some(Ok(peak))) => Ok((live, peak)),
        _ => Err(format!("unexpected GET /heap answer {body:?}")),
    }
}

/// The body of `GET path`, on a connection of its own.
async fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut all))
        .await
        .map_err(|_| format!("GET {path} timed out"))?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&all);
    let (_, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no response to GET {path}"))?;
    Ok(body.to_owned())
}

/// Runs one flood; prints the figures and returns the failed targets (empty: all met).
pub fn run(cfg: Config) -> Result<Vec<String>, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(run_async(cfg))
}

async fn run_async(cfg: Config) -> Result<Vec<String>, String> {
    let exe = server_exe();
    let mut child = tokio::process::Command::new(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let pid = child.id().ok_or("the server exited at once")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .map_err(|_| "the server did not say where it listens")?
        .map_err(|e| e.to_string())?
        .ok_or("the server exited before listening")?;
    let addr: SocketAddr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("unexpected first line from the server: {line}"))?;

    // Warm up: a few deliveries, so the start figure includes a served request.
    let warm = deliver(addr, 99_999, Instant::now() + Duration::from_secs(5)).await;
    if warm.statuses.last() != Some(&200) {
        return Err(format!("warm-up delivery answered {:?}", warm.statuses));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (start_rss, _) = rss_kib(pid).ok_or("cannot read the server's /proc status")?;
    let (start_heap, _) = heap(addr).await?;

    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let flood_end = started + cfg.flood;
    let deliveries_end = flood_end + cfg.grace;

    let sampler = {
        let counters = counters.clone();
        tokio::spawn(async move {
            while Instant::now() < deliveries_end {
                if let Some((_, hwm)) = rss_kib(pid) {
                    counters.peak_rss_kib.fetch_max(hwm, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let prober = tokio::spawn(health(addr, deliveries_end, counters.clone()));
    let mut forgers = Vec::with_capacity(cfg.connections);
    for i in 0..cfg.connections {
        let pace = [Pace::Trickle, Pace::Never, Pace::Full][i % 3];
        forgers.push(tokio::spawn(forger(
            addr,
            pace,
            flood_end,
            counters.clone(),
        )));
        // Open them over the first second, not in one burst the backlog drops.
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(1000 * 50 / cfg.connections as u64)).await;
        }
    }
    let fates = Arc::new(Mutex::new(Vec::with_capacity(cfg.deliveries)));
    let mut senders = Vec::with_capacity(cfg.deliveries);
    let spacing = cfg.flood / (cfg.deliveries as u32 + 1);
    for n in 0..cfg.deliveries {
        let fates = fates.clone();
        senders.push(tokio::spawn(async move {
            let fate = deliver(addr, n, deliveries_end).await;
            fates.lock().await.push(fate);
        }));
        tokio::time::sleep(spacing).await;
    }
    for f in forgers {
        let _ = f.await;
    }
    let flood_took = started.elapsed();
    for s in senders {
        let _ = s.await;
    }
    let _ = prober.await;
    let _ = sampler.await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (end_rss, hwm) = rss_kib(pid).ok_or("the server is gone")?;
    counters.peak_rss_kib.fetch_max(hwm, Ordering::Relaxed);
    let (end_heap, peak_heap) = heap(addr).await?;
    let done = processed(addr).await?;
    let _ = child.kill().await;

    let fates = fates.lock().await;
    let accepted: Vec<&Fate> = fates
        .iter()
        .filter(|f| f.statuses.last() == Some(&200))
        .collect();
    let busy_first = fates
        .iter()
        .filter(|f| f.statuses.first() == Some(&503))
        .count();
    let max_attempts = fates.iter().map(|f| f.statuses.len()).max().unwrap_or(0);
    let lost: Vec<&Fate> = fates
        .iter()
        .filter(|f| f.statuses.last() != Some(&200))
        .collect();
    let unprocessed_2xx: Vec<&str> = accepted
        .iter()
        .filter(|f| !done.contains(&f.id))
        .map(|f| f.id.as_str())
        .collect();
    let forged_processed = done
        .iter()
        .filter(|id| !id.starts_with("evt_flood_"))
        .count();
    let peak = counters.peak_rss_kib.load(Ordering::Relaxed);
    let statuses = counters
        .forged_statuses
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();

    println!(
        "flood: {} concurrent forged 1 MiB uploads for {:.1} s (a third each trickled at 80 KiB/s, never sent, sent at full speed), {} valid deliveries mixed in",
        cfg.connections,
        flood_took.as_secs_f64(),
        cfg.deliveries
    );
    println!(
        "  forged requests: {} attempts, {} connect errors, answered {:?}",
        counters.forged_attempts.load(Ordering::Relaxed),
        counters.forged_connect_errors.load(Ordering::Relaxed),
        statuses
    );
    println!(
        "  server RSS: start {:.1} MiB, peak {:.1} MiB (budget {} MiB; target <= {} MiB), after {:.1} MiB",
        start_rss as f64 / 1024.0,
        peak as f64 / 1024.0,
        BUDGET / MIB,
        (BUDGET + 64 * MIB) / MIB,
        end_rss as f64 / 1024.0
    );
    println!(
        "  server heap (bytes its allocations hold): start {:.1} MiB, peak {:.1} MiB, after {:.1} MiB",
        start_heap as f64 / MIB as f64,
        peak_heap as f64 / MIB as f64,
        end_heap as f64 / MIB as f64
    );
    println!(
        "  /health: {} answered, {} not within 2 s, slowest {} ms",
        counters.health_ok.load(Ordering::Relaxed),
        counters.health_failed.load(Ordering::Relaxed),
        counters.health_worst_ms.load(Ordering::Relaxed)
    );
    println!(
        "  valid deliveries: {} accepted ({} first answered 503, at most {} attempts), {} lost, {} answered 2xx but not processed; {} forged processed",
        accepted.len(),
        busy_first,
        max_attempts,
        lost.len(),
        unprocessed_2xx.len(),
        forged_processed
    );

    let mut failed = Vec::new();
    if peak > (BUDGET + 64 * MIB) / 1024 {
        failed.push(format!("peak RSS {peak} KiB over budget + 64 MiB"));
    }
    if counters.health_failed.load(Ordering::Relaxed) > 0 {
        failed.push("the server did not always answer /health within 2 s".to_owned());
    }
    if !lost.is_empty() {
        let some: Vec<_> = lost.iter().take(5).map(|f| (&f.id, &f.statuses)).collect();
        failed.push(format!(
            "{} valid deliveries never accepted, e.g. {some:?}",
            lost.len()
        ));
    }
    if let Some(odd) = fates
        .iter()
        .find(|f| f.statuses.iter().any(|s| ![200, 503, 409].contains(s)))
    {
        failed.push(format!("a valid delivery was answered {:?}", odd.statuses));
    }
    if !unprocessed_2xx.is_empty() {
        failed.push(format!(
            "answered 2xx without processing: {unprocessed_2xx:?}"
        ));
    }
    if forged_processed > 0 {
        failed.push(format!("{forged_processed} forged deliveries processed"));
    }
    // Memory returns near its start: what the server's allocations hold after the
    // flood, against what they held before it (the 200-odd processed ids and guard
    // entries are the only state that should remain). RSS is reported, not judged:
    // glibc keeps freed 1 MiB buffers in its arenas instead of handing them back
    // (docs/performance.md, *Under a flood*), which says nothing of the receiver.
    if end_heap > start_heap + MIB {
        failed.push(format!(
            "the server's allocations hold {end_heap} bytes after the flood, {start_heap} before it"
        ));
    }
    // And RSS stays under the budget once the flood is over: the allocator may keep
    // pages, never more than the bodies the budget let in.
    if end_rss > start_rss + BUDGET / 1024 {
        failed.push(format!(
            "RSS after the flood {end_rss} KiB, more than the budget above its start {start_rss} KiB"
        ));
    }
    Ok(failed)
}
