//! Per-row cleaning of a roster import, single-threaded: `parse_row` and `PersonRow::new` for
//! every row, as `clean_rows` in `bdtx_roster::import` does on each cleaning thread. The file is
//! generated (or given) and read into memory first; only the cleaning is timed, in chunks of
//! 4,000 rows as the import deals them out. A checksum of every output (the Debug text of each
//! row's result, FNV-1a) lets two builds be compared for identical results; `--dump` writes that
//! text to a file to find the rows that differ.
//!
//!     clean_bench --people 200000 --seed 1
//!     clean_bench --file /tmp/r1m.csv --runs 3

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Parser;

use bdtx_roster::columns::map_headers;
use bdtx_roster::read::{Limits, StringRecord, for_each_record};
use bdtx_roster::row::parse_row;
use bdtx_store::roster::PersonRow;

#[derive(Parser)]
#[command(about = "Time parse_row + PersonRow::new on every row of a roster file, single-threaded")]
struct Args {
    /// A roster file to read (.csv or .xlsx); without it one is generated.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Rows to generate when no file is given.
    #[arg(long, default_value_t = 200_000)]
    people: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the generated file goes (default: a file in the temporary directory, kept).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Timed passes over the rows (the checksum is of the last).
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Write the Debug text of every output, one row a line, to this file.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Skip the checksum (to profile the timed part alone).
    #[arg(long)]
    no_checksum: bool,
}

/// The same allocator as the `bdtx` binary, which imports rosters.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What `clean_rows` keeps of a good row: its unit, warnings and the person to write.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug only
struct Out {
    row_no: usize,
    province: String,
    commune: String,
    school: String,
    school_code: String,
    levels: Vec<bdtx_domain::org::Level>,
    warnings: Vec<(bdtx_roster::columns::Field, &'static str)>,
    person: PersonRow,
}

type Cleaned = Result<Out, Vec<bdtx_roster::row::RowError>>;

fn clean_all(
    m: &bdtx_roster::columns::Mapping,
    rows: &[(usize, StringRecord)],
    today: chrono::NaiveDate,
) -> Vec<Cleaned> {
    rows.iter()
        .map(|(n, cells)| {
            parse_row(m, *n, cells, today).map(|r| {
                let levels = r.fields.levels.clone();
                let core = r.core.map(|m| (m, r.fields.main_subject.clone().unwrap_or_default()));
                Out {
                    row_no: r.row_no,
                    province: r.province,
                    commune: r.commune,
                    school: r.school,
                    school_code: r.school_code,
                    levels,
                    warnings: r.warnings,
                    person: PersonRow::new(r.fields, core),
                }
            })
        })
        .collect()
}

/// Rows a cleaning thread of the import takes at a time (`PIPE_ROWS` there).
const CHUNK: usize = 4_000;

fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let path = match &args.file {
        Some(p) => p.clone(),
        None => {
            let p = args
                .out
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join(format!("clean_bench_{}_{}.csv", args.people, args.seed)));
            if !p.exists() {
                let t = Instant::now();
                bdtx_roster::generate::generate(args.people, args.seed, &p).context("generating")?;
                eprintln!("generated {} ({:.1} s)", p.display(), t.elapsed().as_secs_f64());
            }
            p
        }
    };
    let mut headers: Option<Vec<String>> = None;
    let mut rows: Vec<(usize, StringRecord)> = Vec::new();
    for_each_record::<anyhow::Error>(&path, Limits::default(), |n, cells| {
        if headers.is_none() {
            headers = Some(cells.iter().map(String::from).collect());
        } else {
            rows.push((n, cells));
        }
        Ok(())
    })?;
    let headers = headers.ok_or_else(|| anyhow!("empty file"))?;
    let m = map_headers(&headers, &[])?;
    // A fixed day, so that dates in the future and two-digit years read the same on any day.
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();

    // Chunks of rows as the import deals them to its cleaning threads; each chunk's results are
    // checked and dropped outside the timed part (the import hands them to another thread).
    let runs = args.runs.max(1);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let (mut good, mut bad) = (0usize, 0usize);
    let mut line = String::new();
    let mut dump = match &args.dump {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    for run in 1..=runs {
        let check = run == runs && !args.no_checksum;
        let mut secs = 0.0;
        for chunk in rows.chunks(CHUNK) {
            let t = Instant::now();
            let done = clean_all(&m, chunk, today);
            secs += t.elapsed().as_secs_f64();
            if !check {
                continue;
            }
            for r in &done {
                match r {
                    Ok(_) => good += 1,
                    Err(_) => bad += 1,
                }
                line.clear();
                writeln!(line, "{r:?}")?;
                fnv1a(&mut h, line.as_bytes());
                if let Some(d) = &mut dump {
                    d.write_all(line.as_bytes())?;
                }
            }
        }
        println!(
            "run {run}: rows {}  seconds {secs:.3}  µs/row {:.3}",
            rows.len(),
            secs * 1e6 / rows.len().max(1) as f64
        );
    }
    if args.no_checksum {
        return Ok(());
    }
    if let Some(mut d) = dump {
        d.flush()?;
    }
    println!("file {}  good {good}  errors {bad}  checksum {h:016x}", path.display());
    Ok(())
}
