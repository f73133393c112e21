//! The certificate as a one-page A4 landscape PDF, in Vietnamese, with a QR code of its
//! verification URL.
//!
//! Fonts (DejaVu Serif regular and bold, full Vietnamese coverage) are embedded in the binary,
//! stripped of their TrueType hinting and parsed once per process (see [`crate::dehint`]); each
//! PDF carries only the subset of glyphs it uses. Text is shaped here (rustybuzz, the shaper
//! krilla itself uses) so lines can be measured, centred, wrapped and shrunk to fit; the QR code is
//! drawn as one vector path, the outline of its dark modules.

use std::rc::Rc;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use krilla::action::LinkAction;
use krilla::annotation::{Annotation, LinkAnnotation, Target};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Data, Document};
use qrcode::EcLevel;
use unicode_normalization::UnicodeNormalization;

use crate::error::CertError;
use crate::model::CertificateData;
use crate::qr::Qr;

/// A4 landscape, in points.
const PAGE_W: f32 = 841.89;
const PAGE_H: f32 = 595.28;

const REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSerif.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSerif-Bold.ttf");

const BLACK: (u8, u8, u8) = (0, 0, 0);
const NAVY: (u8, u8, u8) = (0x1f, 0x3a, 0x68);
const RED: (u8, u8, u8) = (0xb0, 0x1c, 0x1c);
const GREY: (u8, u8, u8) = (0x55, 0x55, 0x55);

/// One embedded font: krilla's handle (for the PDF) and a shaper (for measuring).
struct Face {
    font: Font,
    shaper: rustybuzz::Face<'static>,
    units_per_em: f32,
    /// Tells the faces apart in the shaping cache.
    id: u8,
}

/// Lines shaped before on this thread, per face: most of a certificate's text (headings, the
/// issuer, module and round of a class) is the same from one certificate to the next, and a
/// line is measured before it is drawn. Emptied when it grows past [`SHAPED_CACHE_MAX`].
const SHAPED_CACHE_MAX: usize = 4096;
thread_local! {
    static SHAPED: std::cell::RefCell<std::collections::HashMap<(u8, String), Rc<Shaped>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl Face {
    fn load(bytes: &'static [u8], id: u8) -> Face {
        // Once per process, so kept for the rest of it.
        let bytes: &'static [u8] = match crate::dehint::without_hinting(bytes) {
            Some(dehinted) => Box::leak(dehinted.into_boxed_slice()),
            None => bytes,
        };
        let font = Font::new(Data::from(bytes), 0).expect("the embedded font parses");
        let shaper = rustybuzz::Face::from_slice(bytes, 0).expect("the embedded font parses");
        let units_per_em = shaper.units_per_em() as f32;
        Face { font, shaper, units_per_em, id }
    }

    /// Shapes one line of text (NFC first, so decomposed input draws the precomposed glyphs),
    /// or finds it shaped before on this thread.
    fn shape(&self, text: &str) -> Rc<Shaped> {
        let key = (self.id, text.to_string());
        if let Some(found) = SHAPED.with(|c| c.borrow().get(&key).cloned()) {
            return found;
        }
        let shaped = Rc::new(self.shape_uncached(text));
        SHAPED.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= SHAPED_CACHE_MAX {
                c.clear();
            }
            c.insert(key, shaped.clone());
        });
        shaped
    }

    fn shape_uncached(&self, text: &str) -> Shaped {
        let text: String = text.nfc().collect();
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(&text);
        buffer.set_direction(rustybuzz::Direction::LeftToRight);
        buffer.guess_segment_properties();
        let output = rustybuzz::shape(&self.shaper, &[], buffer);
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let upem = self.units_per_em;
        let mut glyphs = Vec::with_capacity(infos.len());
        let mut width = 0.0;
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = info.cluster as usize;
            let end =
                infos[i + 1..].iter().map(|next| next.cluster as usize).find(|&c| c != start).unwrap_or(text.len());
            let x_advance = pos.x_advance as f32 / upem;
            width += x_advance;
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                x_advance,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                start..end,
                None,
            ));
        }
        Shaped { text, glyphs, width_em: width }
    }

    /// Width of `text` at `size`, in points.
    fn width(&self, text: &str, size: f32) -> f32 {
        self.shape(text).width_em * size
    }
}

struct Shaped {
    text: String,
    glyphs: Vec<KrillaGlyph>,
    /// Advance width in ems.
    width_em: f32,
}

struct Fonts {
    regular: Face,
    bold: Face,
}

/// The fonts, parsed on first use and shared by every later rendering.
fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts { regular: Face::load(REGULAR_TTF, 0), bold: Face::load(BOLD_TTF, 1) })
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
}

/// Draws shaped text on a page surface.
struct Pen<'s, 'p> {
    surface: &'s mut Surface<'p>,
}

impl Pen<'_, '_> {
    fn color(&mut self, (r, g, b): (u8, u8, u8)) {
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill { paint: rgb::Color::new(r, g, b).into(), ..Fill::default() }));
    }

    /// Draws one line with its baseline at `y`; `x` is the left edge or the centre. Returns the
    /// drawn width.
    fn text(&mut self, face: &Face, size: f32, text: &str, x: f32, y: f32, align: Align) -> f32 {
        let shaped = face.shape(text);
        let width = shaped.width_em * size;
        let left = match align {
            Align::Left => x,
            Align::Center => x - width / 2.0,
        };
        self.surface.draw_glyphs(Point::from_xy(left, y), &shaped.glyphs, face.font.clone(), &shaped.text, size, false);
        width
    }

    /// Like [`Pen::text`], but shrinks the size (down to `min`) until the line fits `max_width`,
    /// and past that cuts it short with "…".
    #[allow(clippy::too_many_arguments)]
    fn text_fit(&mut self, face: &Face, size: f32, min: f32, text: &str, x: f32, y: f32, align: Align, max_width: f32) {
        let size = fit_size(face, text, size, min, max_width);
        self.text(face, size, &ellipsize(face, text, size, max_width), x, y, align);
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, (r, g, b): (u8, u8, u8)) {
        let mut pb = PathBuilder::new();
        pb.move_to(x1, y1);
        pb.line_to(x2, y2);
        if let Some(path) = pb.finish() {
            self.surface.set_fill(None);
            self.surface.set_stroke(Some(Stroke {
                paint: rgb::Color::new(r, g, b).into(),
                width,
                ..Stroke::default()
            }));
            self.surface.draw_path(&path);
            self.surface.set_stroke(None);
        }
    }

    fn frame(&mut self, inset: f32, width: f32, color: (u8, u8, u8)) {
        let (l, t, r, b) = (inset, inset, PAGE_W - inset, PAGE_H - inset);
        self.line(l, t, r, t, width, color);
        self.line(r, t, r, b, width, color);
        self.line(r, b, l, b, width, color);
        self.line(l, b, l, t, width, color);
    }
}

/// The largest size from `size` down to `min` (in steps of 0.5 pt) at which `text` fits.
fn fit_size(face: &Face, text: &str, size: f32, min: f32, max_width: f32) -> f32 {
    let width_em = face.shape(text).width_em;
    if width_em <= 0.0 {
        return size;
    }
    let fitting = (max_width / width_em * 2.0).floor() / 2.0;
    fitting.clamp(min, size)
}

/// Breaks `text` into lines no wider than `max_width` at `size` (greedy, at spaces; a word longer
/// than a line stays whole).
fn wrap(face: &Face, text: &str, size: f32, max_width: f32) -> Vec<String> {
    // Words are measured once each; a point of slack covers kerning against the spaces.
    let limit = max_width - 1.0;
    let space = face.width(" ", size);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut current_width = 0.0;
    for word in text.split_whitespace() {
        let width = face.width(word, size);
        if current.is_empty() {
            current.push_str(word);
            current_width = width;
        } else if current_width + space + width <= limit {
            current.push(' ');
            current.push_str(word);
            current_width += space + width;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_string()));
            current_width = width;
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// `text` if it fits `max_width` at `size`, else its longest beginning that fits followed by "…".
fn ellipsize(face: &Face, text: &str, size: f32, max_width: f32) -> String {
    if face.width(text, size) <= max_width {
        return text.to_string();
    }
    let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let with_ellipsis =
        |chars: usize| format!("{}…", text[..cuts.get(chars).copied().unwrap_or(text.len())].trim_end());
    // The longest prefix (in characters) that fits with the ellipsis; 0 always "fits".
    let (mut lo, mut hi) = (0, cuts.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if face.width(&with_ellipsis(mid), size) <= max_width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    with_ellipsis(lo)
}

/// Wraps into at most `max_lines` lines, shrinking the size (down to `min`) if needed, and cutting
/// the last line short with "…" if even that is not enough; returns the size used and the lines.
fn wrap_fit(face: &Face, text: &str, size: f32, min: f32, max_width: f32, max_lines: usize) -> (f32, Vec<String>) {
    let mut s = size;
    loop {
        let mut lines = wrap(face, text, s, max_width);
        if lines.len() <= max_lines {
            return (s, lines);
        }
        if s <= min {
            let rest = lines.split_off(max_lines.saturating_sub(1)).join(" ");
            lines.push(ellipsize(face, &rest, s, max_width));
            return (s, lines);
        }
        s -= 0.5;
    }
}

/// `dd/mm/yyyy`.
pub fn format_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// The date as written in the place-and-date line of an administrative document (Decree
/// 30/2020/NĐ-CP): "ngày 05 tháng 02 năm 2026", "ngày 20 tháng 5 năm 2026": days below 10 and the
/// months 1 and 2 take a leading zero, other months do not.
pub fn vietnamese_date(d: NaiveDate) -> String {
    let month = if d.month() <= 2 { format!("{:02}", d.month()) } else { d.month().to_string() };
    format!("ngày {:02} tháng {month} năm {}", d.day(), d.year())
}

/// Renders `c` as a one-page A4 landscape PDF whose QR code (and link) points at `verify_url`.
pub fn render_pdf(c: &CertificateData, verify_url: &str) -> Result<Vec<u8>, CertError> {
    let qr = crate::qr::encode(verify_url.as_bytes(), EcLevel::M).map_err(|e| CertError::Qr(e.to_string()))?;
    let f = fonts();

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("Giấy chứng nhận số {}", c.number))
            .description(format!("{} – {}: {}", c.holder_name, c.module_code, c.module_title))
            .language("vi".to_string())
            .creator("BDTX".to_string())
            .authors(vec![c.issuer_name.clone()]),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| CertError::Pdf("page size".into()))?;
    let mut page = document.start_page_with(settings);
    let qr_rect;
    {
        let mut surface = page.surface();
        let mut pen = Pen { surface: &mut surface };
        qr_rect = draw_certificate(&mut pen, f, c, verify_url, &qr);
        surface.finish();
    }
    if let Some(rect) = qr_rect {
        let link = LinkAnnotation::new(rect, Target::Action(LinkAction::new(verify_url.to_string()).into()));
        page.add_annotation(Annotation::new_link(link, Some("Xác thực giấy chứng nhận".to_string())));
    }
    page.finish();
    document.finish().map_err(|e| CertError::Pdf(format!("{e:?}")))
}

/// Lays the certificate out; returns the area of the QR code and its URL (for the link).
fn draw_certificate(pen: &mut Pen, f: &Fonts, c: &CertificateData, verify_url: &str, qr: &Qr) -> Option<Rect> {
    let centre = PAGE_W / 2.0;
    let left_col = 235.0;
    let right_col = 600.0;

    pen.frame(20.0, 2.5, NAVY);
    pen.frame(26.0, 0.8, NAVY);

    // Header: the issuer on the left, the national motto on the right.
    pen.color(BLACK);
    let (size, lines) = wrap_fit(&f.bold, &c.issuer_name.to_uppercase(), 12.0, 9.0, 330.0, 2);
    let mut baseline = 70.0;
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            baseline += size + 3.0;
        }
        pen.text(&f.bold, size, line, left_col, baseline, Align::Center);
    }
    pen.line(left_col - 40.0, baseline + 7.0, left_col + 40.0, baseline + 7.0, 0.7, BLACK);
    pen.color(BLACK);
    pen.text(&f.bold, 12.0, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", right_col, 70.0, Align::Center);
    let motto_width = pen.text(&f.bold, 12.5, "Độc lập - Tự do - Hạnh phúc", right_col, 86.0, Align::Center);
    pen.line(right_col - motto_width / 2.0, 91.0, right_col + motto_width / 2.0, 91.0, 0.7, BLACK);

    // Title.
    pen.color(RED);
    pen.text(&f.bold, 32.0, "GIẤY CHỨNG NHẬN", centre, 160.0, Align::Center);
    pen.color(NAVY);
    pen.text(&f.bold, 15.0, "Hoàn thành bồi dưỡng thường xuyên", centre, 186.0, Align::Center);

    // Who and what.
    let body_width = 700.0;
    pen.color(BLACK);
    pen.text(&f.regular, 13.0, "Chứng nhận Ông/Bà:", centre, 222.0, Align::Center);
    pen.color(NAVY);
    pen.text_fit(&f.bold, 24.0, 14.0, &c.holder_name, centre, 254.0, Align::Center, body_width);
    pen.color(BLACK);
    let mut y = 278.0;
    if let Some(born) = c.holder_birth_date {
        pen.text(&f.regular, 13.0, &format!("Ngày sinh: {}", format_date(born)), centre, y, Align::Center);
        y += 24.0;
    } else {
        y += 6.0;
    }
    pen.text(&f.regular, 13.0, "Đã hoàn thành mô đun bồi dưỡng", centre, y, Align::Center);
    y += 22.0;
    let module = format!("{}: {}", c.module_code, c.module_title);
    let (size, lines) = wrap_fit(&f.bold, &module, 15.0, 10.0, body_width, 2);
    for line in &lines {
        pen.text(&f.bold, size, line, centre, y, Align::Center);
        y += size + 5.0;
    }
    y += 3.0;
    if let Some(periods) = c.periods {
        pen.text(&f.regular, 13.0, &format!("Thời lượng: {periods} tiết"), centre, y, Align::Center);
        y += 20.0;
    }
    let round = format!("Đợt bồi dưỡng: {}", c.round_title);
    pen.text_fit(&f.regular, 13.0, 9.0, &round, centre, y, Align::Center, body_width);

    // Bottom right: place and date, signer.
    let sign_width = 330.0;
    let place_date = format!("{}, {}", c.province_name, vietnamese_date(c.issued_on));
    pen.color(BLACK);
    pen.text_fit(&f.regular, 12.5, 8.0, &place_date, right_col, 418.0, Align::Center, sign_width);
    let mut y = 437.0;
    for line in c.signer_title.lines().filter(|l| !l.trim().is_empty()).take(3) {
        pen.text_fit(&f.bold, 12.5, 8.0, &line.trim().to_uppercase(), right_col, y, Align::Center, sign_width);
        y += 16.0;
    }
    pen.text_fit(&f.bold, 13.5, 8.0, &c.signer_name, right_col, 535.0, Align::Center, sign_width);

    // Bottom left: number, QR code, verification URL.
    let x0 = 58.0;
    pen.color(BLACK);
    pen.text_fit(&f.regular, 12.0, 8.0, &format!("Số: {}", c.number), x0, 418.0, Align::Left, 300.0);
    let qr_size = 92.0;
    let qr_top = 428.0;
    draw_qr(pen, qr, x0, qr_top, qr_size);
    pen.color(GREY);
    let text_x = x0 + qr_size + 16.0;
    pen.text(&f.regular, 9.0, "Quét mã QR để xác thực", text_x, qr_top + 40.0, Align::Left);
    pen.text(&f.regular, 9.0, "giấy chứng nhận này.", text_x, qr_top + 52.0, Align::Left);
    pen.text_fit(&f.regular, 9.0, 6.0, &format!("Mã tra cứu: {}", c.code), text_x, qr_top + 66.0, Align::Left, 180.0);
    let url_y = qr_top + qr_size + 11.0;
    let url_width = 260.0;
    let url_size = fit_size(&f.regular, verify_url, 7.0, 4.0, url_width);
    let shown_url = ellipsize(&f.regular, verify_url, url_size, url_width);
    let drawn = pen.text(&f.regular, url_size, &shown_url, x0, url_y, Align::Left);
    Rect::from_xywh(x0, qr_top, qr_size.max(drawn), url_y + 2.0 - qr_top)
}

/// Draws the QR code as one filled path: the outline of its dark modules in module units (small
/// integers), scaled and placed by one transform, so the content stream stays short.
fn draw_qr(pen: &mut Pen, qr: &Qr, x: f32, y: f32, size: f32) {
    let module = size / qr.width as f32;
    let mut pb = PathBuilder::new();
    for polygon in crate::qr::outline(qr) {
        let mut points = polygon.iter().map(|&(px, py)| (px as f32, py as f32));
        if let Some((px, py)) = points.next() {
            pb.move_to(px, py);
            for (px, py) in points {
                pb.line_to(px, py);
            }
            pb.close();
        }
    }
    if let Some(path) = pb.finish() {
        pen.color(BLACK);
        pen.surface.push_transform(&Transform::from_row(module, 0.0, 0.0, module, x, y));
        pen.surface.draw_path(&path);
        pen.surface.pop();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::new_code;

    pub(crate) fn sample() -> CertificateData {
        CertificateData {
            number: "HNUE2-2026-000123".into(),
            code: new_code(),
            holder_name: "Nguyễn Thị Thu Hà".into(),
            holder_birth_date: NaiveDate::from_ymd_opt(1985, 3, 7),
            module_code: "GVPT02".into(),
            module_title: "Sử dụng phương pháp dạy học và giáo dục phát triển phẩm chất, năng lực học sinh".into(),
            periods: Some(40),
            round_title: "Bồi dưỡng thường xuyên giáo viên phổ thông, đợt 1 năm 2026".into(),
            issuer_name: "Trường Đại học Sư phạm Hà Nội 2".into(),
            issuer_unit_code: "HNUE2".into(),
            province_name: "Phú Thọ".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(),
            signer_name: "PGS.TS. Trần Văn Đặng".into(),
            signer_title: "KT. Hiệu trưởng\nPhó Hiệu trưởng".into(),
        }
    }

    const URL: &str = "https://bdtx.moet.gov.vn/verify/abcdefghjkmnpqrstuvw";

    /// The text of page 1, as a PDF reader extracts it.
    fn page_text(pdf: &[u8]) -> String {
        let doc = lopdf::Document::load_mem(pdf).expect("lopdf reads our PDF");
        doc.extract_text(&[1]).expect("text extracts")
    }

    #[test]
    fn renders_a_small_pdf_with_the_vietnamese_text() {
        let c = sample();
        let pdf = render_pdf(&c, URL).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        assert!(pdf.len() < 200 * 1024, "{} bytes", pdf.len());
        let text = page_text(&pdf);
        let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "TRƯỜNG ĐẠI HỌC SƯ PHẠM HÀ NỘI 2",
            "GIẤY CHỨNG NHẬN",
            "Hoàn thành bồi dưỡng thường xuyên",
            "Nguyễn Thị Thu Hà",
            "Ngày sinh: 07/03/1985",
            "GVPT02",
            "Thời lượng: 40 tiết",
            "Số: HNUE2-2026-000123",
            "Phú Thọ, ngày 20 tháng 5 năm 2026",
            "KT. HIỆU TRƯỞNG",
            "PHÓ HIỆU TRƯỞNG",
            "PGS.TS. Trần Văn Đặng",
            URL,
        ] {
            assert!(squashed.contains(needle), "{needle:?} missing from:\n{text}");
        }
        assert!(squashed.contains(&c.code), "the code is printed");
        // The QR code and URL are a link to the verification page.
        assert!(pdf.windows(URL.len()).any(|w| w == URL.as_bytes()), "no link annotation");
    }

    #[test]
    fn embedded_fonts_carry_no_hinting() {
        let pdf = render_pdf(&sample(), URL).unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        let mut fonts = 0;
        for object in doc.objects.values() {
            let Ok(stream) = object.as_stream() else { continue };
            let data = stream.decompressed_content().unwrap_or_else(|_| stream.content.clone());
            if !data.starts_with(&[0, 1, 0, 0]) {
                continue;
            }
            fonts += 1;
            let count = u16::from_be_bytes([data[4], data[5]]) as usize;
            let tags: Vec<&[u8]> = (0..count).map(|i| &data[12 + 16 * i..16 + 16 * i]).collect();
            assert!(tags.contains(&&b"glyf"[..]), "{tags:?}");
            for hinting in [&b"fpgm"[..], b"prep", b"cvt "] {
                assert!(!tags.contains(&hinting), "{:?} embedded", String::from_utf8_lossy(hinting));
            }
        }
        assert_eq!(fonts, 2, "regular and bold");
    }

    #[test]
    fn optional_fields_are_left_out() {
        let mut c = sample();
        c.holder_birth_date = None;
        c.periods = None;
        let text = page_text(&render_pdf(&c, URL).unwrap());
        assert!(!text.contains("Ngày sinh"), "{text}");
        assert!(!text.contains("Thời lượng"), "{text}");
        assert!(text.contains("Nguyễn Thị Thu Hà"));
    }

    #[test]
    fn decomposed_input_renders_like_composed() {
        let mut c = sample();
        c.holder_name = "Đặng Ửng Hà".nfd().collect();
        let text = page_text(&render_pdf(&c, URL).unwrap());
        assert!(text.contains("Đặng Ửng Hà"), "{text}");
    }

    #[test]
    fn rendering_is_deterministic() {
        let c = sample();
        assert_eq!(render_pdf(&c, URL).unwrap(), render_pdf(&c, URL).unwrap());
    }

    #[test]
    fn renders_from_several_threads() {
        let c = sample();
        let expected = render_pdf(&c, URL).unwrap();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3).map(|_| scope.spawn(|| render_pdf(&c, URL).unwrap())).collect();
            for handle in handles {
                assert_eq!(handle.join().unwrap(), expected);
            }
        });
    }

    #[test]
    fn long_texts_still_fit_on_one_page() {
        let (c, url) = long_sample();
        let pdf = render_pdf(&c, &url).unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        assert!(page_text(&pdf).contains("Công Tằng Tôn Nữ"));
    }

    /// Every text at its longest plausible, and a long URL.
    fn long_sample() -> (CertificateData, String) {
        let mut c = sample();
        c.holder_name = "Công Tằng Tôn Nữ Thị Phương Thảo Nguyên Bảo Ngọc Châu".into();
        c.module_title = "Rất dài ".repeat(60);
        c.round_title = "Đợt bồi dưỡng có tên rất dài ".repeat(10);
        c.issuer_name = "Học viện Quản lý giáo dục và Trường Đại học Sư phạm thuộc Đại học Thái Nguyên".into();
        c.signer_title = "KT. Giám đốc\nPhó Giám đốc phụ trách đào tạo và bồi dưỡng giáo viên".into();
        let url = format!("https://bdtx.example.vn/{}/verify/{}", "a".repeat(150), c.code);
        (c, url)
    }

    #[test]
    fn a_url_too_long_for_a_qr_code_is_an_error() {
        let err = render_pdf(&sample(), &"x".repeat(5000)).unwrap_err();
        assert_eq!(err.code(), "qr");
    }

    #[test]
    fn empty_texts_do_not_panic() {
        let c = CertificateData {
            number: String::new(),
            code: String::new(),
            holder_name: String::new(),
            holder_birth_date: None,
            module_code: String::new(),
            module_title: String::new(),
            periods: None,
            round_title: String::new(),
            issuer_name: String::new(),
            issuer_unit_code: String::new(),
            province_name: String::new(),
            issued_on: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            signer_name: String::new(),
            signer_title: String::new(),
        };
        let pdf = render_pdf(&c, "").unwrap();
        assert!(page_text(&pdf).contains("ngày 02 tháng 01 năm 2026"));
    }

    #[test]
    fn dates_are_written_the_vietnamese_way() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(format_date(d(1985, 3, 7)), "07/03/1985");
        assert_eq!(vietnamese_date(d(2026, 2, 5)), "ngày 05 tháng 02 năm 2026");
        assert_eq!(vietnamese_date(d(2026, 1, 31)), "ngày 31 tháng 01 năm 2026");
        assert_eq!(vietnamese_date(d(2026, 5, 20)), "ngày 20 tháng 5 năm 2026");
        assert_eq!(vietnamese_date(d(2026, 12, 1)), "ngày 01 tháng 12 năm 2026");
    }

    #[test]
    fn wrapping_respects_the_width() {
        let f = fonts();
        let text = "Sử dụng phương pháp dạy học và giáo dục phát triển phẩm chất, năng lực học sinh";
        let lines = wrap(&f.regular, text, 12.0, 150.0);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(f.regular.width(line, 12.0) <= 150.0 || !line.contains(' '), "{line}");
        }
        assert_eq!(lines.join(" "), text);
        assert!(wrap(&f.regular, "", 12.0, 100.0).is_empty());
        let size = fit_size(&f.bold, text, 24.0, 6.0, 300.0);
        assert!(f.bold.width(text, size) <= 300.0 && size < 24.0);
    }

    #[test]
    fn overlong_lines_are_cut_with_an_ellipsis() {
        let f = fonts();
        assert_eq!(ellipsize(&f.regular, "Hà Nội", 12.0, 500.0), "Hà Nội");
        let long = "Đợt bồi dưỡng có tên rất dài ".repeat(10);
        let cut = ellipsize(&f.regular, &long, 12.0, 200.0);
        assert!(cut.ends_with('…') && f.regular.width(&cut, 12.0) <= 200.0, "{cut}");
        assert!(long.starts_with(cut.trim_end_matches('…')));
        assert!(f.regular.width(&cut, 12.0) > 150.0, "cut too short: {cut}");
        let (size, lines) = wrap_fit(&f.bold, &long, 15.0, 10.0, 300.0, 2);
        assert_eq!((size, lines.len()), (10.0, 2));
        assert!(lines[1].ends_with('…'));
        assert!(lines.iter().all(|l| f.bold.width(l, size) <= 300.0), "{lines:?}");
    }

    #[test]
    fn the_font_covers_vietnamese() {
        let f = fonts();
        let letters = "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ";
        let all = format!("{letters}{}", letters.to_uppercase());
        for face in [&f.regular, &f.bold] {
            let shaped = face.shape(&all);
            assert!(shaped.glyphs.iter().all(|g| g.glyph_id != GlyphId::new(0)), "a letter has no glyph");
        }
    }

    /// Writes a sample to a temporary folder and, where `pdftoppm` exists, a PNG of page 1 for a
    /// look by eye (set `BDTX_CERT_KEEP=1` to keep the folder and print its path).
    #[test]
    fn sample_renders_to_png_when_pdftoppm_exists() {
        let dir = tempfile::tempdir().unwrap();
        let (long, long_url) = long_sample();
        for (name, c, url) in [("mẫu", sample(), URL.to_string()), ("mẫu-dài", long, long_url)] {
            let pdf_path = dir.path().join(format!("{name}.pdf"));
            std::fs::write(&pdf_path, render_pdf(&c, &url).unwrap()).unwrap();
            let converted = std::process::Command::new("pdftoppm")
                .args(["-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile"])
                .arg(&pdf_path)
                .arg(dir.path().join(name))
                .status();
            if let Ok(status) = converted {
                assert!(status.success(), "pdftoppm failed on our PDF");
                let png = dir.path().join(format!("{name}.png"));
                assert!(png.exists(), "pdftoppm wrote no PNG");
                // Where zbarimg exists too, the QR code must read back as the URL.
                if let Ok(out) = std::process::Command::new("zbarimg").args(["-q", "--raw"]).arg(&png).output() {
                    let decoded = String::from_utf8_lossy(&out.stdout);
                    assert_eq!(decoded.trim(), url, "the QR code does not read back");
                }
            }
        }
        if std::env::var_os("BDTX_CERT_KEEP").is_some() {
            eprintln!("samples kept in {}", dir.keep().display());
        }
    }

    /// `cargo test --release -p bdtx-cert -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, run by hand in release"]
    fn time_rendering_1000() {
        let c = sample();
        render_pdf(&c, URL).unwrap();
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for i in 0..1000 {
            let mut c = c.clone();
            c.number = format!("HNUE2-2026-{i:06}");
            c.code = new_code();
            bytes += render_pdf(&c, &format!("https://bdtx.moet.gov.vn/verify/{}", c.code)).unwrap().len();
        }
        let elapsed = start.elapsed();
        let each_ms = elapsed.as_secs_f64() * 1000.0 / 1000.0;
        println!(
            "rendered 1000 certificates in {elapsed:.2?} ({each_ms:.2} ms each, {} KB on average)",
            bytes / 1000 / 1024
        );
    }
}
