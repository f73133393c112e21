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
        /// Force the Secure flag on cookies (default: on unless listening on loopback).
        #[arg(long, env = "BDTX_SECURE_COOKIES")]
        secure_cookies: Option<bool>,
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
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
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
            seed_demo(&db, teachers_per_school).await?;
        }
        Command::Serve { listen, demo, secure_cookies } => {
            db.migrate().await?;
            if demo {
                if db.unit_by_code("BGDDT").await?.is_some() {
                    println!(
                        "Dữ liệu đã có sẵn: bỏ qua việc tạo dữ liệu mẫu. Demo logins (if seeded earlier) use the password {}",
                        bdtx_store::demo::DEMO_PASSWORD
                    );
                } else {
                    seed_demo(&db, 14).await?;
                }
            }
            let mut cfg = bdtx_web::Config::for_listen(&listen);
            if let Some(s) = secure_cookies {
                cfg.secure_cookies = s;
            }
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
            tracing::info!(database = %redact_url(&cli.database_url), backend = db.backend(), "BDTX listening on http://{listen}");
            println!("BDTX đang chạy tại http://{listen}  (Ctrl-C để dừng)");
            bdtx_web::serve(listener, bdtx_web::AppState::new(db.clone(), cfg)).await?;
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
    }
    Ok(())
}

async fn seed_demo(db: &Db, teachers_per_school: usize) -> Result<()> {
    let started = std::time::Instant::now();
    let logins = bdtx_store::demo::seed(db, bdtx_store::demo::DemoSize { teachers_per_school }).await?;
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
