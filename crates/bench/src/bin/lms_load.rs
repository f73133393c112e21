//! Load generator for the learner hot path (issue 4): C keep-alive HTTP/1.1 connections to a
//! running `bdtx serve`, one task per connection; each round trip of a virtual learner is
//!
//!   GET  /api/v1/learn/{e}/items/{lesson}               open a lesson
//!   POST /api/v1/learn/{e}/items/{lesson}/progress      record progress
//!   PUT  /api/v1/learn/{e}/items/{quiz}/answers/c4      answer a question (opens an attempt)
//!   POST /api/v1/learn/{e}/items/{quiz}/submit          submit the attempt
//!
//! with the learners of the file (from `lms_setup`) taken in turn, so consecutive round trips
//! are different people; a learner's k-th round trip uses lesson k mod 6 and quiz k mod 3 (after
//! three attempts at a quiz, answering is refused with 422 and submitting returns the result).
//! Every response counts as served; status codes are reported per request kind.
//!
//! Closed loop by default (each connection sends its next request when the previous answer
//! arrives: the server's capacity at that concurrency). With `--rate R` the connections send R
//! requests/s in total on a fixed schedule and latency is measured from the scheduled instant
//! (no coordinated omission). A GET /healthz at the same concurrency follows as the baseline:
//! closed loop, the most this client and server reach on this machine for any request; paced,
//! the latency the client, the HTTP stack and the machine add at that rate.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Parser, Clone)]
#[command(about = "Replay the learner hot path against a running bdtx server and print throughput and latency")]
struct Args {
    /// Server address (host:port).
    #[arg(long)]
    addr: SocketAddr,
    /// File of `enrollment_id token` lines written by lms_setup.
    #[arg(long)]
    learners: PathBuf,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 2000)]
    connections: usize,
    /// Seconds measured (after the warm-up).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of warm-up, not measured.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Total requests per second to offer, spread over the connections (0: closed loop, as fast
    /// as the server answers).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Seconds of the GET /healthz baseline at the same concurrency, closed loop or paced like
    /// the hot path (0: none).
    #[arg(long, default_value_t = 10)]
    baseline: u64,
    /// Client worker threads (the server runs on the same machine).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Label printed with the results (e.g. the backend).
    #[arg(long, default_value = "")]
    label: String,
    /// Also print, second by second, the hot path's requests, p99 and max latency (where in the
    /// run the slow answers were).
    #[arg(long)]
    timeline: bool,
}

const LESSONS: [&str; 6] = ["bai-1-1", "bai-1-2", "bai-2-1", "bai-2-2", "bai-3-1", "bai-3-2"];
const QUIZZES: [&str; 3] = ["kiem-tra-1", "kiem-tra-2", "kiem-tra-3"];
/// A true/false question present in every quiz of the demo course.
const QUESTION: &str = "c4";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Open = 0,
    Progress = 1,
    Answer = 2,
    Submit = 3,
    Health = 4,
}
const KINDS: usize = 5;
const NAMES: [&str; KINDS] =
    ["open lesson (GET)", "record progress (POST)", "answer (PUT)", "submit quiz (POST)", "healthz"];

struct Stats {
    hist: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            hist: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            statuses: BTreeMap::new(),
            transport_errors: 0,
        }
    }
}

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

struct Shared {
    phase: AtomicU8,
    /// When measuring started, and one histogram per measured second (all kinds).
    measured_from: Mutex<Option<Instant>>,
    seconds: Vec<Mutex<Histogram<u64>>>,
    next_learner: AtomicUsize,
    learners: Vec<(i64, String)>,
    stats: [Mutex<Stats>; KINDS],
    host: String,
}

impl Shared {
    fn record(&self, kind: Kind, latency: Duration, status: Option<u16>) {
        if self.phase.load(Ordering::Relaxed) != MEASURE {
            return;
        }
        if status.is_some()
            && !self.seconds.is_empty()
            && let Some(from) = *self.measured_from.lock().expect("measured_from")
            && let Some(h) = self.seconds.get(from.elapsed().as_secs() as usize)
        {
            h.lock().expect("seconds").saturating_record(latency.as_micros().max(1) as u64);
        }
        let mut s = self.stats[kind as usize].lock().expect("stats");
        match status {
            Some(code) => {
                *s.statuses.entry(code).or_default() += 1;
                s.hist.saturating_record(latency.as_micros().max(1) as u64);
            }
            None => s.transport_errors += 1,
        }
    }
}

fn request(
    sh: &Shared,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&'static str>,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder().method(method).uri(path).header("host", &sh.host);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(json) => {
            b = b.header("content-type", "application/json");
            Bytes::from_static(json.as_bytes())
        }
        None => Bytes::new(),
    };
    b.body(Full::new(body)).expect("request")
}

async fn connect(addr: SocketAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Send one request and read the whole answer; `Err` is a transport failure (the connection
/// is then replaced).
async fn send(sender: &mut SendRequest<Full<Bytes>>, req: Request<Full<Bytes>>) -> Result<(u16, Bytes), hyper::Error> {
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// One connection's loop. `interval`: time between this connection's requests in paced mode.
async fn connection(
    sh: Arc<Shared>,
    addr: SocketAddr,
    mut sender: Option<SendRequest<Full<Bytes>>>,
    baseline: bool,
    interval: Option<Duration>,
    offset: Duration,
) {
    let mut next = Instant::now() + offset;
    loop {
        let plan: Vec<(Kind, Request<Full<Bytes>>)> = if baseline {
            vec![(Kind::Health, request(&sh, Method::GET, "/healthz", None, None))]
        } else {
            let i = sh.next_learner.fetch_add(1, Ordering::Relaxed);
            let (e, token) = &sh.learners[i % sh.learners.len()];
            let pass = i / sh.learners.len();
            let (lesson, quiz) = (LESSONS[pass % LESSONS.len()], QUIZZES[pass % QUIZZES.len()]);
            let base = format!("/api/v1/learn/{e}/items");
            vec![
                (Kind::Open, request(&sh, Method::GET, &format!("{base}/{lesson}"), Some(token), None)),
                (Kind::Progress, request(&sh, Method::POST, &format!("{base}/{lesson}/progress"), Some(token), None)),
                (
                    Kind::Answer,
                    request(
                        &sh,
                        Method::PUT,
                        &format!("{base}/{quiz}/answers/{QUESTION}"),
                        Some(token),
                        Some(r#"{"type":"true_false","value":true}"#),
                    ),
                ),
                (Kind::Submit, request(&sh, Method::POST, &format!("{base}/{quiz}/submit"), Some(token), None)),
            ]
        };
        for (kind, req) in plan {
            if sh.phase.load(Ordering::Relaxed) == STOP {
                return;
            }
            let start = match interval {
                Some(iv) => {
                    tokio::time::sleep_until(next.into()).await;
                    let scheduled = next;
                    next += iv;
                    scheduled
                }
                None => Instant::now(),
            };
            let s = match sender.take() {
                Some(s) => Some(s),
                None => connect(addr).await.ok(),
            };
            let Some(mut s) = s else {
                sh.record(kind, start.elapsed(), None);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            match send(&mut s, req).await {
                Ok((status, _)) => {
                    sh.record(kind, start.elapsed(), Some(status));
                    sender = Some(s);
                }
                Err(_) => sh.record(kind, start.elapsed(), None),
            }
        }
    }
}

struct Outcome {
    stats: Vec<Stats>,
    secs: f64,
    seconds: Vec<Histogram<u64>>,
}

async fn run(args: &Args, learners: &[(i64, String)], baseline: bool, warmup: u64, secs: u64) -> Result<Outcome> {
    let timeline = if args.timeline && !baseline { secs as usize + 1 } else { 0 };
    let sh = Arc::new(Shared {
        phase: AtomicU8::new(WARMUP),
        measured_from: Mutex::new(None),
        seconds: (0..timeline).map(|_| Mutex::new(Stats::new().hist)).collect(),
        next_learner: AtomicUsize::new(0),
        learners: learners.to_vec(),
        stats: std::array::from_fn(|_| Mutex::new(Stats::new())),
        host: args.addr.to_string(),
    });
    // Connections are opened one after another before any load, so that 2,000 simultaneous
    // connects do not overflow the server's accept backlog.
    let mut senders = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        senders.push(connect(args.addr).await.with_context(|| format!("connecting to {}", args.addr))?);
    }
    // The baseline is paced too when the hot path is: the latency this client, the HTTP stack and
    // the machine add at that rate whatever the request does.
    let interval = (args.rate > 0).then(|| Duration::from_secs_f64(args.connections as f64 / args.rate as f64));
    let mut tasks = Vec::with_capacity(args.connections);
    for (i, s) in senders.into_iter().enumerate() {
        let offset = interval.map(|iv| iv.mul_f64(i as f64 / args.connections as f64)).unwrap_or_default();
        tasks.push(tokio::spawn(connection(sh.clone(), args.addr, Some(s), baseline, interval, offset)));
    }
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let started = Instant::now();
    *sh.measured_from.lock().expect("measured_from") = Some(started);
    sh.phase.store(MEASURE, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    sh.phase.store(STOP, Ordering::Relaxed);
    let measured = started.elapsed().as_secs_f64();
    // Requests in flight at the end are not counted; give them a moment, then drop them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for mut t in tasks {
        if tokio::time::timeout_at(deadline, &mut t).await.is_err() {
            t.abort();
        }
    }
    let stats = sh.stats.iter().map(|m| std::mem::replace(&mut *m.lock().expect("stats"), Stats::new())).collect();
    let seconds = sh.seconds.iter().map(|m| m.lock().expect("seconds").clone()).collect();
    Ok(Outcome { stats, secs: measured, seconds })
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn line(name: &str, s: &Stats, secs: f64) -> f64 {
    let n = s.hist.len();
    let rate = n as f64 / secs;
    let codes: Vec<String> = s.statuses.iter().map(|(c, k)| format!("{c}×{k}")).collect();
    let transport =
        if s.transport_errors > 0 { format!(" transport-errors×{}", s.transport_errors) } else { String::new() };
    println!(
        "{name:<24} {n:>9} {rate:>9.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1}  {}{transport}",
        ms(s.hist.value_at_quantile(0.50)),
        ms(s.hist.value_at_quantile(0.90)),
        ms(s.hist.value_at_quantile(0.99)),
        ms(s.hist.max()),
        codes.join(" "),
    );
    rate
}

fn header() {
    println!(
        "{:<24} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}  statuses",
        "request", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
}

async fn probe(args: &Args, learners: &[(i64, String)]) -> Result<()> {
    let (e, token) = &learners[0];
    let mut s = connect(args.addr).await.with_context(|| format!("connecting to {}", args.addr))?;
    let sh = Shared {
        phase: AtomicU8::new(STOP),
        measured_from: Mutex::new(None),
        seconds: vec![],
        next_learner: AtomicUsize::new(0),
        learners: vec![],
        stats: std::array::from_fn(|_| Mutex::new(Stats::new())),
        host: args.addr.to_string(),
    };
    let (status, body) =
        send(&mut s, request(&sh, Method::GET, &format!("/api/v1/learn/{e}"), Some(token), None)).await?;
    if status != 200 {
        bail!("probe GET /api/v1/learn/{e} answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

/// This process's CPU time (user, system) in seconds, from /proc (Linux only).
fn own_cpu() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    let tick = 100.0; // USER_HZ, 100 on every Linux this runs on
    Some((fields.get(11)?.parse::<f64>().ok()? / tick, fields.get(12)?.parse::<f64>().ok()? / tick))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let text =
        std::fs::read_to_string(&args.learners).with_context(|| format!("reading {}", args.learners.display()))?;
    let learners: Vec<(i64, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (e, t) = l.split_once(' ').with_context(|| format!("bad line: {l}"))?;
            Ok((e.parse().with_context(|| format!("bad enrollment id: {e}"))?, t.trim().to_string()))
        })
        .collect::<Result<_>>()?;
    if learners.is_empty() {
        bail!("no learners in {}", args.learners.display());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads.max(1)).enable_all().build()?;
    rt.block_on(async {
        probe(&args, &learners).await?;
        let mode = if args.rate > 0 { format!("paced at {} req/s offered", args.rate) } else { "closed loop".into() };
        println!(
            "lms_load {}: {} learners, {} connections, {mode}, warm-up {} s, measured {} s, {} client thread(s), {} cores",
            args.label,
            learners.len(),
            args.connections,
            args.warmup,
            args.duration,
            args.threads,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        );
        let hot = run(&args, &learners, false, args.warmup, args.duration).await?;
        header();
        let mut all = Stats::new();
        for k in [Kind::Open, Kind::Progress, Kind::Answer, Kind::Submit] {
            let s = &hot.stats[k as usize];
            line(NAMES[k as usize], s, hot.secs);
            all.hist.add(&s.hist).expect("same bounds");
            for (c, n) in &s.statuses {
                *all.statuses.entry(*c).or_default() += n;
            }
            all.transport_errors += s.transport_errors;
        }
        let hot_rate = line("hot path (all four)", &all, hot.secs);
        if args.timeline {
            println!("second  requests   p99 ms   max ms  (hot path, by the second answered)");
            for (i, h) in hot.seconds.iter().enumerate().filter(|(_, h)| h.len() > 0) {
                println!(
                    "{i:>6} {:>9} {:>8.1} {:>8.1}",
                    h.len(),
                    ms(h.value_at_quantile(0.99)),
                    ms(h.max())
                );
            }
        }
        if args.baseline > 0 {
            let base = run(&args, &learners, true, 2.min(args.warmup), args.baseline).await?;
            let name = if args.rate > 0 { "healthz baseline (paced)" } else { "healthz baseline" };
            let base_rate = line(name, &base.stats[Kind::Health as usize], base.secs);
            if base_rate > 0.0 && args.rate == 0 {
                println!("hot path / healthz throughput: {:.2}", hot_rate / base_rate);
            }
        }
        if let Some((user, system)) = own_cpu() {
            println!("client CPU: {user:.1} s user, {system:.1} s system (whole run, both loads)");
        }
        Ok(())
    })
}
