//! Repairing names and text from old school files.
//!
//! - [`normalize_tone_placement`]: one tone placement: "hoà" → "hòa", "thuý" → "thúy".
//! - [`tcvn3_to_unicode`], [`vni_to_unicode`]: legacy 8-bit encodings (TCVN3/ABC ".VnTime" and
//!   VNI-Windows) that reach us as strings of Windows-1252/Latin-1 glyphs.
//! - [`looks_like_tcvn3`], [`looks_like_vni`], [`repair_legacy`]: cautious detection.
//! - [`capitalize_name`], [`clean_name`]: the full pipeline for a person's name.
//!
//! Detection works word by word: a word counts for an encoding when its decoding is a valid
//! Vietnamese syllable while the word itself is not (wrong letters, impossible vowel clusters or
//! mixed case such as "NguyÔn"); a word whose decoding is not a syllable counts against. Text
//! that already holds Unicode-only Vietnamese letters (ă, ơ, ư, đ, ạ, …) or combining marks is
//! never treated as legacy.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

use crate::letters;

/// A legacy 8-bit Vietnamese encoding that [`repair_legacy`] converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    /// TCVN 5712:1993 VN3 ("ABC", the .VnTime fonts).
    Tcvn3,
    /// VNI-Windows (the VNI-Times fonts): a base letter followed by modifier characters.
    Vni,
}

// ---------------------------------------------------------------------------------------------
// Letters, tones and syllables
// ---------------------------------------------------------------------------------------------

const GRAVE: char = '\u{300}';
const ACUTE: char = '\u{301}';
const CIRCUMFLEX: char = '\u{302}';
const TILDE: char = '\u{303}';
const BREVE: char = '\u{306}';
const HOOK: char = '\u{309}';
const DOT: char = '\u{323}';

fn is_tone_mark(c: char) -> bool {
    matches!(c, GRAVE | ACUTE | TILDE | HOOK | DOT)
}

/// Split a letter into the letter without its tone and the tone mark (combining character).
/// "ễ" → ('ê', Some(U+0303)); "Ư" → ('Ư', None). Case is kept.
#[inline]
fn split_tone(c: char) -> (char, Option<char>) {
    if c.is_ascii() { (c, None) } else { letters::split_tone(c) }
}

/// [`split_tone`] by decomposing and recomposing (what the letter table is made of).
pub(crate) fn split_tone_slow(c: char) -> (char, Option<char>) {
    if c.is_ascii() {
        return (c, None);
    }
    let mut rest = String::new();
    let mut tone = None;
    for d in std::iter::once(c).nfd() {
        if tone.is_none() && is_tone_mark(d) {
            tone = Some(d);
        } else {
            rest.push(d);
        }
    }
    if tone.is_none() {
        return (c, None);
    }
    let mut composed = rest.nfc();
    match (composed.next(), composed.next()) {
        (Some(base), None) => (base, tone),
        _ => (c, None),
    }
}

/// Compose a letter with combining marks into one NFC character (the letter itself if impossible).
fn compose(base: char, marks: &[char]) -> char {
    let mut composed = std::iter::once(base).chain(marks.iter().copied()).nfc();
    match (composed.next(), composed.next()) {
        (Some(c), None) => c,
        _ => base,
    }
}

/// The one-character lowercase of `c` (`c` itself when it has none).
fn lower(c: char) -> char {
    letters::lower(c)
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'ă' | 'â' | 'e' | 'ê' | 'i' | 'o' | 'ô' | 'ơ' | 'u' | 'ư' | 'y')
}

fn is_consonant(c: char) -> bool {
    matches!(c, 'b' | 'c' | 'd' | 'đ' | 'g' | 'h' | 'k' | 'l' | 'm' | 'n' | 'p' | 'q' | 'r' | 's' | 't' | 'v' | 'x')
}

#[cfg(test)]
const INITIALS: &[&str] = &[
    "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p", "ph", "qu",
    "r", "s", "t", "th", "tr", "v", "x",
];

#[cfg(test)]
const FINALS: &[&str] = &["", "c", "ch", "m", "n", "ng", "nh", "p", "t"];

/// Vowel clusters of open syllables (no final consonant).
#[cfg(test)]
const OPEN_CLUSTERS: &[&str] = &[
    "a", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iê", "iu",
    "oa", "oe", "oi", "ôi", "ơi", "ua", "uê", "ui", "uơ", "uy", "ưa", "ưi", "ưu", "yê", "iêu", "oai", "oao", "oay",
    "oeo", "uây", "uôi", "uya", "uyu", "ươi", "ươu", "yêu",
];

/// Vowel clusters of closed syllables (followed by a final consonant).
#[cfg(test)]
const CLOSED_CLUSTERS: &[&str] = &[
    "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "iê", "yê", "oa", "oă", "oe", "oo", "uâ", "uê", "uô",
    "ươ", "uy", "uyê",
];

/// The lists above as slice patterns (the compiler makes them a few comparisons; a test checks
/// they match the lists).
#[rustfmt::skip]
fn is_initial(l: &[char]) -> bool {
    matches!(
        l,
        [] | ['b'] | ['c'] | ['c', 'h'] | ['d'] | ['đ'] | ['g'] | ['g', 'h'] | ['g', 'i'] | ['h'] | ['k']
        | ['k', 'h'] | ['l'] | ['m'] | ['n'] | ['n', 'g'] | ['n', 'g', 'h'] | ['n', 'h'] | ['p'] | ['p', 'h']
        | ['q', 'u'] | ['r'] | ['s'] | ['t'] | ['t', 'h'] | ['t', 'r'] | ['v'] | ['x']
    )
}

#[rustfmt::skip]
fn is_final(l: &[char]) -> bool {
    matches!(
        l,
        [] | ['c'] | ['c', 'h'] | ['m'] | ['n'] | ['n', 'g'] | ['n', 'h'] | ['p'] | ['t']
    )
}

#[rustfmt::skip]
fn is_open_cluster(l: &[char]) -> bool {
    matches!(
        l,
        ['a'] | ['e'] | ['ê'] | ['i'] | ['o'] | ['ô'] | ['ơ'] | ['u'] | ['ư'] | ['y'] | ['a', 'i'] | ['a', 'o']
        | ['a', 'u'] | ['a', 'y'] | ['â', 'u'] | ['â', 'y'] | ['e', 'o'] | ['ê', 'u'] | ['i', 'a'] | ['i', 'ê']
        | ['i', 'u'] | ['o', 'a'] | ['o', 'e'] | ['o', 'i'] | ['ô', 'i'] | ['ơ', 'i'] | ['u', 'a'] | ['u', 'ê']
        | ['u', 'i'] | ['u', 'ơ'] | ['u', 'y'] | ['ư', 'a'] | ['ư', 'i'] | ['ư', 'u'] | ['y', 'ê'] | ['i', 'ê', 'u']
        | ['o', 'a', 'i'] | ['o', 'a', 'o'] | ['o', 'a', 'y'] | ['o', 'e', 'o'] | ['u', 'â', 'y'] | ['u', 'ô', 'i']
        | ['u', 'y', 'a'] | ['u', 'y', 'u'] | ['ư', 'ơ', 'i'] | ['ư', 'ơ', 'u'] | ['y', 'ê', 'u']
    )
}

#[rustfmt::skip]
fn is_closed_cluster(l: &[char]) -> bool {
    matches!(
        l,
        ['a'] | ['ă'] | ['â'] | ['e'] | ['ê'] | ['i'] | ['o'] | ['ô'] | ['ơ'] | ['u'] | ['ư'] | ['y'] | ['i', 'ê']
        | ['y', 'ê'] | ['o', 'a'] | ['o', 'ă'] | ['o', 'e'] | ['o', 'o'] | ['u', 'â'] | ['u', 'ê'] | ['u', 'ô']
        | ['ư', 'ơ'] | ['u', 'y'] | ['u', 'y', 'ê']
    )
}

/// Where the initial consonant ends and where the vowel cluster ends, in a lowercase word
/// without tones. "qu" and "gi" count as consonants when a vowel follows ("quý", "giữa", but "gìn").
fn split_syllable(b: &[char]) -> Option<(usize, usize)> {
    let mut i = b.iter().position(|&c| !is_consonant(c)).unwrap_or(b.len());
    let j = i + b[i..].iter().take_while(|&&c| is_vowel(c)).count();
    if j == i || !b[j..].iter().all(|&c| is_consonant(c)) {
        return None;
    }
    if j - i >= 2 && ((b[..i] == ['q'] && b[i] == 'u') || (b[..i] == ['g'] && b[i] == 'i')) {
        i += 1;
    }
    Some((i, j))
}

/// The parts of a word as a syllable: the lowercase letters without tone, the tone and its index,
/// and the (initial end, cluster end) split. `None` when the word is not a well-formed syllable.
struct Syllable {
    /// The first `len` are the letters (a syllable has at most 8).
    letters: [char; 8],
    len: usize,
    tone: Option<(usize, char)>,
    initial_end: usize,
    cluster_end: usize,
}

impl Syllable {
    fn parse(chars: &[char]) -> Option<Syllable> {
        if chars.is_empty() || chars.len() > 8 {
            return None;
        }
        let mut tone = None;
        let mut letters = ['\0'; 8];
        for (k, &c) in chars.iter().enumerate() {
            let (base, t) = split_tone(c);
            if let Some(t) = t {
                if tone.is_some() {
                    return None;
                }
                tone = Some((k, t));
            }
            let l = lower(base);
            if !is_vowel(l) && !is_consonant(l) {
                return None;
            }
            letters[k] = l;
        }
        let word = &letters[..chars.len()];
        if let Some((k, _)) = tone
            && !is_vowel(word[k])
        {
            return None;
        }
        let (initial_end, cluster_end) = split_syllable(word)?;
        let initial = &word[..initial_end];
        let cluster = &word[initial_end..cluster_end];
        let last = &word[cluster_end..];
        // A lone "y" before a final consonant only follows "qu" ("quynh", "quýt"), and "qu" is
        // never followed by a plain o ("quốc", but not "quoác").
        let qu = initial == ['q', 'u'];
        let lone_y = !last.is_empty() && cluster == ['y'] && !qu;
        let qu_o = qu && matches!(cluster.first(), Some('o' | 'u'));
        let cluster_ok = if last.is_empty() { is_open_cluster(cluster) } else { is_closed_cluster(cluster) };
        if !is_initial(initial) || !is_final(last) || !cluster_ok || lone_y || qu_o {
            return None;
        }
        Some(Syllable { letters, len: chars.len(), tone, initial_end, cluster_end })
    }

    fn letters(&self) -> &[char] {
        &self.letters[..self.len]
    }

    /// Index (in the word) of the vowel that carries the tone.
    fn tone_index(&self) -> usize {
        let cluster = &self.letters()[self.initial_end..self.cluster_end];
        let closed = self.cluster_end < self.len;
        let offset = if let Some(p) = cluster.iter().rposition(|c| matches!(c, 'ă' | 'â' | 'ê' | 'ô' | 'ơ' | 'ư'))
        {
            p // a vowel with its own mark takes the tone ("ươ" → ơ, "uyê" → ê)
        } else if closed {
            cluster.len() - 1 // "hoàng", "huỳnh", "toán"
        } else {
            match cluster {
                // "hòa", "khỏe", "thủy" (open oa, oe, uy), and "mái", "của", "nghĩa", "túi"
                [_] | [_, _] => 0,
                // "ngoài", "khuỷu", "ngoẹo"
                _ => 1,
            }
        };
        self.initial_end + offset
    }
}

/// Whether a word is a well-formed Vietnamese syllable. With `strict_case`, only "abc", "Abc"
/// and "ABC" case patterns are accepted; with `strict_tone`, the tone must sit where either
/// placement style puts it ("hòa" or "hoà", not "hoaø" decoded as "haù").
fn is_syllable(word: &str, strict_case: bool, strict_tone: bool) -> bool {
    if !is_nfc(word) {
        let chars: Vec<char> = word.nfc().collect();
        return is_syllable_chars(&chars, strict_case, strict_tone);
    }
    // A syllable has at most 8 letters; a longer word is none (whatever its case).
    let mut chars = ['\0'; 8];
    let mut n = 0;
    for c in word.chars() {
        if n == chars.len() {
            return false;
        }
        chars[n] = c;
        n += 1;
    }
    is_syllable_chars(&chars[..n], strict_case, strict_tone)
}

fn is_syllable_chars(chars: &[char], strict_case: bool, strict_tone: bool) -> bool {
    if strict_case {
        let (mut all_lower, mut all_upper, mut first_upper, mut rest_not_upper) = (true, true, None, true);
        for c in chars.iter().copied().filter(|&c| letters::is_alphabetic(c)) {
            let upper = letters::is_uppercase(c);
            all_lower &= !upper;
            all_upper &= !letters::is_lowercase(c);
            if first_upper.is_none() {
                first_upper = Some(upper);
            } else {
                rest_not_upper &= !upper;
            }
        }
        let title = first_upper == Some(true) && rest_not_upper;
        if !(all_lower || all_upper || title) {
            return false;
        }
    }
    let Some(syl) = Syllable::parse(chars) else {
        return false;
    };
    if strict_tone && let Some((at, _)) = syl.tone {
        let canonical = syl.tone_index();
        let cluster = &syl.letters()[syl.initial_end..syl.cluster_end];
        let glide = syl.cluster_end == syl.len && matches!(cluster, ['o', 'a'] | ['o', 'e'] | ['u', 'y']);
        if at != canonical && !(glide && at == canonical + 1) {
            return false;
        }
    }
    // Syllables ending in a stop take only the acute or the dot below (or no mark in ASCII text).
    let last = &syl.letters()[syl.cluster_end..];
    !(matches!(last, ['c'] | ['c', 'h'] | ['p'] | ['t']) && matches!(syl.tone, Some((_, GRAVE | HOOK | TILDE))))
}

// ---------------------------------------------------------------------------------------------
// Tone placement
// ---------------------------------------------------------------------------------------------

/// Whether `s` is NFC already (the quick check; most text is), so that it need not be recomposed.
fn is_nfc(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() || letters::is_plain_nfc_letter(c))
        || unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
}

/// `s` in NFC, borrowed when it is already.
fn nfc(s: &str) -> Cow<'_, str> {
    if is_nfc(s) { s.into() } else { s.nfc().collect::<String>().into() }
}

/// Output NFC with tone marks placed consistently, whatever the input placement or normalisation
/// form: "hoà" → "hòa", "thuý" → "thúy", "khoẻ" → "khỏe", "Thuỷ" → "Thủy". In open syllables
/// with oa, oe, uy the tone goes on the first vowel (as in the examples); when a final consonant
/// follows it goes on the last vowel ("hoàng", "huỳnh"); a vowel with its own mark (ă â ê ô ơ ư)
/// always takes it ("thuận", "người", "Nguyễn"); "qu" and "gi" count as consonants ("quý",
/// "giữa"; but "gìn"). Words that are not well-formed Vietnamese syllables are left as they are.
/// Idempotent.
pub fn normalize_tone_placement(s: &str) -> String {
    tone_placement_cow(s).into_owned()
}

/// [`normalize_tone_placement`], borrowing `s` when nothing changes (NFC text whose tones sit
/// where they should: most names).
fn tone_placement_cow(s: &str) -> Cow<'_, str> {
    let nfc = nfc(s);
    // Words are runs of letters; only a word with a tone mark and at most 8 letters can change.
    // The text is copied once a word changes, up to that word.
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut word = ['\0'; 8];
    let (mut start, mut len, mut toned) = (0, 0, false);
    let mut end_word = |end: usize, start: usize, len: usize, toned: bool, word: &[char; 8]| {
        if !toned || len > word.len() {
            return;
        }
        if let Some(fixed) = retone_word(&word[..len]) {
            let out = out.get_or_insert_with(|| String::with_capacity(nfc.len() + 4));
            out.push_str(&nfc[copied..start]);
            out.extend(fixed);
            copied = end;
        }
    };
    for (i, c) in nfc.char_indices() {
        if letters::is_alphabetic(c) {
            if len == 0 {
                start = i;
            }
            if len < word.len() {
                word[len] = c;
            }
            len += 1;
            toned |= split_tone(c).1.is_some();
        } else if len > 0 {
            end_word(i, start, len, toned, &word);
            (len, toned) = (0, false);
        }
    }
    if len > 0 {
        end_word(nfc.len(), start, len, toned, &word);
    }
    match out {
        None => nfc,
        Some(mut out) => {
            out.push_str(&nfc[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The word with its tone moved to the right vowel, or `None` if nothing changes.
fn retone_word(word: &[char]) -> Option<Vec<char>> {
    let syl = Syllable::parse(word)?;
    let (from, tone) = syl.tone?;
    let to = syl.tone_index();
    if to == from {
        return None;
    }
    let mut out: Vec<char> = word.to_vec();
    out[from] = split_tone(word[from]).0;
    out[to] = compose(out[to], &[tone]);
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Legacy encodings
// ---------------------------------------------------------------------------------------------

/// Windows-1252 glyphs of bytes 0x80–0x9F (undefined bytes stay as C1 controls).
const CP1252_80: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{2C6}', '\u{2030}',
    '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}',
    '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}',
    '\u{17E}', '\u{178}',
];

/// The byte (0x80–0xFF) a Windows-1252 or Latin-1 glyph stands for.
fn glyph_byte(c: char) -> Option<u8> {
    let u = c as u32;
    if (0x80..=0xFF).contains(&u) {
        return Some(u as u8);
    }
    // The glyphs past Latin-1 lie in U+0152–U+02DC and U+2013–U+2122.
    if !(0x152..=0x2DC).contains(&u) && !(0x2013..=0x2122).contains(&u) {
        return None;
    }
    CP1252_80.iter().position(|&g| g == c).map(|p| 0x80 + p as u8)
}

/// TCVN3 (TCVN 5712:1993 VN3) bytes above 0x7F: the capitals Ă Â Ê Ô Ơ Ư Đ (0xA1–0xA7) and the
/// lowercase letters (0xA8–0xFE). The .VnTimeH fonts draw the lowercase codes as capitals.
#[rustfmt::skip]
const TCVN3: &[(u8, char)] = &[
    (0xA1, 'Ă'), (0xA2, 'Â'), (0xA3, 'Ê'), (0xA4, 'Ô'), (0xA5, 'Ơ'), (0xA6, 'Ư'), (0xA7, 'Đ'),
    (0xA8, 'ă'), (0xA9, 'â'), (0xAA, 'ê'), (0xAB, 'ô'), (0xAC, 'ơ'), (0xAD, 'ư'), (0xAE, 'đ'),
    (0xB5, 'à'), (0xB6, 'ả'), (0xB7, 'ã'), (0xB8, 'á'), (0xB9, 'ạ'), (0xBB, 'ằ'), (0xBC, 'ẳ'),
    (0xBD, 'ẵ'), (0xBE, 'ắ'), (0xC6, 'ặ'), (0xC7, 'ầ'), (0xC8, 'ẩ'), (0xC9, 'ẫ'), (0xCA, 'ấ'),
    (0xCB, 'ậ'), (0xCC, 'è'), (0xCE, 'ẻ'), (0xCF, 'ẽ'), (0xD0, 'é'), (0xD1, 'ẹ'), (0xD2, 'ề'),
    (0xD3, 'ể'), (0xD4, 'ễ'), (0xD5, 'ế'), (0xD6, 'ệ'), (0xD7, 'ì'), (0xD8, 'ỉ'), (0xDC, 'ĩ'),
    (0xDD, 'í'), (0xDE, 'ị'), (0xDF, 'ò'), (0xE1, 'ỏ'), (0xE2, 'õ'), (0xE3, 'ó'), (0xE4, 'ọ'),
    (0xE5, 'ồ'), (0xE6, 'ổ'), (0xE7, 'ỗ'), (0xE8, 'ố'), (0xE9, 'ộ'), (0xEA, 'ờ'), (0xEB, 'ở'),
    (0xEC, 'ỡ'), (0xED, 'ớ'), (0xEE, 'ợ'), (0xEF, 'ù'), (0xF1, 'ủ'), (0xF2, 'ũ'), (0xF3, 'ú'),
    (0xF4, 'ụ'), (0xF5, 'ừ'), (0xF6, 'ử'), (0xF7, 'ữ'), (0xF8, 'ứ'), (0xF9, 'ự'), (0xFA, 'ỳ'),
    (0xFB, 'ỷ'), (0xFC, 'ỹ'), (0xFD, 'ý'), (0xFE, 'ỵ'),
];

/// TCVN 5712 VN1 capitals in the bytes VN3 leaves free, which some fonts and converters (ABC,
/// Vietkey, Unikey) use; VN1's capitals in the C0 control range (Ú, Ụ, Ư and Y with tones) are
/// not supported.
#[rustfmt::skip]
const TCVN3_VN1: &[(u8, char)] = &[
    (0x80, 'À'), (0x81, 'Ả'), (0x82, 'Ã'), (0x83, 'Á'), (0x84, 'Ạ'), (0x85, 'Ặ'), (0x86, 'Ậ'), (0x87, 'È'),
    (0x88, 'Ẻ'), (0x89, 'Ẽ'), (0x8A, 'É'), (0x8B, 'Ẹ'), (0x8C, 'Ệ'), (0x8D, 'Ì'), (0x8E, 'Ỉ'), (0x8F, 'Ĩ'),
    (0x90, 'Í'), (0x91, 'Ị'), (0x92, 'Ò'), (0x93, 'Ỏ'), (0x94, 'Õ'), (0x95, 'Ó'), (0x96, 'Ọ'), (0x97, 'Ộ'),
    (0x98, 'Ờ'), (0x99, 'Ở'), (0x9A, 'Ỡ'), (0x9B, 'Ớ'), (0x9C, 'Ợ'), (0x9D, 'Ù'), (0x9E, 'Ủ'), (0x9F, 'Ũ'),
    (0xAF, 'Ằ'), (0xBA, 'Ẳ'), (0xBF, 'Ẵ'), (0xC0, 'Ắ'), (0xC1, 'Ầ'), (0xC2, 'Ẩ'), (0xC3, 'Ẫ'), (0xC4, 'Ấ'),
    (0xC5, 'Ề'), (0xCD, 'Ể'), (0xD9, 'Ễ'), (0xDA, 'Ế'), (0xDB, 'Ồ'), (0xE0, 'Ổ'), (0xF0, 'Ỗ'), (0xFF, 'Ố'),
];

/// [`TCVN3`] then [`TCVN3_VN1`] by byte (from 0x80): the first entry of a byte wins.
const TCVN3_BY_BYTE: [Option<char>; 128] = {
    let mut t = [None; 128];
    let mut i = 0;
    while i < TCVN3.len() + TCVN3_VN1.len() {
        let (b, c) = if i < TCVN3.len() { TCVN3[i] } else { TCVN3_VN1[i - TCVN3.len()] };
        if t[(b - 0x80) as usize].is_none() {
            t[(b - 0x80) as usize] = Some(c);
        }
        i += 1;
    }
    t
};

fn tcvn3_char(c: char) -> Option<char> {
    let b = glyph_byte(c)?;
    TCVN3_BY_BYTE[(b - 0x80) as usize]
}

/// Whether a glyph is one of the VN1 capitals, rare in real files.
fn is_tcvn3_vn1(c: char) -> bool {
    glyph_byte(c).is_some_and(|b| TCVN3_VN1.iter().any(|(x, _)| *x == b))
}

fn is_tcvn3_code(c: char) -> bool {
    tcvn3_char(c).is_some()
}

/// Split text into words: maximal runs of letters or code characters of an encoding.
fn words(s: &str, is_code: impl Fn(char) -> bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        let inside = letters::is_alphabetic(c) || is_code(c);
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                out.push(&s[st..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// Convert TCVN3 (.VnTime) text read as Windows-1252/Latin-1 glyphs to Unicode NFC:
/// "NguyÔn V¨n Hïng" → "Nguyễn Văn Hùng". Characters outside the table pass through. In a word
/// whose plain letters are all capitals (typed for a .VnTimeH font), the lowercase codes are
/// made capitals too: "HïNG" → "HÙNG".
pub fn tcvn3_to_unicode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    let mut last = 0;
    for w in words(s, is_tcvn3_code) {
        let start = w.as_ptr() as usize - s.as_ptr() as usize;
        out.push_str(&s[last..start]);
        last = start + w.len();
        let ascii: Vec<char> = w.chars().filter(|c| c.is_ascii_alphabetic()).collect();
        let upper = ascii.len() >= 2 && ascii.iter().all(|c| c.is_ascii_uppercase());
        for c in w.chars() {
            match tcvn3_char(c) {
                Some(u) if upper => out.extend(u.to_uppercase()),
                Some(u) => out.push(u),
                None => out.push(c),
            }
        }
    }
    out.push_str(&s[last..]);
    out
}

/// VNI tone modifiers: ù ø û õ ï → sắc, huyền, hỏi, ngã, nặng.
fn vni_tone(c: char) -> Option<char> {
    match c {
        'ù' | 'Ù' => Some(ACUTE),
        'ø' | 'Ø' => Some(GRAVE),
        'û' | 'Û' => Some(HOOK),
        'õ' | 'Õ' => Some(TILDE),
        'ï' | 'Ï' => Some(DOT),
        _ => None,
    }
}

/// VNI circumflex modifiers, alone (â) or with a tone (á à å ã ä), after a, e, o.
fn vni_circumflex(c: char) -> Option<Option<char>> {
    match c {
        'â' | 'Â' => Some(None),
        'á' | 'Á' => Some(Some(ACUTE)),
        'à' | 'À' => Some(Some(GRAVE)),
        'å' | 'Å' => Some(Some(HOOK)),
        'ã' | 'Ã' => Some(Some(TILDE)),
        'ä' | 'Ä' => Some(Some(DOT)),
        _ => None,
    }
}

/// VNI breve modifiers, alone (ê) or with a tone (é è ú ü ë), after a.
fn vni_breve(c: char) -> Option<Option<char>> {
    match c {
        'ê' | 'Ê' => Some(None),
        'é' | 'É' => Some(Some(ACUTE)),
        'è' | 'È' => Some(Some(GRAVE)),
        'ú' | 'Ú' => Some(Some(HOOK)),
        'ü' | 'Ü' => Some(Some(TILDE)),
        'ë' | 'Ë' => Some(Some(DOT)),
        _ => None,
    }
}

/// Letters that take VNI modifiers: the vowels and ô/ö standing for ơ/ư.
fn vni_base(c: char) -> Option<char> {
    match c {
        'a' | 'e' | 'o' | 'u' | 'y' | 'A' | 'E' | 'O' | 'U' | 'Y' => Some(c),
        'ô' => Some('ơ'),
        'ö' => Some('ư'),
        'Ô' => Some('Ơ'),
        'Ö' => Some('Ư'),
        _ => None,
    }
}

/// Letters VNI writes as one character: the toned i's, ỵ and đ.
fn vni_single(c: char) -> Option<char> {
    Some(match c {
        'æ' => 'ỉ',
        'ó' => 'ĩ',
        'ò' => 'ị',
        'î' => 'ỵ',
        'ñ' => 'đ',
        'Æ' => 'Ỉ',
        'Ó' => 'Ĩ',
        'Ò' => 'Ị',
        'Î' => 'Ỵ',
        'Ñ' => 'Đ',
        _ => return None,
    })
}

fn is_vni_code(c: char) -> bool {
    vni_tone(c).is_some()
        || vni_circumflex(c).is_some()
        || vni_breve(c).is_some()
        || vni_single(c).is_some()
        || matches!(c, 'ô' | 'ö' | 'Ô' | 'Ö' | 'í' | 'ì' | 'Í' | 'Ì')
}

/// Convert VNI-Windows text read as Windows-1252/Latin-1 glyphs to Unicode NFC:
/// "Traàn Thò Mai" → "Trần Thị Mai", "Nguyeãn Vaên An" → "Nguyễn Văn An", "Ñoã" → "Đỗ".
/// The case of a letter follows its base character; modifiers of either case are accepted.
pub fn vni_to_unicode(s: &str) -> String {
    vni_decode(s).0
}

/// VNI decoding and the number of modifiers left without a base letter (never in real VNI).
fn vni_decode(s: &str) -> (String, usize) {
    let chars: Vec<char> = s.chars().collect();
    let mut orphans = 0;
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        let Some(base) = vni_base(c) else {
            let single = vni_single(c);
            if single.is_none() && (vni_tone(c).is_some() || vni_circumflex(c).is_some() || vni_breve(c).is_some()) {
                orphans += 1;
            }
            out.push(single.unwrap_or(c));
            continue;
        };
        let lower_base = lower(base);
        let mut marks: Vec<char> = Vec::with_capacity(2);
        let mut quality = false;
        if let Some(&m) = chars.get(i) {
            let modifier = if matches!(lower_base, 'a' | 'e' | 'o')
                && let Some(tone) = vni_circumflex(m)
            {
                Some((Some(CIRCUMFLEX), tone))
            } else if lower_base == 'a'
                && let Some(tone) = vni_breve(m)
            {
                Some((Some(BREVE), tone))
            } else {
                vni_tone(m).map(|tone| (None, Some(tone)))
            };
            if let Some((q, tone)) = modifier {
                i += 1;
                quality = q.is_some();
                marks.extend(q);
                marks.extend(tone);
            }
        }
        // A bare circumflex or breve may be followed by a separate tone modifier.
        if quality
            && marks.len() == 1
            && let Some(tone) = chars.get(i).and_then(|&m| vni_tone(m))
        {
            i += 1;
            marks.push(tone);
        }
        out.push(compose(base, &marks));
    }
    (out, orphans)
}

/// Word-level evidence for one encoding.
#[derive(Debug, Default, Clone, Copy)]
struct Evidence {
    /// Words mixing plain letters and codes that decode to a syllable and were not one.
    strong: u32,
    /// Words made only of codes that decode to a syllable and were not one.
    weak: u32,
    /// Supporting words that needed a rarely used code (TCVN3 capitals outside VN3).
    exotic: u32,
    /// Words that do not decode to a syllable or hold a letter the encoding never produces, plain
    /// words that are not Vietnamese, and Latin-1 symbols the encoding does not use next to letters.
    against: u32,
}

impl Evidence {
    fn support(&self) -> u32 {
        2 * self.strong + self.weak
    }

    fn detected(&self) -> bool {
        self.support() >= 2 && self.support() > 2 * self.against
    }

    /// How well the encoding explains the text, to choose between two detected encodings.
    fn margin(&self) -> (i64, i64) {
        (i64::from(self.support()) - 2 * i64::from(self.against), -i64::from(self.exotic))
    }
}

/// What detection needs to know about an encoding.
struct Codec {
    /// Characters the encoding uses for Vietnamese letters or modifiers.
    is_code: fn(char) -> bool,
    /// Decoding of one word; `None` when the word cannot be text in this encoding.
    decode: fn(&str) -> Option<String>,
    /// Codes that real files rarely hold.
    exotic: fn(char) -> bool,
    /// Words that alone give the encoding away.
    telltale: fn(&str) -> bool,
}

const TCVN3_CODEC: Codec =
    // "§" is TCVN3's "Đ": no Unicode name holds it, and "§ç", "§Æng", "§inh" start many names.
    Codec {
        is_code: is_tcvn3_code,
        decode: |w| Some(tcvn3_to_unicode(w)),
        exotic: is_tcvn3_vn1,
        telltale: |w| w.starts_with('§'),
    };

const VNI_CODEC: Codec = Codec {
    is_code: is_vni_code,
    decode: |w| match vni_decode(w) {
        (decoded, 0) => Some(decoded),
        _ => None,
    },
    exotic: |_| false,
    // "Thị", the commonest middle name, is "Thò" in VNI; no Unicode name holds "Thò".
    telltale: |w| matches!(w, "Thò" | "THÒ"),
};

fn evidence(s: &str, codec: &Codec) -> Evidence {
    let is_code = codec.is_code;
    let mut ev = Evidence::default();
    // Letters only Unicode has (ă ơ ư đ ạ …) or combining marks: the text is Unicode already.
    if s.chars().any(|c| !is_code(c) && is_unicode_only(c)) {
        return ev;
    }
    if !s.chars().any(|c| !c.is_ascii() && is_code(c)) {
        return ev;
    }
    // Latin-1 symbols inside words that the encoding does not use ("V¨n" read as VNI).
    let chars: Vec<char> = s.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        let symbol = ('\u{A1}'..='\u{FF}').contains(&c) && !letters::is_alphabetic(c) && !is_code(c);
        let next_to_letter = |n: Option<&char>| n.is_some_and(|&n| letters::is_alphabetic(n));
        if symbol && (next_to_letter(k.checked_sub(1).and_then(|p| chars.get(p))) || next_to_letter(chars.get(k + 1))) {
            ev.against += 1;
        }
    }
    for w in words(s, is_code) {
        let codes = w.chars().filter(|&c| !c.is_ascii() && is_code(c)).count();
        let ascii = w.chars().filter(|c| c.is_ascii_alphabetic()).count();
        if w.chars().any(|c| !c.is_ascii() && letters::is_alphabetic(c) && !is_code(c)) {
            ev.against += 1; // a letter the encoding cannot produce ("TrÝ" read as VNI)
            continue;
        }
        if codes == 0 {
            let plain = ascii == w.chars().count();
            if plain && ascii > 1 && w.chars().any(|c| c.is_ascii_lowercase()) && !is_syllable(w, false, false) {
                ev.against += 1;
            }
            continue;
        }
        if !(codec.decode)(w).is_some_and(|d| is_syllable(&d, false, true)) {
            ev.against += 1;
        } else if (codec.telltale)(w) || !is_syllable(w, true, true) {
            if ascii > 0 || (codec.telltale)(w) {
                ev.strong += 1;
            } else if w.chars().all(|c| ('\u{A1}'..='\u{FF}').contains(&c)) {
                ev.weak += 1;
            } else {
                continue;
            }
            if w.chars().any(codec.exotic) {
                ev.exotic += 1;
            }
        }
    }
    ev
}

/// A letter past Latin-1 or a combining mark: what no legacy 8-bit text read as Windows-1252
/// holds unless it is one of the encoding's codes.
fn is_unicode_only(c: char) -> bool {
    (c as u32 > 0xFF && letters::is_alphabetic(c)) || letters::is_combining_mark(c)
}

/// Whether either encoding's [`evidence`] gets past its first two checks: for one of them, no
/// character is [`is_unicode_only`] without being its code, and some non-ASCII character is its
/// code. When neither does, neither is detected. One pass over the text, where most text stops
/// at its first letter with a Vietnamese mark (ă, ơ, ư, đ, ạ, ễ, …).
fn may_be_legacy(s: &str) -> bool {
    let (mut unicode_t, mut unicode_v, mut code_t, mut code_v) = (false, false, false, false);
    for c in s.chars().filter(|c| !c.is_ascii()) {
        let (t, v) = (is_tcvn3_code(c), is_vni_code(c));
        code_t |= t;
        code_v |= v;
        if !(t && v) && is_unicode_only(c) {
            unicode_t |= !t;
            unicode_v |= !v;
            if unicode_t && unicode_v {
                return false;
            }
        }
    }
    (!unicode_t && code_t) || (!unicode_v && code_v)
}

fn tcvn3_evidence(s: &str) -> Evidence {
    evidence(s, &TCVN3_CODEC)
}

fn vni_evidence(s: &str) -> Evidence {
    evidence(s, &VNI_CODEC)
}

/// Whether the text looks like TCVN3 (.VnTime) read as Windows-1252 glyphs. Never true for text
/// holding Unicode-only Vietnamese letters or for plain ASCII; precision is favoured over recall.
pub fn looks_like_tcvn3(s: &str) -> bool {
    tcvn3_evidence(s).detected()
}

/// Whether the text looks like VNI-Windows read as Windows-1252 glyphs. Never true for text
/// holding Unicode-only Vietnamese letters or for plain ASCII; precision is favoured over recall.
pub fn looks_like_vni(s: &str) -> bool {
    vni_evidence(s).detected()
}

/// The encoding legacy text is in, if any: the evidence of both weighed.
fn detect(s: &str) -> Option<Legacy> {
    let t = tcvn3_evidence(s);
    let v = vni_evidence(s);
    match (t.detected(), v.detected()) {
        (true, true) if v.margin() > t.margin() => Some(Legacy::Vni),
        (true, _) => Some(Legacy::Tcvn3),
        (false, true) => Some(Legacy::Vni),
        (false, false) => None,
    }
}

/// Texts longer than this are not remembered by [`detect_memo`].
const MEMO_TEXT: usize = 128;

/// [`detect`], remembered per thread for short texts: an import asks about the same province,
/// commune and subject names over and over, and the evidence of a text that only uses Latin-1
/// letters ("Cà Mau", "Toán", "Hoàng Thu Hà") takes every word through both decodings. The
/// memory is bounded ([`crate::text::MEMO_ENTRIES`] texts, then forgotten at once).
fn detect_memo(s: &str) -> Option<Legacy> {
    thread_local! {
        static SEEN: RefCell<HashMap<Box<str>, Option<Legacy>>> = RefCell::new(HashMap::new());
    }
    if s.len() > MEMO_TEXT {
        return detect(s);
    }
    if let Some(pick) = SEEN.with_borrow(|seen| seen.get(s).copied()) {
        return pick;
    }
    let pick = detect(s);
    SEEN.with_borrow_mut(|seen| {
        if seen.len() >= crate::text::MEMO_ENTRIES {
            seen.clear();
        }
        seen.insert(s.into(), pick);
    });
    pick
}

/// Detect a legacy encoding and convert the text to Unicode, returning which encoding was fixed
/// (`None`, and the text unchanged, when it does not look like legacy text).
pub fn repair_legacy(s: &str) -> (String, Option<Legacy>) {
    let (text, legacy) = repair_legacy_cow(s);
    (text.into_owned(), legacy)
}

/// [`repair_legacy`], borrowing the text when it is not legacy text (nearly always).
pub fn repair_legacy_cow(s: &str) -> (Cow<'_, str>, Option<Legacy>) {
    if s.is_ascii() || !may_be_legacy(s) {
        // Nothing a legacy encoding could have produced (its codes are all past ASCII), or text
        // that holds Unicode-only letters.
        return (Cow::Borrowed(s), None);
    }
    let pick = detect_memo(s);
    match pick {
        Some(Legacy::Tcvn3) => (Cow::Owned(tcvn3_to_unicode(s)), pick),
        Some(Legacy::Vni) => (Cow::Owned(vni_to_unicode(s)), pick),
        None => (Cow::Borrowed(s), None),
    }
}

/// How Vietnamese a decoded text looks, to choose among the decodings of an 8-bit file (which of
/// Windows-1258, TCVN3, VNI-Windows gives words): each token (between spaces, ASCII punctuation
/// and digits) holding a non-ASCII character counts +1 when it is a well-formed syllable written
/// "abc", "Abc" or "ABC", −1 otherwise ("Nguyêþn", "NguyÔn", "V¨n"); plain ASCII tokens count 0.
/// Combining marks are composed first.
pub fn vietnamese_score(s: &str) -> i64 {
    let s = nfc(s);
    let mut score = 0;
    for token in s.split(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || c.is_ascii_digit()) {
        if token.is_ascii() {
            continue;
        }
        score += if is_syllable(token, true, true) { 1 } else { -1 };
    }
    score
}

/// Text in `legacy` converted to Unicode, whatever detection says of it alone: for a cell too
/// short to tell ("Sè" is a word in Unicode and "Số" in TCVN3) whose neighbours in the same row
/// were detected as that encoding. `None` when the text cannot be such legacy text (ASCII only,
/// or Unicode-only letters) or when its conversion reads as less Vietnamese
/// ([`vietnamese_score`]) than the text itself.
pub fn convert_like_neighbours(s: &str, legacy: Legacy) -> Option<String> {
    if s.is_ascii() || !may_be_legacy(s) {
        return None;
    }
    let converted = match legacy {
        Legacy::Tcvn3 => tcvn3_to_unicode(s),
        Legacy::Vni => vni_to_unicode(s),
    };
    // Strictly more Vietnamese: a Unicode cell of Latin-1 letters only ("Cà Mau", "Khánh Hòa")
    // converts to syllables too ("CỔ Mau", "Khỏnh Hũa") and must stay as it is.
    (converted != s && vietnamese_score(&converted) > vietnamese_score(s)).then_some(converted)
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Each word: first letter uppercase, the rest lowercase. "nguyễn văn AN" → "Nguyễn Văn An",
/// "ĐỖ thị ánh" → "Đỗ Thị Ánh". A letter after an apostrophe or hyphen starts a word too
/// ("h'hen" → "H'Hen"). Output is NFC.
pub fn capitalize_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_start = true;
    for c in nfc(s).chars() {
        if letters::is_alphabetic(c) {
            if at_start {
                letters::push_upper(&mut out, c);
            } else {
                letters::push_lower(&mut out, c);
            }
            at_start = false;
        } else {
            let alphanumeric = letters::is_alphanumeric(c);
            if !alphanumeric && !letters::is_combining_mark(c) {
                at_start = true;
            } else if alphanumeric {
                at_start = false;
            }
            out.push(c);
        }
    }
    out
}

/// The full pipeline for a person's name from an old file: legacy encoding repair, NFC and
/// whitespace cleaning, tone placement ([`normalize_tone_placement`]) and capitalisation.
/// Returns the encoding that was repaired, if any.
pub fn clean_name(s: &str) -> (String, Option<Legacy>) {
    let (repaired, legacy) = repair_legacy_cow(s);
    (clean_repaired_name(&repaired), legacy)
}

/// [`clean_name`] of a name whose legacy encoding is repaired already (the roster's rows repair
/// every cell first): the same cleaning without detecting the encoding a second time.
pub fn clean_repaired_name(s: &str) -> String {
    let cleaned = crate::text::clean_cow(s);
    capitalize_name(&tone_placement_cow(&cleaned))
}

// ---- encoders (Unicode → legacy): for test data and the synthetic roster generator --------------------------

/// TCVN3 rows typed independently of the decoding table: plain, grave, hook, tilde, acute, dot.
const TCVN3_LOWER_ROWS: &[(&str, &str)] = &[
    ("aàảãáạ", "aµ¶·¸¹"),
    ("ăằẳẵắặ", "¨»¼½¾Æ"),
    ("âầẩẫấậ", "©ÇÈÉÊË"),
    ("eèẻẽéẹ", "eÌÎÏÐÑ"),
    ("êềểễếệ", "ªÒÓÔÕÖ"),
    ("iìỉĩíị", "i×ØÜÝÞ"),
    ("oòỏõóọ", "oßáâãä"),
    ("ôồổỗốộ", "«åæçèé"),
    ("ơờởỡớợ", "¬êëìíî"),
    ("uùủũúụ", "uïñòóô"),
    ("ưừửữứự", "\u{AD}õö÷øù"),
    ("yỳỷỹýỵ", "yúûüýþ"),
    ("đĂÂÊÔƠƯĐ", "®¡¢£¤¥¦§"),
];

/// VN1 capitals as Windows-1252 glyphs (Ú, Ụ, Ư and Y with tones have none).
#[cfg(test)]
const TCVN3_UPPER_ROWS: &[(&str, &str)] = &[
    ("ÀẢÃÁẠ", "\u{20AC}\u{81}\u{201A}\u{192}\u{201E}"),
    ("ẰẲẴẮẶ", "¯º¿À\u{2026}"),
    ("ẦẨẪẤẬ", "ÁÂÃÄ\u{2020}"),
    ("ÈẺẼÉẸ", "\u{2021}\u{2C6}\u{2030}\u{160}\u{2039}"),
    ("ỀỂỄẾỆ", "ÅÍÙÚ\u{152}"),
    ("ÌỈĨÍỊ", "\u{8D}\u{17D}\u{8F}\u{90}\u{2018}"),
    ("ÒỎÕÓỌ", "\u{2019}\u{201C}\u{201D}\u{2022}\u{2013}"),
    ("ỒỔỖỐỘ", "Ûàðÿ\u{2014}"),
    ("ỜỞỠỚỢ", "\u{2DC}\u{2122}\u{161}\u{203A}\u{153}"),
    ("ÙỦŨ", "\u{9D}\u{17E}\u{178}"),
];

fn row_lookup(rows: &[(&str, &str)], c: char) -> Option<char> {
    rows.iter().find_map(|(u, g)| {
        let p = u.chars().position(|x| x == c)?;
        g.chars().nth(p)
    })
}

/// Unicode → TCVN3 with VN1 capitals where they exist (else the lowercase code).
#[cfg(test)]
fn encode_tcvn3(s: &str) -> String {
    s.nfc()
        .map(|c| {
            if c.is_ascii() {
                return c;
            }
            row_lookup(TCVN3_LOWER_ROWS, c)
                .or_else(|| row_lookup(TCVN3_UPPER_ROWS, c))
                .or_else(|| row_lookup(TCVN3_LOWER_ROWS, lower(c)))
                .unwrap_or(c)
        })
        .collect()
}

/// Unicode → TCVN3 as plain .VnTime (VN3) typing: toned capitals written with lowercase codes.
fn encode_tcvn3_vn3(s: &str) -> String {
    s.nfc()
        .map(|c| {
            if c.is_ascii() {
                return c;
            }
            row_lookup(TCVN3_LOWER_ROWS, c).or_else(|| row_lookup(TCVN3_LOWER_ROWS, lower(c))).unwrap_or(c)
        })
        .collect()
}

/// Unicode → VNI-Windows.
fn encode_vni(s: &str) -> String {
    let mut out = String::new();
    for c in s.nfc() {
        let upper = c.is_uppercase();
        let case = |x: char| if upper { x.to_uppercase().next().unwrap() } else { x };
        let d: Vec<char> = std::iter::once(lower(c)).nfd().collect();
        let base = d[0];
        let tone = d.iter().copied().find(|&m| is_tone_mark(m));
        let circ = d.contains(&CIRCUMFLEX);
        let breve = d.contains(&BREVE);
        let horn = d.contains(&'\u{31B}');
        let tone_mod = |t: Option<char>, set: [char; 6]| match t {
            None => set[0],
            Some(ACUTE) => set[1],
            Some(GRAVE) => set[2],
            Some(HOOK) => set[3],
            Some(TILDE) => set[4],
            Some(_) => set[5],
        };
        match base {
            'đ' => out.push(case('ñ')),
            'i' => out.push(case(tone_mod(tone, ['i', 'í', 'ì', 'æ', 'ó', 'ò']))),
            'y' if tone == Some(DOT) => out.push(case('î')),
            'a' | 'e' | 'o' | 'u' | 'y' => {
                let b = match (base, horn) {
                    ('o', true) => 'ô',
                    ('u', true) => 'ö',
                    _ => base,
                };
                out.push(case(b));
                if circ {
                    out.push(case(tone_mod(tone, ['â', 'á', 'à', 'å', 'ã', 'ä'])));
                } else if breve {
                    out.push(case(tone_mod(tone, ['ê', 'é', 'è', 'ú', 'ü', 'ë'])));
                } else if tone.is_some() {
                    out.push(case(tone_mod(tone, ['?', 'ù', 'ø', 'û', 'õ', 'ï'])));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Unicode → TCVN3 as old .VnTime files hold it (toned capitals typed with lowercase codes).
pub fn unicode_to_tcvn3(s: &str) -> String {
    encode_tcvn3_vn3(s)
}

/// Unicode → VNI-Windows as old files hold it.
pub fn unicode_to_vni(s: &str) -> String {
    encode_vni(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Common full names covering every tone and ă â đ ê ô ơ ư, capitals included.
    const NAMES: &[&str] = &[
        "Nguyễn Văn Hùng",
        "Trần Thị Mai",
        "Lê Thị Hồng Nhung",
        "Phạm Quốc Đạt",
        "Hoàng Thị Thu Hương",
        "Đặng Văn Lâm",
        "Vũ Đức Thắng",
        "Bùi Thị Ngọc Ánh",
        "Đỗ Mạnh Cường",
        "Ngô Thị Tuyết",
        "Dương Văn Sỹ",
        "Lý Thị Kiều Oanh",
        "Trương Công Định",
        "Hồ Thị Mỹ Duyên",
        "Phan Văn Trường",
        "Đinh Thị Ẩn",
        "Mai Xuân Thưởng",
        "Âu Văn Ổn",
        "Ông Ích Khiêm",
        "Lã Thị Ngân",
        "Huỳnh Thị Thủy",
        "Khổng Minh Trí",
        "Đoàn Thị Phượng",
        "Ưng Văn Bảy",
        "Ơn Thị Ẽ",
        "Tạ Quang Dũng",
        "Giáp Thị Lụa",
        "Quách Ngọc Ẳng",
    ];

    /// Ordinary Unicode names; several use only Latin-1 letters, the hard case for detection.
    const UNICODE_NAMES: &[&str] = &[
        "Nguyễn Văn Hùng",
        "Đỗ Thị Ánh",
        "Lê Hoàng Anh",
        "Hoàng Thu Hà",
        "Trà My",
        "Tô Hoài",
        "Lê Minh Tâm",
        "Võ Tú Anh",
        "Hà Thu Hoài",
        "Lê Hoà",
        "Hoàng Thuý",
        "Hoàng Hoá",
        "Khuê",
        "Lê Hoàng Yên",
        "Tôn Thất Tùng",
        "Phan Thanh Tùng",
        "Mai Anh Tuấn",
        "HOÀNG THU HÀ",
        "Trần Thị Thúy Hòa",
        "Nguyễn Thị Ngọc Hân",
        "Bùi Xuân Phái",
        "Hà Mi",
        "Lò Văn Páo",
        "Lê Tú",
        "Tô Hà",
        "Hoàng Tú Anh",
        "Đinh Thị Khoẻ",
        "H'Hen Niê",
    ];

    const FOREIGN: &[&str] = &[
        "hello world",
        "Teacher training programme",
        "Crème brûlée",
        "naïve café",
        "Müller",
        "José Raúl",
        "São Paulo",
        "résumé",
        "Zoë",
        "Noël",
        "façade",
        "Ångström",
        "El Niño",
        "piñata",
        "Björk",
        "Señor Peña",
        "Åse Øvergård",
        "déjà vu",
        "",
        "12/05/1980",
    ];

    // ---- syllables ---------------------------------------------------------------------------

    #[test]
    fn syllable_parts_match_the_lists() {
        let alphabet: Vec<char> = "aăâeêioôơuưybcdđghklmnpqrstvx".chars().collect();
        let mut runs: Vec<Vec<char>> = vec![vec![]];
        for len in 1..=3 {
            let shorter: Vec<Vec<char>> = runs.iter().filter(|r| r.len() == len - 1).cloned().collect();
            for r in shorter {
                for &c in &alphabet {
                    runs.push([r.clone(), vec![c]].concat());
                }
            }
        }
        let listed = |list: &[&str], r: &[char]| list.contains(&r.iter().collect::<String>().as_str());
        for r in &runs {
            assert_eq!(is_initial(r), listed(INITIALS, r), "{r:?}");
            assert_eq!(is_final(r), listed(FINALS, r), "{r:?}");
            assert_eq!(is_open_cluster(r), listed(OPEN_CLUSTERS, r), "{r:?}");
            assert_eq!(is_closed_cluster(r), listed(CLOSED_CLUSTERS, r), "{r:?}");
        }
    }

    // ---- fast paths against the general ones -------------------------------------------------

    /// `normalize_tone_placement` as first written: every word retoned and copied.
    fn reference_tone_placement(s: &str) -> String {
        let nfc: String = s.nfc().collect();
        let mut out = String::new();
        let mut word: Vec<char> = Vec::new();
        let flush = |out: &mut String, word: &mut Vec<char>| {
            match retone_word(word) {
                Some(fixed) => out.extend(fixed),
                None => out.extend(word.iter()),
            }
            word.clear();
        };
        for c in nfc.chars() {
            if c.is_alphabetic() {
                word.push(c);
            } else {
                flush(&mut out, &mut word);
                out.push(c);
            }
        }
        flush(&mut out, &mut word);
        out
    }

    /// `capitalize_name` with the general character functions.
    fn reference_capitalize(s: &str) -> String {
        let mut out = String::new();
        let mut at_start = true;
        for c in s.nfc() {
            if c.is_alphabetic() {
                if at_start {
                    out.extend(c.to_uppercase());
                } else {
                    out.extend(c.to_lowercase());
                }
                at_start = false;
            } else {
                if !c.is_alphanumeric() && !unicode_normalization::char::is_combining_mark(c) {
                    at_start = true;
                } else if c.is_alphanumeric() {
                    at_start = false;
                }
                out.push(c);
            }
        }
        out
    }

    /// `repair_legacy` without its shortcuts: the evidence of both encodings for any non-ASCII
    /// text, nothing remembered.
    fn reference_repair(s: &str) -> (String, Option<Legacy>) {
        if s.is_ascii() {
            return (s.to_string(), None);
        }
        match detect(s) {
            Some(Legacy::Tcvn3) => (tcvn3_to_unicode(s), Some(Legacy::Tcvn3)),
            Some(Legacy::Vni) => (vni_to_unicode(s), Some(Legacy::Vni)),
            None => (s.to_string(), None),
        }
    }

    #[test]
    fn fast_paths_match_the_general_ones() {
        let mut texts: Vec<String> = NAMES.iter().chain(UNICODE_NAMES).chain(FOREIGN).map(|s| s.to_string()).collect();
        for name in NAMES {
            texts.extend([encode_tcvn3(name), encode_tcvn3_vn3(name), encode_vni(name), name.nfd().collect()]);
        }
        texts.extend(
            ["NguyÔn  V¨n\tHïng ", "Traàn\u{A0}Thò Mai", "hoà  thuý", "Giáo viên", "Toán", "Cà Mau"].map(String::from),
        );
        texts.extend(crate::letters::random_texts(4, 30_000));
        for s in &texts {
            let s = s.as_str();
            assert_eq!(repair_legacy(s), reference_repair(s), "{s:?}");
            assert_eq!(repair_legacy(s), reference_repair(s), "{s:?} (remembered)");
            if !may_be_legacy(s) {
                assert_eq!(detect(s), None, "{s:?}");
            }
            assert_eq!(normalize_tone_placement(s), reference_tone_placement(s), "{s:?}");
            assert_eq!(capitalize_name(s), reference_capitalize(s), "{s:?}");
            let (repaired, legacy) = reference_repair(s);
            let expected = reference_capitalize(&reference_tone_placement(&crate::text::clean(&repaired)));
            assert_eq!(clean_name(s), (expected, legacy), "{s:?}");
        }
    }

    #[test]
    fn unchanged_text_is_borrowed() {
        assert!(matches!(repair_legacy_cow("Nguyễn Văn Hùng"), (Cow::Borrowed(_), None)));
        assert!(matches!(repair_legacy_cow("Hoàng Thu Hà"), (Cow::Borrowed(_), None)));
        assert!(matches!(repair_legacy_cow("NguyÔn V¨n Hïng"), (Cow::Owned(_), Some(Legacy::Tcvn3))));
        assert!(matches!(tone_placement_cow("Nguyễn Thị Thúy Hòa"), Cow::Borrowed(_)));
        assert!(matches!(tone_placement_cow("Nguyễn Thị Thuý Hoà"), Cow::Owned(_)));
        assert_eq!(tone_placement_cow("Thuý-hoà, Khoẻ"), "Thúy-hòa, Khỏe");
        // A word of more than 8 letters is never a syllable, whatever its tone.
        assert_eq!(normalize_tone_placement("hoàaaaaaaa hoà"), "hoàaaaaaaa hòa");
    }

    #[test]
    fn glyph_bytes_and_tcvn3_codes() {
        for u in 0..0x3000 {
            let Some(c) = char::from_u32(u) else { continue };
            let listed = if (0x80..=0xFF).contains(&u) {
                Some(u as u8)
            } else {
                CP1252_80.iter().position(|&g| g == c).map(|p| 0x80 + p as u8)
            };
            assert_eq!(glyph_byte(c), listed, "{c:?}");
            let code = listed.and_then(|b| TCVN3.iter().chain(TCVN3_VN1).find(|(x, _)| *x == b).map(|&(_, u)| u));
            assert_eq!(tcvn3_char(c), code, "{c:?}");
        }
    }

    // ---- tone placement ---------------------------------------------------------------------

    #[test]
    fn tone_placement_examples() {
        for (old, new) in [
            ("hoà", "hòa"),
            ("thuý", "thúy"),
            ("hoá", "hóa"),
            ("khoẻ", "khỏe"),
            ("Thuỷ", "Thủy"),
            ("oà oá oả oã oạ", "òa óa ỏa õa ọa"),
            ("uỳ uý uỷ uỹ uỵ", "ùy úy ủy ũy ụy"),
            ("oè oé oẻ oẽ oẹ", "òe óe ỏe õe ọe"),
            ("HOÀ", "HÒA"),
            ("Uỷ ban", "Ủy ban"),
            ("Nguyễn Thị Thuý Hoà", "Nguyễn Thị Thúy Hòa"),
        ] {
            assert_eq!(normalize_tone_placement(old), new, "{old}");
        }
    }

    #[test]
    fn tone_placement_keeps_right_words() {
        for w in [
            "Hoàng",
            "Thuận",
            "Quyết",
            "Nguyễn",
            "khuya",
            "gìn",
            "quốc",
            "quý",
            "quí",
            "giữa",
            "người",
            "ngoài",
            "khuỷu",
            "của",
            "nghĩa",
            "mía",
            "huỳnh",
            "thuở",
            "Trường",
            "hòa",
            "thủy",
            "khỏe",
            "Xuân",
            "Hello, world!",
            "",
        ] {
            assert_eq!(normalize_tone_placement(w), w, "{w}");
        }
    }

    #[test]
    fn tone_placement_nfd_input_and_idempotence() {
        let nfd: String = "Nguyễn Thị Thuý Hoà".nfd().collect();
        assert_eq!(normalize_tone_placement(&nfd), "Nguyễn Thị Thúy Hòa");
        for s in NAMES.iter().chain(UNICODE_NAMES) {
            let once = normalize_tone_placement(s);
            assert_eq!(normalize_tone_placement(&once), once, "{s}");
        }
    }

    // ---- legacy encodings -------------------------------------------------------------------

    #[test]
    fn tcvn3_example() {
        assert!(looks_like_tcvn3("NguyÔn V¨n Hïng"));
        assert!(!looks_like_vni("NguyÔn V¨n Hïng"));
        assert_eq!(tcvn3_to_unicode("NguyÔn V¨n Hïng"), "Nguyễn Văn Hùng");
        assert_eq!(repair_legacy("NguyÔn V¨n Hïng"), ("Nguyễn Văn Hùng".to_string(), Some(Legacy::Tcvn3)));
        assert_eq!(tcvn3_to_unicode("§¹i häc S\u{AD} ph¹m"), "Đại học Sư phạm");
        assert_eq!(tcvn3_to_unicode("NGUYÔN V¡N HïNG"), "NGUYỄN VĂN HÙNG");
    }

    #[test]
    fn vni_examples() {
        for (legacy, unicode) in
            [("Traàn Thò Mai", "Trần Thị Mai"), ("Nguyeãn Vaên An", "Nguyễn Văn An"), ("Ñoã", "Đỗ")]
        {
            assert!(looks_like_vni(legacy), "{legacy}");
            assert!(!looks_like_tcvn3(legacy), "{legacy}");
            assert_eq!(vni_to_unicode(legacy), unicode);
            assert_eq!(repair_legacy(legacy), (unicode.to_string(), Some(Legacy::Vni)));
        }
        assert_eq!(vni_to_unicode("Tröông Thò Thuyû"), "Trương Thị Thuỷ");
        assert_eq!(vni_to_unicode("NGUYEÃN VAÊN AN"), "NGUYỄN VĂN AN");
        // Two modifiers: a bare circumflex followed by a tone.
        assert_eq!(vni_to_unicode("Traâøn"), "Trần");
        // "Thò" gives VNI away; "Hoàng Hoà" ("Hồng Hồ") reads as Unicode and stays so.
        assert_eq!(repair_legacy("Ôn Thò EÕ"), ("Ơn Thị Ẽ".to_string(), Some(Legacy::Vni)));
        assert_eq!(repair_legacy("Phan Thò Mai"), ("Phan Thị Mai".to_string(), Some(Legacy::Vni)));
        assert_eq!(vni_to_unicode("Hoàng Hoà"), "Hồng Hồ");
        assert_eq!(repair_legacy("Hoàng Hoà"), ("Hoàng Hoà".to_string(), None));
    }

    #[test]
    fn tcvn3_round_trips() {
        assert!(NAMES.len() >= 15);
        for name in NAMES {
            let legacy = encode_tcvn3(name);
            assert_ne!(&legacy, name);
            assert_eq!(tcvn3_to_unicode(&legacy), *name, "{legacy}");
            assert_eq!(repair_legacy(&legacy), (name.to_string(), Some(Legacy::Tcvn3)), "{legacy}");
            assert!(!looks_like_vni(&legacy), "{legacy}");
        }
    }

    #[test]
    fn tcvn3_vn3_typing_is_cleaned() {
        for name in NAMES {
            let legacy = encode_tcvn3_vn3(name);
            assert_eq!(clean_name(&legacy), (name.to_string(), Some(Legacy::Tcvn3)), "{legacy}");
        }
        assert_eq!(clean_name("øng thÞ yÕn"), ("Ứng Thị Yến".to_string(), Some(Legacy::Tcvn3)));
    }

    #[test]
    fn vni_round_trips() {
        assert!(NAMES.len() >= 10);
        for name in NAMES.iter().chain(&["Ứng Văn Kỷ", "Ỵ Thị Ỳ", "ÚT ĐỖ"]) {
            let legacy = encode_vni(name);
            assert_ne!(&legacy, name);
            assert_eq!(vni_to_unicode(&legacy), *name, "{legacy}");
            assert_eq!(repair_legacy(&legacy), (name.to_string(), Some(Legacy::Vni)), "{legacy}");
            assert!(!looks_like_tcvn3(&legacy), "{legacy}");
        }
    }

    #[test]
    fn detection_negatives() {
        assert!(UNICODE_NAMES.len() >= 20);
        for s in UNICODE_NAMES.iter().chain(FOREIGN) {
            assert!(!looks_like_tcvn3(s), "TCVN3: {s}");
            assert!(!looks_like_vni(s), "VNI: {s}");
            assert_eq!(repair_legacy(s), (s.to_string(), None), "{s}");
            let nfd: String = s.nfd().collect();
            assert_eq!(repair_legacy(&nfd).1, None, "{s}");
        }
        // Stray symbols are not enough.
        assert!(!looks_like_tcvn3("Price: 5¢ and § 6 and § 7"));
    }

    // ---- names ------------------------------------------------------------------------------

    #[test]
    fn capitalization() {
        assert_eq!(capitalize_name("nguyễn văn AN"), "Nguyễn Văn An");
        assert_eq!(capitalize_name("ĐỖ thị ánh"), "Đỗ Thị Ánh");
        assert_eq!(capitalize_name("h'hen niê"), "H'Hen Niê");
        let nfd: String = "ĐỖ THỊ ÁNH".nfd().collect();
        assert_eq!(capitalize_name(&nfd), "Đỗ Thị Ánh");
    }

    #[test]
    fn clean_name_pipeline() {
        assert_eq!(clean_name("NguyÔn  V¨n   Hïng "), ("Nguyễn Văn Hùng".to_string(), Some(Legacy::Tcvn3)));
        assert_eq!(clean_name("TRAÀN THÒ MAI"), ("Trần Thị Mai".to_string(), Some(Legacy::Vni)));
        // one legacy word only, its "Đ" the telltale (the generated roster's "§ç" rows)
        assert_eq!(clean_name("§ç Minh Trung"), ("Đỗ Minh Trung".to_string(), Some(Legacy::Tcvn3)));
        assert_eq!(clean_name("§inh Lan"), ("Đinh Lan".to_string(), Some(Legacy::Tcvn3)));
        assert_eq!(clean_name("  nguyễn thị thuý  HOÀ "), ("Nguyễn Thị Thúy Hòa".to_string(), None));
        let nfd: String = "ĐỖ thị   khoẻ".nfd().collect();
        assert_eq!(clean_name(&nfd), ("Đỗ Thị Khỏe".to_string(), None));
        for s in NAMES.iter().chain(UNICODE_NAMES) {
            let (once, legacy) = clean_name(s);
            assert_eq!(legacy, None, "{s}");
            assert_eq!(clean_name(&once), (once.clone(), None), "{s}");
        }
        for s in NAMES {
            assert_eq!(clean_name(s), (s.to_string(), None), "{s}");
        }
    }

    #[test]
    fn clean_name_takes_out_invisible_characters_after_the_legacy_repair() {
        assert_eq!(clean_name("Nguy\u{200B}ễn Văn\u{FEFF} An\u{AD}").0, "Nguyễn Văn An");
        // in TCVN3 read as Windows-1252 glyphs the soft hyphen is "ư": repaired, not taken out
        assert_eq!(
            clean_name(&unicode_to_tcvn3("Trương Thị Hường")),
            ("Trương Thị Hường".to_string(), Some(Legacy::Tcvn3))
        );
    }

    #[test]
    fn short_cells_and_headings_of_every_column_are_repaired() {
        for (glyphs, unicode, legacy) in [
            ("N\u{F7}", "Nữ", Legacy::Tcvn3),
            ("Gi¸o viªn", "Giáo viên", Legacy::Tcvn3),
            ("HiÖu tr\u{AD}ëng", "Hiệu trưởng", Legacy::Tcvn3),
            ("Hä vµ tªn", "Họ và tên", Legacy::Tcvn3),
            ("Ngµy sinh", "Ngày sinh", Legacy::Tcvn3),
            ("Giíi tÝnh", "Giới tính", Legacy::Tcvn3),
            ("Chøc vô", "Chức vụ", Legacy::Tcvn3),
            ("Giaùo vieân", "Giáo viên", Legacy::Vni),
            ("Nöõ", "Nữ", Legacy::Vni),
            ("Hoï vaø teân", "Họ và tên", Legacy::Vni),
            ("Giôùi tính", "Giới tính", Legacy::Vni),
        ] {
            let (text, got) = repair_legacy(glyphs);
            assert_eq!((text.as_str(), got), (unicode, Some(legacy)), "{glyphs}");
        }
        // too short to tell alone ("Sè" is a Unicode word too): converted like its neighbours
        assert_eq!(repair_legacy("Sè CCCD"), ("Sè CCCD".to_string(), None));
        // "Sè" is a syllable in Unicode too: a tie keeps the text (a heading is known by its
        // conversion instead, `columns::map_headers`)
        assert_eq!(convert_like_neighbours("Sè CCCD", Legacy::Tcvn3), None);
        assert_eq!(convert_like_neighbours("Hà Nội", Legacy::Tcvn3), None);
        for unicode in ["Cà Mau", "Khánh Hòa", "Thanh Hóa", "Ninh Bình", "Phường Bình Thủy"] {
            assert_eq!(convert_like_neighbours(unicode, Legacy::Tcvn3), None, "{unicode}");
            assert_eq!(convert_like_neighbours(unicode, Legacy::Vni), None, "{unicode}");
        }
        assert_eq!(convert_like_neighbours("CCCD", Legacy::Tcvn3), None);
    }

    #[test]
    fn the_score_tells_the_right_decoding() {
        let good = "Họ và tên;Giới tính;Chức vụ\nNguyễn Văn Đạt;Nữ;Giáo viên\nTRẦN THỊ HƯỜNG;Nam;Hiệu trưởng";
        assert!(vietnamese_score(good) >= 10, "{}", vietnamese_score(good));
        // combining tone marks (Windows-1258) count once composed
        let nfd: String = good.nfd().collect();
        assert_eq!(vietnamese_score(&nfd), vietnamese_score(good));
        for bad in ["Nguyêþn Vãn Ðaòt", "NguyÔn V¨n §¹t", "Nguyeãn Vaên Ñaït"] {
            assert!(vietnamese_score(bad) < 0, "{bad}: {}", vietnamese_score(bad));
        }
        assert_eq!(vietnamese_score("Nguyen Van An; 12/03/1990"), 0);
    }
}
