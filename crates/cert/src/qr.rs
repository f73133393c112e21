//! The QR code of a verification URL: exactly the code `qrcode::QrCode` makes (same version,
//! error correction, data placement and mask), with the mask chosen by scoring each candidate
//! on plain booleans. `qrcode` scores through a boxed closure per module and position, which
//! took about a tenth of a certificate's rendering time.

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::types::{Color, QrError, Version};
use qrcode::{EcLevel, QrCode};

/// The code's width in modules and its modules row by row (`true` = dark).
pub(crate) struct Qr {
    pub width: usize,
    pub dark: Vec<bool>,
}

const PATTERNS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// Encodes `data` as `QrCode::with_error_correction_level(data, ec)` does.
pub(crate) fn encode(data: &[u8], ec: EcLevel) -> Result<Qr, QrError> {
    let bits = qrcode::bits::encode_auto(data, ec)?;
    let version = bits.version();
    if let Version::Micro(_) = version {
        // Never chosen automatically; kept correct all the same.
        let code = QrCode::with_bits(bits, ec)?;
        return Ok(Qr { width: code.width(), dark: code.to_colors().into_iter().map(|c| c == Color::Dark).collect() });
    }
    let (encoded, ecc) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, ec)?;
    let mut canvas = Canvas::new(version, ec);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&encoded, &ecc);
    let width = version.width() as usize;
    let mut best: Option<(u32, Vec<bool>)> = None;
    for pattern in PATTERNS {
        let mut c = canvas.clone();
        c.apply_mask(pattern);
        let dark: Vec<bool> = c.into_colors().into_iter().map(|c| c == Color::Dark).collect();
        let score = penalty(&dark, width);
        // The first pattern with the lowest score, as `Iterator::min_by_key` picks.
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, dark));
        }
    }
    let (_, dark) = best.expect("eight patterns");
    Ok(Qr { width, dark })
}

/// `qrcode`'s penalty score of a masked normal QR code (its rules 1 to 4, computed the same way).
fn penalty(m: &[bool], n: usize) -> u32 {
    let at = |x: usize, y: usize| m[y * n + x];
    let mut score = 0u32;
    // Rule 1: runs of 5 + k modules of one colour in a row or column score 3 + k.
    for horizontal in [true, false] {
        for i in 0..n {
            let get = |j: usize| if horizontal { at(j, i) } else { at(i, j) };
            let mut run = 1u32;
            for j in 1..n {
                if get(j) == get(j - 1) {
                    run += 1;
                } else {
                    if run >= 5 {
                        score += run - 2;
                    }
                    run = 1;
                }
            }
            if run >= 5 {
                score += run - 2;
            }
        }
    }
    // Rule 2: each 2×2 block of one colour scores 3.
    for y in 0..n - 1 {
        for x in 0..n - 1 {
            let c = at(x, y);
            if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                score += 3;
            }
        }
    }
    // Rule 3: dark-light-dark×3-light-dark not followed or not preceded by four light modules
    // (outside the code counts as light) scores 40; the finder patterns' own 2 × 360 are taken off.
    const PATTERN: [bool; 7] = [true, false, true, true, true, false, true];
    let mut finder = 0u32;
    for horizontal in [true, false] {
        for i in 0..n {
            let get = |j: usize| if horizontal { at(j, i) } else { at(i, j) };
            for j in 0..n - 6 {
                if (0..7).any(|k| get(j + k) != PATTERN[k]) {
                    continue;
                }
                let dark_before = (j.saturating_sub(4)..j).any(get);
                let dark_after = (j + 7..(j + 11).min(n)).any(get);
                if !dark_before || !dark_after {
                    finder += 40;
                }
            }
        }
    }
    score += finder.wrapping_sub(720);
    // Rule 4: the distance of the share of dark modules from one half.
    let dark = m.iter().filter(|d| **d).count();
    let ratio = dark * 200 / m.len();
    score + ratio.abs_diff(100) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8], ec: EcLevel) -> (usize, Vec<bool>) {
        let code = QrCode::with_error_correction_level(data, ec).unwrap();
        (code.width(), code.to_colors().into_iter().map(|c| c == Color::Dark).collect())
    }

    #[test]
    fn same_modules_as_the_qrcode_crate() {
        let mut urls: Vec<String> =
            (0..300).map(|_| format!("https://bdtx.moet.gov.vn/verify/{}", crate::new_code())).collect();
        urls.extend((0..200).map(|i| format!("https://x.vn/{}/verify/{}", "a".repeat(i), crate::new_code())));
        urls.push(String::new());
        urls.push("HELLO 12345".into());
        for url in &urls {
            for ec in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
                let qr = encode(url.as_bytes(), ec).unwrap();
                assert_eq!((qr.width, qr.dark), reference(url.as_bytes(), ec), "{url} {ec:?}");
            }
        }
    }

    #[test]
    fn too_long_is_an_error() {
        assert!(encode("x".repeat(5000).as_bytes(), EcLevel::M).is_err());
    }
}
