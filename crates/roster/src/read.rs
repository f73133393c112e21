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
    /// Windows-1258, what Excel writes as "CSV" on a Vietnamese Windows: tone marks as combining
    /// characters, composed to NFC.
    Windows1258,
    /// TCVN3 (.VnTime) bytes, the whole file converted (headings included).
    Tcvn3,
    /// VNI-Windows bytes, the whole file converted (headings included).
    Vni,
    /// 8-bit text that none of those decodes into Vietnamese words: read as Windows-1252, each
    /// cell repaired on its own when it looks like TCVN3/VNI.
    Legacy8Bit,
}

impl TextEncoding {
    /// The encoding as the report names it.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16 => "UTF-16",
            TextEncoding::Windows1258 => "Windows-1258 (CSV của Excel tiếng Việt), đã chuyển sang Unicode",
            TextEncoding::Tcvn3 => "TCVN3 (.VnTime), đã chuyển sang Unicode",
            TextEncoding::Vni => "VNI-Windows, đã chuyển sang Unicode",
            TextEncoding::Legacy8Bit => "mã 8-bit không rõ (đọc như Windows-1252)",
        }
    }

    /// Whether the text arrived in an old 8-bit encoding (converted on the way in).
    pub fn is_legacy(self) -> bool {
        !matches!(self, TextEncoding::Utf8 | TextEncoding::Utf16)
    }
}

/// The 8-bit encoding of text that is not UTF-8: of Windows-1258, TCVN3 and VNI-Windows, the one
/// whose decoding gives the most Vietnamese words ([`vietnamese_score`]); when none gives more
/// good words than bad ones, [`TextEncoding::Legacy8Bit`]. On a tie Windows-1258 goes first
/// (today's Excel), then TCVN3, then VNI.
///
/// [`vietnamese_score`]: bdtx_domain::clean::vietnamese_score
pub fn guess_8bit(sample: &[u8]) -> TextEncoding {
    let mut best = (0, TextEncoding::Legacy8Bit);
    for enc in [TextEncoding::Windows1258, TextEncoding::Tcvn3, TextEncoding::Vni] {
        let score = bdtx_domain::clean::vietnamese_score(&decode_8bit(sample, enc));
        if score > best.0 {
            best = (score, enc);
        }
    }
    best.1
}

/// 8-bit bytes as Unicode text (NFC) in the given encoding; [`TextEncoding::Legacy8Bit`] (and
/// anything else) as Windows-1252 glyphs.
pub fn decode_8bit(bytes: &[u8], enc: TextEncoding) -> String {
    use unicode_normalization::UnicodeNormalization;
    if let Ok(ascii) = std::str::from_utf8(bytes)
        && ascii.is_ascii()
    {
        return ascii.to_string();
    }
    match enc {
        TextEncoding::Windows1258 => encoding_rs::WINDOWS_1258.decode_without_bom_handling(bytes).0.nfc().collect(),
        TextEncoding::Tcvn3 => {
            bdtx_domain::clean::tcvn3_to_unicode(&encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0)
        }
        TextEncoding::Vni => {
            bdtx_domain::clean::vni_to_unicode(&encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0)
        }
        _ => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The valid UTF-8 prefix test of a file's first bytes: a sequence cut at the end of the sample
/// does not count against it.
fn is_utf8_head(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The header row with its headings repaired when they look like TCVN3/VNI glyphs (a workbook
/// typed in .VnTime fonts, or such text saved as UTF-8): headings are converted like data.
/// A heading too short to tell alone is converted like the others when that reads as more
/// Vietnamese; one that reads as well either way ("Sè CCCD") is known by its conversion when the
/// headings are mapped (`columns::map_headers`).
fn repair_headings(rec: StringRecord) -> StringRecord {
    use bdtx_domain::clean::{convert_like_neighbours, repair_legacy_cow};
    let Some(legacy) = rec.iter().find_map(|h| repair_legacy_cow(h).1) else {
        return rec;
    };
    rec.iter()
        .map(|h| match repair_legacy_cow(h) {
            (fixed, Some(_)) => fixed.into_owned(),
            (same, None) => convert_like_neighbours(&same, legacy).unwrap_or_else(|| same.into_owned()),
        })
        .collect()
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

/// The rows of a CSV, UTF-8 (a byte-order mark is skipped) or else legacy 8-bit text. When the
/// file's first bytes are not UTF-8, its encoding is chosen from them ([`guess_8bit`]: Windows-1258,
/// TCVN3 or VNI-Windows) and every row, the headings included, is decoded with it. When they
/// are, a later row that is not is decoded with the encoding guessed from that row. Text no
/// encoding explains is read as Windows-1252 glyphs (cells repaired later, one by one).
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
    // The whole file's 8-bit encoding, when its first bytes already tell it is not UTF-8.
    let mut eight_bit = (!is_utf8_head(&head[start..])).then(|| guess_8bit(&head[start..]));
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
                let rec = match eight_bit {
                    Some(e8) => {
                        enc = e8;
                        bytes.iter().map(|cell| decode_8bit(cell, e8)).collect()
                    }
                    None => match StringRecord::from_byte_record(std::mem::take(&mut bytes)) {
                        Ok(rec) => rec,
                        Err(e) => {
                            let raw = e.into_byte_record();
                            let mut sample = Vec::with_capacity(raw.as_slice().len() + raw.len());
                            for cell in raw.iter() {
                                sample.extend_from_slice(cell);
                                sample.push(b' ');
                            }
                            let e8 = guess_8bit(&sample);
                            (eight_bit, enc) = (Some(e8), e8);
                            raw.iter().map(|cell| decode_8bit(cell, e8)).collect()
                        }
                    },
                };
                if rec.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                check(limits, row, &rec)?;
                let rec = if any { rec } else { repair_headings(rec) };
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
                    let rec = if any { rec } else { repair_headings(rec) };
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
        // A cell formatted as a date: its day in ISO, in the workbook's date system (1900 or,
        // with `<workbookPr date1904="1"/>`, 1904: the same serial is 1,462 days later).
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
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

    fn rows_enc(bytes: &[u8]) -> (TextEncoding, Vec<Vec<String>>) {
        let mut out = Vec::new();
        let enc = for_each_row_in(bytes, Limits::default(), &mut |_, c| {
            out.push(c);
            Ok::<_, ReadError>(())
        })
        .unwrap();
        (enc, out)
    }

    #[test]
    fn legacy_bytes_are_decoded_by_the_encoding_that_gives_vietnamese_words() {
        let mut bytes = b"Ho ten\n".to_vec();
        bytes.extend([b'N', b'g', b'u', b'y', 0xD4, b'n']); // "Nguyễn" in TCVN3
        let (enc, out) = rows_enc(&bytes);
        assert_eq!(enc, TextEncoding::Tcvn3);
        assert_eq!(out[1][0], "Nguyễn");
        // bytes no encoding makes words of: Windows-1252 glyphs, repaired per cell later
        let (enc, out) = rows_enc(b"Ho ten\nx\xA4\xA4\xA4y\n");
        assert_eq!(enc, TextEncoding::Legacy8Bit);
        assert_eq!(out[1][0], "x\u{A4}\u{A4}\u{A4}y");
    }

    /// The heading row and two rows of a school's list, as Unicode.
    const LIST: &str = "Họ và tên;Ngày sinh;Giới tính;Chức vụ;Trường\n\
                        Nguyễn Văn Đạt;02/09/1985;Nam;Giáo viên;Trường TH Kim Đông\n\
                        Trần Thị Hường;15/04/1990;Nữ;Hiệu trưởng;Trường TH Kim Đông\n";

    fn expected() -> Vec<Vec<String>> {
        LIST.lines().map(|l| l.split(';').map(String::from).collect()).collect()
    }

    /// Unicode → Windows-1258 bytes as Excel writes them: base letters (â ê ô ơ ư ă đ are
    /// letters of the code page) followed by a combining tone mark.
    fn to_cp1258(s: &str) -> Vec<u8> {
        use unicode_normalization::UnicodeNormalization;
        let mut out = Vec::new();
        for c in s.nfc() {
            let mut buf = [0; 4];
            let (bytes, _, bad) = encoding_rs::WINDOWS_1258.encode(c.encode_utf8(&mut buf));
            if !bad {
                out.extend_from_slice(&bytes);
                continue;
            }
            // the letter without its tone, then the tone
            let d: Vec<char> = std::iter::once(c).nfd().collect();
            let is_tone = |m: &char| matches!(m, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}');
            let tone = *d.iter().find(|m| is_tone(m)).unwrap();
            let base: String = d.iter().filter(|m| !is_tone(m)).collect::<String>().nfc().collect();
            let (b, _, bad) = encoding_rs::WINDOWS_1258.encode(&base);
            assert!(!bad, "{c}");
            out.extend_from_slice(&b);
            let mut buf = [0; 4];
            let (t, _, bad) = encoding_rs::WINDOWS_1258.encode(tone.encode_utf8(&mut buf));
            assert!(!bad, "{c}");
            out.extend_from_slice(&t);
        }
        out
    }

    fn to_8bit(glyphs: &str) -> Vec<u8> {
        let (b, _, bad) = encoding_rs::WINDOWS_1252.encode(glyphs);
        assert!(!bad);
        b.into_owned()
    }

    #[test]
    fn whole_legacy_files_are_converted_headings_included() {
        let tcvn3 = to_8bit(&bdtx_domain::clean::unicode_to_tcvn3(LIST));
        assert_eq!(rows_enc(&tcvn3), (TextEncoding::Tcvn3, expected()));
        let vni = to_8bit(&bdtx_domain::clean::unicode_to_vni(LIST));
        assert_eq!(rows_enc(&vni), (TextEncoding::Vni, expected()));
        let cp1258 = to_cp1258(LIST);
        assert!(cp1258.contains(&0xDE) && cp1258.contains(&0xF2), "tone marks as combining bytes");
        assert_eq!(rows_enc(&cp1258), (TextEncoding::Windows1258, expected()));
        // the 8-bit guess on its own
        assert_eq!(guess_8bit(&cp1258), TextEncoding::Windows1258);
        assert_eq!(guess_8bit(&tcvn3), TextEncoding::Tcvn3);
        assert_eq!(guess_8bit(&vni), TextEncoding::Vni);
    }

    #[test]
    fn headings_in_legacy_glyphs_are_converted_in_utf8_text() {
        // TCVN3 text saved as UTF-8 (glyphs of a .VnTime workbook): the headings too
        let glyphs = bdtx_domain::clean::unicode_to_tcvn3(LIST);
        let (enc, out) = rows_enc(glyphs.as_bytes());
        assert_eq!(enc, TextEncoding::Utf8);
        assert_eq!(out[0], expected()[0]);
    }

    #[test]
    fn xlsx_dates_follow_the_workbook_date_system() {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let date = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
        ws.write_string(0, 0, "Ngày sinh").unwrap();
        // 31/03/1985 in the 1900 system
        ws.write_number_with_format(1, 0, 31137.0, &date).unwrap();
        ws.write_string(2, 0, "1990-03-05T00:00:00").unwrap();
        wb.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let (_, out) = rows_enc(&bytes);
        assert_eq!(out[1][0], "1985-03-31");
        assert_eq!(out[2][0], "1990-03-05T00:00:00");
        // the same workbook in the 1904 date system: the serial 31137 is 1,462 days later
        let mut zin = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..zin.len() {
            let mut f = zin.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            let name = f.name().unwrap().to_string();
            if name == "xl/workbook.xml" {
                let xml = String::from_utf8(data).unwrap();
                assert!(xml.contains("<workbookPr"), "{xml}");
                data = xml.replacen("<workbookPr", "<workbookPr date1904=\"1\"", 1).into_bytes();
            }
            zout.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            zout.write_all(&data).unwrap();
        }
        let bytes = zout.finish().unwrap().into_inner();
        let (_, out) = rows_enc(&bytes);
        assert_eq!(out[1][0], "1989-04-01");
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
        assert_eq!(enc, TextEncoding::Tcvn3);
        assert_eq!(last.unwrap(), vec!["Nguyễn".to_string(), "A".to_string()]);
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
