//! Prepare a database for the learner hot-path benchmark (issue 4): N learners enrolled in one
//! round of the demo course, each with a live session, and a file of `enrollment_id token` lines
//! for `lms_load`.
//!
//! People come from a generated national roster imported the ordinary way (`--create-units`);
//! the round covers the whole tree with windows open today; sessions are inserted directly (no
//! password is hashed: the API only needs a bearer session).
//!
//!     lms_setup --database-url sqlite:///tmp/x/bench.db --files-dir /tmp/x/files --learners 100000 --out /tmp/x/learners.txt

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::Datelike;
use clap::Parser;

use bdtx_domain::org::Level;
use bdtx_domain::round::{Audience, Delivery, PassRule, Tier, Window};
use bdtx_store::Db;
use bdtx_store::accounts::{SESSION_SECONDS, random_token, sha256_hex};
use bdtx_store::rounds::{EnrollFilter, NewRound};

#[derive(Parser)]
#[command(about = "Prepare a database with N enrolled learners and their sessions for lms_load")]
struct Args {
    /// sqlite://path or postgres://… (an empty database is expected)
    #[arg(long)]
    database_url: String,
    /// Where the demo course's media go (give the server the same --files-dir).
    #[arg(long)]
    files_dir: PathBuf,
    /// Learners to write to the output file (the round may enroll a few more: every teacher of
    /// the imported roster is enrolled).
    #[arg(long, default_value_t = 100_000)]
    learners: usize,
    /// Output: one `enrollment_id token` line per learner.
    #[arg(long)]
    out: PathBuf,
    /// Roster rows generated per learner wanted (72–76 % of generated rows end up enrolled
    /// teachers: managers, rows in error and units held back are not).
    #[arg(long, default_value_t = 1.5)]
    rows_per_learner: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn step(label: &str, started: Instant) {
    println!("  {label:<34} {:>7.1} s", started.elapsed().as_secs_f64());
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let total = Instant::now();
    let db = Db::connect(&args.database_url).await.context("connecting")?;
    db.migrate().await?;
    if db.unit_by_code("BGDDT").await?.is_some() {
        bail!("the database is not empty (unit BGDDT exists); give lms_setup a fresh database");
    }
    println!("lms_setup: {} learners on {}", args.learners, db.backend());

    // 1. People: a generated roster, imported with its units.
    let t = Instant::now();
    let rows = ((args.learners as f64) * args.rows_per_learner).ceil() as usize + 100;
    let dir = args.out.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let csv = dir.join(format!("lms-roster-{rows}.csv"));
    bdtx_roster::generate::generate(rows, args.seed, &csv).context("generating the roster")?;
    step(&format!("generate roster ({rows} rows)"), t);
    let t = Instant::now();
    let today = bdtx_domain::dates::today();
    let opts = bdtx_roster::import::Options {
        create_units: true,
        accept_similar: true,
        dry_run: false,
        actor: None,
        within: None,
        overrides: vec![],
        limits: Default::default(),
        from: today,
    };
    let mut progress = |_: &'static str, _: usize, _: usize| {};
    let report = bdtx_roster::import::import(&db, &csv, &opts, &mut progress).await.context("importing the roster")?;
    step(&format!("import roster ({} people)", report.added), t);
    std::fs::remove_file(&csv).ok();

    // 2. The demo course and one round over the whole tree, open today.
    let t = Instant::now();
    let files = bdtx_course::FileStore::new(args.files_dir.clone());
    let pkg = bdtx_course::demo_package();
    let course = db.import_course(None, &files, &pkg).await?;
    let ministry = db.unit_by_code("BGDDT").await?.context("the import created no Ministry")?.id;
    let year = i64::from(today.year()) - i64::from(today.month() < 8);
    let programme = db.create_programme(None, ministry, year, "Benchmark: bồi dưỡng thường xuyên").await?;
    let day = |n: i64| today + chrono::Duration::days(n);
    let windows = Level::ALL.iter().map(|&level| Window { level, opens: day(-7), closes: day(30) }).collect();
    let round = db
        .create_round(
            None,
            &NewRound {
                programme_id: programme,
                title: format!("Benchmark – {}", pkg.course.title),
                course_id: course.id,
                audience: Audience::Teachers,
                tier: Tier::Mass,
                subjects: vec![],
                delivery: Delivery::SelfStudy,
                in_person: None,
                pass_rule: PassRule { quiz_percent: 70, final_graded: false },
                windows,
            },
        )
        .await?;
    step("course, programme, round", t);
    let t = Instant::now();
    let enrolled = db
        .enroll_by_filter(None, round, &EnrollFilter { unit_id: ministry, level: None, subject: None }, today)
        .await?;
    step(&format!("enroll ({} learners)", enrolled.added), t);
    if enrolled.added < args.learners {
        bail!(
            "only {} learners enrolled, {} wanted: raise --rows-per-learner (now {})",
            enrolled.added,
            args.learners,
            args.rows_per_learner
        );
    }

    // 3. One session per learner, inserted in batches in one transaction.
    let t = Instant::now();
    let limit = args.learners as i64;
    let pairs: Vec<(i64, i64)> = bdtx_store::on!(&db, p => sqlx::query_as(
        "SELECT e.id, a.id FROM enrollments e JOIN accounts a ON a.person_id = e.person_id
         WHERE e.round_id = $1 ORDER BY e.id LIMIT $2")
        .bind(round).bind(limit).fetch_all(p).await)?;
    if pairs.len() < args.learners {
        bail!("only {} enrolled learners have an account", pairs.len());
    }
    let tokens: Vec<String> = pairs.iter().map(|_| random_token(32)).collect();
    let now = bdtx_domain::dates::now_unix();
    bdtx_store::on!(&db, p => {
        let mut tx = p.begin().await?;
        for (chunk, toks) in pairs.chunks(1000).zip(tokens.chunks(1000)) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at) ");
            q.push_values(chunk.iter().zip(toks), |mut b, ((_, account), token)| {
                b.push_bind(sha256_hex(token)).push_bind(*account).push_bind(random_token(16)).push_bind(now)
                    .push_bind(now + SESSION_SECONDS);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?,
    );
    for ((enrollment, _), token) in pairs.iter().zip(&tokens) {
        writeln!(out, "{enrollment} {token}")?;
    }
    out.flush()?;
    step(&format!("sessions ({})", pairs.len()), t);
    println!(
        "  {:<34} {:>7.1} s  → {} (sessions valid {} h)",
        "total",
        total.elapsed().as_secs_f64(),
        args.out.display(),
        SESSION_SECONDS / 3600
    );
    db.close().await;
    Ok(())
}
