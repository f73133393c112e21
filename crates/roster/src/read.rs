//! Reading the lists offices keep: CSV (UTF-8, UTF-16, or legacy 8-bit text) and .xlsx. The format
//! is decided by the file's bytes, not its name, so a .xls, .ods or password-protected workbook
//! named .xlsx gets a clear message instead of garbage.

use std::io::Cursor;
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};

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

fn decode_text(bytes: &[u8]) -> (String, TextEncoding) {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return (String::from_utf8_lossy(rest).into_owned(), TextEncoding::Utf8);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let enc = if bytes[0] == 0xFF { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
        let (s, _, _) = enc.decode(&bytes[2..]);
        return (s.into_owned(), TextEncoding::Utf16);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), TextEncoding::Utf8),
        Err(_) => {
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (s.into_owned(), TextEncoding::Legacy8Bit)
        }
    }
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
    let meta = std::fs::metadata(path).map_err(|e| ReadError::Io(e.to_string()))?;
    if meta.len() > limits.max_bytes {
        return Err(ReadError::TooBig { limit_mb: limits.max_bytes / (1024 * 1024) }.into());
    }
    let bytes = std::fs::read(path).map_err(|e| ReadError::Io(e.to_string()))?;
    for_each_row_in(&bytes, limits, &mut f)
}

pub fn for_each_row_in<E: From<ReadError>>(
    bytes: &[u8],
    limits: Limits,
    f: &mut impl FnMut(usize, Vec<String>) -> Result<(), E>,
) -> Result<TextEncoding, E> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(ReadError::TooBig { limit_mb: limits.max_bytes / (1024 * 1024) }.into());
    }
    let check = |row: usize, cells: &[String]| -> Result<(), ReadError> {
        for (c, v) in cells.iter().enumerate() {
            // A cell has at most as many characters as bytes: count only long ones.
            if v.len() > limits.max_cell_chars && v.chars().count() > limits.max_cell_chars {
                return Err(ReadError::CellTooBig { cell: cell_name(row, c), max: limits.max_cell_chars });
            }
        }
        Ok(())
    };
    let mut any = false;
    match sniff(bytes)? {
        Kind::Text => {
            // UTF-8 (the usual case) is read in place; other encodings are decoded to a copy.
            let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            let decoded: String;
            let (text, enc): (&str, TextEncoding) = match std::str::from_utf8(body) {
                Ok(t) => (t, TextEncoding::Utf8),
                Err(_) => {
                    let (t, e) = decode_text(bytes);
                    decoded = t;
                    (&decoded, e)
                }
            };
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter(text))
                .from_reader(text.as_bytes());
            let mut rec = csv::StringRecord::new();
            let mut row = 0;
            loop {
                match rdr.read_record(&mut rec) {
                    Ok(false) => break,
                    Ok(true) => {
                        row += 1;
                        let cells: Vec<String> = rec.iter().map(|s| s.to_string()).collect();
                        if cells.iter().all(|c| c.trim().is_empty()) {
                            continue;
                        }
                        check(row, &cells)?;
                        any = true;
                        f(row, cells)?;
                    }
                    Err(e) => return Err(ReadError::Corrupt(e.to_string()).into()),
                }
            }
            if !any {
                return Err(ReadError::Empty.into());
            }
            Ok(enc)
        }
        Kind::Xlsx => {
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
            let mut flush = |row: Option<(u32, Vec<String>)>,
                             f: &mut dyn FnMut(usize, Vec<String>) -> Result<(), E>|
             -> Result<(), E> {
                if let Some((r, cells)) = row {
                    if cells.iter().any(|c| !c.trim().is_empty()) {
                        check(r as usize + 1, &cells)?;
                        any = true;
                        f(r as usize + 1, cells)?;
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
    }
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
    fn cell_names() {
        assert_eq!(cell_name(1, 0), "A1");
        assert_eq!(cell_name(10, 27), "AB10");
    }
}
