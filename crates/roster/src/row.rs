//! One row of a roster file → a cleaned, validated person with the units it names, or the
//! list of what is wrong with it (column and reason, in Vietnamese via the code).

use chrono::NaiveDate;

use std::borrow::Cow;

use bdtx_domain::clean::{clean_repaired_name, convert_like_neighbours, repair_legacy_cow};
use bdtx_domain::people::{
    PersonDraft, PersonFields, PhoneProblem, is_legacy_id, name_bad_char, normalize_national_id, parse_phone, validate,
};
use bdtx_domain::text::{clean, fold, is_invisible};

use crate::columns::{Field, Mapping};
use crate::read::StringRecord;

/// A row that passed every check.
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub row_no: usize,
    pub fields: PersonFields,
    pub province: String,
    pub commune: String,
    pub school: String,
    pub school_code: String,
    /// A module code, "*" when only marked core, or None.
    pub core: Option<String>,
    /// Repairs made on the way in (legacy encoding, restored leading zeros, old 9-digit ID).
    pub warnings: Vec<(Field, &'static str)>,
}

/// What is wrong with a row, per column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row_no: usize,
    pub field: Option<Field>,
    pub code: &'static str,
    pub value: String,
}

/// Vietnamese text of an error or warning code (the CLI, error files and the web use it).
pub fn message(code: &str) -> &'static str {
    match code {
        "required" => "bắt buộc nhập",
        "too_long" => "quá dài",
        "invalid" => "không hợp lệ",
        "invalid_date" => "không phải ngày hợp lệ (dd/mm/yyyy)",
        "invalid_phone" => "không phải số điện thoại Việt Nam hợp lệ",
        "invalid_email" => "không phải địa chỉ email hợp lệ",
        "invalid_national_id" => "số CCCD phải gồm 12 chữ số (hoặc CMND cũ 9 chữ số)",
        "invalid_level" => "cấp học không hợp lệ (MN, TH, THCS, THPT, GDTX)",
        "invalid_gender" => "giới tính phải là Nam hoặc Nữ",
        "invalid_position" => "chức vụ không nhận ra (Giáo viên, Hiệu trưởng, Phó hiệu trưởng, …)",
        "unit_not_found" => "không tìm thấy trường này trong hệ thống (kiểm tra tên/mã trường, xã, tỉnh)",
        "unit_ambiguous" => "tên trường trùng nhiều đơn vị; hãy ghi mã trường",
        "unit_out_of_scope" => "trường này thuộc đơn vị ngoài phạm vi quản lý của bạn",
        "duplicate_in_file" => "trùng với một dòng khác trong tệp (cùng người)",
        "duplicate_id_in_file" => "số CCCD đã có ở một dòng khác trong tệp",
        "identity_conflict" => {
            "số CCCD này đã có trong hệ thống với họ tên hoặc ngày sinh khác: kiểm tra lại, hoặc gửi đề nghị điều chỉnh (Mẫu 3) lên cấp trên"
        }
        "person_inactive" => {
            "người có số CCCD này đã nghỉ hưu hoặc thôi việc: không nhập lại; cấp trên có thể khôi phục hồ sơ"
        }
        "person_out_of_scope" => {
            "người có số CCCD này đang công tác ở đơn vị ngoài phạm vi quản lý của bạn: việc chuyển công tác do cấp trên thực hiện"
        }
        "legacy_encoding" => "đã chuyển từ mã TCVN3/VNI sang Unicode",
        "leading_zeros" => "đã bổ sung số 0 ở đầu (Excel làm mất)",
        "legacy_id" => "số CMND cũ 9 chữ số: nên cập nhật số CCCD 12 chữ số",
        "birth_in_future" => "ngày sinh ở tương lai",
        "year_only" => "chỉ có năm sinh, cần ngày/tháng/năm (dd/mm/yyyy)",
        "birth_implausible" => {
            "ngày sinh không hợp lý: giáo viên, cán bộ quản lý sinh từ năm 1940 và đã đủ 18 tuổi \
             (ô có thể là một số ngày kiểu Excel bị hiểu sai: hãy ghi dd/mm/yyyy)"
        }
        "invalid_name_char" => "họ tên có ký tự không được phép (chỉ dùng chữ cái, dấu cách và ' - .)",
        "old_mobile" => {
            "số di động 11 số cũ không có trong bảng chuyển đổi năm 2018 (0162→032, 0120→070, 0123→083, …): \
             hãy ghi số 10 chữ số hiện dùng"
        }
        "phone_renumbered" => "đã đổi số di động 11 số cũ sang số 10 chữ số (chuyển đổi năm 2018)",
        _ => "không hợp lệ",
    }
}

pub use bdtx_domain::dates::{BIRTH_EARLIEST_YEAR, MIN_AGE_YEARS, parse_birth_date, parse_flexible_date};

fn gender(s: &str) -> Result<Option<String>, ()> {
    // The usual spellings first, without folding.
    match s {
        "Nam" => return Ok(Some("M".into())),
        "Nữ" => return Ok(Some("F".into())),
        _ => {}
    }
    match fold(s).as_str() {
        "" => Ok(None),
        "nam" | "m" | "male" | "1" => Ok(Some("M".into())),
        "nu" | "f" | "female" | "0" => Ok(Some("F".into())),
        _ => Err(()),
    }
}

fn position(s: &str) -> Result<&'static str, ()> {
    // The usual spellings first, without folding.
    match s {
        "Giáo viên" => return Ok("teacher"),
        "Hiệu trưởng" => return Ok("principal"),
        "Phó hiệu trưởng" => return Ok("vice_principal"),
        _ => {}
    }
    let f = fold(s);
    Ok(match f.as_str() {
        "" | "giao vien" | "gv" | "teacher" | "giao vien chu nhiem" => "teacher",
        "hieu truong" | "ht" | "principal" | "giam doc" => "principal",
        "pho hieu truong" | "p. hieu truong" | "p.hieu truong" | "pht" | "vice principal" | "vice_principal"
        | "pho giam doc" => "vice_principal",
        "chuyen vien" | "officer" => "officer",
        "giang vien" | "lecturer" => "lecturer",
        "nhan vien" | "staff" => "staff",
        _ => return Err(()),
    })
}

/// "Tiểu học, THCS" / "TH&THCS" / "Mầm non" → "TH,THCS".
fn levels(s: &str) -> String {
    let mut f = fold(s);
    // Every name replaced holds a space: a cell without one ("TH,THCS") has none of them.
    if f.contains(' ') {
        f = f.replace("mam non", "MN").replace("tieu hoc", "TH").replace("trung hoc co so", "THCS");
        f = f.replace("trung hoc pho thong", "THPT").replace("giao duc thuong xuyen", "GDTX");
    }
    let mut out = String::with_capacity(f.len());
    for p in f.split([',', ';', '&', '+', '/', ' ']).filter(|p| !p.is_empty() && *p != "va") {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(p);
    }
    out
}

fn core(s: &str) -> Option<String> {
    let raw = s.trim();
    let f = fold(raw);
    match f.as_str() {
        "" | "khong" | "0" | "no" | "-" => None,
        "x" | "co" | "1" | "cot can" | "yes" | "v" => Some("*".into()),
        _ => Some(raw.to_uppercase()),
    }
}

/// The cell of a field, "" when the file has no such column or the row is short.
fn cell<'a>(m: &Mapping, cells: &'a StringRecord, f: Field) -> &'a str {
    m.get(f).and_then(|i| cells.get(i)).unwrap_or("")
}

/// Every cell of a row as the checks read it: converted from TCVN3/VNI when it looks like such
/// text (one mechanism for every column: names, units, subjects, gender, position, …; a
/// `legacy_encoding` warning per column converted), then without invisible characters (zero-width
/// space and joiners, byte-order mark, soft hyphen, taken out after the conversion since TCVN3
/// glyphs use the soft hyphen for "ư"). Borrowed when nothing changes (nearly always).
fn repaired_cells<'a>(
    m: &Mapping,
    cells: &'a StringRecord,
    warnings: &mut Vec<(Field, &'static str)>,
) -> [Cow<'a, str>; Field::ALL.len()] {
    let mut row_legacy = None;
    let mut repaired = Field::ALL.map(|f| {
        let raw = unguarded(cell(m, cells, f));
        if raw.is_ascii() {
            return Cow::Borrowed(raw); // neither legacy codes nor invisible characters are ASCII
        }
        let (text, legacy) = repair_legacy_cow(raw);
        if legacy.is_some() {
            row_legacy = row_legacy.or(legacy);
            warnings.push((f, "legacy_encoding"));
        }
        text
    });
    for (f, text) in Field::ALL.into_iter().zip(repaired.iter_mut()) {
        // A cell too short to tell alone ("Sè" is a Unicode word too) in a row of legacy text.
        if let Some(legacy) = row_legacy
            && !warnings.contains(&(f, "legacy_encoding"))
            && let Some(fixed) = convert_like_neighbours(text, legacy)
        {
            *text = Cow::Owned(fixed);
            warnings.push((f, "legacy_encoding"));
        }
        if text.contains(is_invisible) {
            *text = Cow::Owned(text.chars().filter(|&c| !is_invisible(c)).collect());
        }
    }
    repaired
}

/// A cell without the apostrophe an export puts before a text that a spreadsheet would take
/// for a formula (`'=…`, `'+…`, … see `export::neutralize`): an exported list
/// imports back unchanged.
fn unguarded(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(crate::export::FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// A character as an error names it: itself, or its code point when it does not show.
fn show_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() || is_invisible(c) { format!("U+{:04X}", c as u32) } else { c.to_string() }
}

/// Clean and check one row.
pub fn parse_row(
    m: &Mapping,
    row_no: usize,
    cells: &StringRecord,
    today: NaiveDate,
) -> Result<ParsedRow, Vec<RowError>> {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let repaired = repaired_cells(m, cells, &mut warnings);
    let get = |f: Field| -> &str { &repaired[f as usize] };
    let mut err = |field: Field, code: &'static str, value: String| {
        errors.push(RowError { row_no, field: Some(field), code, value })
    };
    let text = |f: Field| -> String { clean(get(f)) };
    // The name's cell is repaired already (`repaired_cells`): cleaned without a second detection.
    let full_name = clean_repaired_name(get(Field::FullName));
    let birth = get(Field::BirthDate);
    let birth_date = parse_birth_date(birth, today).unwrap_or_else(|code| {
        err(Field::BirthDate, code, birth.to_string());
        None
    });
    let g = get(Field::Gender);
    let gender = gender(g.trim()).unwrap_or_else(|_| {
        err(Field::Gender, "invalid_gender", g.to_string());
        None
    });
    let id_cell = get(Field::NationalId);
    let id_raw: Cow<str> = if id_cell.contains(|c: char| c.is_whitespace() || c == '\'') {
        id_cell.chars().filter(|c| !c.is_whitespace() && *c != '\'').collect::<String>().into()
    } else {
        id_cell.into()
    };
    let national_id = if id_raw.is_empty() {
        None
    } else {
        let padded: Cow<str> =
            if id_raw.chars().all(|c| c.is_ascii_digit()) && (id_raw.len() == 10 || id_raw.len() == 11) {
                warnings.push((Field::NationalId, "leading_zeros"));
                format!("{id_raw:0>12}").into()
            } else {
                Cow::Borrowed(&id_raw)
            };
        match normalize_national_id(&padded) {
            Some(id) => {
                if is_legacy_id(&id) {
                    warnings.push((Field::NationalId, "legacy_id"));
                }
                Some(id)
            }
            None => {
                err(Field::NationalId, "invalid_national_id", id_raw.to_string());
                None
            }
        }
    };
    let phone_raw = get(Field::Phone);
    let phone = if phone_raw.trim().is_empty() {
        None
    } else {
        let digits = || phone_raw.chars().filter(|c| c.is_ascii_digit() || *c == '+');
        let fixed: Cow<str> = if digits().count() == 9 && digits().next() != Some('0') {
            warnings.push((Field::Phone, "leading_zeros"));
            format!("0{}", digits().collect::<String>()).into()
        } else {
            phone_raw.trim().into()
        };
        match parse_phone(&fixed) {
            Ok((p, renumbered)) => {
                if renumbered {
                    warnings.push((Field::Phone, "phone_renumbered"));
                }
                Some(p)
            }
            Err(problem) => {
                let code = if problem == PhoneProblem::OldMobile { "old_mobile" } else { "invalid_phone" };
                err(Field::Phone, code, phone_raw.to_string());
                None
            }
        }
    };
    let pos_raw = get(Field::Position);
    let position = position(clean(pos_raw).as_str()).unwrap_or_else(|_| {
        err(Field::Position, "invalid_position", pos_raw.to_string());
        "teacher"
    });
    let draft = PersonDraft {
        full_name: Some(full_name),
        birth_date: None,
        gender: None,
        national_id: None,
        phone: None,
        email: Some(get(Field::Email).to_string()),
        position: Some(position.into()),
        levels: Some(levels(get(Field::Levels))),
        main_subject: Some(text(Field::MainSubject)),
        other_subjects: Some(text(Field::OtherSubjects)),
    };
    let validated = validate(&draft, None);
    let province = text(Field::Province);
    let commune = text(Field::Commune);
    let school = text(Field::School);
    let school_code = get(Field::SchoolCode).trim().to_string();
    let core = core(get(Field::Core));
    match validated {
        Err(inv) => {
            for e in inv.errors {
                let field = Field::parse(&e.field);
                // A name with a character a name cannot hold: the error names the character.
                if field == Some(Field::FullName)
                    && e.code == "invalid"
                    && let Some(c) = draft.full_name.as_deref().and_then(name_bad_char)
                {
                    errors.push(RowError { row_no, field, code: "invalid_name_char", value: show_char(c) });
                    continue;
                }
                let value = field.map(|f| get(f).to_string()).unwrap_or_default();
                errors.push(RowError { row_no, field, code: e.code, value });
            }
        }
        Ok(mut fields) if errors.is_empty() => {
            if school.is_empty() && school_code.is_empty() {
                return Err(vec![RowError {
                    row_no,
                    field: Some(Field::School),
                    code: "required",
                    value: String::new(),
                }]);
            }
            fields.birth_date = birth_date;
            fields.gender = gender;
            fields.national_id = national_id;
            fields.phone = phone;
            return Ok(ParsedRow { row_no, fields, province, commune, school, school_code, core, warnings });
        }
        Ok(_) => {}
    }
    Err(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::map_headers;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn levels_with_and_without_names() {
        assert_eq!(levels("TH,THCS"), "th,thcs");
        assert_eq!(levels("TH&THCS"), "th,thcs");
        assert_eq!(levels("TH;;THCS/"), "th,thcs");
        assert_eq!(levels("Tiểu học, THCS"), "TH,thcs");
        assert_eq!(levels("Mầm non và Tiểu học"), "MN,TH");
        assert_eq!(levels("trung học cơ sở + trung học phổ thông"), "THCS,THPT");
        assert_eq!(levels("Giáo dục thường xuyên"), "GDTX");
        assert_eq!(levels("va"), "");
        assert_eq!(levels(""), "");
    }

    #[test]
    fn ids_and_phones_with_separators() {
        let headers: Vec<String> =
            ["Họ và tên", "Số CCCD", "Điện thoại", "Trường"].iter().map(|s| s.to_string()).collect();
        let m = map_headers(&headers, &[]).unwrap();
        let row = |id: &str, phone: &str| {
            let cells: Vec<String> = ["Lê An", id, phone, "Trường A"].iter().map(|s| s.to_string()).collect();
            parse_row(&m, 2, &cells.into(), today())
        };
        let r = row("'001 085\t012345", "+84 912.345.678").unwrap();
        assert_eq!(r.fields.national_id.as_deref(), Some("001085012345"));
        assert_eq!(r.fields.phone.as_deref(), Some("0912345678"));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let r = row("1 085 012 345", "912-345-678").unwrap();
        assert_eq!(r.fields.national_id.as_deref(), Some("001085012345"));
        assert_eq!(r.fields.phone.as_deref(), Some("0912345678"));
        assert_eq!(r.warnings, vec![(Field::NationalId, "leading_zeros"), (Field::Phone, "leading_zeros")]);
        let e = row("12 AB", "+12").unwrap_err();
        let got: Vec<_> = e.iter().map(|e| (e.field, e.code, e.value.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Some(Field::NationalId), "invalid_national_id", "12AB"),
                (Some(Field::Phone), "invalid_phone", "+12"),
            ]
        );
    }

    #[test]
    fn flexible_dates() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        assert_eq!(parse_flexible_date("02/09/1985", today()), d(1985, 9, 2));
        assert_eq!(parse_flexible_date("2/9/85", today()), d(1985, 9, 2));
        assert_eq!(parse_flexible_date("2/9/05", today()), d(2005, 9, 2));
        assert_eq!(parse_flexible_date("1985-09-02", today()), d(1985, 9, 2));
        assert_eq!(parse_flexible_date("02-09-1985", today()), d(1985, 9, 2));
        assert_eq!(parse_flexible_date("31236", today()), d(1985, 7, 8));
        assert_eq!(parse_flexible_date("30/02/1990", today()), None);
        assert_eq!(parse_flexible_date("hôm qua", today()), None);
        // with and without dashes, dots, a time of day
        assert_eq!(parse_flexible_date("1985-9-2", today()), d(1985, 9, 2));
        assert_eq!(parse_flexible_date("02-09-85", today()), d(1985, 9, 2));
        assert_eq!(parse_flexible_date("02.09.1985", today()), d(1985, 9, 2));
        assert_eq!(parse_flexible_date("12/03/1990 00:00:00", today()), d(1990, 3, 12));
        assert_eq!(parse_flexible_date("12/03/1990/1", today()), None);
        assert_eq!(parse_flexible_date("12/03", today()), None);
    }

    #[test]
    fn a_messy_row_is_cleaned() {
        let headers: Vec<String> =
            ["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Điện thoại", "Trường", "Cấp học", "Chức vụ", "Cốt cán"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let m = map_headers(&headers, &[]).unwrap();
        let cells: Vec<String> = [
            "  nguye\u{302}\u{303}n   văn AN ",
            "2/9/85",
            "Nam",
            "1085012345",
            "912 345 678",
            "Trường TH Kim Đông",
            "Tiểu học",
            "GV",
            "x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let r = parse_row(&m, 2, &cells.into(), today()).unwrap();
        assert_eq!(r.fields.full_name, "Nguyễn Văn An");
        assert_eq!(r.fields.national_id.as_deref(), Some("001085012345"));
        assert_eq!(r.fields.phone.as_deref(), Some("0912345678"));
        assert_eq!(r.fields.levels_string(), "TH");
        assert_eq!(r.core.as_deref(), Some("*"));
        assert!(r.warnings.contains(&(Field::NationalId, "leading_zeros")));
    }

    #[test]
    fn errors_name_the_column() {
        let headers: Vec<String> =
            ["Họ và tên", "Ngày sinh", "Số CCCD", "Email", "Trường", "Chức vụ"].iter().map(|s| s.to_string()).collect();
        let m = map_headers(&headers, &[]).unwrap();
        let cells: Vec<String> = ["", "31/02/1990", "12AB", "không-phải-email", "Trường A", "Bảo vệ"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = parse_row(&m, 7, &cells.into(), today()).unwrap_err();
        let got: Vec<_> = e.iter().map(|e| (e.field, e.code)).collect();
        assert!(got.contains(&(Some(Field::BirthDate), "invalid_date")), "{got:?}");
        assert!(got.contains(&(Some(Field::NationalId), "invalid_national_id")), "{got:?}");
        assert!(got.contains(&(Some(Field::Position), "invalid_position")), "{got:?}");
        assert!(got.contains(&(Some(Field::FullName), "required")), "{got:?}");
        assert!(got.contains(&(Some(Field::Email), "invalid_email")), "{got:?}");
        assert!(e.iter().all(|e| e.row_no == 7));
    }

    fn one_row(headers: &[&str], cells: &[&str]) -> Result<ParsedRow, Vec<RowError>> {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let m = map_headers(&headers, &[]).unwrap();
        let cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        parse_row(&m, 2, &cells.into(), today())
    }

    fn codes(r: Result<ParsedRow, Vec<RowError>>) -> Vec<(Option<Field>, &'static str, String)> {
        r.unwrap_err().into_iter().map(|e| (e.field, e.code, e.value)).collect()
    }

    #[test]
    fn every_text_column_is_converted_from_legacy_glyphs() {
        let h = ["Họ và tên", "Giới tính", "Chức vụ", "Môn dạy", "Trường"];
        // TCVN3 (.VnTime), as an .xlsx typed in those fonts holds it
        let r = one_row(&h, &["NguyÔn ThÞ Hoa", "N\u{F7}", "Gi¸o viªn", "To¸n", "Tr\u{AD}êng TH Kim §«ng"]).unwrap();
        assert_eq!(r.fields.full_name, "Nguyễn Thị Hoa");
        assert_eq!(r.fields.gender.as_deref(), Some("F"));
        assert_eq!(r.fields.position.as_str(), "teacher");
        assert_eq!(r.fields.main_subject.as_deref(), Some("Toán"));
        assert_eq!(r.school, "Trường TH Kim Đông");
        assert!(r.warnings.contains(&(Field::Gender, "legacy_encoding")), "{:?}", r.warnings);
        assert!(r.warnings.contains(&(Field::Position, "legacy_encoding")), "{:?}", r.warnings);
        let r = one_row(&h, &["Traàn Vaên Nam", "Nam", "HiÖu tr\u{AD}ëng", "", "Trường A"]).unwrap();
        assert_eq!(r.fields.position.as_str(), "principal");
        // a cell too short to tell alone is converted like the rest of its row: "Sè" (TCVN3 "Số")
        let r = one_row(&h, &["NguyÔn V¨n An", "Nam", "Gi¸o viªn", "Sè häc", "Tr\u{AD}êng A"]).unwrap();
        assert_eq!(r.fields.main_subject.as_deref(), Some("Số học"));
        // but a cell in Unicode of Latin-1 letters only is left as it is (it reads as Vietnamese
        // both ways: "Thanh Hóa" is "Thanh Húa" in TCVN3)
        let r = one_row(&h, &["NguyÔn V¨n An", "Nam", "Gi¸o viªn", "Hóa", "TH Thanh Hóa"]).unwrap();
        assert_eq!((r.fields.main_subject.as_deref(), r.school.as_str()), (Some("Hóa"), "TH Thanh Hóa"));
        // VNI-Windows
        let r = one_row(&h, &["Traàn Thò Mai", "Nöõ", "Giaùo vieân", "Ngöõ vaên", "Tröôøng TH An Bình"]).unwrap();
        assert_eq!(r.fields.full_name, "Trần Thị Mai");
        assert_eq!(r.fields.gender.as_deref(), Some("F"));
        assert_eq!(r.fields.position.as_str(), "teacher");
        assert_eq!(r.fields.main_subject.as_deref(), Some("Ngữ văn"));
        assert_eq!(r.school, "Trường TH An Bình");
    }

    #[test]
    fn birth_dates_must_be_plausible() {
        let h = ["Họ và tên", "Ngày sinh", "Trường"];
        let row = |d: &str| one_row(&h, &["Lê An", d, "Trường A"]);
        for year in ["1990", "1984", " 1983 "] {
            assert_eq!(codes(row(year)), vec![(Some(Field::BirthDate), "year_only", year.to_string())], "{year}");
        }
        // Excel serials: a plausible one is a date, others are errors
        assert_eq!(row("31236").unwrap().fields.birth_date, NaiveDate::from_ymd_opt(1985, 7, 8));
        assert_eq!(codes(row("45000")), vec![(Some(Field::BirthDate), "birth_implausible", "45000".to_string())]);
        assert_eq!(codes(row("12")), vec![(Some(Field::BirthDate), "birth_implausible", "12".to_string())]);
        // bounds: from 01/01/1940, at least 18 years old
        assert_eq!(codes(row("31/12/1939"))[0].1, "birth_implausible");
        assert!(row("01/01/1940").is_ok());
        assert!(row("25/11/2008").is_ok());
        assert_eq!(codes(row("26/11/2008"))[0].1, "birth_implausible");
        assert_eq!(codes(row("01/01/2030"))[0].1, "birth_in_future");
        assert_eq!(parse_birth_date("", today()), Ok(None));
        assert!(message("year_only").contains("chỉ có năm sinh"));
    }

    #[test]
    fn iso_dates_with_a_time_are_dates() {
        let d = NaiveDate::from_ymd_opt(1990, 3, 5);
        for s in ["1990-03-05 00:00:00", "1990-03-05T00:00:00", "1990-03-05T00:00:00.000Z", "1990-03-05 08:30"] {
            assert_eq!(parse_flexible_date(s, today()), d, "{s}");
        }
        assert_eq!(parse_flexible_date("1990-03-05 hôm ấy", today()), None);
    }

    #[test]
    fn phones_after_plus_84_and_old_mobiles() {
        let h = ["Họ và tên", "Điện thoại", "Trường"];
        let row = |p: &str| one_row(&h, &["Lê An", p, "Trường A"]);
        assert_eq!(row("+840912345606").unwrap().fields.phone.as_deref(), Some("0912345606"));
        assert_eq!(row("+84 (0) 912 345 619").unwrap().fields.phone.as_deref(), Some("0912345619"));
        let r = row("0162 345 6789").unwrap();
        assert_eq!(r.fields.phone.as_deref(), Some("0323456789"));
        assert_eq!(r.warnings, vec![(Field::Phone, "phone_renumbered")]);
        assert_eq!(codes(row("01912345615")), vec![(Some(Field::Phone), "old_mobile", "01912345615".to_string())]);
    }

    #[test]
    fn zero_width_characters_are_taken_out() {
        let h = ["Họ và tên", "Số CCCD", "Điện thoại", "Trường"];
        let r = one_row(
            &h,
            &["Nguy\u{200B}ễn Văn\u{200C} An\u{FEFF}", "0010\u{200B}85012345", "0912\u{AD}345678", "Trường\u{200D} A"],
        )
        .unwrap();
        assert_eq!(r.fields.full_name, "Nguyễn Văn An");
        assert_eq!(r.fields.national_id.as_deref(), Some("001085012345"));
        assert_eq!(r.fields.phone.as_deref(), Some("0912345678"));
        assert_eq!(r.school, "Trường A");
        let plain = one_row(&h, &["Nguyễn Văn An", "001085012345", "0912345678", "Trường A"]).unwrap();
        assert_eq!(r.fields.identity_key(), plain.fields.identity_key());
    }

    #[test]
    fn a_formula_is_not_a_name() {
        let h = ["Họ và tên", "Trường"];
        let e = codes(one_row(&h, &["=HYPERLINK(\"http://evil\",\"x\")", "Trường A"]));
        assert_eq!(e, vec![(Some(Field::FullName), "invalid_name_char", "=".to_string())]);
        assert_eq!(codes(one_row(&h, &["Lê An 2", "Trường A"]))[0].2, "2");
        assert_eq!(codes(one_row(&h, &["Lê\u{7}An", "Trường A"]))[0].2, "U+0007");
        assert!(one_row(&h, &["H'Hen Niê", "Trường A"]).is_ok());
        assert!(one_row(&h, &["Nguyễn-Trần Thị B.", "Trường A"]).is_ok());
    }

    #[test]
    fn an_old_9_digit_id_is_flagged_on_its_row() {
        let h = ["Họ và tên", "Số CCCD", "Trường"];
        let r = one_row(&h, &["Lê An", "123456789", "Trường A"]).unwrap();
        assert_eq!(r.fields.national_id.as_deref(), Some("123456789"));
        assert_eq!(r.warnings, vec![(Field::NationalId, "legacy_id")]);
        assert!(message("legacy_id").contains("CMND"));
        let r = one_row(&h, &["Lê An", "001085012345", "Trường A"]).unwrap();
        assert!(r.warnings.is_empty());
    }
}
