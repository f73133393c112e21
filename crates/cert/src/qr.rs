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

/// The outline of the dark modules, in module units (x to the right, y down): closed polygons
/// whose corners are grid points, turning clockwise around dark areas and counter-clockwise
/// around light holes, so that filling them with the non-zero rule paints exactly the dark
/// modules. One polygon per connected edge loop, with no point in the middle of a straight edge:
/// far fewer points than one rectangle per module or per run, and no seams between neighbours.
pub(crate) fn outline(qr: &Qr) -> Vec<Vec<(u16, u16)>> {
    let n = qr.width;
    let dark = |x: isize, y: isize| {
        x >= 0 && y >= 0 && (x as usize) < n && (y as usize) < n && qr.dark[y as usize * n + x as usize]
    };
    // Directions: 0 right, 1 down, 2 left, 3 up. `out[v]` holds a bit per unused edge leaving
    // the grid point v = y * (n + 1) + x.
    const STEP: [(isize, isize); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];
    let side = n + 1;
    let mut out = vec![0u8; side * side];
    let point = |x: usize, y: usize| y * side + x;
    for y in 0..n {
        for x in 0..n {
            let (xi, yi) = (x as isize, y as isize);
            if !dark(xi, yi) {
                continue;
            }
            // Each dark module's border clockwise, keeping only the sides next to light.
            if !dark(xi, yi - 1) {
                out[point(x, y)] |= 1 << 0;
            }
            if !dark(xi + 1, yi) {
                out[point(x + 1, y)] |= 1 << 1;
            }
            if !dark(xi, yi + 1) {
                out[point(x + 1, y + 1)] |= 1 << 2;
            }
            if !dark(xi - 1, yi) {
                out[point(x, y + 1)] |= 1 << 3;
            }
        }
    }
    let mut polygons = Vec::new();
    for start in 0..out.len() {
        while out[start] != 0 {
            // Every point has as many edges in as out, so a walk from `start` can only stop there.
            let mut corners: Vec<(u16, u16)> = Vec::new();
            let (mut x, mut y) = ((start % side) as isize, (start / side) as isize);
            let mut dir = out[start].trailing_zeros() as usize;
            loop {
                let v = y as usize * side + x as usize;
                if out[v] == 0 {
                    break;
                }
                // Keep on straight if possible, else the first free turn clockwise from there.
                let next = (0..4).map(|t| (dir + t) % 4).find(|d| out[v] & (1 << d) != 0).expect("an edge leaves");
                if next != dir || corners.is_empty() {
                    corners.push((x as u16, y as u16));
                }
                out[v] &= !(1 << next);
                dir = next;
                x += STEP[dir].0;
                y += STEP[dir].1;
            }
            // The walk may have started in the middle of a straight edge or closed along one.
            simplify(&mut corners);
            polygons.push(corners);
        }
    }
    polygons
}

/// Drops the points of a closed polygon that lie on the straight line between their neighbours.
fn simplify(points: &mut Vec<(u16, u16)>) {
    loop {
        let k = points.len();
        if k < 3 {
            return;
        }
        let straight = (0..k).find(|&i| {
            let (a, b, c) = (points[(i + k - 1) % k], points[i], points[(i + 1) % k]);
            (a.0 == b.0 && b.0 == c.0) || (a.1 == b.1 && b.1 == c.1)
        });
        match straight {
            Some(i) => {
                points.remove(i);
            }
            None => return,
        }
    }
}

/// `qrcode`'s penalty score of a masked normal QR code (its rules 1 to 4, computed the same way).
fn penalty(m: &[bool], n: usize) -> u32 {
    if n <= 64 { penalty_bits(m, n) } else { penalty_modules(m, n) }
}

/// [`penalty`] for codes up to 64 modules wide (version 11; a verification URL takes version 4):
/// each row and column as the bits of a `u64`, so every rule is a few shifts and counts per line
/// instead of a comparison, often mispredicted, per module.
fn penalty_bits(m: &[bool], n: usize) -> u32 {
    let mut rows = [0u64; 64];
    let mut cols = [0u64; 64];
    for y in 0..n {
        for x in 0..n {
            let bit = m[y * n + x] as u64;
            rows[y] |= bit << x;
            cols[x] |= bit << y;
        }
    }
    let (rows, cols) = (&rows[..n], &cols[..n]);
    let below = |k: usize| if k >= 64 { u64::MAX } else { (1u64 << k) - 1 };
    let mut score = 0u32;
    // Rule 1: bit j of `same` says modules j and j + 1 match; a run of r ≥ 5 is a block of
    // r - 1 ≥ 4 such bits and scores r - 2: one per window of four bits, plus two per block.
    for &line in rows.iter().chain(cols) {
        let same = !(line ^ (line >> 1)) & below(n - 1);
        let fours = same & (same >> 1) & (same >> 2) & (same >> 3);
        score += fours.count_ones() + 2 * (fours & !(fours << 1)).count_ones();
    }
    // Rule 2: 2×2 blocks of one colour.
    for pair in rows.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let block = !(a ^ (a >> 1)) & !(b ^ (b >> 1)) & !(a ^ b) & below(n - 1);
        score += 3 * block.count_ones();
    }
    // Rule 3: the finder-like pattern starting at bit j, without four light modules before it or
    // without four after it (outside the code is light).
    const PATTERN: [bool; 7] = [true, false, true, true, true, false, true];
    let mut finder = 0u32;
    if n >= 7 {
        for &line in rows.iter().chain(cols) {
            let mut at = below(n - 6);
            for (k, dark) in PATTERN.iter().enumerate() {
                at &= if *dark { line >> k } else { !(line >> k) };
            }
            let dark_before = (line << 1) | (line << 2) | (line << 3) | (line << 4);
            let dark_after = (line >> 7) | (line >> 8) | (line >> 9) | (line >> 10);
            finder += 40 * (at & !(dark_before & dark_after)).count_ones();
        }
    }
    // Wrapping, as in release builds: a grid that is not a QR code may have fewer than 18.
    score = score.wrapping_add(finder.wrapping_sub(720));
    // Rule 4: the distance of the share of dark modules from one half.
    let dark: u32 = rows.iter().map(|r| r.count_ones()).sum();
    let ratio = dark as usize * 200 / m.len();
    score.wrapping_add(ratio.abs_diff(100) as u32)
}

/// [`penalty`] module by module, for any width.
fn penalty_modules(m: &[bool], n: usize) -> u32 {
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
    // Wrapping, as in release builds: a grid that is not a QR code may have fewer than 18.
    score = score.wrapping_add(finder.wrapping_sub(720));
    // Rule 4: the distance of the share of dark modules from one half.
    let dark = m.iter().filter(|d| **d).count();
    let ratio = dark * 200 / m.len();
    score.wrapping_add(ratio.abs_diff(100) as u32)
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

    /// How many times the polygons wind around the point (x, y), counting the vertical edges
    /// crossed by a ray to the right (down +1, up -1).
    fn winding(polygons: &[Vec<(u16, u16)>], x: f32, y: f32) -> i32 {
        let mut w = 0;
        for p in polygons {
            for i in 0..p.len() {
                let (a, b) = (p[i], p[(i + 1) % p.len()]);
                let (ax, ay, by) = (a.0 as f32, a.1 as f32, b.1 as f32);
                if a.0 == b.0 && ax > x && y > ay.min(by) && y < ay.max(by) {
                    w += if by > ay { 1 } else { -1 };
                }
            }
        }
        w
    }

    /// The outline covers exactly the dark modules (winding 1 in each, 0 outside), uses only
    /// horizontal and vertical edges, and has no point in the middle of a straight edge.
    fn assert_outline_matches(qr: &Qr) {
        let polygons = outline(qr);
        let n = qr.width;
        for y in 0..n {
            for x in 0..n {
                let w = winding(&polygons, x as f32 + 0.5, y as f32 + 0.5);
                assert_eq!(w, qr.dark[y * n + x] as i32, "module ({x}, {y})");
            }
        }
        for p in &polygons {
            assert!(p.len() >= 4 && p.len() % 2 == 0, "{p:?}");
            for i in 0..p.len() {
                let (a, b, c) = (p[i], p[(i + 1) % p.len()], p[(i + 2) % p.len()]);
                assert!(a.0 == b.0 || a.1 == b.1, "diagonal edge {a:?} {b:?}");
                let straight = (a.0 == b.0 && b.0 == c.0) || (a.1 == b.1 && b.1 == c.1);
                assert!(!straight, "straight point {b:?}");
            }
        }
    }

    #[test]
    fn outline_paints_exactly_the_dark_modules() {
        for i in 0..50 {
            let url = format!("https://bdtx.moet.gov.vn/verify/{}{}", crate::new_code(), "x".repeat(i * 3));
            let qr = encode(url.as_bytes(), EcLevel::M).unwrap();
            assert_outline_matches(&qr);
            // Far fewer corners than four per run of dark modules.
            let corners: usize = outline(&qr).iter().map(Vec::len).sum();
            let runs =
                (0..qr.width * qr.width).filter(|&k| qr.dark[k] && (k % qr.width == 0 || !qr.dark[k - 1])).count();
            assert!(corners < 4 * runs, "{corners} corners for {runs} runs");
        }
        // Modules that touch only at corners, holes, a full and an empty grid, one module.
        let grid = |width: usize, f: &dyn Fn(usize, usize) -> bool| Qr {
            width,
            dark: (0..width * width).map(|k| f(k % width, k / width)).collect(),
        };
        assert_outline_matches(&grid(7, &|x, y| (x + y) % 2 == 0));
        assert_outline_matches(&grid(9, &|x, y| x % 4 != 2 && y % 4 != 2));
        assert_outline_matches(&grid(5, &|x, y| !(x == 2 && y == 2)));
        assert_outline_matches(&grid(4, &|_, _| true));
        assert!(outline(&grid(4, &|_, _| false)).is_empty());
        assert_eq!(outline(&grid(1, &|_, _| true)), vec![vec![(0, 0), (1, 0), (1, 1), (0, 1)]]);
        let mut seed = 7u64;
        for _ in 0..200 {
            let cells: Vec<bool> = (0..121)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    seed >> 62 != 0
                })
                .collect();
            assert_outline_matches(&Qr { width: 11, dark: cells });
        }
    }

    #[test]
    fn penalty_by_bits_is_penalty_by_modules() {
        let mut seed = 11u64;
        let mut random = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        for n in (7..=64).chain([21; 40]).chain([33; 40]) {
            // Sparse, even and dense grids, so that long runs, blocks and finder-like patterns occur.
            for density in [1, 4, 8, 12, 15] {
                let m: Vec<bool> = (0..n * n).map(|_| random() % 16 < density).collect();
                assert_eq!(penalty_bits(&m, n), penalty_modules(&m, n), "width {n}, density {density}/16");
            }
        }
        // And on real codes before masking picks one: every mask of several URLs.
        for url in ["https://bdtx.moet.gov.vn/verify/abcdefghjkmnpqrstuvw", "x", &"y".repeat(200)] {
            let bits = qrcode::bits::encode_auto(url.as_bytes(), EcLevel::M).unwrap();
            let version = bits.version();
            let (encoded, ecc) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).unwrap();
            let mut canvas = Canvas::new(version, EcLevel::M);
            canvas.draw_all_functional_patterns();
            canvas.draw_data(&encoded, &ecc);
            for pattern in PATTERNS {
                let mut c = canvas.clone();
                c.apply_mask(pattern);
                let m: Vec<bool> = c.into_colors().into_iter().map(|c| c == Color::Dark).collect();
                let n = version.width() as usize;
                if n <= 64 {
                    assert_eq!(penalty_bits(&m, n), penalty_modules(&m, n), "{url} {pattern:?}");
                }
            }
        }
    }

    #[test]
    fn too_long_is_an_error() {
        assert!(encode("x".repeat(5000).as_bytes(), EcLevel::M).is_err());
    }
}
