//! wrk against `http-server` on our stack over TUN, beside the same hyper service on the
//! kernel's sockets over a veth pair: requests per second and the 99th percentile latency.
//!
//! ```text
//! cargo bench -p tunstack-demos --bench http                       # -c16 and -c64, 5 s each
//! cargo bench -p tunstack-demos --bench http -- --seconds 3 --connections 8,32,128
//! cargo bench -p tunstack-demos --bench http -- --path /bytes/100000
//! cargo bench -p tunstack-demos --bench http -- --path /bytes/100000 --offload   # http-server --offload
//! ```
//!
//! Needs root and wrk (Debian: `apt-get install wrk`). Both servers run on tokio's
//! multi-thread runtime with two workers (this machine's cores), in namespaces made for the run
//! and deleted after it:
//!
//! ```text
//!   ours:        one namespace   wrk 10.77.0.1 ──tun0──► http-server (the demo binary) 10.77.0.2
//!   kernel/veth: two namespaces  wrk 10.78.0.1 ──veth──► hyper on tokio's sockets    10.78.0.2
//! ```
//!
//! Ours is the demo as a user runs it: the built `http-server` binary, started inside the
//! namespace, where it makes `tun0` (its `#[tokio::main]` runtime has a worker per core). The
//! kernel's side is the same hyper HTTP/1.1 server (the demo's keep-alive, half-close and
//! header-timeout settings, Nagle off) serving the same `/bytes/N` body ([`PatternBody`]) on
//! `tokio::net` sockets, in this process, on a runtime whose two workers are in its namespace.
//! wrk (`-t2 --latency`) asks for `--path` (default `/bytes/1000`) over kept-alive
//! connections for `--seconds` (default 5) at each connection count (default 16 and 64). A
//! run with socket errors or non-2xx answers is reported as failed, not counted.

use std::convert::Infallible;
use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use http_body_util::Either;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::runtime::Runtime;
use tunstack::device::netns::NetNs;
use tunstack_demos::http::pattern::{PatternBody, MAX_LEN};
use tunstack_tests::{
    load_averages, output_within, skip_or_fail, tun_tests_can_run, uptime, Running, STACK,
};

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");
/// The kernel server's address on the veth pair, and wrk's.
const VETH_SERVER: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
const VETH_CLIENT: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
/// How long the demo may take to say it is ready.
const READY: Duration = Duration::from_secs(10);

/// What the command line asks for.
struct Options {
    seconds: u32,
    connections: Vec<u32>,
    path: String,
    /// Runs http-server with `--offload` (TSO, GSO and checksum offload on its TUN device).
    offload: bool,
}

/// Parses `--seconds S`, `--connections N,N...`, `--path /bytes/N` and `--offload`; other
/// arguments (cargo passes `--bench`) are ignored.
fn options() -> Result<Options, String> {
    let mut options = Options {
        seconds: 5,
        connections: vec![16, 64],
        path: "/bytes/1000".into(),
        offload: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => options.seconds = value()?.parse().map_err(|e| format!("{e}"))?,
            "--connections" => {
                options.connections = value()?
                    .split(',')
                    .map(|n| n.trim().parse().map_err(|e| format!("{n}: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--path" => options.path = value()?,
            "--offload" => options.offload = true,
            _ => {}
        }
    }
    if options.seconds == 0 || options.connections.contains(&0) {
        return Err("--seconds and every connection count must be more than 0".into());
    }
    Ok(options)
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
struct Measured {
    requests_per_second: f64,
    p99: Duration,
}

fn main() {
    if !tun_tests_can_run() {
        return;
    }
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        skip_or_fail("wrk is not installed (Debian: apt-get install wrk)");
        return;
    }
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("http: {err}");
            std::process::exit(2);
        }
    };
    println!(
        "wrk -t2 --latency -d{}s on {} over kept-alive connections: http-server (ours, over \
         TUN) and the same hyper service on the kernel's sockets (over veth); both on tokio's \
         multi-thread runtime, 2 workers",
        options.seconds, options.path
    );
    println!("{}", uptime());
    println!();
    let ours = run_all(&options, ours);
    let kernel = run_all(&options, kernel);
    println!();
    println!(
        "{:>6} {:>14} {:>14} {:>10} {:>10} {:>10} {:>10}",
        "conns", "ours req/s", "kernel req/s", "ratio", "ours p99", "kern p99", "ratio"
    );
    for ((&c, ours), kernel) in options.connections.iter().zip(ours).zip(kernel) {
        let cell = |m: &Option<Measured>, f: fn(&Measured) -> f64| m.as_ref().map(f);
        let rps = |m: &Measured| m.requests_per_second;
        let p99 = |m: &Measured| m.p99.as_secs_f64() * 1e6;
        let show = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}×", a / b),
            _ => "-".into(),
        };
        let (or, kr) = (cell(&ours, rps), cell(&kernel, rps));
        let (op, kp) = (cell(&ours, p99), cell(&kernel, p99));
        println!(
            "{c:>6} {:>14} {:>14} {:>10} {:>8} µs {:>7} µs {:>10}",
            show(or),
            show(kr),
            ratio(or, kr),
            show(op),
            show(kp),
            ratio(op, kp)
        );
    }
    println!();
    println!("{}", uptime());
}

/// Starts a server, calls the closure with the namespace wrk runs in and the URL to ask for,
/// then stops the server.
type StartServer = fn(&Options, &mut dyn FnMut(&NetNs, &str)) -> io::Result<()>;

/// Runs wrk at every connection count against the server `start` starts, printing a line per
/// run; a failed run is `None`.
fn run_all(options: &Options, start: StartServer) -> Vec<Option<Measured>> {
    let mut results = vec![None; options.connections.len()];
    let outcome = start(options, &mut |ns, url| {
        for (i, &connections) in options.connections.iter().enumerate() {
            let load = load_averages();
            match wrk(ns, url, connections, options.seconds) {
                Ok(measured) => {
                    println!(
                        "  {url:<28} -c{connections:<4} {:>9.0} req/s  p99 {:>7} µs   (load {load})",
                        measured.requests_per_second,
                        measured.p99.as_micros()
                    );
                    results[i] = Some(measured);
                }
                Err(err) => println!("  {url:<28} -c{connections:<4} FAILED: {err}"),
            }
        }
    });
    if let Err(err) = outcome {
        println!("  FAILED: {err}");
    }
    results
}

/// The demo in a namespace of its own; `runs` gets the namespace wrk runs in and the URL.
fn ours(options: &Options, runs: &mut dyn FnMut(&NetNs, &str)) -> io::Result<()> {
    let ns = NetNs::create("tunstack-bench-http")?;
    let args: &[&str] = if options.offload { &["--offload"] } else { &[] };
    let mut demo = Running::spawn(&mut ns.exec(HTTP_SERVER, args))?;
    demo.wait_for_line("ready", READY)?;
    runs(&ns, &format!("http://{STACK}{}", options.path));
    demo.interrupt()?;
    let exited = demo.wait_within(Duration::from_secs(10))?;
    if !exited.status.success() {
        return Err(io::Error::other(format!("http-server: {exited:?}")));
    }
    Ok(())
}

/// The same hyper service on the kernel's sockets, the client in another namespace over veth.
fn kernel(options: &Options, runs: &mut dyn FnMut(&NetNs, &str)) -> io::Result<()> {
    let server_ns = NetNs::create("tunstack-bench-http")?;
    let client_ns = NetNs::create("tunstack-bench-wrk")?;
    veth(&server_ns, &client_ns)?;
    let runtime = server_ns.run(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    })??;
    server_ns.run(|| {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind((VETH_SERVER, 80)).await?;
            tokio::spawn(serve_kernel(listener));
            Ok::<_, io::Error>(())
        })
    })??;
    runs(&client_ns, &format!("http://{VETH_SERVER}{}", options.path));
    shutdown(runtime);
    Ok(())
}

/// Stops the kernel's server.
fn shutdown(runtime: Runtime) {
    runtime.shutdown_timeout(Duration::from_secs(2));
}

/// Accepts connections for ever, each served by a task of its own, as http-server does.
async fn serve_kernel(listener: tokio::net::TcpListener) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true)
        .half_close(true);
    while let Ok((conn, _)) = listener.accept().await {
        let _ = conn.set_nodelay(true);
        let http = http.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|request| {
                std::future::ready(Ok::<_, Infallible>(answer(&request)))
            });
            let _ = http.serve_connection(TokioIo::new(conn), service).await;
        });
    }
}

/// The answer to `/bytes/N` as http-server gives it, and 404 to anything else.
fn answer(
    request: &Request<Incoming>,
) -> Response<Either<http_body_util::Full<hyper::body::Bytes>, PatternBody>> {
    let len = request
        .uri()
        .path()
        .strip_prefix("/bytes/")
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|&len| len <= MAX_LEN);
    let Some(len) = len else {
        let mut response = Response::new(Either::Left(http_body_util::Full::default()));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let mut response = Response::new(Either::Right(PatternBody::new(len)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(SERVER, HeaderValue::from_static("tunstack http-server"));
    response
}

/// A veth pair between the two namespaces, made inside `server` (never in the host's).
fn veth(server: &NetNs, client: &NetNs) -> io::Result<()> {
    let link = [
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ];
    sh(server, &[&link[..], &["netns", client.name()]].concat())?;
    for (ns, dev, addr) in [
        (server, "veth0", VETH_SERVER),
        (client, "veth1", VETH_CLIENT),
    ] {
        sh(ns, &["link", "set", "dev", "lo", "up"])?;
        sh(ns, &["addr", "add", &format!("{addr}/24"), "dev", dev])?;
        sh(ns, &["link", "set", "dev", dev, "up"])?;
    }
    Ok(())
}

/// Runs `ip ARGS...` inside `ns`, failing if it does.
fn sh(ns: &NetNs, args: &[&str]) -> io::Result<()> {
    let status = ns.exec("ip", args).status()?;
    if !status.success() {
        return Err(io::Error::other(format!("ip {args:?}: {status}")));
    }
    Ok(())
}

/// One wrk run inside `ns`.
fn wrk(ns: &NetNs, url: &str, connections: u32, seconds: u32) -> io::Result<Measured> {
    let (c, d) = (format!("-c{connections}"), format!("-d{seconds}s"));
    let args = ["-t2", &c, &d, "--latency", url];
    let limit = Duration::from_secs(u64::from(seconds) + 30);
    let output = output_within(&mut ns.exec("wrk", &args), limit)?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || report.contains("Socket errors") || report.contains("Non-2xx") {
        return Err(io::Error::other(format!("wrk {args:?}: {report}")));
    }
    let requests_per_second = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok());
    let p99 = report
        .lines()
        .find_map(|line| line.trim().strip_prefix("99%"))
        .and_then(|text| duration(text.trim()));
    match (requests_per_second, p99) {
        (Some(requests_per_second), Some(p99)) => Ok(Measured {
            requests_per_second,
            p99,
        }),
        _ => Err(io::Error::other(format!(
            "no Requests/sec or 99%: {report}"
        ))),
    }
}

/// A wrk duration: `215.00us`, `1.23ms`, `2.00s`.
fn duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    let seconds = number.parse::<f64>().ok()? * scale;
    Duration::try_from_secs_f64(seconds).ok()
}
