//! Roster exports that stream: constant memory whatever the size (rows go from the database
//! cursor straight to the file), sheets split past Excel's 1,048,576 rows, and no cell can
//! become a formula (CSV cells starting with = + - @ are prefixed with an apostrophe; .xlsx
//! cells are written as text, never as formulas).

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

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

/// Excel's row limit, header included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("xlsx: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Make a text safe from formula injection in spreadsheet programs.
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

fn position_vi(p: &str) -> &'static str {
    match p {
        "principal" => "Hiệu trưởng",
        "vice_principal" => "Phó hiệu trưởng",
        "officer" => "Chuyên viên",
        "lecturer" => "Giảng viên",
        "staff" => "Nhân viên",
        _ => "Giáo viên",
    }
}

fn cells(n: u64, r: &ExportRow) -> [String; 13] {
    let gender = match r.gender.as_deref() {
        Some("M") => "Nam",
        Some("F") => "Nữ",
        _ => "",
    };
    let unit_above = match (&r.parent, &r.grandparent) {
        (Some(p), Some(g)) => format!("{p}, {g}"),
        (Some(p), None) => p.clone(),
        _ => String::new(),
    };
    [
        n.to_string(),
        r.full_name.clone(),
        r.birth_date.as_deref().map(bdtx_domain::dates::show).unwrap_or_default(),
        gender.to_string(),
        r.national_id.clone().unwrap_or_default(),
        r.phone.clone().unwrap_or_default(),
        r.email.clone().unwrap_or_default(),
        position_vi(&r.position).to_string(),
        r.levels.clone(),
        r.main_subject.clone().unwrap_or_default(),
        r.school.clone(),
        r.school_code.clone(),
        unit_above,
    ]
}

/// Write the roster of `within` to `out`, .csv or .xlsx by extension. Returns rows written.
pub async fn export(db: &Db, within: Option<i64>, out: &Path) -> Result<u64, ExportError> {
    let xlsx = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx { export_xlsx(db, within, out).await } else { export_csv(db, within, std::fs::File::create(out)?).await }
}

pub async fn export_csv(db: &Db, within: Option<i64>, w: impl Write) -> Result<u64, ExportError> {
    let mut w = std::io::BufWriter::new(w);
    w.write_all("\u{feff}".as_bytes())?; // Excel opens UTF-8 with a BOM correctly
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(headings()).map_err(std::io::Error::other)?;
    let mut n = 0;
    db.stream_roster(within, |r| {
        n += 1;
        let c = cells(n, &r);
        csv.write_record(c.iter().map(|s| neutralize(s).into_owned())).map_err(std::io::Error::other)
    })
    .await?;
    csv.flush()?;
    Ok(n)
}

/// An .xlsx table written row by row in constant memory, split into further sheets past
/// Excel's row limit (each with the headings again); every cell is text, so nothing is a formula.
pub struct StreamingXlsx {
    wb: Workbook,
    name: String,
    headings: Vec<String>,
    bold: Format,
    sheet: usize,
    row: u32,
}

impl StreamingXlsx {
    pub fn new(name: &str, headings: &[&str]) -> Result<StreamingXlsx, XlsxError> {
        let mut wb = Workbook::new();
        wb.set_tempdir(std::env::temp_dir())?;
        let mut me = StreamingXlsx {
            wb,
            name: name.to_string(),
            headings: headings.iter().map(|h| h.to_string()).collect(),
            bold: Format::new().set_bold(),
            sheet: 0,
            row: 0,
        };
        me.new_sheet()?;
        Ok(me)
    }

    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        let ws: &mut Worksheet = self.wb.add_worksheet_with_constant_memory();
        let name = if self.sheet == 0 { self.name.clone() } else { format!("{} ({})", self.name, self.sheet + 1) };
        ws.set_name(name)?;
        for (c, h) in self.headings.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &self.bold)?;
        }
        ws.set_column_width(1, 28)?;
        ws.set_freeze_panes(1, 0)?;
        Ok(())
    }

    pub fn push(&mut self, cells: &[String]) -> Result<(), XlsxError> {
        if self.row + 1 >= EXCEL_MAX_ROWS {
            self.sheet += 1;
            self.row = 0;
            self.new_sheet()?;
        }
        self.row += 1;
        let ws = self.wb.worksheet_from_index(self.sheet)?;
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(self.row, c as u16, v)?;
            }
        }
        Ok(())
    }

    pub fn save(mut self, out: &Path) -> Result<(), XlsxError> {
        self.wb.save(out)
    }
}

pub async fn export_xlsx(db: &Db, within: Option<i64>, out: &Path) -> Result<u64, ExportError> {
    let mut x = StreamingXlsx::new("Danh sách", &headings())?;
    let mut n = 0u64;
    let mut failure: Option<XlsxError> = None;
    db.stream_roster(within, |r| {
        n += 1;
        x.push(&cells(n, &r)).map_err(|e| {
            failure = Some(e);
            std::io::Error::other("xlsx")
        })
    })
    .await
    .map_err(|e| match failure.take() {
        Some(x) => ExportError::Xlsx(x),
        None => ExportError::Store(e),
    })?;
    x.save(out)?;
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
}
