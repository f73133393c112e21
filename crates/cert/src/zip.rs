//! Many certificates in one ZIP (for a school, a class, a round), with Vietnamese file names.
//!
//! Entries are stored, not compressed: PDFs are compressed inside already. Names are written as
//! UTF-8 with the ZIP "language encoding" flag (bit 11) set, so Windows Explorer, macOS and
//! `unzip` show the diacritics.

use std::collections::HashSet;
use std::io::{Cursor, Seek, Write};

use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, ZipWriter};
use unicode_normalization::UnicodeNormalization;

use crate::error::CertError;
use crate::model::CertificateData;

/// The longest name component kept by [`safe_file_name`], in bytes (file systems allow 255).
const MAX_NAME_BYTES: usize = 180;

/// Zips `files` (name, content) in memory. Names are NFC-normalized; a name may contain folders
/// (`Trường THCS A/….pdf`) but must not be empty, absolute, contain `..`, `\`, `:` or control
/// characters, or repeat another name (ignoring case) ([`CertError::FileName`]). Use [`safe_file_name`] to make
/// names from people's data.
pub fn bundle(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Result<Vec<u8>, CertError> {
    Ok(bundle_into(Cursor::new(Vec::new()), files)?.into_inner())
}

/// Like [`bundle`], but writes to any seekable writer (a file, for archives too big for memory).
pub fn bundle_into<W: Write + Seek, I: IntoIterator<Item = (String, Vec<u8>)>>(
    writer: W,
    files: I,
) -> Result<W, CertError> {
    let mut zip = ZipWriter::new(writer);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o644)
        .large_file(false);
    let mut seen = HashSet::new();
    for (name, content) in files {
        let name = check_name(&name)?;
        if !seen.insert(name.to_lowercase()) {
            return Err(CertError::FileName(format!("trùng tên: {name}")));
        }
        let options = if content.len() as u64 >= u32::MAX as u64 { options.large_file(true) } else { options };
        zip.start_file(name.as_str(), options).map_err(|e| CertError::Zip(e.to_string()))?;
        zip.write_all(&content).map_err(|e| CertError::Zip(e.to_string()))?;
    }
    zip.finish().map_err(|e| CertError::Zip(e.to_string()))
}

fn check_name(name: &str) -> Result<String, CertError> {
    let nfc: String = name.nfc().collect();
    let bad = |why: &str| Err(CertError::FileName(format!("{why}: {nfc:?}")));
    if nfc.is_empty() {
        return bad("tên rỗng");
    }
    if nfc.starts_with('/') || nfc.contains('\\') || nfc.contains(':') {
        return bad("không được là đường dẫn tuyệt đối");
    }
    if nfc.chars().any(char::is_control) {
        return bad("có ký tự điều khiển");
    }
    if nfc.split('/').any(|part| part.trim().is_empty() || part == "." || part == "..") {
        return bad("có thư mục rỗng hoặc '..'");
    }
    Ok(nfc)
}

/// A file name made from any text (a person's name, a certificate number): NFC, characters that
/// file systems refuse (`/ \ : * ? " < > |`, control characters) replaced by `_`, runs of spaces
/// collapsed, leading and trailing spaces and dots removed, at most 180 bytes; never empty.
pub fn safe_file_name(text: &str) -> String {
    let nfc: String = text.nfc().collect();
    let replaced: String =
        nfc.chars()
            .map(|c| {
                if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
    let collapsed = replaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        out.push(c);
    }
    let out = out.trim_end_matches(|c: char| c == '.' || c.is_whitespace()).to_string();
    if out.is_empty() { "_".to_string() } else { out }
}

/// The usual file name of a certificate's PDF: `<number> - <holder name>.pdf`.
pub fn certificate_file_name(c: &CertificateData) -> String {
    format!("{}.pdf", safe_file_name(&format!("{} - {}", c.number, c.holder_name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read_back(bytes: &[u8]) -> Vec<(String, Vec<u8>, CompressionMethod)> {
        let mut archive = ::zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).unwrap();
                let mut content = Vec::new();
                file.read_to_end(&mut content).unwrap();
                (file.name().unwrap().to_string(), content, file.compression())
            })
            .collect()
    }

    #[test]
    fn bundles_with_vietnamese_names_stored() {
        let files = vec![
            ("HNUE2-2026-000123 - Nguyễn Thị Thu Hà.pdf".to_string(), b"%PDF-1 a".to_vec()),
            ("Trường THCS Đặng Thai Mai/Đặng Văn Đức.pdf".to_string(), b"%PDF-1 b".to_vec()),
            ("Ưng Hoàng Phúc.json".to_string(), b"{}".to_vec()),
        ];
        let zip = bundle(files.clone()).unwrap();
        assert!(zip.starts_with(b"PK\x03\x04"));
        let back = read_back(&zip);
        assert_eq!(back.len(), 3);
        for ((name, content), (got_name, got_content, method)) in files.iter().zip(&back) {
            assert_eq!(name, got_name);
            assert_eq!(content, got_content);
            assert_eq!(*method, CompressionMethod::Stored);
        }
        // The first local header carries the UTF-8 flag (general purpose bit 11).
        let flags = u16::from_le_bytes([zip[6], zip[7]]);
        assert_ne!(flags & 0x0800, 0, "UTF-8 flag not set");
        // Stored: the content is there as is.
        assert!(zip.windows(8).any(|w| w == b"%PDF-1 a"));
    }

    #[test]
    fn names_are_nfc() {
        let nfd: String = "Đặng Ửng Hà.pdf".nfd().collect();
        let back = read_back(&bundle([(nfd, vec![1])]).unwrap());
        assert_eq!(back[0].0, "Đặng Ửng Hà.pdf");
    }

    #[test]
    fn empty_bundle_is_a_valid_zip() {
        let zip = bundle(Vec::new()).unwrap();
        assert!(read_back(&zip).is_empty());
    }

    #[test]
    fn bad_names_are_refused() {
        for name in
            ["", "/etc/passwd", "../x.pdf", "a/../b.pdf", "a//b.pdf", "C:\\x.pdf", "a\\b.pdf", "tab\there.pdf", "a/"]
        {
            let err = bundle([(name.to_string(), vec![])]).unwrap_err();
            assert_eq!(err.code(), "file_name", "{name:?}");
        }
    }

    #[test]
    fn duplicate_names_are_refused_even_in_another_form_or_case() {
        let nfd: String = "Hà.pdf".nfd().collect();
        let err = bundle([("Hà.pdf".to_string(), vec![]), (nfd, vec![])]).unwrap_err();
        assert_eq!(err.code(), "file_name");
        let err = bundle([("Hà.pdf".to_string(), vec![]), ("HÀ.PDF".to_string(), vec![])]).unwrap_err();
        assert_eq!(err.code(), "file_name");
    }

    #[test]
    fn safe_file_names() {
        assert_eq!(safe_file_name("Nguyễn Thị Thu Hà"), "Nguyễn Thị Thu Hà");
        assert_eq!(safe_file_name("a/b\\c:d*e?f\"g<h>i|j"), "a_b_c_d_e_f_g_h_i_j");
        assert_eq!(safe_file_name("  ..Hà  Nội.. "), "Hà Nội");
        assert_eq!(safe_file_name("line\nbreak"), "line_break");
        assert_eq!(safe_file_name(""), "_");
        assert_eq!(safe_file_name("../.."), "_");
        let long = safe_file_name(&"Đặng ".repeat(100));
        assert!(long.len() <= MAX_NAME_BYTES && long.starts_with("Đặng"), "{long}");
        let nfd: String = "Ửng".nfd().collect();
        assert_eq!(safe_file_name(&nfd), "Ửng");
        // Whatever comes in, the result is accepted by `bundle`.
        for text in ["../../etc", "/", "\\\\server\\x", "a\u{0}b", " . ", "C:"] {
            let name = format!("{}.pdf", safe_file_name(text));
            assert!(bundle([(name.clone(), vec![])]).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn certificate_file_name_uses_number_and_name() {
        let c = CertificateData {
            number: "HNUE2-2026-000123".into(),
            code: String::new(),
            holder_name: "Nguyễn Thị Thu Hà".into(),
            holder_birth_date: None,
            module_code: String::new(),
            module_title: String::new(),
            periods: None,
            round_title: String::new(),
            issuer_name: String::new(),
            issuer_unit_code: String::new(),
            province_name: String::new(),
            issued_on: chrono::NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(),
            signer_name: String::new(),
            signer_title: String::new(),
        };
        assert_eq!(certificate_file_name(&c), "HNUE2-2026-000123 - Nguyễn Thị Thu Hà.pdf");
    }

    #[test]
    fn bundles_real_certificates() {
        let c = crate::pdf::tests::sample();
        let pdf = crate::pdf::render_pdf(&c, "https://bdtx.example.vn/verify/x").unwrap();
        let zip = bundle([(certificate_file_name(&c), pdf.clone())]).unwrap();
        assert!(zip.len() > pdf.len() && zip.len() < pdf.len() + 512);
        assert_eq!(read_back(&zip)[0].1, pdf);
    }
}
