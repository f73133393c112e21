//! `bdtx`: the one binary. Subcommands: serve, migrate, demo, create-admin, backup.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use bdtx_domain::authz::Role;
use bdtx_domain::org::UnitKind;
use bdtx_store::units::NewUnit;
use bdtx_store::{Db, redact_url};

#[derive(Parser)]
#[command(name = "bdtx", version, about = "BDTX: continuous professional development of Vietnam's teachers")]
struct Cli {
    /// sqlite://path (created if missing) or postgres://user:pass@host/db
    #[arg(long, env = "BDTX_DATABASE_URL", default_value = bdtx_store::DEFAULT_URL, global = true)]
    database_url: String,
    /// Where course media and uploaded files are kept (default: a "files" folder next to the
    /// SQLite database, or ./data/files for PostgreSQL).
    #[arg(long, env = "BDTX_FILES_DIR", global = true)]
    files_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrations run first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "BDTX_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seed the demo province into an empty database and print the demo logins.
        #[arg(long)]
        demo: bool,
        /// The address people reach BDTX at, printed in certificates' QR codes and
        /// verification links (default: http://LISTEN).
        #[arg(long, env = "BDTX_PUBLIC_URL")]
        public_url: Option<String>,
        /// Force the Secure flag on cookies (default: on unless listening on loopback).
        #[arg(long, env = "BDTX_SECURE_COOKIES")]
        secure_cookies: Option<bool>,
        /// Where e-mail goes: smtp://host:port (plain), smtp://user:pass@host:587?tls=required
        /// (STARTTLS) or smtps://host. Without it, reminders wait in the outbox.
        #[arg(long, env = "BDTX_SMTP_URL")]
        smtp_url: Option<String>,
        /// Sender of BDTX's e-mail.
        #[arg(long, env = "BDTX_MAIL_FROM", default_value = "BDTX <no-reply@bdtx.local>")]
        mail_from: String,
        /// Seconds between two passes of the background worker (jobs, e-mail).
        #[arg(long, env = "BDTX_WORKER_SECONDS", default_value_t = 10)]
        worker_seconds: u64,
    },
    /// Apply pending schema migrations and load the shipped module catalog.
    Migrate,
    /// Seed the demo province into an empty database and print the demo logins.
    Demo {
        /// Teachers per school (default 14).
        #[arg(long, default_value_t = 14)]
        teachers_per_school: usize,
    },
    /// Create an administrator account with a role over a unit.
    CreateAdmin {
        #[arg(long)]
        username: String,
        /// ministry_admin, province_admin, commune_admin, school_admin, key_lecturer, core_teacher, lms_operator
        #[arg(long, default_value = "ministry_admin")]
        role: String,
        /// Code of the unit the role applies to (default: the Ministry, created if the database is empty).
        #[arg(long)]
        unit: Option<String>,
        /// Read the password from this environment variable instead of generating one.
        #[arg(long, default_value = "BDTX_ADMIN_PASSWORD")]
        password_env: String,
    },
    /// Write a consistent copy of the database to a new file.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Import data from a file.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Export data to a file (.csv or .xlsx by extension).
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Generate synthetic data for tests and benchmarks.
    Generate {
        #[command(subcommand)]
        what: GenerateWhat,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Import a roster of teachers and managers (.xlsx or .csv with Vietnamese headings).
    Roster {
        file: PathBuf,
        /// Check and report only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Create the provinces, communes and schools the file names when they are missing.
        #[arg(long)]
        create_units: bool,
        /// Add rows that look like someone already on record (same name and birth date) as new people.
        #[arg(long)]
        accept_similar: bool,
        /// Map a heading to a field when the file's headings differ: --map "Tên GV=full_name".
        #[arg(long = "map", value_name = "HEADING=FIELD")]
        map: Vec<String>,
        /// Where to write the rows in error (.xlsx); default: next to the file, "<name>-loi.xlsx".
        #[arg(long)]
        errors: Option<PathBuf>,
        /// Day the rows take effect (dd/mm/yyyy); default today.
        #[arg(long)]
        from: Option<String>,
        /// Largest file accepted, in MB.
        #[arg(long, default_value_t = 512)]
        max_mb: u64,
    },
    /// Import a course package (a folder or a .zip with course.yaml; see docs/course-package.md)
    /// as a new version of its module's course.
    Course { path: PathBuf },
}

#[derive(Subcommand)]
enum ExportWhat {
    /// The roster, sorted the Vietnamese way.
    Roster {
        #[arg(long)]
        out: PathBuf,
        /// Only this unit's subtree (its code).
        #[arg(long)]
        unit: Option<String>,
    },
}

#[derive(Subcommand)]
enum GenerateWhat {
    /// A realistic synthetic national roster.
    Roster {
        #[arg(long)]
        people: usize,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// mimalloc: imports and exports allocate and free millions of small strings on several threads
/// (glibc's allocator was a third of a national import, perf), and the learner's hot path small
/// buffers on every request (about a tenth of the server's CPU). bench/README.md, issues 3 and 4.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=error,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    // Connecting to a SQLite URL creates the database: what needs none, or must not create one,
    // is settled first.
    if let Command::Generate { what: GenerateWhat::Roster { people, out, seed } } = &cli.command {
        let started = std::time::Instant::now();
        bdtx_roster::generate::generate(*people, *seed, out)?;
        println!(
            "Đã tạo {people} dòng vào {} trong {:.1}s (seed {seed}).",
            out.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if let Command::Import { what: ImportWhat::Roster { file, dry_run, .. } } = &cli.command {
        let readable = std::fs::File::open(file).and_then(|f| f.metadata()).and_then(|m| {
            if m.is_dir() {
                Err(std::io::Error::other("đây là một thư mục, không phải tệp"))
            } else {
                Ok(())
            }
        });
        if let Err(e) = readable {
            eprintln!("Không đọc được tệp {}: {e}. Chưa có gì được ghi.", file.display());
            std::process::exit(2);
        }
        if *dry_run
            && let Some(db_file) = bdtx_store::sqlite_file(&cli.database_url)
            && !db_file.exists()
        {
            eprintln!(
                "Cơ sở dữ liệu {} chưa tồn tại: chạy thử không tạo cơ sở dữ liệu. \
                 Hãy tạo nó trước (bdtx migrate) hoặc kiểm tra lại --database-url.",
                db_file.display()
            );
            std::process::exit(2);
        }
    }
    let files_dir = cli.files_dir.clone().unwrap_or_else(|| default_files_dir(&cli.database_url));
    let files = bdtx_course::FileStore::new(files_dir.clone());
    let db = Db::connect(&cli.database_url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&cli.database_url)))?;
    match cli.command {
        Command::Migrate => {
            db.migrate().await?;
            println!("Đã cập nhật cấu trúc dữ liệu ({}) / schema up to date.", db.backend());
        }
        Command::Demo { teachers_per_school } => {
            db.migrate().await?;
            seed_demo(&db, &files, teachers_per_school).await?;
        }
        Command::Serve { listen, demo, public_url, secure_cookies, smtp_url, mail_from, worker_seconds } => {
            db.migrate().await?;
            if demo {
                if db.unit_by_code("BGDDT").await?.is_some() {
                    println!(
                        "Dữ liệu đã có sẵn: bỏ qua việc tạo dữ liệu mẫu. Demo logins (if seeded earlier) use the password {}",
                        bdtx_store::demo::DEMO_PASSWORD
                    );
                } else {
                    seed_demo(&db, &files, 14).await?;
                }
            }
            let mut cfg = bdtx_web::Config::for_listen(&listen);
            cfg.files_dir = files_dir.clone();
            if let Some(u) = public_url {
                cfg.public_url = u;
            }
            if let Some(s) = secure_cookies {
                cfg.secure_cookies = s;
            }
            // A bad SMTP setting stops the start instead of silently keeping mail.
            bdtx_web::worker::Mailer::new(smtp_url.as_deref(), &mail_from).map_err(anyhow::Error::msg)?;
            cfg.smtp_url = smtp_url;
            cfg.mail_from = mail_from;
            // Enrollments from before the dashboards existed are counted once.
            let pending = db.tally_pending().await?;
            if pending > 0 {
                tracing::info!(enrollments = pending, "dashboard tallies counted");
            }
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
            tracing::info!(database = %redact_url(&cli.database_url), backend = db.backend(), "BDTX listening on http://{listen}");
            println!("BDTX đang chạy tại http://{listen}  (Ctrl-C để dừng)");
            let st = bdtx_web::AppState::new(db.clone(), cfg);
            let worker = bdtx_web::worker::spawn(st.clone(), std::time::Duration::from_secs(worker_seconds.max(1)));
            bdtx_web::serve(listener, st).await?;
            worker.abort();
            db.close().await;
        }
        Command::CreateAdmin { username, role, unit, password_env } => {
            db.migrate().await?;
            let role = Role::parse(&role).with_context(|| format!("unknown role {role}"))?;
            let unit_id = match unit {
                Some(code) => db.unit_by_code(&code).await?.with_context(|| format!("no unit with code {code}"))?.id,
                None => match db.unit_by_code("BGDDT").await? {
                    Some(u) => u.id,
                    None => {
                        let n = NewUnit {
                            code: "BGDDT".into(),
                            kind: UnitKind::Ministry,
                            name: "Bộ Giáo dục và Đào tạo".into(),
                            levels: vec![],
                            parent_id: None,
                            valid_from: chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("date"),
                            valid_to: None,
                        };
                        db.create_unit(None, &n).await?
                    }
                },
            };
            let (password, generated) = match std::env::var(&password_env) {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (bdtx_store::accounts::random_token(8), true),
            };
            if !bdtx_store::password::acceptable(&password) {
                bail!("the password needs at least 8 characters and not only digits");
            }
            let hash = bdtx_store::password::hash_async(password.clone()).await;
            let account = db.create_account(&username, None, Some(hash)).await?;
            db.grant_role(None, account, role, unit_id).await?;
            println!("Đã tạo tài khoản {username} ({}).", role.as_str());
            if generated {
                println!("Mật khẩu / password (shown once): {password}");
            }
        }
        Command::Backup { out } => {
            db.backup(&out, &cli.database_url).await?;
            println!("Đã sao lưu / backup written: {}", out.display());
        }
        Command::Import {
            what: ImportWhat::Roster { file, dry_run, create_units, accept_similar, map, errors, from, max_mb },
        } => {
            db.migrate().await?;
            let mut overrides = Vec::new();
            for m in &map {
                let (heading, field) = m.split_once('=').with_context(|| format!("--map needs HEADING=FIELD: {m}"))?;
                let f = bdtx_roster::columns::Field::parse(field).with_context(|| format!("unknown field {field}"))?;
                overrides.push((heading.to_string(), f));
            }
            let from = match from {
                Some(s) => bdtx_domain::dates::parse_date(&s).with_context(|| format!("--from: not a date: {s}"))?,
                None => bdtx_domain::dates::today(),
            };
            let opts = bdtx_roster::import::Options {
                create_units,
                accept_similar,
                dry_run,
                actor: None,
                within: None,
                overrides,
                limits: bdtx_roster::read::Limits {
                    max_bytes: max_mb.saturating_mul(1024 * 1024),
                    ..Default::default()
                },
                from,
            };
            let code = import_roster(&db, &file, &opts, errors).await?;
            std::process::exit(code);
        }
        Command::Import { what: ImportWhat::Course { path } } => {
            db.migrate().await?;
            let pkg = if path.is_dir() {
                bdtx_course::load_dir(&path)
            } else {
                let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                bdtx_course::load_zip(&bytes)
            };
            let pkg = match pkg {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("Gói học liệu không hợp lệ: {e}");
                    std::process::exit(2);
                }
            };
            let c = db.import_course(None, &files, &pkg).await?;
            println!(
                "Đã nhập học liệu {} «{}», phiên bản {} (mã {}), {} tệp media.",
                c.module_code,
                c.title,
                c.version,
                c.id,
                pkg.media.len()
            );
        }
        Command::Export { what: ExportWhat::Roster { out, unit } } => {
            let within = match unit {
                Some(code) => {
                    Some(db.unit_by_code(&code).await?.with_context(|| format!("no unit with code {code}"))?.id)
                }
                None => None,
            };
            let started = std::time::Instant::now();
            let n = bdtx_roster::export::export(&db, within, &out).await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "Đã xuất {n} người vào {} trong {secs:.1}s ({:.0} dòng/s).",
                out.display(),
                n as f64 / secs.max(1e-9)
            );
        }
        Command::Generate { .. } => unreachable!("generated above, without a database"),
    }
    Ok(())
}

/// Import with a progress bar and a summary; the exit code is 1 when rows were rejected.
async fn import_roster(
    db: &Db,
    file: &std::path::Path,
    opts: &bdtx_roster::import::Options,
    errors: Option<PathBuf>,
) -> Result<i32> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("template")
            .progress_chars("=> "),
    );
    // the spinner turns while a stage has nothing to count (loading the people on record)
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let mut read_done: Option<f64> = None;
    let mut progress = |stage: &'static str, done: usize, total: usize| {
        if stage == "write" && read_done.is_none() {
            read_done = Some(started.elapsed().as_secs_f64());
        }
        bar.set_message(match stage {
            "index" => "đối chiếu",
            "read" => "đọc tệp",
            _ => "ghi",
        });
        bar.set_length(total.max(done) as u64);
        bar.set_position(done as u64);
    };
    let out = errors.unwrap_or_else(|| {
        let stem = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "roster".into());
        file.with_file_name(format!("{stem}-loi.xlsx"))
    });
    let (report, listed) = match bdtx_roster::import::import_with_errors(db, file, opts, &out, &mut progress).await {
        Ok(r) => r,
        Err(e @ bdtx_roster::import::ImportError::Interrupted { .. }) => {
            bar.abandon();
            eprintln!("Nhập {} bị dừng giữa chừng: {e}.", file.display());
            return Ok(2);
        }
        Err(e) => {
            bar.abandon();
            eprintln!("Không nhập được {}: {e}. Chưa có gì được ghi.", file.display());
            return Ok(2);
        }
    };
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if let Some(r) = read_done {
        println!("Đọc, làm sạch, kiểm tra, đối chiếu: {r:.1}s; ghi: {:.1}s.", secs - r);
    }
    println!(
        "{}{} dòng trong {secs:.1}s ({:.0} dòng/s): thêm {}, cập nhật {}, không đổi {}, đơn vị mới {}, đã sửa tự động {}.",
        if opts.dry_run { "[chạy thử, không ghi] " } else { "" },
        report.rows,
        report.rows as f64 / secs.max(1e-9),
        report.added,
        report.updated,
        report.unchanged,
        report.units_created,
        report.warnings
    );
    if let Some(enc) = report.encoding.filter(|e| e.is_legacy()) {
        println!("Bảng mã của tệp: {}.", enc.label());
    }
    if !report.unknown_columns.is_empty() {
        println!("Cột không dùng: {}", report.unknown_columns.join(", "));
    }
    for s in report.similar.iter().take(20) {
        println!(
            "  dòng {}: {} giống người đã có (mã {:?}) — cần xác nhận (--accept-similar để nhập như người mới)",
            s.row_no, s.full_name, s.existing
        );
    }
    for e in report.errors.iter().take(20) {
        let col = e.field.map(|f| f.heading()).unwrap_or("");
        // a value is shown up to 80 characters (a cell may hold 32,767)
        let value: String = e.value.chars().take(80).collect();
        let more = if e.value.chars().nth(80).is_some() { "…" } else { "" };
        println!("  dòng {}, cột {col}: {} («{value}{more}»)", e.row_no, bdtx_roster::row::message(e.code));
    }
    if report.errors.len() > 20 {
        println!("  … và {} lỗi khác", report.errors.len() - 20);
    }
    for n in report.notes.iter().take(10) {
        let col = n.field.map(|f| f.heading()).unwrap_or("");
        println!("  lưu ý dòng {}, cột {col}: {}", n.row_no, bdtx_roster::row::message(n.code));
    }
    if !report.held_back.is_empty() {
        println!(
            "{} đơn vị chưa được nhập vì có dòng lỗi (nhập theo từng đơn vị, đủ cả hoặc không):",
            report.held_back.len()
        );
        for (u, n) in report.held_back.iter().take(10) {
            println!("  {u}: {n} dòng hợp lệ đang chờ");
        }
    }
    let rejected = report.rejected();
    if rejected > 0 {
        println!(
            "{rejected} dòng bị từ chối; danh sách lỗi ở {} ({listed} dòng, kể cả {} dòng hợp lệ đang chờ cùng đơn vị): \
             sửa rồi nhập lại tệp đó",
            out.display(),
            report.waiting.len()
        );
        return Ok(1);
    }
    Ok(0)
}

/// Files live next to a SQLite database ("data/bdtx.db" → "data/files"); else in ./data/files.
fn default_files_dir(url: &str) -> PathBuf {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .and_then(|p| std::path::Path::new(p).parent().map(|d| d.join("files")))
        .unwrap_or_else(|| PathBuf::from("data/files"))
}

async fn seed_demo(db: &Db, files: &bdtx_course::FileStore, teachers_per_school: usize) -> Result<()> {
    let started = std::time::Instant::now();
    let logins = bdtx_store::demo::seed(db, bdtx_store::demo::DemoSize { teachers_per_school }).await?;
    bdtx_store::demo::seed_lms(db, files).await?;
    bdtx_store::demo::seed_yearly(db).await?;
    println!(
        "Đã tạo dữ liệu mẫu tỉnh Ninh Bình trong {:.1}s. Tài khoản mẫu (mật khẩu: {}):",
        started.elapsed().as_secs_f64(),
        bdtx_store::demo::DEMO_PASSWORD
    );
    for l in logins {
        println!("  {:<12} {:<16} {}", l.username, l.role, l.scope);
    }
    Ok(())
}
