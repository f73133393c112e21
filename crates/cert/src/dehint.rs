//! The embedded TrueType fonts without their hinting: the instructions that snap outlines to the
//! pixel grid of a low-resolution screen. PDF viewers draw text anti-aliased and most ignore
//! TrueType hinting (and printing never needs it), but every certificate would carry it: in
//! DejaVu Serif the instructions are about half of the glyph data of a certificate's subset, plus
//! the `fpgm`, `prep` and `cvt ` tables copied whole into each subset, and all of it is deflated
//! once per certificate. Outlines, metrics, kerning and shaping tables are left as they are.
//!
//! Done once per process, on the fonts built into the binary.

/// Tables that only serve hinting (or device metrics computed with it): left out.
const DROPPED: [&[u8; 4]; 6] = [b"cvt ", b"fpgm", b"prep", b"hdmx", b"LTSH", b"VDMX"];

/// Composite glyph component flags.
const ARG_1_AND_2_ARE_WORDS: u16 = 0x0001;
const WE_HAVE_A_SCALE: u16 = 0x0008;
const MORE_COMPONENTS: u16 = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE: u16 = 0x0040;
const WE_HAVE_A_TWO_BY_TWO: u16 = 0x0080;
const WE_HAVE_INSTRUCTIONS: u16 = 0x0100;

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// The OpenType table checksum: the sum of the table's big-endian words (zero-padded).
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// One glyph's data without its instructions (composite glyphs lose the flag that announces
/// them too); `None` if the glyph is malformed.
fn glyph_without_instructions(glyph: &[u8]) -> Option<Vec<u8>> {
    if glyph.is_empty() {
        return Some(Vec::new());
    }
    let contours = u16_at(glyph, 0)? as i16;
    if contours >= 0 {
        // Header, end points of the contours, instruction length, instructions, flags and points.
        let at = 10 + 2 * contours as usize;
        let length = u16_at(glyph, at)? as usize;
        let rest = glyph.get(at + 2 + length..)?;
        let mut out = Vec::with_capacity(at + 2 + rest.len());
        out.extend_from_slice(&glyph[..at]);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(rest);
        return Some(out);
    }
    let mut out = glyph.to_vec();
    let mut at = 10;
    loop {
        let flags = u16_at(&out, at)?;
        out[at..at + 2].copy_from_slice(&(flags & !WE_HAVE_INSTRUCTIONS).to_be_bytes());
        at += 4 + if flags & ARG_1_AND_2_ARE_WORDS != 0 { 4 } else { 2 };
        at += if flags & WE_HAVE_A_SCALE != 0 {
            2
        } else if flags & WE_HAVE_AN_X_AND_Y_SCALE != 0 {
            4
        } else if flags & WE_HAVE_A_TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        if flags & MORE_COMPONENTS == 0 {
            break;
        }
    }
    // Whatever follows the last component is its instructions (and padding).
    out.get(..at)?;
    out.truncate(at);
    Some(out)
}

/// `ttf` (a TrueType font, not a collection) without hinting; `None` if it is not one this
/// understands (the caller then keeps the font as it is).
pub(crate) fn without_hinting(ttf: &[u8]) -> Option<Vec<u8>> {
    if u32_at(ttf, 0)? != 0x0001_0000 {
        return None;
    }
    let count = u16_at(ttf, 4)? as usize;
    let mut tables: Vec<([u8; 4], &[u8])> = Vec::with_capacity(count);
    for i in 0..count {
        let record = 12 + 16 * i;
        let tag: [u8; 4] = ttf.get(record..record + 4)?.try_into().ok()?;
        let offset = u32_at(ttf, record + 8)? as usize;
        let length = u32_at(ttf, record + 12)? as usize;
        tables.push((tag, ttf.get(offset..offset.checked_add(length)?)?));
    }
    let table = |tag: &[u8; 4]| tables.iter().find(|(t, _)| t == tag).map(|(_, d)| *d);
    let (head, maxp, loca, glyf) = (table(b"head")?, table(b"maxp")?, table(b"loca")?, table(b"glyf")?);
    let glyphs = u16_at(maxp, 4)? as usize;
    let long_loca = u16_at(head, 50)? != 0;
    let location = |g: usize| -> Option<usize> {
        if long_loca { u32_at(loca, 4 * g).map(|o| o as usize) } else { u16_at(loca, 2 * g).map(|o| 2 * o as usize) }
    };

    let mut new_glyf = Vec::with_capacity(glyf.len());
    let mut new_loca = Vec::with_capacity(4 * (glyphs + 1));
    for g in 0..glyphs {
        new_loca.extend_from_slice(&u32::try_from(new_glyf.len()).ok()?.to_be_bytes());
        let (start, end) = (location(g)?, location(g + 1)?);
        if end > start {
            new_glyf.extend(glyph_without_instructions(glyf.get(start..end)?)?);
            new_glyf.resize(new_glyf.len().next_multiple_of(4), 0);
        }
    }
    new_loca.extend_from_slice(&u32::try_from(new_glyf.len()).ok()?.to_be_bytes());
    let mut new_head = head.to_vec();
    new_head.get_mut(8..12)?.fill(0); // checkSumAdjustment, set below
    new_head[50..52].copy_from_slice(&1u16.to_be_bytes()); // indexToLocFormat: long offsets
    let mut new_maxp = maxp.to_vec();
    if let Some(size) = new_maxp.get_mut(26..28) {
        size.fill(0); // maxSizeOfInstructions
    }

    let kept: Vec<([u8; 4], &[u8])> = tables
        .iter()
        .filter(|(tag, _)| !DROPPED.contains(&tag))
        .map(|&(tag, data)| match &tag {
            b"glyf" => (tag, new_glyf.as_slice()),
            b"loca" => (tag, new_loca.as_slice()),
            b"head" => (tag, new_head.as_slice()),
            b"maxp" => (tag, new_maxp.as_slice()),
            _ => (tag, data),
        })
        .collect();
    let n = kept.len() as u16;
    let entry_selector = 15 - n.leading_zeros() as u16; // floor(log2(n))
    let search_range = 16u16 << entry_selector;
    let mut out = Vec::with_capacity(ttf.len());
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [n, search_range, entry_selector, n * 16 - search_range] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * kept.len();
    let mut head_at = None;
    for (tag, data) in &kept {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&u32::try_from(offset).ok()?.to_be_bytes());
        out.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &kept {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    let head_at = head_at?;
    out[head_at + 8..head_at + 12].copy_from_slice(&adjustment.to_be_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONTS: [&[u8]; 2] =
        [include_bytes!("../fonts/DejaVuSerif.ttf"), include_bytes!("../fonts/DejaVuSerif-Bold.ttf")];

    /// Records an outline's commands.
    #[derive(Default, PartialEq, Debug)]
    struct Commands(Vec<(char, [i32; 6])>);

    impl rustybuzz::ttf_parser::OutlineBuilder for Commands {
        fn move_to(&mut self, x: f32, y: f32) {
            self.0.push(('M', [x as i32, y as i32, 0, 0, 0, 0]));
        }
        fn line_to(&mut self, x: f32, y: f32) {
            self.0.push(('L', [x as i32, y as i32, 0, 0, 0, 0]));
        }
        fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
            self.0.push(('Q', [x1 as i32, y1 as i32, x as i32, y as i32, 0, 0]));
        }
        fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
            self.0.push(('C', [x1 as i32, y1 as i32, x2 as i32, y2 as i32, x as i32, y as i32]));
        }
        fn close(&mut self) {
            self.0.push(('Z', [0; 6]));
        }
    }

    /// Sum of the instruction lengths of every glyph (simple and composite).
    fn instruction_bytes(ttf: &[u8]) -> usize {
        let face = rustybuzz::ttf_parser::RawFace::parse(ttf, 0).unwrap();
        let head = face.table(rustybuzz::ttf_parser::Tag::from_bytes(b"head")).unwrap();
        let maxp = face.table(rustybuzz::ttf_parser::Tag::from_bytes(b"maxp")).unwrap();
        let loca = face.table(rustybuzz::ttf_parser::Tag::from_bytes(b"loca")).unwrap();
        let glyf = face.table(rustybuzz::ttf_parser::Tag::from_bytes(b"glyf")).unwrap();
        let long = u16_at(head, 50).unwrap() != 0;
        let at = |g: usize| {
            if long { u32_at(loca, 4 * g).unwrap() as usize } else { 2 * u16_at(loca, 2 * g).unwrap() as usize }
        };
        let mut total = 0;
        for g in 0..u16_at(maxp, 4).unwrap() as usize {
            let glyph = &glyf[at(g)..at(g + 1)];
            if glyph.is_empty() {
                continue;
            }
            let contours = u16_at(glyph, 0).unwrap() as i16;
            if contours >= 0 {
                total += u16_at(glyph, 10 + 2 * contours as usize).unwrap() as usize;
            } else {
                let mut at = 10;
                loop {
                    let flags = u16_at(glyph, at).unwrap();
                    at += if flags & ARG_1_AND_2_ARE_WORDS != 0 { 8 } else { 6 };
                    at += [(WE_HAVE_A_SCALE, 2), (WE_HAVE_AN_X_AND_Y_SCALE, 4), (WE_HAVE_A_TWO_BY_TWO, 8)]
                        .iter()
                        .find(|(bit, _)| flags & bit != 0)
                        .map_or(0, |(_, size)| *size);
                    if flags & MORE_COMPONENTS == 0 {
                        if flags & WE_HAVE_INSTRUCTIONS != 0 {
                            total += u16_at(glyph, at).unwrap() as usize;
                        }
                        break;
                    }
                }
            }
        }
        total
    }

    #[test]
    fn same_glyphs_metrics_and_layout_without_the_hinting() {
        for original in FONTS {
            let dehinted = without_hinting(original).expect("DejaVu Serif is a plain TrueType font");
            assert!(instruction_bytes(original) > 10_000, "the original is hinted");
            assert_eq!(instruction_bytes(&dehinted), 0);
            assert!(dehinted.len() < original.len());
            let (a, b) =
                (rustybuzz::Face::from_slice(original, 0).unwrap(), rustybuzz::Face::from_slice(&dehinted, 0).unwrap());
            assert_eq!(a.number_of_glyphs(), b.number_of_glyphs());
            for tag in DROPPED {
                assert!(b.raw_face().table(rustybuzz::ttf_parser::Tag::from_bytes(tag)).is_none());
            }
            assert!(b.raw_face().table(rustybuzz::ttf_parser::Tag::from_bytes(b"GPOS")).is_some());
            for g in 0..a.number_of_glyphs() {
                let g = rustybuzz::ttf_parser::GlyphId(g);
                assert_eq!(a.glyph_hor_advance(g), b.glyph_hor_advance(g));
                let (mut oa, mut ob) = (Commands::default(), Commands::default());
                assert_eq!(a.outline_glyph(g, &mut oa), b.outline_glyph(g, &mut ob), "glyph {g:?}");
                assert_eq!(oa, ob, "glyph {g:?}");
            }
            // The whole file's checksum is the fixed OpenType value.
            assert_eq!(checksum(&dehinted), 0xB1B0_AFBA);
            // krilla reads it too.
            assert!(krilla::text::Font::new(krilla::Data::from(dehinted), 0).is_some());
        }
    }

    #[test]
    fn malformed_fonts_are_left_alone() {
        assert!(without_hinting(b"").is_none());
        assert!(without_hinting(&FONTS[0][..1000]).is_none());
        assert!(without_hinting(b"OTTO\0\0\0\0\0\0\0\0").is_none());
    }
}
