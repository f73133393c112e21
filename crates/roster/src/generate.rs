//! A synthetic national roster that looks real: the 34 provinces of 2025, ~3,300 communes,
//! ~28,000 schools with a realistic level mix (multi-level schools included), teachers and
//! managers with common Vietnamese names, core teachers, and a few percent of deliberately messy
//! rows (duplicates, NFD text, legacy encodings, 2-digit years, Excel serial dates, bad dates,
//! old 9-digit IDs, +84 phones, capitals). Deterministic for a given seed.

use std::io::Write;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use unicode_normalization::UnicodeNormalization;

use bdtx_store::demo::{NameLists, name_lists};

/// The 34 provinces and cities after Resolution 202/2025/QH15, with their CCCD place codes.
pub const PROVINCES: [(&str, &str); 34] = [
    ("Hà Nội", "001"),
    ("Huế", "046"),
    ("Lai Châu", "012"),
    ("Điện Biên", "011"),
    ("Sơn La", "014"),
    ("Lạng Sơn", "020"),
    ("Quảng Ninh", "022"),
    ("Thanh Hóa", "038"),
    ("Nghệ An", "040"),
    ("Hà Tĩnh", "042"),
    ("Cao Bằng", "004"),
    ("Tuyên Quang", "008"),
    ("Lào Cai", "010"),
    ("Thái Nguyên", "019"),
    ("Phú Thọ", "025"),
    ("Bắc Ninh", "024"),
    ("Hưng Yên", "033"),
    ("Hải Phòng", "031"),
    ("Ninh Bình", "037"),
    ("Quảng Trị", "045"),
    ("Đà Nẵng", "048"),
    ("Quảng Ngãi", "051"),
    ("Gia Lai", "052"),
    ("Khánh Hòa", "056"),
    ("Lâm Đồng", "068"),
    ("Đắk Lắk", "066"),
    ("Hồ Chí Minh", "079"),
    ("Đồng Nai", "075"),
    ("Tây Ninh", "072"),
    ("Cần Thơ", "092"),
    ("Vĩnh Long", "086"),
    ("Đồng Tháp", "087"),
    ("Cà Mau", "096"),
    ("An Giang", "089"),
];

/// Syllables of commune and school names.
const PLACE: [&str; 48] = [
    "An",
    "Bình",
    "Hòa",
    "Phú",
    "Thạnh",
    "Tân",
    "Long",
    "Hưng",
    "Phúc",
    "Thịnh",
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Trung",
    "Hải",
    "Sơn",
    "Lâm",
    "Thủy",
    "Minh",
    "Quang",
    "Vĩnh",
    "Kim",
    "Ngọc",
    "Hồng",
    "Lạc",
    "Yên",
    "Thái",
    "Đức",
    "Mỹ",
    "Thuận",
    "Hiệp",
    "Lợi",
    "Xuân",
    "Cát",
    "Điền",
    "Khánh",
    "Tiến",
    "Đồng",
    "Hợp",
    "Thành",
    "Quý",
    "Châu",
    "Lộc",
    "Trường",
    "Vân",
    "Hà",
    "Phong",
];

/// The columns of a generated file, with the headings offices use.
fn headings() -> Vec<String> {
    use crate::columns::Field::*;
    let fields = [
        FullName,
        BirthDate,
        Gender,
        NationalId,
        Phone,
        Email,
        Province,
        Commune,
        School,
        Levels,
        MainSubject,
        Position,
        Core,
    ];
    std::iter::once("STT").chain(fields.iter().map(|f| f.heading())).map(String::from).collect()
}

struct School {
    province: usize,
    commune: String,
    name: String,
    levels: &'static str,
}

fn place_name(rng: &mut StdRng) -> String {
    let a = PLACE[rng.random_range(0..PLACE.len())];
    let mut b = PLACE[rng.random_range(0..PLACE.len())];
    while b == a {
        b = PLACE[rng.random_range(0..PLACE.len())];
    }
    format!("{a} {b}")
}

fn schools(people: usize, rng: &mut StdRng) -> Vec<School> {
    // About 33 staff a school nationally (920k people, 28k schools), at least one school.
    let n_schools = (people / 33).max(1);
    let n_communes = (n_schools * 10 / 85).max(1);
    let mut communes: Vec<(usize, String)> = Vec::with_capacity(n_communes);
    let mut used = std::collections::HashSet::new();
    for i in 0..n_communes {
        let p = i % PROVINCES.len();
        let kind = if rng.random_bool(0.2) { "Phường" } else { "Xã" };
        let mut name = format!("{kind} {}", place_name(rng));
        while !used.insert((p, name.clone())) {
            name = format!("{kind} {} {}", place_name(rng), PLACE[rng.random_range(0..PLACE.len())]);
        }
        communes.push((p, name));
    }
    let mut out = Vec::with_capacity(n_schools);
    let mut names = std::collections::HashSet::new();
    for i in 0..n_schools {
        let (p, commune) = &communes[i % communes.len()];
        let roll: f64 = rng.random();
        let (prefix, levels, in_commune) = match roll {
            r if r < 0.33 => ("Trường Mầm non", "MN", true),
            r if r < 0.62 => ("Trường Tiểu học", "TH", true),
            r if r < 0.84 => ("Trường THCS", "THCS", true),
            r if r < 0.91 => ("Trường TH và THCS", "TH,THCS", true),
            r if r < 0.92 => ("Trường THCS và THPT", "THCS,THPT", false),
            r if r < 0.99 => ("Trường THPT", "THPT", false),
            _ => ("Trung tâm GDNN-GDTX", "GDTX", false),
        };
        let mut name = format!("{prefix} {}", place_name(rng));
        let mut k = 1;
        while !names.insert((*p, commune.clone(), name.clone())) {
            k += 1;
            name = format!("{prefix} {} số {k}", place_name(rng));
        }
        // Upper-secondary schools and GDTX centres sit under the province: no commune.
        out.push(School {
            province: *p,
            commune: if in_commune { commune.clone() } else { String::new() },
            name,
            levels,
        });
    }
    out
}

fn pick<'a>(rng: &mut StdRng, v: &'a [String]) -> &'a str {
    &v[rng.random_range(0..v.len())]
}

fn full_name(rng: &mut StdRng, n: &NameLists, total: u32) -> (String, bool) {
    let mut roll = rng.random_range(0..total);
    let mut family = n.family[0].0.as_str();
    for (f, w) in &n.family {
        if roll < *w {
            family = f;
            break;
        }
        roll -= w;
    }
    let female = rng.random_bool(0.72);
    let (mid, given) = if female { (&n.middle_female, &n.given_female) } else { (&n.middle_male, &n.given_male) };
    let m = pick(rng, mid);
    let g = pick(rng, given);
    if rng.random_bool(0.25) {
        // two middle names are common
        let m2 = pick(rng, mid);
        if m2 != m {
            return (format!("{family} {m} {m2} {g}"), female);
        }
    }
    (format!("{family} {m} {g}"), female)
}

/// Write `people` rows to `out` (.csv or .xlsx by extension).
pub fn generate(people: usize, seed: u64, out: &Path) -> std::io::Result<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let names = name_lists();
    let total: u32 = names.family.iter().map(|f| f.1).sum();
    let schools = schools(people, &mut rng);
    let mut sink = Sink::create(out)?;
    let mut emit = |cells: Vec<String>| sink.emit(&cells);
    emit(headings())?;
    let mut previous: Option<Vec<String>> = None;
    for i in 0..people {
        let school = &schools[i % schools.len()];
        let (province, place_code) = PROVINCES[school.province];
        // ~3 messy rows in a hundred; ~1 in 200 is the same person listed twice.
        if rng.random_bool(0.005) {
            if let Some(prev) = &previous {
                let mut dup = prev.clone();
                dup[0] = (i + 1).to_string();
                emit(dup)?;
                continue;
            }
        }
        let (mut name, female) = full_name(&mut rng, &names, total);
        let year = rng.random_range(1966..=2002);
        let (day, month) = (rng.random_range(1..=28), rng.random_range(1..=12));
        let mut birth = format!("{day:02}/{month:02}/{year}");
        let century_gender = if female { 1 } else { 0 };
        let mut national_id = format!("{place_code}{century_gender}{:02}{:06}", year % 100, i % 1_000_000);
        let mut phone = format!("0{}{:08}", [3, 5, 7, 8, 9][i % 5], (i as u64 * 7919 + seed) % 100_000_000);
        let subject_level = school.levels.split(',').next().unwrap_or("TH");
        let subjects = names.subjects.get(subject_level).cloned().unwrap_or_default();
        let position_roll = i % 33;
        let (position, subject) = match position_roll {
            0 => ("Hiệu trưởng", String::new()),
            1 | 2 => ("Phó hiệu trưởng", String::new()),
            _ => ("Giáo viên", if subjects.is_empty() { String::new() } else { pick(&mut rng, &subjects).to_string() }),
        };
        let core = if position_roll > 2 && rng.random_bool(0.031) { "x" } else { "" };
        match rng.random_range(0..1000) {
            0..=7 => name = name.nfd().collect(),
            8..=12 => name = name.to_uppercase(),
            13..=17 => name = format!("  {}  ", name.replace(' ', "   ")),
            18..=21 => birth = format!("{day}/{month}/{:02}", year % 100),
            22..=25 => birth = format!("{year}-{month:02}-{day:02}"),
            26..=28 => birth = "31/02/1990".into(),
            29..=31 => national_id = national_id[3..].to_string(),
            32..=35 => phone = format!("+84 {}", &phone[1..]),
            36..=38 => name = bdtx_domain::clean::unicode_to_tcvn3(&name),
            39..=41 => name = bdtx_domain::clean::unicode_to_vni(&name),
            _ => {}
        }
        let email = if rng.random_bool(0.4) {
            format!("gv{i}@{}.edu.vn", bdtx_domain::text::fold(province).replace(' ', ""))
        } else {
            String::new()
        };
        let row = vec![
            (i + 1).to_string(),
            name,
            birth,
            if female { "Nữ".into() } else { "Nam".into() },
            national_id,
            phone,
            email,
            province.to_string(),
            school.commune.clone(),
            school.name.clone(),
            school.levels.to_string(),
            subject,
            position.to_string(),
            core.to_string(),
        ];
        emit(row.clone())?;
        previous = Some(row);
    }
    sink.finish(out)?;
    Ok(people)
}

/// Where generated rows go: a CSV (UTF-8 with BOM, as Excel likes) or an .xlsx written in
/// constant memory.
enum Sink {
    Csv(csv::Writer<std::io::BufWriter<std::fs::File>>),
    Xlsx(Box<rust_xlsxwriter::Workbook>, u32),
}

impl Sink {
    fn create(out: &Path) -> std::io::Result<Sink> {
        if out.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
            let mut wb = rust_xlsxwriter::Workbook::new();
            wb.add_worksheet_with_constant_memory().set_name("Danh sách").map_err(std::io::Error::other)?;
            Ok(Sink::Xlsx(Box::new(wb), 0))
        } else {
            let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
            f.write_all("\u{feff}".as_bytes())?;
            Ok(Sink::Csv(csv::Writer::from_writer(f)))
        }
    }

    fn emit(&mut self, cells: &[String]) -> std::io::Result<()> {
        match self {
            Sink::Csv(w) => w.write_record(cells).map_err(std::io::Error::other),
            Sink::Xlsx(wb, row) => {
                let ws = wb.worksheet_from_index(0).map_err(std::io::Error::other)?;
                for (c, v) in cells.iter().enumerate() {
                    if !v.is_empty() {
                        ws.write_string(*row, c as u16, v).map_err(std::io::Error::other)?;
                    }
                }
                *row += 1;
                Ok(())
            }
        }
    }

    fn finish(self, out: &Path) -> std::io::Result<()> {
        match self {
            Sink::Csv(mut w) => w.flush(),
            Sink::Xlsx(mut wb, _) => wb.save(out).map_err(std::io::Error::other),
        }
    }
}
