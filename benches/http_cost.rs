//! The cost of a delivery over HTTP: requests per second of one server on 127.0.0.1,
//! route by route, from a closed-loop load generator (N keep-alive connections on raw
//! tokio sockets, each sending its next request when the last answer arrived) for a
//! fixed time per route. The server runs on one thread, the load generator on
//! another, so each has a core of a 2-core machine.
//!
//! axum: (a) `Bytes`, nothing done — the floor; (b) the `NexioWebhook` extractor;
//! (c) `NexioWebhookLayer` with a `Json<T>` handler; (d) svix verifying in the
//! handler. actix-web: (a) and (b), and the middleware with a `web::Bytes` handler.
//! 1 KiB and 64 KiB bodies. Prints each figure and the ratios (b)/(a), (c)/(a),
//! (d)/(b).
//!
//! Besides requests per second, the servers' CPU time per request: the process's CPU
//! time (`/proc/self/stat`) less the load generator's thread, over the measured
//! interval. When the server's core is saturated the two say the same; when it is
//! not (the load generator can be the bottleneck, notably with `--fresh`), only the
//! CPU time is the cost of a delivery.
//!
//!     cargo run --release --manifest-path benches/Cargo.toml --bin http_cost [-- SECONDS CONNECTIONS [ROUTE]] [--fresh]
//!
//! With a ROUTE (`a` to `d`, or `xa`, `xb`, `xm` for actix-web), only that route at
//! 1 KiB, for a profiler. With `--fresh`, every request on a new connection
//! (`Connection: close`), as a sender that does not keep connections alive makes
//! them: the floor then includes accepting and closing a connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use nexio_webhooks::tower::NexioWebhookLayer;
use nexio_webhooks::{NexioWebhook, RawBody, Receiver, Secret, Signer, Verifier, sample, unix_now};
use serde::Deserialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// `whsec_` + base64, which svix decodes and Nexio takes whole (as benches/verify.rs).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwQm3ET1R5bXo=";

fn receiver() -> Receiver {
    Receiver::new(Verifier::new(
        Secret::new(SECRET).unwrap_or_else(|_| bad_secret()),
    ))
}

fn bad_secret() -> ! {
    eprintln!("http_cost: the constant secret did not parse");
    std::process::exit(2)
}

/// What the `Json<T>` handler of route (c) deserializes.
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

fn axum_app(svix: Arc<svix::webhooks::Webhook>) -> Router {
    Router::new()
        .route("/a", post(|_: Bytes| async { StatusCode::OK }))
        .route(
            "/b",
            post(|_: NexioWebhook<RawBody>| async { StatusCode::OK }).with_state(receiver()),
        )
        .route(
            "/c",
            post(|axum::Json(e): axum::Json<Event>| async move {
                if e.id.is_empty() || e.kind.is_empty() {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::OK
                }
            })
            .route_layer(NexioWebhookLayer::new(receiver())),
        )
        .route(
            "/d",
            post(move |headers: HeaderMap, body: Bytes| async move {
                match svix.verify(&body, &headers) {
                    Ok(()) => StatusCode::OK,
                    Err(_) => StatusCode::UNAUTHORIZED,
                }
            }),
        )
}

fn start_axum(svix: Arc<svix::webhooks::Webhook>) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| fail(&e.to_string()));
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| fail(&e.to_string()));
            let _ = tx.send(
                listener
                    .local_addr()
                    .unwrap_or_else(|e| fail(&e.to_string())),
            );
            let _ = axum::serve(listener, axum_app(svix)).await;
        });
    });
    rx.recv().unwrap_or_else(|e| fail(&e.to_string()))
}

fn start_actix() -> SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let receiver = receiver();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(receiver.clone()))
                    .route(
                        "/a",
                        web::post().to(|_: web::Bytes| async { HttpResponse::Ok().finish() }),
                    )
                    .route(
                        "/b",
                        web::post()
                            .to(|_: NexioWebhook<RawBody>| async { HttpResponse::Ok().finish() }),
                    )
                    .service(
                        web::resource("/m")
                            .wrap(nexio_webhooks::actix::NexioWebhookMiddleware::new(
                                receiver.clone(),
                            ))
                            .route(
                                web::post()
                                    .to(|_: web::Bytes| async { HttpResponse::Ok().finish() }),
                            ),
                    )
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| fail(&e.to_string()));
            let _ = tx.send(server.addrs().first().copied());
            let _ = server.run().await;
        });
    });
    rx.recv()
        .ok()
        .flatten()
        .unwrap_or_else(|| fail("actix-web did not bind"))
}

fn fail(why: &str) -> ! {
    eprintln!("http_cost: {why}");
    std::process::exit(2)
}

/// A JSON event of exactly `size` bytes: the sample with a padding field.
fn body_of(size: usize) -> Vec<u8> {
    let base = sample::RUN_COMPLETED;
    let stem = base.strip_suffix('}').unwrap_or(base);
    let fixed = stem.len() + ",\"pad\":\"\"}".len();
    let pad = "x".repeat(size.saturating_sub(fixed));
    format!("{stem},\"pad\":\"{pad}\"}}").into_bytes()
}

/// The bytes of one request to `path`: Nexio's headers, or svix's for `svix`; with
/// `Connection: close` when every request has a connection of its own.
fn request(
    path: &str,
    body: &[u8],
    svix: Option<&svix::webhooks::Webhook>,
    fresh: bool,
) -> Vec<u8> {
    let mut head =
        format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n");
    if fresh {
        head.push_str("Connection: close\r\n");
    }
    match svix {
        Some(wh) => {
            let ts = unix_now();
            let id = "msg_2Lx7cK9yWq3vN5bR8tF1hJ4mP6d";
            let sig = wh
                .sign(id, ts, body)
                .unwrap_or_else(|e| fail(&e.to_string()));
            head.push_str(&format!(
                "svix-id: {id}\r\nsvix-timestamp: {ts}\r\nsvix-signature: {sig}\r\n"
            ));
        }
        None => {
            let d = Signer::new(Secret::new(SECRET).unwrap_or_else(|_| bad_secret()))
                .delivery(body.to_vec())
                .timestamp(unix_now())
                .build();
            for (name, value) in d.headers() {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    req
}

/// One client in a closed loop until `stop`, on one keep-alive connection or (`fresh`)
/// a new connection per request; counts 200s, and returns the first other status
/// seen.
async fn connection(
    addr: SocketAddr,
    req: Arc<Vec<u8>>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    fresh: bool,
) -> Result<(), String> {
    let connect = || async {
        let s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok::<_, String>(s)
    };
    let mut s = connect().await?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        if fresh && !first {
            s = connect().await?;
            buf.clear();
        }
        first = false;
        s.write_all(&req).await.map_err(|e| e.to_string())?;
        // Read one whole response (head and Content-Length body).
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let status = head.split(' ').nth(1).unwrap_or("").to_owned();
                    buf.drain(..end + 4 + len);
                    if status != "200" {
                        return Err(format!("answered {status}"));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".to_owned());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(())
}

/// CPU time (user + system, in 1/100 s) from a `/proc/.../stat` file.
fn cpu_ticks(path: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // After the command name in parentheses: state, then utime and stime at 11, 12.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The servers' CPU time: the whole process's less this thread's (the load
/// generator runs on the main thread).
fn server_ticks() -> u64 {
    let me = format!("/proc/self/task/{}/stat", std::process::id());
    match (cpu_ticks("/proc/self/stat"), cpu_ticks(&me)) {
        (Some(all), Some(mine)) => all.saturating_sub(mine),
        _ => fail("cannot read CPU times from /proc"),
    }
}

/// One route's figures.
#[derive(Clone, Copy)]
struct Figures {
    /// Requests per second.
    rps: f64,
    /// The servers' CPU time per request, in microseconds.
    cpu_us: f64,
}

/// Requests per second and CPU time per request on one route: `conns` clients,
/// `secs` measured after a short warm-up. Runs on the main thread.
fn measure(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    req: Vec<u8>,
    conns: usize,
    secs: f64,
    fresh: bool,
) -> Figures {
    rt.block_on(async move {
        let req = Arc::new(req);
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..conns)
            .map(|_| {
                tokio::spawn(connection(
                    addr,
                    req.clone(),
                    stop.clone(),
                    done.clone(),
                    fresh,
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (n0, t0, c0) = (done.load(Ordering::Relaxed), Instant::now(), server_ticks());
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let (n1, t1, c1) = (done.load(Ordering::Relaxed), Instant::now(), server_ticks());
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            match t.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => fail(&format!("{addr}: {e}")),
                Err(e) => fail(&e.to_string()),
            }
        }
        let requests = (n1 - n0).max(1) as f64;
        Figures {
            rps: (n1 - n0) as f64 / (t1 - t0).as_secs_f64(),
            cpu_us: (c1 - c0) as f64 * 10_000.0 / requests,
        }
    })
}

fn main() {
    let fresh = std::env::args().any(|a| a == "--fresh");
    let args: Vec<String> = std::env::args().filter(|a| a != "--fresh").collect();
    let secs: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let conns: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(32);
    // One route only (`a`, `b`, `c`, `d`, or actix-web's `xa`, `xb`, `xm`) at 1 KiB,
    // for a profiler attached to this process.
    if let Some(only) = args.get(3) {
        let svix =
            Arc::new(svix::webhooks::Webhook::new(SECRET).unwrap_or_else(|e| fail(&e.to_string())));
        let (addr, path) = match only.strip_prefix('x') {
            Some(route) => (start_actix(), format!("/{route}")),
            None => (start_axum(svix.clone()), format!("/{only}")),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| fail(&e.to_string()));
        let req = request(
            &path,
            &body_of(1024),
            (only == "d").then_some(&*svix),
            fresh,
        );
        let f = measure(&rt, addr, req, conns, secs, fresh);
        println!(
            "{only} 1 KiB {:.0} requests/s {:.2} µs/request",
            f.rps, f.cpu_us
        );
        return;
    }
    let svix =
        Arc::new(svix::webhooks::Webhook::new(SECRET).unwrap_or_else(|e| fail(&e.to_string())));
    let axum_addr = start_axum(svix.clone());
    let actix_addr = start_actix();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()));
    println!(
        "{conns} clients, {}, {secs} s per route: requests/s and the servers' CPU µs per request",
        if fresh {
            "a new connection per request"
        } else {
            "keep-alive connections"
        }
    );
    for size in [1024, 64 * 1024] {
        let body = body_of(size);
        let label = format!("{} KiB", size / 1024);
        let mut all = std::collections::BTreeMap::new();
        let routes = [
            ("a", "a", axum_addr),
            ("b", "b", axum_addr),
            ("c", "c", axum_addr),
            ("d", "d", axum_addr),
            ("xa", "a", actix_addr),
            ("xb", "b", actix_addr),
            ("xm", "m", actix_addr),
        ];
        for (name, path, addr) in routes {
            let req = request(
                &format!("/{path}"),
                &body,
                (name == "d").then_some(&*svix),
                fresh,
            );
            let f = measure(&rt, addr, req, conns, secs, fresh);
            let server = if name.starts_with('x') {
                "actix"
            } else {
                "axum"
            };
            println!(
                "{server:<6} {label:>6} ({path}) {:>9.0} requests/s {:>7.2} µs/request",
                f.rps, f.cpu_us
            );
            all.insert(name, f);
        }
        let pairs = [
            ("axum (b)/(a)", "b", "a"),
            ("axum (c)/(a)", "c", "a"),
            ("axum (d)/(b)", "d", "b"),
            ("actix (b)/(a)", "xb", "xa"),
            ("actix middleware/(a)", "xm", "xa"),
        ];
        for (what, x, y) in pairs {
            // Throughput x/y, and cost y/x: both read "higher is closer to free".
            println!(
                "ratio {label:>6} {what:<21} requests/s {:.3}  CPU per request {:.3}",
                all[x].rps / all[y].rps,
                all[y].cpu_us / all[x].cpu_us
            );
        }
    }
}
