//! Certificate issuing benchmark (issue 5): on a database prepared by `lms_setup` (N enrolled
//! learners), issue one certificate per enrollment the way the application does (PDF with QR
//! rendered on every core, credential signed with an Ed25519 issuer key, PDF stored in the file
//! store, rows written in batches of one transaction), then time verification look-ups.
//!
//! Baseline in the same run: rendering and signing only, nothing stored. Verification is timed
//! in-process (code parsed, certificate read, card built: the page's work without HTTP); the
//! `/healthz` figures of `lms_load` give the HTTP floor.
//!
//!     cert_bench --database-url sqlite:///tmp/x/bench.db --files-dir /tmp/x/files --count 100000

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

use bdtx_cert::{CertificateData, IssuerKey};
use bdtx_store::Db;
use bdtx_store::certificates::NewCertificate;

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
    let t = Instant::now();
    let k = sample.len();
    let _ = render(sample, &key);
    let base = k as f64 / t.elapsed().as_secs_f64();
    println!("{:<44} {:>8.0} certificates/s", "baseline: render PDF + sign (no storage)", base);

    // Full issuing.
    let t = Instant::now();
    let mut codes = Vec::with_capacity(n);
    for (b, chunk) in people.chunks(args.batch).enumerate() {
        let items: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, (e, p, name))| (*e, *p, data(b * args.batch + i, name, bdtx_cert::new_code(), "BENCH")))
            .collect();
        let mut rows = Vec::with_capacity(items.len());
        for (e, p, d, pdf, vc) in render(items, &key) {
            let stored = files.put(&pdf)?;
            db.record_file(&stored.sha256, stored.size as i64, "application/pdf").await?;
            codes.push(d.code.clone());
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
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{:<44} {:>8.0} certificates/s  ({n} in {secs:.1} s; {:.2}× baseline)",
        "issue: render + sign + store file + rows",
        n as f64 / secs,
        n as f64 / secs / base
    );

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
        "{:<44} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} look-ups, 1 in 10 unknown)",
        "verify look-up (in-process)",
        hist.value_at_quantile(0.5) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
        hist.max() as f64 / 1000.0,
        args.lookups
    );
    Ok(())
}
