//! What a certificate says, its verification code, and the masked name shown on the public page.

use chrono::NaiveDate;
use rand::Rng;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Everything printed on a certificate (giấy chứng nhận hoàn thành mô đun bồi dưỡng) and put in its
/// signed credential. Texts are expected NFC (the application cleans them on the way in); the PDF and
/// the credential use them as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateData {
    /// The certificate number, unique, e.g. `HNUE2-2026-000123`.
    pub number: String,
    /// The verification code in `/verify/<code>`: random, see [`new_code`].
    pub code: String,
    pub holder_name: String,
    pub holder_birth_date: Option<NaiveDate>,
    pub module_code: String,
    pub module_title: String,
    /// The module's length in periods (tiết), when known.
    pub periods: Option<u32>,
    pub round_title: String,
    /// The university that issues the certificate.
    pub issuer_name: String,
    pub issuer_unit_code: String,
    /// The place in the place-and-date line, e.g. `Hà Nội`.
    pub province_name: String,
    pub issued_on: NaiveDate,
    pub signer_name: String,
    pub signer_title: String,
}

/// The characters of a verification code: lower-case letters and digits without the look-alikes
/// `0 o 1 l i` (so a code read aloud or typed from paper comes out right). 31 symbols.
pub const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Length of a verification code: 20 symbols of 31, about 99 bits, far beyond guessing.
pub const CODE_LEN: usize = 20;

/// A new random verification code: [`CODE_LEN`] symbols of [`CODE_ALPHABET`], URL-safe as is.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect()
}

/// Reads a code typed or pasted by a person: trims, lower-cases, drops spaces and dashes, and
/// returns it if it has the shape [`new_code`] makes; `None` otherwise (so the caller can answer
/// "not found" without touching the database).
pub fn parse_code(input: &str) -> Option<String> {
    let code: String =
        input.trim().chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_lowercase()).collect();
    let ok = code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b));
    ok.then_some(code)
}

/// The holder's name as shown on the public verification page: the given name (the last word,
/// Vietnamese order family–middle–given) whole, every other word reduced to its first letter and a
/// dot: "Nguyễn Thị Thu Hà" → "N. T. T. Hà". A one-word name keeps its first letter followed by
/// `***`. Works on NFC text and on whole graphemes, so a decomposed "Đặng" still gives "Đ.".
pub fn mask_name(full: &str) -> String {
    let nfc: String = full.nfc().collect();
    let words: Vec<&str> = nfc.split_whitespace().collect();
    match words.as_slice() {
        [] => String::new(),
        [only] => format!("{}***", initial(only)),
        [rest @ .., given] => {
            let mut out = String::new();
            for word in rest {
                out.push_str(&initial(word));
                out.push_str(". ");
            }
            out.push_str(given);
            out
        }
    }
}

/// The first grapheme of a word, upper-cased.
fn initial(word: &str) -> String {
    word.graphemes(true).next().unwrap_or_default().to_uppercase().nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_url_safe() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'o', '1', 'l', 'i', 'O', 'I', 'L']), "{code}");
            assert!(seen.insert(code), "a repeated code");
        }
    }

    #[test]
    fn alphabet_has_no_lookalikes_and_no_repeats() {
        assert_eq!(CODE_ALPHABET.len(), 31);
        let set: std::collections::HashSet<_> = CODE_ALPHABET.iter().collect();
        assert_eq!(set.len(), CODE_ALPHABET.len());
        for c in b"01ilo" {
            assert!(!CODE_ALPHABET.contains(c));
        }
    }

    #[test]
    fn parse_code_accepts_what_people_type() {
        let code = new_code();
        assert_eq!(parse_code(&code).as_deref(), Some(code.as_str()));
        assert_eq!(parse_code(&format!("  {}  ", code.to_uppercase())).as_deref(), Some(code.as_str()));
        let dashed = format!("{}-{}", &code[..10], &code[10..]);
        assert_eq!(parse_code(&dashed).as_deref(), Some(code.as_str()));
        assert_eq!(parse_code(""), None);
        assert_eq!(parse_code(&code[..19]), None);
        assert_eq!(parse_code(&format!("{code}a")), None);
        assert_eq!(parse_code("0000000000oooooooooo"), None);
        assert_eq!(parse_code("../../../etc/passwd"), None);
        assert_eq!(parse_code("ăăăăăăăăăăăăăăăăăăăă"), None);
    }

    #[test]
    fn masks_vietnamese_names() {
        assert_eq!(mask_name("Nguyễn Thị Thu Hà"), "N. T. T. Hà");
        assert_eq!(mask_name("Đặng Văn Đức"), "Đ. V. Đức");
        assert_eq!(mask_name("Ông Ích Khiêm"), "Ô. Í. Khiêm");
        assert_eq!(mask_name("Ưng Hoàng Phúc"), "Ư. H. Phúc");
        assert_eq!(mask_name("Âu Dương Ơn"), "Â. D. Ơn");
        assert_eq!(mask_name("Lê Ánh"), "L. Ánh");
        assert_eq!(mask_name("Tôn Nữ Thị Ý Nhi"), "T. N. T. Ý. Nhi");
    }

    #[test]
    fn masks_single_words_and_odd_spacing() {
        assert_eq!(mask_name("Hà"), "H***");
        assert_eq!(mask_name("Đạt"), "Đ***");
        assert_eq!(mask_name("  Trần   Quốc\tToản "), "T. Q. Toản");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name("   "), "");
        // Lower-case input still gives capital initials; the given name is kept as written.
        assert_eq!(mask_name("phạm thị hoa"), "P. T. hoa");
    }

    #[test]
    fn masks_decomposed_input_like_composed() {
        let nfd: String = "Đặng Ửng Hà".nfd().collect();
        assert_ne!(nfd, "Đặng Ửng Hà");
        assert_eq!(mask_name(&nfd), "Đ. Ử. Hà");
        // The result is NFC whatever came in.
        assert_eq!(mask_name(&nfd), mask_name(&nfd).nfc().collect::<String>());
    }

    #[test]
    fn certificate_data_round_trips_through_json() {
        let c = CertificateData {
            number: "HNUE2-2026-000123".into(),
            code: new_code(),
            holder_name: "Nguyễn Thị Thu Hà".into(),
            holder_birth_date: NaiveDate::from_ymd_opt(1985, 3, 7),
            module_code: "GVPT02".into(),
            module_title: "Sử dụng phương pháp dạy học".into(),
            periods: Some(40),
            round_title: "Đợt 1 năm 2026".into(),
            issuer_name: "Trường Đại học Sư phạm Hà Nội 2".into(),
            issuer_unit_code: "HNUE2".into(),
            province_name: "Phú Thọ".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(),
            signer_name: "Trần Văn A".into(),
            signer_title: "Hiệu trưởng".into(),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"holder_birth_date\":\"1985-03-07\""), "{json}");
        let back: CertificateData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
}
