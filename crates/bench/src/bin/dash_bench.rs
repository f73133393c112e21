//! Dashboard benchmark (issue 6): drill-down server time and the first byte of a large list
//! export, on a database prepared by `lms_setup` (one national round of N learners). It adds
//! `--extra-rounds` copies of that round's enrollments (so 3 rounds × 900k ≈ 2.7M enrollments)
//! counted by the ordinary tally rebuild, then asks the real router, in process, for dashboards
//! at every level (ministry, province, commune, cluster, school) and for the CSV list of the
//! largest province, and prints p50/p95/max per level and the time to the first byte.
//!
//!     lms_setup --database-url sqlite:///tmp/d/bench.db --files-dir /tmp/d/files --learners 900000 --out /tmp/d/l.txt
//!     dash_bench --database-url sqlite:///tmp/d/bench.db --files-dir /tmp/d/files --extra-rounds 2

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use axum::body::Body;
use clap::Parser;
use http_body_util::BodyExt;
use tower::ServiceExt;

use bdtx_domain::authz::Role;
use bdtx_store::accounts::{random_token, sha256_hex};
use bdtx_store::{Db, on};

#[derive(Parser)]
#[command(about = "Dashboard drill-down and list-export figures on a prepared database")]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    files_dir: PathBuf,
    /// Copies of the first round's enrollments to add as further rounds (skipped if present).
    #[arg(long, default_value_t = 2)]
    extra_rounds: usize,
    /// Dashboard requests per level.
    #[arg(long, default_value_t = 200)]
    samples: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let db = Db::connect(&args.database_url).await.context("connecting")?;
    db.migrate().await?;
    let t = Instant::now();
    let pending = db.tally_pending().await?;
    println!("tallies counted for {pending} enrollments not yet counted: {:.1} s", t.elapsed().as_secs_f64());
    let rounds: Vec<i64> = on!(&db, p => sqlx::query_scalar("SELECT id FROM rounds ORDER BY id").fetch_all(p).await)?;
    let first = *rounds.first().context("no round: run lms_setup first")?;
    for i in rounds.len()..=args.extra_rounds {
        let t = Instant::now();
        let id: i64 = on!(&db, p => sqlx::query_scalar(
            "INSERT INTO rounds (programme_id, title, module_code, course_id, audience, tier, subjects, delivery, pass_quiz_percent, pass_final_graded, created_at)
             SELECT programme_id, title || ' (' || CAST($2 AS TEXT) || ')', module_code, course_id, audience, tier, subjects, delivery, pass_quiz_percent, pass_final_graded, created_at
             FROM rounds WHERE id = $1 RETURNING id")
            .bind(first).bind(i as i64 + 1).fetch_one(p).await)?;
        on!(&db, p => sqlx::query(
            "INSERT INTO enrollments (round_id, person_id, subject, kind, level, unit_id, class_id, starts_on, ends_on, status, items_done, items_required, resume_key, lms_passed_at, enrolled_by, created_at)
             SELECT $2, person_id, subject, kind, level, unit_id, NULL, starts_on, ends_on, status,
                    (id % 7), items_required, CASE WHEN id % 3 = 0 THEN NULL ELSE 'bai-1-1' END, CASE WHEN id % 4 = 0 THEN created_at END, enrolled_by, created_at
             FROM enrollments WHERE round_id = $1")
            .bind(first).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        let n = db.rebuild_tallies(Some(id)).await?;
        println!("round {id}: {n} enrollments copied and counted in {:.1} s", t.elapsed().as_secs_f64());
    }
    let total: i64 = on!(&db, p => sqlx::query_scalar("SELECT COUNT(*) FROM enrollments").fetch_one(p).await)?;
    let people: i64 = on!(&db, p => sqlx::query_scalar("SELECT COUNT(*) FROM people").fetch_one(p).await)?;
    println!("database: {people} people, {total} enrollments");

    // A ministry admin's session.
    let ministry = db.unit_by_code("BGDDT").await?.context("no ministry")?.id;
    let username = format!("dash.{}", random_token(4).to_lowercase());
    let acc = db.create_account(&username, None, None).await?;
    db.grant_role(None, acc, Role::MinistryAdmin, ministry).await?;
    let token = random_token(24);
    on!(&db, p => sqlx::query("INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at) VALUES ($1, $2, 'x', 0, $3)")
        .bind(sha256_hex(&token)).bind(acc).bind(i64::MAX / 2).execute(p).await.map(|r| r.rows_affected()))?;

    let mut cfg = bdtx_web::Config::for_listen(&"127.0.0.1:0".parse()?);
    cfg.files_dir = args.files_dir.clone();
    let app = bdtx_web::app(bdtx_web::AppState::new(db.clone(), cfg));
    let cookie = format!("bdtx_session={token}");
    let get = |path: String| {
        let app = app.clone();
        let cookie = cookie.clone();
        async move {
            let req = axum::http::Request::get(&path)
                .header("cookie", cookie)
                .header("x-forwarded-for", "127.0.0.1")
                .body(Body::empty())
                .expect("request");
            let start = Instant::now();
            let res = app.oneshot(req).await.expect("infallible");
            let status = res.status();
            let mut body = res.into_body();
            let mut first_byte = None;
            let mut bytes = 0usize;
            while let Some(frame) = body.frame().await {
                let frame = frame.expect("body");
                if let Some(d) = frame.data_ref() {
                    if first_byte.is_none() && !d.is_empty() {
                        first_byte = Some(start.elapsed());
                    }
                    bytes += d.len();
                }
            }
            (status, first_byte.unwrap_or_default(), start.elapsed(), bytes)
        }
    };

    // Units by level, from the live tree.
    let level_units = |kind: &'static str| {
        let db = db.clone();
        async move {
            on!(&db, p => sqlx::query_scalar::<_, i64>("SELECT id FROM units WHERE kind = $1 AND valid_to IS NULL ORDER BY id")
                .bind(kind).fetch_all(p).await)
        }
    };
    println!();
    println!("{:<10} {:>8} {:>9} {:>9} {:>9}", "level", "requests", "p50 ms", "p95 ms", "max ms");
    for (label, kind) in [
        ("ministry", "ministry"),
        ("province", "province"),
        ("commune", "commune"),
        ("cluster", "cluster"),
        ("school", "school"),
    ] {
        let units = level_units(kind).await?;
        if units.is_empty() {
            continue;
        }
        let mut times = Vec::new();
        for i in 0..args.samples {
            let unit = units[(i * 7919) % units.len()];
            let round = rounds.first().copied().unwrap_or(first);
            let (status, _, total, _) = get(format!("/rounds/{round}/dashboard?unit={unit}")).await;
            assert!(status.is_success(), "{label} {unit}: {status}");
            times.push(total.as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let q = |f: f64| times[((times.len() as f64 - 1.0) * f).round() as usize];
        println!("{label:<10} {:>8} {:>9.2} {:>9.2} {:>9.2}", times.len(), q(0.5), q(0.95), q(1.0));
    }

    // The list behind the largest province's "enrolled" number, as CSV.
    let (prov, n): (i64, i64) = on!(&db, p => sqlx::query_as(
        "SELECT scope_id, CAST(SUM(n) AS BIGINT) AS n FROM round_tallies r JOIN units u ON u.id = r.scope_id
         WHERE r.round_id = $1 AND r.scope = 'u' AND u.kind = 'province' GROUP BY scope_id ORDER BY n DESC LIMIT 1")
        .bind(first).fetch_one(p).await)?;
    println!();
    for (label, unit, rows) in [("largest province", prov, n), ("whole round (ministry)", ministry, -1)] {
        let (status, first_byte, total, bytes) = get(format!("/rounds/{first}/list.csv?unit={unit}&from=0&to=6")).await;
        assert!(status.is_success());
        let rows = if rows < 0 { "all".to_string() } else { rows.to_string() };
        println!(
            "list export, {label}: {rows} rows (CSV, {:.1} MB): first byte {:.0} ms, complete {:.2} s",
            bytes as f64 / 1e6,
            first_byte.as_secs_f64() * 1000.0,
            total.as_secs_f64()
        );
    }
    Ok(())
}
