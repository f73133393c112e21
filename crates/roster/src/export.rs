//! Roster exports that stream: constant memory whatever the size (rows go from the database
//! cursor straight to the file), sheets split past Excel's 1,048,576 rows, and no cell can
//! become a formula (CSV cells starting with = + - @ are prefixed with an apostrophe; .xlsx
//! cells are written as text, never as formulas).

use std::io::Write;
use std::path::Path;

pub use crate::xlsx::{EXCEL_MAX_ROWS, StreamingXlsx};
use bdtx_store::roster::ExportRow;
use bdtx_store::{Db, StoreError};

/// Headings of an export: the import's own, so an exported file imports back as it is.
pub fn headings() -> [&'static str; 13] {
    use crate::columns::Field::*;
    [
        "STT",
        FullName.heading(),
        BirthDate.heading(),
        Gender.heading(),
        NationalId.heading(),
        Phone.heading(),
        Email.heading(),
        Position.heading(),
        Levels.heading(),
        MainSubject.heading(),
        School.heading(),
        SchoolCode.heading(),
        "Đơn vị cấp trên",
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The first characters that make a spreadsheet program read a cell as a formula.
pub(crate) const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Make a text safe from formula injection in spreadsheet programs (an apostrophe before it,
/// which the import takes off again: `row::unguarded`).
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(FORMULA_STARTS) { format!("'{s}").into() } else { s.into() }
}

pub(crate) fn position_vi(p: &str) -> &'static str {
    match p {
        "principal" => "Hiệu trưởng",
        "vice_principal" => "Phó hiệu trưởng",
        "officer" => "Chuyên viên",
        "lecturer" => "Giảng viên",
        "staff" => "Nhân viên",
        _ => "Giáo viên",
    }
}

/// Reusable buffers for the cells of a row that are not borrowed from it as they are.
#[derive(Default)]
struct Scratch {
    n: String,
    birth_date: String,
    unit_above: String,
}

/// The 13 cells of an export row, borrowed from the row and from `s` (no allocation per cell).
fn cells<'a>(s: &'a mut Scratch, n: u64, r: &ExportRow<'a>) -> [&'a str; 13] {
    use std::fmt::Write as _;
    s.n.clear();
    let _ = write!(s.n, "{n}");
    s.birth_date.clear();
    if let Some(d) = r.birth_date {
        show_date(&mut s.birth_date, d);
    }
    s.unit_above.clear();
    if let Some(p) = r.parent {
        s.unit_above.push_str(p);
        if let Some(g) = r.grandparent {
            s.unit_above.push_str(", ");
            s.unit_above.push_str(g);
        }
    }
    let gender = match r.gender {
        Some("M") => "Nam",
        Some("F") => "Nữ",
        _ => "",
    };
    [
        &s.n,
        r.full_name,
        &s.birth_date,
        gender,
        r.national_id.unwrap_or_default(),
        r.phone.unwrap_or_default(),
        r.email.unwrap_or_default(),
        position_vi(r.position),
        r.levels,
        r.main_subject.unwrap_or_default(),
        r.school,
        r.school_code,
        &s.unit_above,
    ]
}

/// `bdtx_domain::dates::show` (yyyy-mm-dd → dd/mm/yyyy, anything else as it is) without
/// parsing and formatting through chrono for the usual, valid, date.
fn show_date(out: &mut String, iso: &str) {
    let b = iso.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let well_formed = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && digits(0..4) && digits(5..7) && digits(8..10);
    let valid = well_formed
        && chrono::NaiveDate::from_ymd_opt(
            iso[0..4].parse().unwrap_or(0),
            iso[5..7].parse().unwrap_or(0),
            iso[8..10].parse().unwrap_or(0),
        )
        .is_some();
    if valid {
        out.push_str(&iso[8..10]);
        out.push('/');
        out.push_str(&iso[5..7]);
        out.push('/');
        out.push_str(&iso[0..4]);
    } else {
        out.push_str(&bdtx_domain::dates::show(iso));
    }
}

/// Write the roster of `within` to `out`, .csv or .xlsx by extension. Returns rows written.
pub async fn export(db: &Db, within: Option<i64>, out: &Path) -> Result<u64, ExportError> {
    let xlsx = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx { export_xlsx(db, within, out).await } else { export_csv(db, within, std::fs::File::create(out)?).await }
}

/// A CSV field, neutralized, as the bytes the csv writer wants.
struct Field<'a>(std::borrow::Cow<'a, str>);

impl AsRef<[u8]> for Field<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

pub async fn export_csv(db: &Db, within: Option<i64>, w: impl Write) -> Result<u64, ExportError> {
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, w);
    w.write_all("\u{feff}".as_bytes())?; // Excel opens UTF-8 with a BOM correctly
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(headings()).map_err(std::io::Error::other)?;
    let mut n = 0;
    let mut s = Scratch::default();
    db.stream_roster(within, |r| {
        n += 1;
        let c = cells(&mut s, n, &r);
        csv.write_record(c.iter().map(|v| Field(neutralize(v)))).map_err(std::io::Error::other)
    })
    .await?;
    csv.flush()?;
    Ok(n)
}

/// Write the roster as .xlsx: rows go from the database cursor into the sheet XML, which a
/// second thread compresses into the file while reading goes on (see `crate::xlsx`).
pub async fn export_xlsx(db: &Db, within: Option<i64>, out: &Path) -> Result<u64, ExportError> {
    let mut x = StreamingXlsx::create(out, "Danh sách", &headings())?;
    let mut n = 0u64;
    let mut s = Scratch::default();
    db.stream_roster(within, |r| {
        n += 1;
        x.push(&cells(&mut s, n, &r))
    })
    .await?;
    x.finish()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(super::neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::neutralize("+84"), "'+84");
        assert_eq!(super::neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::neutralize("Nguyễn Văn An"), "Nguyễn Văn An");
    }

    #[test]
    fn dates_show_as_before() {
        for d in ["1985-03-07", "2000-02-29", "1999-02-29", "1985-3-7", "07/03/1985", "", "abcd-ef-gh", "2024-13-01"] {
            let mut out = String::new();
            super::show_date(&mut out, d);
            assert_eq!(out, bdtx_domain::dates::show(d), "{d}");
        }
    }
}
