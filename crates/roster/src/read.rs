//! Reading the lists offices keep: CSV (UTF-8, UTF-16, or legacy 8-bit text) and .xlsx. The format
//! is decided by the file's bytes, not its name, so a .xls, .ods or password-protected workbook
//! named .xlsx gets a clear message instead of garbage.

use std::io::Cursor;
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};
pub use csv::StringRecord;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: u64,
    /// Excel's own limit per cell is 32,767 characters.
    pub max_cell_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 512 * 1024 * 1024, max_cell_chars: 32_767 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("tệp rỗng, không có dữ liệu")]
    Empty,
    #[error("tệp chỉ có dòng tiêu đề, không có dòng dữ liệu nào")]
    NoRows,
    #[error("tệp lớn hơn giới hạn cho phép ({limit_mb} MB)")]
    TooBig { limit_mb: u64 },
    #[error("tệp Excel được đặt mật khẩu: hãy bỏ mật khẩu rồi tải lên lại")]
    Encrypted,
    #[error("đây là tệp Excel cũ (.xls): hãy lưu lại dưới dạng .xlsx hoặc .csv")]
    Xls,
    #[error("đây là tệp OpenDocument (.ods): hãy lưu lại dưới dạng .xlsx hoặc .csv")]
    Ods,
    #[error("không phải bảng tính (.xlsx) hay tệp văn bản (.csv)")]
    NotSpreadsheet,
    #[error("tệp .xlsx bị hỏng hoặc không đầy đủ: {0}")]
    Corrupt(String),
    #[error("ô {cell} chứa công thức; hãy dán giá trị (Paste Values) thay cho công thức")]
    Formula { cell: String },
    #[error("ô {cell} dài quá {max} ký tự")]
    CellTooBig { cell: String, max: usize },
    #[error("không đọc được tệp: {0}")]
    Io(String),
}

/// How the text of a CSV was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Utf16,
    /// Not UTF-8: read as Windows-1252 bytes (old TCVN3/VNI files), to be repaired per cell.
    Legacy8Bit,
}

/// Excel-style cell name: column index 0 → A, row number 1-based.
pub fn cell_name(row: usize, col: usize) -> String {
    let mut c = col + 1;
    let mut s = String::new();
    while c > 0 {
        let r = (c - 1) % 26;
        s.insert(0, (b'A' + r as u8) as char);
        c = (c - 1) / 26;
    }
    format!("{s}{row}")
}

enum Kind {
    Xlsx,
    Text,
}

fn sniff(bytes: &[u8]) -> Result<Kind, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        if bytes.len() > 38 + 46
            && bytes[30..38] == *b"mimetype"
            && bytes[38..].starts_with(b"application/vnd.oasis.opendocument")
        {
            return Err(ReadError::Ods);
        }
        return Ok(Kind::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // An OLE container: either a .xls or an encrypted .xlsx ("EncryptedPackage" stream).
        let marker: Vec<u8> = "EncryptedPackage".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        if bytes.windows(marker.len()).any(|w| w == marker.as_slice()) {
            return Err(ReadError::Encrypted);
        }
        return Err(ReadError::Xls);
    }
    let head = &bytes[..bytes.len().min(4096)];
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    if !utf16 && head.contains(&0) {
        return Err(ReadError::NotSpreadsheet);
    }
    Ok(Kind::Text)
}

/// A UTF-16 text (with its byte-order mark) as UTF-8.
fn decode_utf16(bytes: &[u8]) -> String {
    let enc = if bytes[0] == 0xFF { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
    enc.decode(&bytes[2..]).0.into_owned()
}

fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    [b',', b';', b'\t'].into_iter().max_by_key(|d| first.bytes().filter(|b| b == d).count()).unwrap_or(b',')
}

/// Read a file and hand each row (1-based row number, cells) to `f`; the first row given is the
/// header row. Stops at the first error of the file itself (row errors are the caller's).
pub fn for_each_row<E: From<ReadError>>(
    path: &Path,
    limits: Limits,
    mut f: impl FnMut(usize, Vec<String>) -> Result<(), E>,
) -> Result<TextEncoding, E> {
    for_each_record(path, limits, |row, rec| f(row, rec.iter().map(String::from).collect()))
}

/// [`for_each_row`] on a file's bytes already in memory (an upload).
pub fn for_each_row_in<E: From<ReadError>>(
    bytes: &[u8],
    limits: Limits,
    f: &mut impl FnMut(usize, Vec<String>) -> Result<(), E>,
) -> Result<TextEncoding, E> {
    records_in(bytes, limits, &mut |row, rec: StringRecord| f(row, rec.iter().map(String::from).collect()))
}

/// As [`for_each_row`], each row's cells in one `StringRecord` (one buffer, not a String a
/// cell: the import's reading thread hands a million of them to the cleaning threads). A CSV
/// in UTF-8 or legacy 8-bit text is read as it streams from the disk; .xlsx and UTF-16 files
/// are read whole first.
pub fn for_each_record<E: From<ReadError>>(
    path: &Path,
    limits: Limits,
    mut f: impl FnMut(usize, StringRecord) -> Result<(), E>,
) -> Result<TextEncoding, E> {
    use std::io::Read;
    let io = |e: std::io::Error| ReadError::Io(e.to_string());
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > limits.max_bytes {
        return Err(ReadError::TooBig { limit_mb: limits.max_bytes / (1024 * 1024) }.into());
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(HEAD);
    (&mut file).take(HEAD as u64).read_to_end(&mut head).map_err(io)?;
    if matches!(sniff(&head)?, Kind::Text) && !is_utf16(&head) {
        // Bytes past the limit (a file growing while read) are not read.
        let rest = file.take(limits.max_bytes.saturating_sub(head.len() as u64));
        return csv_records(std::io::Cursor::new(head).chain(rest), limits, &mut f);
    }
    let mut bytes = head;
    file.read_to_end(&mut bytes).map_err(io)?;
    records_in(&bytes, limits, &mut f)
}

/// Bytes enough to tell a file's kind and a CSV's delimiter.
const HEAD: usize = 64 * 1024;

fn is_utf16(head: &[u8]) -> bool {
    head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF])
}

/// Every row of a file in memory.
fn records_in<E: From<ReadError>>(
    bytes: &[u8],
    limits: Limits,
    f: &mut impl FnMut(usize, StringRecord) -> Result<(), E>,
) -> Result<TextEncoding, E> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(ReadError::TooBig { limit_mb: limits.max_bytes / (1024 * 1024) }.into());
    }
    match sniff(bytes)? {
        Kind::Text if is_utf16(bytes) => {
            let text = decode_utf16(bytes);
            csv_records(text.as_bytes(), limits, f)?;
            Ok(TextEncoding::Utf16)
        }
        Kind::Text => csv_records(bytes, limits, f),
        Kind::Xlsx => xlsx_records(bytes, limits, f),
    }
}

/// A cell longer than the limit is an error of the file.
fn check(limits: Limits, row: usize, rec: &StringRecord) -> Result<(), ReadError> {
    for (c, v) in rec.iter().enumerate() {
        // A cell has at most as many characters as bytes: count only long ones.
        if v.len() > limits.max_cell_chars && v.chars().count() > limits.max_cell_chars {
            return Err(ReadError::CellTooBig { cell: cell_name(row, c), max: limits.max_cell_chars });
        }
    }
    Ok(())
}

/// The rows of a CSV, UTF-8 (a byte-order mark is skipped) or else legacy 8-bit text: a row
/// that is not valid UTF-8 is read as Windows-1252 bytes (old TCVN3/VNI files; the cells are
/// repaired later), and the file is then reported as legacy text.
fn csv_records<E: From<ReadError>>(
    mut input: impl std::io::Read,
    limits: Limits,
    f: &mut impl FnMut(usize, StringRecord) -> Result<(), E>,
) -> Result<TextEncoding, E> {
    use std::io::Read;
    let io = |e: std::io::Error| ReadError::Io(e.to_string());
    // The first line tells the delimiter, after a byte-order mark if any.
    let mut head = Vec::with_capacity(HEAD);
    (&mut input).take(HEAD as u64).read_to_end(&mut head).map_err(io)?;
    let start = if head.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
    let delim = delimiter(&String::from_utf8_lossy(&head[start..]));
    let mut head = std::io::Cursor::new(head);
    head.set_position(start as u64);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .buffer_capacity(256 * 1024)
        .from_reader(std::io::Read::chain(head, input));
    let (mut any, mut row, mut enc) = (false, 0, TextEncoding::Utf8);
    let mut bytes = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut bytes) {
            Ok(false) => break,
            Ok(true) => {
                row += 1;
                let rec = match StringRecord::from_byte_record(std::mem::take(&mut bytes)) {
                    Ok(rec) => rec,
                    Err(e) => {
                        enc = TextEncoding::Legacy8Bit;
                        let raw = e.into_byte_record();
                        raw.iter().map(|cell| encoding_rs::WINDOWS_1252.decode(cell).0).collect()
                    }
                };
                if rec.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                check(limits, row, &rec)?;
                any = true;
                f(row, rec)?;
            }
            Err(e) => return Err(ReadError::Corrupt(e.to_string()).into()),
        }
    }
    if !any {
        return Err(ReadError::Empty.into());
    }
    Ok(enc)
}

fn xlsx_records<E: From<ReadError>>(
    bytes: &[u8],
    limits: Limits,
    f: &mut impl FnMut(usize, StringRecord) -> Result<(), E>,
) -> Result<TextEncoding, E> {
    let mut any = false;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| ReadError::Corrupt(e.to_string()))?;
    let sheet = wb.sheet_names().first().cloned().ok_or(ReadError::Empty)?;
    if let Ok(formulas) = wb.worksheet_formula(&sheet) {
        if let Some((r, c, _)) = formulas.used_cells().find(|(_, _, v)| !v.is_empty()) {
            let (r0, c0) = formulas.start().unwrap_or((0, 0));
            return Err(ReadError::Formula { cell: cell_name(r0 as usize + r + 1, c0 as usize + c) }.into());
        }
    }
    let mut reader = wb.worksheet_cells_reader(&sheet).map_err(|e| ReadError::Corrupt(e.to_string()))?;
    let mut current: Option<(u32, Vec<String>)> = None;
    let mut flush =
        |row: Option<(u32, Vec<String>)>, f: &mut dyn FnMut(usize, StringRecord) -> Result<(), E>| -> Result<(), E> {
            if let Some((r, cells)) = row {
                if cells.iter().any(|c| !c.trim().is_empty()) {
                    let rec = StringRecord::from(cells);
                    check(limits, r as usize + 1, &rec)?;
                    any = true;
                    f(r as usize + 1, rec)?;
                }
            }
            Ok(())
        };
    loop {
        let cell = reader.next_cell().map_err(|e| ReadError::Corrupt(e.to_string()))?;
        let Some(cell) = cell else { break };
        let (r, c) = cell.get_position();
        if current.as_ref().is_some_and(|(cr, _)| *cr != r) {
            flush(current.take(), f)?;
        }
        let entry = current.get_or_insert_with(|| (r, Vec::new()));
        let c = c as usize;
        if entry.1.len() <= c {
            entry.1.resize(c + 1, String::new());
        }
        entry.1[c] = cell_text(cell.get_value());
    }
    flush(current.take(), f)?;
    if !any {
        return Err(ReadError::Empty.into());
    }
    Ok(TextEncoding::Utf8)
}

/// The header row of a file (its first non-empty row).
pub fn headers(path: &Path, limits: Limits) -> Result<Vec<String>, ReadError> {
    enum Stop {
        Read(ReadError),
        Done,
    }
    impl From<ReadError> for Stop {
        fn from(e: ReadError) -> Self {
            Stop::Read(e)
        }
    }
    let mut first = None;
    match for_each_row::<Stop>(path, limits, |_, cells| {
        first = Some(cells);
        Err(Stop::Done)
    }) {
        Err(Stop::Read(e)) => Err(e),
        _ => first.ok_or(ReadError::Empty),
    }
}

fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Bool(b) => b.to_string(),
        // Dates arrive as Excel serial numbers; the date parser understands them.
        DataRef::DateTime(d) => format!("{}", d.as_f64().trunc() as i64),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ReadError> {
        let mut out = Vec::new();
        for_each_row_in(bytes, Limits::default(), &mut |r, c| {
            out.push((r, c));
            Ok::<_, ReadError>(())
        })?;
        Ok(out)
    }

    #[test]
    fn csv_utf8_semicolon_and_bom() {
        let r = rows("\u{feff}Họ và tên;Trường\nNguyễn Văn An;Trường TH A\n\n".as_bytes()).unwrap();
        assert_eq!(
            r,
            vec![
                (1, vec!["Họ và tên".into(), "Trường".into()]),
                (2, vec!["Nguyễn Văn An".into(), "Trường TH A".into()])
            ]
        );
    }

    #[test]
    fn bad_files_are_named() {
        assert_eq!(rows(b""), Err(ReadError::Empty));
        assert_eq!(rows(b"\n\n"), Err(ReadError::Empty));
        assert_eq!(rows(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]), Err(ReadError::Xls));
        let mut enc = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        enc.extend("EncryptedPackage".encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(rows(&enc), Err(ReadError::Encrypted));
        assert!(matches!(rows(b"PK\x03\x04garbage that is not a zip"), Err(ReadError::Corrupt(_))));
        assert_eq!(rows(&[0x89, b'P', b'N', b'G', 0, 0, 0]), Err(ReadError::NotSpreadsheet));
        let big = format!("Họ và tên\n{}\n", "x".repeat(40_000));
        assert!(matches!(rows(big.as_bytes()), Err(ReadError::CellTooBig { .. })));
    }

    #[test]
    fn legacy_bytes_are_read_as_windows_1252() {
        let mut bytes = b"Ho ten\n".to_vec();
        bytes.extend([b'N', b'g', b'u', b'y', 0xD4, b'n']); // "NguyÔn" in TCVN3
        let mut enc = None;
        let mut out = Vec::new();
        let e = for_each_row_in(&bytes, Limits::default(), &mut |_, c| {
            out.push(c);
            Ok::<_, ReadError>(())
        });
        if let Ok(x) = e {
            enc = Some(x);
        }
        assert_eq!(enc, Some(TextEncoding::Legacy8Bit));
        assert_eq!(out[1][0], "NguyÔn");
    }

    #[test]
    fn a_file_streams_past_its_first_bytes_as_read_whole() {
        // Larger than the head read to tell the kind and the delimiter: rows cross that edge.
        let mut text = "\u{feff}Họ và tên;Trường\n".to_string();
        for i in 0..5_000 {
            text.push_str(&format!("Nguyễn Văn {i};\"Trường; TH {i}\"\n"));
        }
        assert!(text.len() > 2 * HEAD);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ds.csv");
        std::fs::write(&path, &text).unwrap();
        let mut streamed = Vec::new();
        let enc = for_each_row(&path, Limits::default(), |r, c| {
            streamed.push((r, c));
            Ok::<_, ReadError>(())
        })
        .unwrap();
        assert_eq!(enc, TextEncoding::Utf8);
        assert_eq!(streamed, rows(text.as_bytes()).unwrap());
        assert_eq!(streamed.len(), 5_001);
        assert_eq!(streamed[4_000], (4_001, vec!["Nguyễn Văn 3999".to_string(), "Trường; TH 3999".to_string()]));
        // legacy bytes past the head are read as such, and the file is reported so
        let mut bytes = text.into_bytes();
        bytes.extend(b"Nguy\xd4n;A\n");
        std::fs::write(&path, &bytes).unwrap();
        let mut last = None;
        let enc = for_each_row(&path, Limits::default(), |_, c| {
            last = Some(c);
            Ok::<_, ReadError>(())
        })
        .unwrap();
        assert_eq!(enc, TextEncoding::Legacy8Bit);
        assert_eq!(last.unwrap(), vec!["NguyÔn".to_string(), "A".to_string()]);
        // a limit smaller than the file: nothing is read
        let small = Limits { max_bytes: 1024, ..Limits::default() };
        assert!(matches!(for_each_row(&path, small, |_, _| Ok::<_, ReadError>(())), Err(ReadError::TooBig { .. })));
    }

    #[test]
    fn cell_names() {
        assert_eq!(cell_name(1, 0), "A1");
        assert_eq!(cell_name(10, 27), "AB10");
    }
}
