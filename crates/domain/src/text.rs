//! Vietnamese text: NFC normalisation, whitespace cleaning, accent folding for search,
//! name splitting and the Vietnamese sort key (given name, then middle, then family name).

use icu_collator::options::{CollatorOptions, Strength};
use icu_collator::{Collator, CollatorBorrowed};
use icu_locale_core::locale;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// NFC-normalise, trim and collapse runs of whitespace into one space.
pub fn clean(s: &str) -> String {
    // Fast path: most cells are already NFC with single spaces.
    let tidy = !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s.contains("  ")
        && !s.contains(|c: char| c.is_whitespace() && c != ' ');
    if tidy && unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
        return s.to_string();
    }
    let nfc: String = s.nfc().collect();
    let mut out = String::with_capacity(nfc.len());
    for word in nfc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Text typed in a text area: NFC, each line trimmed and cleaned, at most one blank line in a
/// row, no leading or trailing blank lines; line breaks are kept.
pub fn clean_multiline(s: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in s.lines().map(clean) {
        if line.is_empty() && out.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// Accent- and case-insensitive key: "Nguyễn Văn Ân" → "nguyen van an". Computed in Rust so
/// that SQLite and PostgreSQL match exactly the same way.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if s.is_ascii() {
        // ASCII has nothing to decompose: lowercase and collapse whitespace only.
        for c in s.chars() {
            if c.is_whitespace() {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ')
                }
            } else {
                out.push(c.to_ascii_lowercase());
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        return out;
    }
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match c {
            'đ' | 'Đ' => out.push('d'),
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ')
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// A Vietnamese full name split into family name (họ), middle names (tên đệm) and given name (tên).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameParts {
    pub family: String,
    pub middle: String,
    pub given: String,
}

/// Split a cleaned full name: first word is the family name, last word the given name.
pub fn split_name(full: &str) -> NameParts {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.len() {
        0 => NameParts { family: String::new(), middle: String::new(), given: String::new() },
        1 => NameParts { family: String::new(), middle: String::new(), given: words[0].to_string() },
        n => NameParts {
            family: words[0].to_string(),
            middle: words[1..n - 1].join(" "),
            given: words[n - 1].to_string(),
        },
    }
}

fn collator() -> &'static CollatorBorrowed<'static> {
    static C: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    C.get_or_init(|| {
        let mut options = CollatorOptions::default();
        options.strength = Some(Strength::Tertiary);
        Collator::try_new(locale!("vi").into(), options).expect("Vietnamese collation data is compiled in")
    })
}

/// Compare two strings with Vietnamese collation (a ă â b c d đ e ê …; tones secondary).
pub fn collate(a: &str, b: &str) -> std::cmp::Ordering {
    collator().compare(a, b)
}

/// Sort key for a person's name, as lowercase hex so it orders identically with a byte-wise
/// (C) collation on both databases: given name first, then middle names, then family name,
/// each compared fully with Vietnamese collation before the next.
pub fn name_sort_key(full: &str) -> String {
    let parts = split_name(full);
    let mut key = Vec::with_capacity(48);
    for part in [&parts.given, &parts.middle, &parts.family] {
        let Ok(()) = collator().write_sort_key_to(part.as_str(), &mut key);
        key.push(0); // part separator: lower than any sort-key byte
    }
    hex(&key)
}

/// Lowercase hex of bytes.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Sort key of a single text (unit names, titles) with Vietnamese collation, as hex.
pub fn text_sort_key(s: &str) -> String {
    let mut key = Vec::with_capacity(32);
    let Ok(()) = collator().write_sort_key_to(s, &mut key);
    hex(&key)
}

/// Escape `%`, `_` and `\` for a LIKE pattern using `ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_normalises_nfc_and_spaces() {
        let nfd = "Nguye\u{302}\u{303}n  \t Va\u{306}n   An ";
        assert_eq!(clean(nfd), "Nguyễn Văn An");
        assert_eq!(clean("Nguyễn Văn An"), "Nguyễn Văn An");
    }

    #[test]
    fn multiline_keeps_paragraphs() {
        assert_eq!(clean_multiline("\n  Dòng  1 \r\n\n\n\nDòng 2\n\n"), "Dòng 1\n\nDòng 2");
    }

    #[test]
    fn fold_strips_marks_and_d() {
        assert_eq!(fold("Nguyễn Văn Ân"), "nguyen van an");
        assert_eq!(fold("ĐẶNG  Thị Đào"), "dang thi dao");
        assert_eq!(fold("Nguye\u{302}\u{303}n"), "nguyen");
    }

    #[test]
    fn split_names() {
        let p = split_name("Nguyễn Thị Minh Khai");
        assert_eq!(p.family, "Nguyễn");
        assert_eq!(p.middle, "Thị Minh");
        assert_eq!(p.given, "Khai");
    }

    #[test]
    fn vietnamese_name_order() {
        // By given name first, then middle, then family; Vietnamese letters order a < ă < â, d < đ.
        let mut names = vec![
            "Trần Văn Đức",
            "Nguyễn Văn Dũng",
            "Lê Thị Ân",
            "Phạm Thị Anh",
            "Nguyễn Thị Ăn",
            "Bùi Văn An",
            "Đỗ Văn An",
            "Nguyễn Văn An",
        ];
        names.sort_by_key(|n| name_sort_key(n));
        assert_eq!(
            names,
            vec![
                "Bùi Văn An",
                "Đỗ Văn An",
                "Nguyễn Văn An",
                "Phạm Thị Anh",
                "Nguyễn Thị Ăn",
                "Lê Thị Ân",
                "Nguyễn Văn Dũng",
                "Trần Văn Đức",
            ]
        );
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_escape("a%b_c\\"), "a\\%b\\_c\\\\");
    }
}
