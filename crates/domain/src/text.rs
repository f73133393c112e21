//! Vietnamese text: NFC normalisation, whitespace cleaning, accent folding for search,
//! name splitting and the Vietnamese sort key (given name, then middle, then family name).

use icu_collator::options::{CollatorOptions, Strength};
use icu_collator::{Collator, CollatorBorrowed};
use icu_locale_core::locale;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::letters;

/// Characters that show nothing but make two texts differ (zero-width space, non-joiner and
/// joiner, word joiner, byte-order mark, soft hyphen): cleaning takes them out. (A TCVN3 text
/// read as Windows-1252 glyphs uses the soft hyphen for "ư": repair legacy text first.)
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}')
}

/// NFC-normalise, take out invisible characters ([`is_invisible`]), trim and collapse runs of
/// whitespace into one space.
pub fn clean(s: &str) -> String {
    // Fast path: most cells are already NFC with single spaces.
    if is_tidy_nfc(s) {
        return s.to_string();
    }
    clean_slow(s)
}

/// [`clean`] without copying text that is clean already.
pub(crate) fn clean_cow(s: &str) -> Cow<'_, str> {
    if is_tidy_nfc(s) { Cow::Borrowed(s) } else { Cow::Owned(clean_slow(s)) }
}

/// Whether `s` is NFC, with no leading, trailing or doubled whitespace and no whitespace but
/// single spaces, i.e. whether [`clean`] gives it back unchanged. One pass over the text;
/// characters the letter table does not vouch for take the general check.
fn is_tidy_nfc(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut after_space = true; // a space first is not tidy
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b' ' {
            if after_space {
                return false;
            }
            after_space = true;
            i += 1;
        } else if b.is_ascii() {
            if matches!(b, b'\t'..=b'\r') {
                return false; // whitespace other than a space (U+0009–U+000D)
            }
            after_space = false;
            i += 1;
        } else {
            let c = s[i..].chars().next().expect("a character starts here");
            if !letters::is_plain_nfc_letter(c) {
                return is_tidy_nfc_slow(s);
            }
            after_space = false;
            i += c.len_utf8();
        }
    }
    !after_space || s.is_empty()
}

fn is_tidy_nfc_slow(s: &str) -> bool {
    let tidy = !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s.contains("  ")
        && !s.contains(|c: char| (c.is_whitespace() && c != ' ') || is_invisible(c));
    tidy && unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
}

fn clean_slow(s: &str) -> String {
    let nfc: String = if s.contains(is_invisible) {
        s.chars().filter(|&c| !is_invisible(c)).nfc().collect()
    } else {
        s.nfc().collect()
    };
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
    // ASCII has nothing to decompose: lowercase and collapse whitespace only. The letters of
    // Vietnamese text fold one by one (see `letters`); anything else takes the general path.
    for c in s.chars() {
        if c.is_ascii() {
            if c.is_ascii_whitespace() || c == '\x0B' {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ')
                }
            } else {
                out.push(c.to_ascii_lowercase());
            }
        } else if let Some(f) = letters::fold_char(c) {
            out.push(f);
        } else {
            return fold_slow(s);
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// [`fold`] by the general path: canonical decomposition, marks dropped, đ → d, lowercase.
pub(crate) fn fold_slow(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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
    // The parts of `split_name` without copying them: the middle names are a slice of `full`
    // when single spaces separate them (a cleaned name), else joined as `split_name` does.
    let offset = |w: &str| w.as_ptr() as usize - full.as_ptr() as usize;
    let mut words = full.split_whitespace();
    let first = words.next().unwrap_or("");
    let (mut last, mut n) = (first, usize::from(!first.is_empty()));
    // Byte range of the middle names in `full`, their total length and count.
    let (mut range, mut letters, mut count) = ((0, 0), 0, 0);
    for w in words {
        if n >= 2 {
            let start = if count == 0 { offset(last) } else { range.0 };
            range = (start, offset(last) + last.len());
            letters += last.len();
            count += 1;
        }
        last = w;
        n += 1;
    }
    let (family, given) = if n >= 2 { (first, last) } else { ("", first) };
    let joined;
    let middle = match &full[range.0..range.1] {
        _ if count == 0 => "",
        // Each gap one byte, and that byte a space (U+000B is whitespace that ASCII's test omits).
        m if m.len() + 1 == letters + count
            && !m.bytes().any(|b| (b.is_ascii_whitespace() && b != b' ') || b == 0x0B) =>
        {
            m
        }
        _ => {
            joined = split_name(full).middle;
            joined.as_str()
        }
    };
    // About five hex digits a byte of the name (two bytes a letter of each key level).
    let mut key = String::with_capacity(6 * full.len() + 8);
    for part in [given, middle, family] {
        push_part_key(part, &mut key);
        key.push_str("00"); // part separator: lower than any sort-key byte
    }
    key
}

/// How many entries a per-thread memo of this crate holds before it forgets them all.
pub(crate) const MEMO_ENTRIES: usize = 4096;

/// Append the Vietnamese sort key of one part of a name, as hex, remembered per thread for short
/// parts: names share their parts (a few hundred family and given names make most of a national
/// roster) and collation is most of the cost of a key. Bounded ([`MEMO_ENTRIES`] parts).
fn push_part_key(part: &str, out: &mut String) {
    thread_local! {
        static KEYS: RefCell<HashMap<Box<str>, Box<str>>> = RefCell::new(HashMap::new());
    }
    let key_hex = |part: &str| {
        let mut key = Vec::with_capacity(32);
        let Ok(()) = collator().write_sort_key_to(part, &mut key);
        hex(&key)
    };
    if part.len() > 64 {
        out.push_str(&key_hex(part));
        return;
    }
    KEYS.with_borrow_mut(|keys| {
        if let Some(k) = keys.get(part) {
            out.push_str(k);
            return;
        }
        let k = key_hex(part);
        out.push_str(&k);
        if keys.len() >= MEMO_ENTRIES {
            keys.clear();
        }
        keys.insert(part.into(), k.into_boxed_str());
    })
}

/// Lowercase hex of bytes.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.extend_from_slice(&[DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
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
    fn clean_takes_out_invisible_characters() {
        for s in [
            "Nguy\u{200B}ễn Văn An",
            "Nguyễn\u{200C} Văn\u{200D} An",
            "\u{FEFF}Nguyễn Văn An",
            "Nguy\u{AD}ễn Văn\u{2060} An",
        ] {
            assert_eq!(clean(s), "Nguyễn Văn An", "{s:?}");
            assert_eq!(fold(&clean(s)), "nguyen van an", "{s:?}");
        }
        // between two spaces: one space is left
        assert_eq!(clean("Văn \u{200B} An"), "Văn An");
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

    /// `name_sort_key` as it reads: the parts of `split_name`, each collated afresh.
    fn reference_sort_key(full: &str) -> String {
        let parts = split_name(full);
        let mut key = Vec::new();
        for part in [&parts.given, &parts.middle, &parts.family] {
            let Ok(()) = collator().write_sort_key_to(part.as_str(), &mut key);
            key.push(0);
        }
        key.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn clean_fast_path_edges() {
        for s in [
            "",
            " ",
            "Nguyễn Văn An",
            " Nguyễn Văn An",
            "Nguyễn Văn An ",
            "Nguyễn  Văn An",
            "Nguyễn\tVăn An",
            "Nguyễn\u{A0}Văn An",
            "Nguyễn\u{B}Văn",
            "Nguye\u{302}\u{303}n",
            "Nguyễn\u{303}",
            "a\u{345}",
            "Hà Nội\n",
            "Ngu\u{200B}yễn",
            "Nguyễn\u{AD}",
            "\u{FEFF}An",
        ] {
            assert_eq!(is_tidy_nfc(s), is_tidy_nfc_slow(s), "{s:?}");
            assert_eq!(clean(s), clean_slow(s), "{s:?}");
            assert_eq!(clean_cow(s), clean_slow(s), "{s:?}");
        }
        assert!(matches!(clean_cow("Trường Tiểu học An Bình"), Cow::Borrowed(_)));
        assert_eq!(clean("  Trường\t Tiểu  học\u{A0}"), "Trường Tiểu học");
        for s in letters::random_texts(1, 20_000) {
            assert_eq!(is_tidy_nfc(&s), is_tidy_nfc_slow(&s), "{s:?}");
            assert_eq!(clean(&s), clean_slow(&s), "{s:?}");
        }
    }

    #[test]
    fn fold_fast_path_matches_the_general_one() {
        for s in
            ["Nguyễn Văn Ân", "ĐẶNG\tThị  Đào ", "Nguye\u{302}\u{303}n", "İstanbul", "Crème\u{A0}brûlée", "NguyÔn V¨n"]
        {
            assert_eq!(fold(s), fold_slow(s), "{s:?}");
        }
        assert_eq!(fold("Đặng\u{B}Thị"), "dang thi");
        for s in letters::random_texts(2, 20_000) {
            assert_eq!(fold(&s), fold_slow(&s), "{s:?}");
        }
    }

    #[test]
    fn sort_key_parts_without_copies() {
        for s in [
            "",
            "An",
            "Lê An",
            "Nguyễn Văn An",
            "Nguyễn Thị Minh Khai",
            "  Nguyễn   Thị\tMinh  Khai ",
            "Nguyễn Thị\u{A0}Minh Khai",
            "Nguyễn Thị\u{B}Minh Khai",
            "Tôn Nữ Thị Thu Hà",
        ] {
            assert_eq!(name_sort_key(s), reference_sort_key(s), "{s:?}");
            assert_eq!(name_sort_key(s), reference_sort_key(s), "{s:?} (remembered)");
        }
        for s in letters::random_texts(3, 5_000) {
            assert_eq!(name_sort_key(&s), reference_sort_key(&s), "{s:?}");
        }
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_escape("a%b_c\\"), "a\\%b\\_c\\\\");
    }
}
