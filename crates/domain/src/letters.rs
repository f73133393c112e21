//! Per-character facts the text and name cleaning ask for on every cell, looked up in a table
//! for the characters Vietnamese text is written with (Latin-1, Latin Extended-A and -B, Latin
//! Extended Additional: à, ă, đ, ơ, ư, ễ, …) instead of Unicode's general tables.
//!
//! The table is computed once, from the very functions it stands in for (`char` methods,
//! `unicode_normalization`, and the crate's own slow paths), so a lookup always gives the same
//! answer as the call it replaces; characters outside its ranges take the general path.

use std::sync::OnceLock;

use unicode_normalization::char::{canonical_combining_class, is_combining_mark as uc_is_combining_mark};
use unicode_normalization::{IsNormalized, is_nfc_quick};

/// The ranges tabled: U+0080–U+024F and U+1E00–U+1EFF.
const LOW: (u32, u32) = (0x80, 0x250);
const HIGH: (u32, u32) = (0x1E00, 0x1F00);
const LEN: usize = (LOW.1 - LOW.0 + HIGH.1 - HIGH.0) as usize;

const ALPHABETIC: u8 = 1;
const WHITESPACE: u8 = 2;
const COMBINING: u8 = 4;
/// A starter (canonical combining class 0) that the NFC quick check accepts as it is: in a
/// string it behaves exactly as an ASCII character does for `is_nfc_quick`.
const NFC_STARTER: u8 = 8;
const UPPERCASE: u8 = 16;
const LOWERCASE: u8 = 32;
const ALPHANUMERIC: u8 = 64;

#[derive(Clone, Copy)]
struct Entry {
    flags: u8,
    /// `c.to_lowercase()` / `c.to_uppercase()` when it is exactly one character.
    lower: Option<char>,
    upper: Option<char>,
    /// `text::fold` of the character alone when it is one character that is not whitespace and
    /// the character decomposes to a starter first (so folding a string is folding each
    /// character: canonical reordering never crosses a starter).
    fold: Option<char>,
    /// `clean::split_tone_slow(c)`.
    tone: (char, Option<char>),
}

fn table() -> &'static [Entry; LEN] {
    static T: OnceLock<Box<[Entry; LEN]>> = OnceLock::new();
    T.get_or_init(|| {
        let blank = Entry { flags: 0, lower: None, upper: None, fold: None, tone: ('\0', None) };
        let mut t = Box::new([blank; LEN]);
        for u in (LOW.0..LOW.1).chain(HIGH.0..HIGH.1) {
            let Some(c) = char::from_u32(u) else { continue };
            let mut flags = 0;
            for (yes, bit) in [
                (c.is_alphabetic(), ALPHABETIC),
                (c.is_whitespace(), WHITESPACE),
                (uc_is_combining_mark(c), COMBINING),
                (
                    canonical_combining_class(c) == 0 && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes,
                    NFC_STARTER,
                ),
                (c.is_uppercase(), UPPERCASE),
                (c.is_lowercase(), LOWERCASE),
                (c.is_alphanumeric(), ALPHANUMERIC),
            ] {
                if yes {
                    flags |= bit;
                }
            }
            let mut first = None;
            unicode_normalization::char::decompose_canonical(c, |d| {
                first.get_or_insert(d);
            });
            let starts_with_starter = first.is_some_and(|d| canonical_combining_class(d) == 0);
            let fold = one(crate::text::fold_slow(c.encode_utf8(&mut [0; 4])).chars())
                .filter(|f| !c.is_whitespace() && !f.is_whitespace() && starts_with_starter);
            t[index(u).expect("in range")] = Entry {
                flags,
                lower: one(c.to_lowercase()),
                upper: one(c.to_uppercase()),
                fold,
                tone: crate::clean::split_tone_slow(c),
            };
        }
        t
    })
}

/// The only item of `it`, if it has exactly one.
fn one(mut it: impl Iterator<Item = char>) -> Option<char> {
    match (it.next(), it.next()) {
        (Some(x), None) => Some(x),
        _ => None,
    }
}

fn index(u: u32) -> Option<usize> {
    if (LOW.0..LOW.1).contains(&u) {
        Some((u - LOW.0) as usize)
    } else if (HIGH.0..HIGH.1).contains(&u) {
        Some((u - HIGH.0 + LOW.1 - LOW.0) as usize)
    } else {
        None
    }
}

#[inline]
fn entry(c: char) -> Option<&'static Entry> {
    index(c as u32).map(|i| &table()[i])
}

#[inline]
fn flag(c: char, bit: u8) -> Option<bool> {
    entry(c).map(|e| e.flags & bit != 0)
}

/// `c.is_alphabetic()`.
#[inline]
pub(crate) fn is_alphabetic(c: char) -> bool {
    if c.is_ascii() { c.is_ascii_alphabetic() } else { flag(c, ALPHABETIC).unwrap_or_else(|| c.is_alphabetic()) }
}

/// `c.is_alphanumeric()`.
#[inline]
pub(crate) fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() { c.is_ascii_alphanumeric() } else { flag(c, ALPHANUMERIC).unwrap_or_else(|| c.is_alphanumeric()) }
}

/// `c.is_uppercase()`.
#[inline]
pub(crate) fn is_uppercase(c: char) -> bool {
    if c.is_ascii() { c.is_ascii_uppercase() } else { flag(c, UPPERCASE).unwrap_or_else(|| c.is_uppercase()) }
}

/// `c.is_lowercase()`.
#[inline]
pub(crate) fn is_lowercase(c: char) -> bool {
    if c.is_ascii() { c.is_ascii_lowercase() } else { flag(c, LOWERCASE).unwrap_or_else(|| c.is_lowercase()) }
}

/// `unicode_normalization::char::is_combining_mark(c)`.
#[inline]
pub(crate) fn is_combining_mark(c: char) -> bool {
    if c.is_ascii() { false } else { flag(c, COMBINING).unwrap_or_else(|| uc_is_combining_mark(c)) }
}

/// Whether `c` is ASCII or a tabled starter the NFC quick check passes as it is, not whitespace.
/// `false` says nothing (the general check decides).
#[inline]
pub(crate) fn is_plain_nfc_letter(c: char) -> bool {
    if c.is_ascii() {
        !c.is_whitespace()
    } else {
        // The soft hyphen is invisible: cleaning takes it out (`text::is_invisible`).
        c != '\u{AD}' && entry(c).is_some_and(|e| e.flags & (NFC_STARTER | WHITESPACE) == NFC_STARTER)
    }
}

/// Push `c.to_lowercase()`.
#[inline]
pub(crate) fn push_lower(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        match entry(c).and_then(|e| e.lower) {
            Some(l) => out.push(l),
            None => out.extend(c.to_lowercase()),
        }
    }
}

/// Push `c.to_uppercase()`.
#[inline]
pub(crate) fn push_upper(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_uppercase());
    } else {
        match entry(c).and_then(|e| e.upper) {
            Some(u) => out.push(u),
            None => out.extend(c.to_uppercase()),
        }
    }
}

/// The one-character lowercase of `c`, or `c` itself when its lowercase is not one character.
#[inline]
pub(crate) fn lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    match entry(c) {
        Some(e) => e.lower.unwrap_or(c),
        None => {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        }
    }
}

/// The fold of a non-ASCII character when the table has it (see [`Entry::fold`]).
#[inline]
pub(crate) fn fold_char(c: char) -> Option<char> {
    entry(c).and_then(|e| e.fold)
}

/// `clean::split_tone_slow(c)`, for a non-ASCII character.
#[inline]
pub(crate) fn split_tone(c: char) -> (char, Option<char>) {
    match entry(c) {
        Some(e) => e.tone,
        None => crate::clean::split_tone_slow(c),
    }
}

/// Texts for tests that compare a fast path with the general one: random mixes of ASCII,
/// Vietnamese letters (precomposed and decomposed), legacy TCVN3/VNI glyphs, Latin-1 and other
/// letters, combining marks and every kind of whitespace.
#[cfg(test)]
pub(crate) fn random_texts(seed: u64, n: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "a",
        "e",
        "o",
        "n",
        "g",
        "h",
        "t",
        "N",
        "T",
        "H",
        " ",
        " ",
        " ",
        "  ",
        "\t",
        "\n",
        "\r",
        "\u{B}",
        "\u{C}",
        "\u{A0}",
        "\u{85}",
        "\u{2003}",
        "\u{3000}",
        "ă",
        "â",
        "đ",
        "Đ",
        "ê",
        "ô",
        "ơ",
        "ư",
        "Ư",
        "ạ",
        "ả",
        "ấ",
        "ầ",
        "ễ",
        "ệ",
        "ị",
        "ọ",
        "ộ",
        "ớ",
        "ợ",
        "ụ",
        "ừ",
        "ữ",
        "ỳ",
        "ỹ",
        "à",
        "á",
        "è",
        "é",
        "ì",
        "í",
        "ò",
        "ó",
        "ù",
        "ú",
        "ý",
        "Á",
        "À",
        "Ý",
        "\u{300}",
        "\u{301}",
        "\u{302}",
        "\u{303}",
        "\u{306}",
        "\u{309}",
        "\u{31B}",
        "\u{323}",
        "\u{345}",
        "\u{307}",
        "µ",
        "¶",
        "·",
        "¸",
        "¹",
        "¨",
        "©",
        "ª",
        "«",
        "¬",
        "®",
        "¡",
        "¢",
        "§",
        "Ô",
        "Õ",
        "ï",
        "ø",
        "û",
        "õ",
        "ù",
        "ñ",
        "Ñ",
        "æ",
        "ß",
        "ÿ",
        "\u{AD}",
        "\u{20AC}",
        "\u{2026}",
        "\u{152}",
        "\u{153}",
        "\u{2122}",
        "\u{81}",
        "ı",
        "ſ",
        "İ",
        "ǅ",
        "ŉ",
        "ẞ",
        "ﬁ",
        "Ω",
        "Ж",
        "中",
        "'",
        "-",
        ".",
        ",",
        "7",
        "Nguyễn",
        "Thị",
        "Văn",
        "Hoàng",
        "Hà",
        "hoà",
        "thuý",
        "khoẻ",
        "Thuỷ",
        "quý",
        "gìn",
        "người",
        "NguyÔn",
        "V¨n",
        "Hïng",
        "Traàn",
        "Thò",
        "Nguyeãn",
        "Vaên",
        "Ñoã",
        "Tröông",
        "HOÀ",
        "Uỷ",
        "H'hen",
        "Mầm non",
        "Tiểu học",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let len = (next() % 9) as usize;
            let mut s: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            match next() % 4 {
                0 => s = unicode_normalization::UnicodeNormalization::nfd(s.as_str()).collect(),
                1 => s = s.to_uppercase(),
                _ => {}
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character of the tables and around them, and a sample of others.
    fn chars() -> impl Iterator<Item = char> {
        (0..0x2200).chain(0x1D00..0x2000).chain([0x3000, 0xFEFF, 0x1F600]).filter_map(char::from_u32)
    }

    #[test]
    fn lookups_match_the_general_functions() {
        for c in chars() {
            assert_eq!(is_alphabetic(c), c.is_alphabetic(), "{c:?}");
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(is_uppercase(c), c.is_uppercase(), "{c:?}");
            assert_eq!(is_lowercase(c), c.is_lowercase(), "{c:?}");
            assert_eq!(is_combining_mark(c), uc_is_combining_mark(c), "{c:?}");
            let (mut a, mut b) = (String::new(), String::new());
            push_lower(&mut a, c);
            b.extend(c.to_lowercase());
            assert_eq!(a, b, "{c:?}");
            let (mut a, mut b) = (String::new(), String::new());
            push_upper(&mut a, c);
            b.extend(c.to_uppercase());
            assert_eq!(a, b, "{c:?}");
            let mut l = c.to_lowercase();
            let one = match (l.next(), l.next()) {
                (Some(x), None) => x,
                _ => c,
            };
            assert_eq!(lower(c), one, "{c:?}");
            if !c.is_ascii() {
                assert_eq!(split_tone(c), crate::clean::split_tone_slow(c), "{c:?}");
            }
            if let Some(f) = fold_char(c) {
                assert_eq!(crate::text::fold_slow(&c.to_string()), f.to_string(), "{c:?}");
            }
            if is_plain_nfc_letter(c) {
                assert_eq!(is_nfc_quick(std::iter::once(c)), IsNormalized::Yes, "{c:?}");
                assert_eq!(canonical_combining_class(c), 0, "{c:?}");
                assert!(!c.is_whitespace(), "{c:?}");
            }
        }
    }

    #[test]
    fn vietnamese_letters_are_tabled() {
        for c in "aàảãáạăằẳẵắặâầẩẫấậđeèẻẽéẹêềểễếệiìỉĩíịoòỏõóọôồổỗốộơờởỡớợuùủũúụưừửữứựyỳỷỹýỵ".chars()
        {
            for c in [c, c.to_uppercase().next().unwrap()] {
                assert!(is_plain_nfc_letter(c), "{c}");
                assert!(c.is_ascii() || fold_char(c).is_some(), "{c}");
            }
        }
        assert_eq!(split_tone('ễ'), ('ê', Some('\u{303}')));
        assert_eq!(fold_char('Đ'), Some('d'));
        assert!(!is_plain_nfc_letter('\u{a0}'));
        assert!(!is_plain_nfc_letter('\t'));
        assert!(!is_plain_nfc_letter('\u{303}'));
    }
}
