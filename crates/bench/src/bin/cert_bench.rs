//! Certificate issuing benchmark (issue 5): on a database prepared by `lms_setup` (N enrolled
//! learners), issue one certificate per enrollment and time verification look-ups.
//!
//! Baseline: rendering and signing only (PDF with QR, Ed25519 credential), on every core,
//! nothing stored. Then issuing, in rounds of batches so that both paths share the machine's
//! conditions: each round issues one batch the way it was done before (render on every core, then
//! each PDF stored with its own fsync and its own `files` row, then the rows), one batch through
//! `bdtx_web::certificates_pages::issue_batch` (what the certificates page calls: render, sign and
//! write the PDF on every core, one sync of the file store, files and certificates rows in one
//! transaction), and `--concurrent` batches through `issue_batch` at once (several classes issued
//! at the same time). Verification is timed in-process (code parsed, certificate read, card built:
//! the page's work without HTTP); the `/healthz` figures of `lms_load` give the HTTP floor.
//!
//!     cert_bench --database-url sqlite:///tmp/x/bench.db --files-dir /tmp/x/files --count 100000

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Parser;

use bdtx_cert::{CertificateData, IssuerKey};
use bdtx_store::Db;
use bdtx_store::certificates::NewCertificate;
use bdtx_web::certificates_pages::{Issuer, issue_batch};

#[derive(Parser)]
#[command(about = "Issue N certificates and time verification look-ups")]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    files_dir: PathBuf,
    #[arg(long, default_value_t = 100_000)]
    count: usize,
    /// Certificates per transaction.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Batches issued at the same time in the concurrent part of each round.
    #[arg(long, default_value_t = 2)]
    concurrent: usize,
    /// Verification look-ups to time.
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
}

fn data(i: usize, name: &str, code: String, uni: &str) -> CertificateData {
    CertificateData {
        number: format!("{uni}-2026-{:06}", i + 1),
        code,
        holder_name: name.to_string(),
        holder_birth_date: chrono::NaiveDate::from_ymd_opt(1985, 9, 2),
        module_code: "GV4660-02".into(),
        module_title: "Sử dụng phương pháp dạy học và giáo dục phát triển phẩm chất, năng lực học sinh".into(),
        periods: None,
        round_title: "Bồi dưỡng mô đun 2 – đợt 1".into(),
        issuer_name: "Trường Đại học Sư phạm Hà Nội 2".into(),
        issuer_unit_code: uni.into(),
        province_name: "Ninh Bình".into(),
        issued_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
        signer_name: "Trần Thị Thu Hà".into(),
        signer_title: "GIẢNG VIÊN SƯ PHẠM CHỦ CHỐT".into(),
    }
}

/// Certificates issued and the time taken, for one path.
/// On a shared machine the wall-clock rates move with the other load; the CPU time this process
/// spends per certificate (user + system, all threads) moves much less.
#[derive(Default)]
struct Tally {
    certificates: usize,
    secs: f64,
    cpu: f64,
}

/// A span being timed: wall clock and this process's CPU time.
struct Span(Instant, f64);

impl Span {
    fn start() -> Span {
        Span(Instant::now(), cpu_secs())
    }
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`, 100 ticks/s).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

impl Tally {
    fn add(&mut self, certificates: usize, span: Span) {
        self.certificates += certificates;
        self.secs += span.0.elapsed().as_secs_f64();
        self.cpu += cpu_secs() - span.1;
    }

    fn print(&self, label: &str, base: f64) {
        let rate = self.certificates as f64 / self.secs.max(1e-9);
        println!(
            "{label:<48} {rate:>8.0} certificates/s  ({} in {:.1} s; {:.2}× baseline; CPU {:.2} ms each)",
            self.certificates,
            self.secs,
            rate / base,
            self.cpu * 1000.0 / self.certificates.max(1) as f64
        );
    }
}

type Rendered = (i64, i64, CertificateData, Vec<u8>, serde_json::Value);

/// Render and sign on every core.
fn render(items: Vec<(i64, i64, CertificateData)>, key: &IssuerKey) -> Vec<Rendered> {
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let chunk = items.len().div_ceil(workers).max(1);
    let parts: Vec<Vec<(i64, i64, CertificateData)>> = items.chunks(chunk).map(|c| c.to_vec()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                s.spawn(move || {
                    part.into_iter()
                        .map(|(e, p, d)| {
                            let url = format!("https://bdtx.example.vn/verify/{}", d.code);
                            let pdf = bdtx_cert::render_pdf(&d, &url).expect("render");
                            let vc = bdtx_cert::issue(
                                &d,
                                &url,
                                "https://bdtx.example.vn/issuers/1",
                                key,
                                chrono::Utc::now(),
                            );
                            (e, p, d, pdf, vc)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    })
}

/// The same allocator as the `bdtx` server, which issues certificates in production.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let db = Db::connect(&args.database_url).await.context("connecting")?;
    db.migrate().await?;
    let files = bdtx_course::FileStore::new(&args.files_dir);
    let people: Vec<(i64, i64, String)> = bdtx_store::on!(&db, p => sqlx::query_as(
        "SELECT e.id, e.person_id, p.full_name FROM enrollments e JOIN people p ON p.id = e.person_id
         WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.enrollment_id = e.id AND c.revoked_at IS NULL)
         ORDER BY e.id LIMIT $1")
        .bind(args.count as i64).fetch_all(p).await)?;
    let n = people.len();
    let uni: i64 = bdtx_store::on!(&db, p => sqlx::query_scalar("SELECT MIN(id) FROM units").fetch_one(p).await)?;
    let key = IssuerKey::generate();
    println!(
        "BDTX certificate benchmark: {n} certificates, {} cores, {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        db.backend()
    );

    // Baseline: render and sign 2,000, store nothing.
    let sample: Vec<_> = people
        .iter()
        .take(2_000.min(n))
        .enumerate()
        .map(|(i, (e, p, name))| (*e, *p, data(i, name, bdtx_cert::new_code(), "BASE")))
        .collect();
    let span = Span::start();
    let k = sample.len();
    let _ = render(sample, &key);
    let mut baseline = Tally::default();
    baseline.add(k, span);
    let base = k as f64 / baseline.secs;
    baseline.print("baseline: render PDF + sign (no storage)", base);

    // Issuing, in rounds so that both paths see the same conditions (the machine may be shared):
    // each round issues one batch the way it was done before this change, one batch through
    // `issue_batch` (what the certificates page calls), and `--concurrent` batches through
    // `issue_batch` at once (several classes issued at the same time, as on a live server).
    let issuer = std::sync::Arc::new(Issuer {
        key: IssuerKey::from_seed(&key.seed()),
        id: "https://bdtx.example.vn/issuers/1".into(),
        base: "https://bdtx.example.vn".into(),
        unit_id: uni,
    });
    let mut batches = people.chunks(args.batch).enumerate().map(|(b, chunk)| {
        chunk
            .iter()
            .enumerate()
            .map(|(i, (e, p, name))| (*e, *p, data(b * args.batch + i, name, bdtx_cert::new_code(), "BENCH")))
            .collect::<Vec<_>>()
    });
    let mut codes = Vec::with_capacity(n);
    let (mut old, mut one, mut many) = (Tally::default(), Tally::default(), Tally::default());
    // Before: render on every core, then each PDF stored with its own fsync and `files` row,
    // then the rows.
    while let Some(items) = batches.next() {
        codes.extend(items.iter().map(|(_, _, d)| d.code.clone()));
        let t = Span::start();
        let k = items.len();
        let mut rows = Vec::with_capacity(k);
        for (e, p, d, pdf, vc) in render(items, &key) {
            let stored = files.put(&pdf)?;
            db.record_file(&stored.sha256, stored.size as i64, "application/pdf").await?;
            rows.push(NewCertificate {
                enrollment_id: e,
                number: d.number.clone(),
                code: d.code.clone(),
                issuer_unit_id: uni,
                holder_person_id: p,
                module_code: d.module_code.clone(),
                data: serde_json::to_string(&d)?,
                pdf_sha256: stored.sha256,
                credential: vc.to_string(),
            });
        }
        db.store_certificates(None, &rows, None).await?;
        old.add(k, t);

        // Now: one batch through the application's issuing function.
        let Some(items) = batches.next() else { break };
        codes.extend(items.iter().map(|(_, _, d)| d.code.clone()));
        let t = Span::start();
        let k = issue_batch(&db, &files, issuer.clone(), items, None, None).await.map_err(|e| anyhow!("{e:?}"))?;
        one.add(k, t);

        // Now: several batches at once.
        let mut group = Vec::new();
        for _ in 0..args.concurrent {
            match batches.next() {
                Some(items) => group.push(items),
                None => break,
            }
        }
        if group.is_empty() {
            break;
        }
        for items in &group {
            codes.extend(items.iter().map(|(_, _, d)| d.code.clone()));
        }
        let t = Span::start();
        let results = futures_util::future::join_all(
            group.into_iter().map(|items| issue_batch(&db, &files, issuer.clone(), items, None, None)),
        )
        .await;
        let mut k = 0;
        for r in results {
            k += r.map_err(|e| anyhow!("{e:?}"))?;
        }
        many.add(k, t);
    }
    for (label, tally) in
        [("issue, before: per-file fsync + files row", &old), ("issue, now: issue_batch, one batch at once", &one)]
    {
        tally.print(label, base);
    }
    if many.certificates > 0 {
        many.print(&format!("issue, now: issue_batch, {} batches at once", args.concurrent), base);
    }

    // Verification look-ups (random codes, some unknown).
    let mut hist = hdrhistogram::Histogram::<u64>::new(3)?;
    for i in 0..args.lookups {
        let code =
            if i % 10 == 9 { bdtx_cert::new_code() } else { codes[rand::random_range(0..codes.len().max(1))].clone() };
        let t = Instant::now();
        if let Some(c) = bdtx_cert::parse_code(&code) {
            if let Some(found) = db.certificate_by_code(&c).await? {
                let d: CertificateData = serde_json::from_str(&found.data)?;
                std::hint::black_box(bdtx_cert::mask_name(&d.holder_name));
            }
        }
        hist.record(t.elapsed().as_micros() as u64)?;
    }
    println!(
        "{:<48} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} look-ups, 1 in 10 unknown)",
        "verify look-up (in-process)",
        hist.value_at_quantile(0.5) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
        hist.max() as f64 / 1000.0,
        args.lookups
    );
    Ok(())
}
