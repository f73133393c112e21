//! Roster columns and the Vietnamese headings offices already use (Mẫu lists, Excel files).

use bdtx_domain::text::fold;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    FullName,
    BirthDate,
    Gender,
    NationalId,
    Phone,
    Email,
    Province,
    Commune,
    School,
    SchoolCode,
    Levels,
    MainSubject,
    OtherSubjects,
    Position,
    Core,
}

impl Field {
    pub const ALL: [Field; 15] = [
        Field::FullName,
        Field::BirthDate,
        Field::Gender,
        Field::NationalId,
        Field::Phone,
        Field::Email,
        Field::Province,
        Field::Commune,
        Field::School,
        Field::SchoolCode,
        Field::Levels,
        Field::MainSubject,
        Field::OtherSubjects,
        Field::Position,
        Field::Core,
    ];

    /// Machine name (for `--map` and the API).
    pub fn key(self) -> &'static str {
        match self {
            Field::FullName => "full_name",
            Field::BirthDate => "birth_date",
            Field::Gender => "gender",
            Field::NationalId => "national_id",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::Province => "province",
            Field::Commune => "commune",
            Field::School => "school",
            Field::SchoolCode => "school_code",
            Field::Levels => "levels",
            Field::MainSubject => "main_subject",
            Field::OtherSubjects => "other_subjects",
            Field::Position => "position",
            Field::Core => "core",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == s.trim())
    }

    /// The heading written in exports and error files.
    pub fn heading(self) -> &'static str {
        match self {
            Field::FullName => "Họ và tên",
            Field::BirthDate => "Ngày sinh",
            Field::Gender => "Giới tính",
            Field::NationalId => "Số CCCD",
            Field::Phone => "Điện thoại",
            Field::Email => "Email",
            Field::Province => "Tỉnh",
            Field::Commune => "Xã/Phường",
            Field::School => "Trường",
            Field::SchoolCode => "Mã trường",
            Field::Levels => "Cấp học",
            Field::MainSubject => "Môn dạy",
            Field::OtherSubjects => "Môn khác",
            Field::Position => "Chức vụ",
            Field::Core => "Cốt cán",
        }
    }

    /// Folded headings recognised for this field.
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::FullName => {
                &["ho va ten", "ho ten", "ho va ten giao vien", "ten giao vien", "full name", "full_name", "name"]
            }
            Field::BirthDate => &[
                "ngay sinh",
                "ngay thang nam sinh",
                "ngay, thang, nam sinh",
                "birth date",
                "birth_date",
                "date of birth",
            ],
            Field::Gender => &["gioi tinh", "gender", "nam/nu"],
            Field::NationalId => &[
                "so cccd",
                "cccd",
                "so cmnd/cccd",
                "so cccd/cmnd",
                "cmnd/cccd",
                "so dinh danh",
                "so dinh danh ca nhan",
                "cmnd",
                "national id",
                "national_id",
            ],
            Field::Phone => &["dien thoai", "so dien thoai", "sdt", "dt", "phone", "di dong"],
            Field::Email => &["email", "e-mail", "thu dien tu", "dia chi email"],
            Field::Province => &["tinh", "tinh/thanh pho", "tinh/tp", "tinh, thanh pho", "so gddt", "province"],
            Field::Commune => {
                &["xa", "xa/phuong", "phuong/xa", "xa, phuong", "xa/phuong/dac khu", "huyen", "quan/huyen", "commune"]
            }
            Field::School => &["truong", "ten truong", "don vi", "don vi cong tac", "co so giao duc", "school"],
            Field::SchoolCode => &["ma truong", "ma don vi", "school code", "school_code"],
            Field::Levels => &["cap hoc", "cap", "levels", "level"],
            Field::MainSubject => &["mon day", "mon day chinh", "mon chinh", "mon", "main subject", "main_subject"],
            Field::OtherSubjects => &["mon khac", "mon kiem nhiem", "mon day khac", "other subjects", "other_subjects"],
            Field::Position => &["chuc vu", "chuc danh", "position"],
            Field::Core => &["cot can", "giao vien cot can", "gv cot can", "core"],
        }
    }
}

fn normalize_heading(h: &str) -> String {
    let f = fold(h);
    let f = f.trim_matches(|c: char| c == '*' || c == ':' || c == '.' || c.is_whitespace());
    f.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Ignored headings (row numbers and the like).
const IGNORED: &[&str] = &["stt", "tt", "so tt", "so thu tu", "ghi chu", "loi"];

/// How the columns of a file map to fields.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// field → column index
    pub columns: Vec<(Field, usize)>,
    /// headings not recognised (shown to the user, ignored)
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("cột bắt buộc bị thiếu: {0}")]
    Missing(String),
    #[error("tiêu đề cột bị trùng: {0}")]
    Duplicate(String),
}

impl Mapping {
    pub fn get(&self, f: Field) -> Option<usize> {
        self.columns.iter().find(|(k, _)| *k == f).map(|(_, i)| *i)
    }
}

/// Recognise the headings; `overrides` maps a heading (as written) to a field for files whose
/// headings differ. Needs a name column and a school (name or code).
/// The field a heading names by itself (without `--map`), if any.
pub fn known(heading: &str) -> Option<Field> {
    let by_name = |norm: &str| Field::ALL.into_iter().find(|f| f.synonyms().contains(&norm));
    by_name(&normalize_heading(heading))
        // a heading in legacy glyphs too short to be told from Unicode ("Sè CCCD" is TCVN3's
        // "Số CCCD"): known by what it converts to
        .or_else(|| {
            use bdtx_domain::clean::{tcvn3_to_unicode, vni_to_unicode};
            [tcvn3_to_unicode(heading), vni_to_unicode(heading)].iter().find_map(|c| by_name(&normalize_heading(c)))
        })
}

pub fn map_headers(headers: &[String], overrides: &[(String, Field)]) -> Result<Mapping, MappingError> {
    let mut m = Mapping::default();
    for (i, h) in headers.iter().enumerate() {
        let norm = normalize_heading(h);
        if norm.is_empty() || IGNORED.contains(&norm.as_str()) {
            continue;
        }
        let field =
            overrides.iter().find(|(head, _)| normalize_heading(head) == norm).map(|(_, f)| *f).or_else(|| known(h));
        match field {
            Some(f) => {
                if m.get(f).is_some() {
                    return Err(MappingError::Duplicate(h.trim().to_string()));
                }
                m.columns.push((f, i));
            }
            None => m.unknown.push(h.trim().to_string()),
        }
    }
    let mut missing = Vec::new();
    if m.get(Field::FullName).is_none() {
        missing.push(Field::FullName.heading());
    }
    if m.get(Field::School).is_none() && m.get(Field::SchoolCode).is_none() {
        missing.push("Trường / Mã trường");
    }
    if !missing.is_empty() {
        return Err(MappingError::Missing(missing.join(", ")));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn vietnamese_headings_are_recognised() {
        let m = map_headers(
            &h(&[
                "STT",
                "Họ và tên",
                "Ngày sinh",
                "Giới tính",
                "Số CCCD",
                "Điện thoại",
                "Email",
                "Trường",
                "Cấp học",
                "Môn dạy",
                "Chức vụ",
                "Cốt cán",
                "Ghi chú khác",
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(m.get(Field::FullName), Some(1));
        assert_eq!(m.get(Field::Core), Some(11));
        assert_eq!(m.unknown, vec!["Ghi chú khác"]);
        let m = map_headers(&h(&["HỌ TÊN", "NGÀY, THÁNG, NĂM SINH", "Mã trường"]), &[]).unwrap();
        assert_eq!(m.get(Field::BirthDate), Some(1));
    }

    #[test]
    fn missing_duplicate_and_overrides() {
        assert!(matches!(map_headers(&h(&["Ngày sinh"]), &[]), Err(MappingError::Missing(_))));
        assert!(matches!(map_headers(&h(&["Họ và tên", "Họ tên", "Trường"]), &[]), Err(MappingError::Duplicate(_))));
        let m = map_headers(
            &h(&["Tên GV", "Nơi công tác"]),
            &[("Tên GV".into(), Field::FullName), ("nơi công tác".into(), Field::School)],
        )
        .unwrap();
        assert_eq!((m.get(Field::FullName), m.get(Field::School)), (Some(0), Some(1)));
    }
}
