//! People: one record per real person. Identity is the national ID (CCCD, 12 digits; old
//! 9-digit CMND accepted) when known, else the folded name + date of birth + phone or e-mail.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Checker, Invalid};
use crate::org::{Level, levels_to_string, parse_levels};
use crate::text::{clean, clean_cow, fold};

pub const MAX_NAME: usize = 100;
pub const MAX_TEXT: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Teacher,
    Principal,
    VicePrincipal,
    Officer,
    Lecturer,
    Staff,
}

impl Position {
    pub const ALL: [Position; 6] = [
        Position::Teacher,
        Position::Principal,
        Position::VicePrincipal,
        Position::Officer,
        Position::Lecturer,
        Position::Staff,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Teacher => "teacher",
            Position::Principal => "principal",
            Position::VicePrincipal => "vice_principal",
            Position::Officer => "officer",
            Position::Lecturer => "lecturer",
            Position::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
    /// Managers (CBQL) as opposed to teachers.
    pub fn is_manager(self) -> bool {
        matches!(self, Position::Principal | Position::VicePrincipal)
    }
}

/// A person's fields as submitted (form or JSON), all optional strings before validation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PersonDraft {
    pub full_name: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub position: Option<String>,
    pub levels: Option<String>,
    pub main_subject: Option<String>,
    pub other_subjects: Option<String>,
}

/// Which group of fields a change touches; roles may edit some groups only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldGroup {
    /// Name, birth date, gender, national ID.
    Identity,
    /// Position, levels, subjects.
    Professional,
    /// Phone, e-mail.
    Contact,
}

impl PersonDraft {
    pub fn groups(&self) -> Vec<FieldGroup> {
        let mut g = Vec::new();
        if self.full_name.is_some() || self.birth_date.is_some() || self.gender.is_some() || self.national_id.is_some()
        {
            g.push(FieldGroup::Identity);
        }
        if self.position.is_some()
            || self.levels.is_some()
            || self.main_subject.is_some()
            || self.other_subjects.is_some()
        {
            g.push(FieldGroup::Professional);
        }
        if self.phone.is_some() || self.email.is_some() {
            g.push(FieldGroup::Contact);
        }
        g
    }
}

/// A validated, cleaned person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PersonFields {
    pub full_name: String,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub position: Position,
    pub levels: Vec<Level>,
    pub main_subject: Option<String>,
    pub other_subjects: Vec<String>,
}

impl PersonFields {
    pub fn levels_string(&self) -> String {
        levels_to_string(&self.levels)
    }
    /// The key that makes "one record per real person" a unique constraint.
    pub fn identity_key(&self) -> String {
        identity_key(
            self.national_id.as_deref(),
            &self.full_name,
            self.birth_date,
            self.phone.as_deref().or(self.email.as_deref()),
        )
    }
}

pub fn identity_key(
    national_id: Option<&str>,
    full_name: &str,
    birth: Option<NaiveDate>,
    contact: Option<&str>,
) -> String {
    match national_id {
        Some(id) => {
            let mut key = String::with_capacity(3 + id.len());
            key.push_str("id:");
            key.push_str(id);
            key
        }
        None => format!(
            "nd:{}|{}|{}",
            fold(full_name),
            birth.map(crate::dates::iso).unwrap_or_default(),
            contact.map(|c| c.to_lowercase()).unwrap_or_default()
        ),
    }
}

/// Why two records may be the same person (the reasons duplicate candidates are grouped by):
/// the same national ID, e-mail (any case), phone, or folded name with the same birth date.
/// `None`: nothing links them, and they are not merged.
pub fn duplicate_reason(a: &PersonFields, b: &PersonFields) -> Option<&'static str> {
    let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    if same(&a.national_id, &b.national_id) {
        Some("national_id")
    } else if a.email.is_some()
        && a.email.as_deref().map(str::to_lowercase) == b.email.as_deref().map(str::to_lowercase)
    {
        Some("email")
    } else if same(&a.phone, &b.phone) {
        Some("phone")
    } else if a.birth_date.is_some() && a.birth_date == b.birth_date && fold(&a.full_name) == fold(&b.full_name) {
        Some("name_birth")
    } else {
        None
    }
}

/// Vietnamese mobile/landline: 0xxxxxxxxx (10 digits), a landline 02xxxxxxxxx (11 digits, the
/// area codes since 2017), or +84 / 84 followed by the number without its 0 (a "(0)" or 0 written
/// after the country code is dropped: "+84 (0) 912 345 678"); separators ignored. Old 11-digit
/// mobiles (01xx…) are converted by the 2018 renumbering ([`renumber_2018`]). Returns the
/// canonical 0-prefixed form.
pub fn normalize_phone(s: &str) -> Option<String> {
    parse_phone(s).ok().map(|(p, _)| p)
}

/// Why a phone number is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneProblem {
    /// Not a Vietnamese number at all.
    Invalid,
    /// An 11-digit 01xx… mobile whose prefix the 2018 renumbering does not list.
    OldMobile,
}

/// [`normalize_phone`], telling whether an old 11-digit mobile was renumbered (`true`) and why a
/// number is refused.
pub fn parse_phone(s: &str) -> Result<(String, bool), PhoneProblem> {
    let canonical = |d: &str| d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit());
    if canonical(s) && (s.len() == 10 || (s.len() == 11 && s.starts_with("02"))) {
        return Ok((s.to_string(), false)); // canonical already
    }
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
    let local = if let Some(rest) = digits.strip_prefix("+84") {
        // "+84 0912…" and "+84 (0) 912…": the trunk 0 written after the country code
        format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
    } else if let Some(rest) = digits.strip_prefix("0084").or_else(|| digits.strip_prefix("84")) {
        // A local number starts with 0: "84…" is the country code.
        format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
    } else {
        digits
    };
    if !canonical(&local) {
        return Err(PhoneProblem::Invalid);
    }
    match local.len() {
        10 => Ok((local, false)),
        11 if local.starts_with("02") => Ok((local, false)),
        11 if local.starts_with("01") => renumber_2018(&local).map(|p| (p, true)).ok_or(PhoneProblem::OldMobile),
        _ => Err(PhoneProblem::Invalid),
    }
}

/// The 2018 renumbering of 11-digit mobiles (Ministry of Information and Communications,
/// Decision 798/QĐ-BTTTT, done by 15/11/2018): the old 4-digit prefix → the new 3-digit one.
pub const RENUMBERING_2018: [(&str, &str); 21] = [
    // Viettel
    ("0162", "032"),
    ("0163", "033"),
    ("0164", "034"),
    ("0165", "035"),
    ("0166", "036"),
    ("0167", "037"),
    ("0168", "038"),
    ("0169", "039"),
    // MobiFone
    ("0120", "070"),
    ("0121", "079"),
    ("0122", "077"),
    ("0126", "076"),
    ("0128", "078"),
    // VinaPhone
    ("0123", "083"),
    ("0124", "084"),
    ("0125", "085"),
    ("0127", "081"),
    ("0129", "082"),
    // Vietnamobile
    ("0186", "056"),
    ("0188", "058"),
    // Gmobile
    ("0199", "059"),
];

/// An old 11-digit mobile (01xx + 7 digits) as its 10-digit number since 2018; `None` when its
/// prefix was not renumbered (no such network).
pub fn renumber_2018(old: &str) -> Option<String> {
    if old.len() != 11 || !old.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (prefix, rest) = old.split_at(4);
    RENUMBERING_2018.iter().find(|(o, _)| *o == prefix).map(|(_, n)| format!("{n}{rest}"))
}

/// The first character a person's name may not hold, if any. A name is letters (of any script;
/// Vietnamese expected), combining marks, spaces and the marks ' ’ - . (as in "H'Hen",
/// "Nguyễn-Trần", "Ng. Văn"); digits, "=", "(", quotes, "@" and the like are refused, so a
/// formula or a link typed as a name never gets in.
pub fn name_bad_char(name: &str) -> Option<char> {
    name.chars().find(|&c| {
        !(c.is_alphabetic()
            || unicode_normalization::char::is_combining_mark(c)
            || matches!(c, ' ' | '\'' | '\u{2019}' | '-' | '.'))
    })
}

/// National ID: 12 digits (CCCD) or the old 9-digit CMND (accepted; flagged by `is_legacy_id`).
pub fn normalize_national_id(s: &str) -> Option<String> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return matches!(s.len(), 9 | 12).then(|| s.to_string());
    }
    let d: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (matches!(d.len(), 9 | 12) && d.chars().all(|c| c.is_ascii_digit())).then_some(d)
}

/// Whether a normalized national ID is the old 9-digit CMND (accepted, flagged on import).
pub fn is_legacy_id(id: &str) -> bool {
    id.len() == 9
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(clean).filter(|s| !s.is_empty())
}

/// Validate a draft on top of `base` (the current record when editing, `None` when creating).
/// Every problem is reported at once; nothing is half-applied.
pub fn validate(draft: &PersonDraft, base: Option<&PersonFields>) -> Result<PersonFields, Invalid> {
    let mut c = Checker::default();
    let full_name = match (opt(&draft.full_name), base) {
        (Some(n), _) => n,
        (None, Some(b)) if draft.full_name.is_none() => b.full_name.clone(),
        _ => {
            c.add("full_name", "required");
            String::new()
        }
    };
    if full_name.chars().count() > MAX_NAME {
        c.add("full_name", "too_long");
    }
    if name_bad_char(&full_name).is_some() {
        c.add("full_name", "invalid");
    }
    let birth_date = match &draft.birth_date {
        Some(s) if s.trim().is_empty() => None,
        // The roster import's reading (d/m/yy, dd-mm-yyyy, …, a plausible age): one way to read
        // a birth date.
        Some(s) => match crate::dates::parse_birth_date(s, crate::dates::today()) {
            Ok(d) => d,
            Err(code) => {
                c.add("birth_date", code);
                None
            }
        },
        None => base.and_then(|b| b.birth_date),
    };
    let gender = match &draft.gender {
        Some(s) => match s.trim() {
            "" => None,
            "M" | "F" => Some(s.trim().to_string()),
            _ => {
                c.add("gender", "invalid");
                None
            }
        },
        None => base.and_then(|b| b.gender.clone()),
    };
    let national_id = match &draft.national_id {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => match normalize_national_id(s) {
            Some(id) => Some(id),
            None => {
                c.add("national_id", "invalid_national_id");
                None
            }
        },
        None => base.and_then(|b| b.national_id.clone()),
    };
    let phone = match &draft.phone {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => match normalize_phone(s) {
            Some(p) => Some(p),
            None => {
                c.add("phone", "invalid_phone");
                None
            }
        },
        None => base.and_then(|b| b.phone.clone()),
    };
    let email = match &draft.email {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => {
            let e = clean_cow(s).to_lowercase();
            if e.len() > MAX_TEXT || !valid_email(&e) {
                c.add("email", "invalid_email");
            }
            Some(e)
        }
        None => base.and_then(|b| b.email.clone()),
    };
    let position = match &draft.position {
        Some(s) => Position::parse(s.trim()).unwrap_or_else(|| {
            c.add("position", "invalid");
            Position::Teacher
        }),
        None => base.map(|b| b.position).unwrap_or(Position::Teacher),
    };
    let levels = match &draft.levels {
        Some(s) => parse_levels(s).unwrap_or_else(|_| {
            c.add("levels", "invalid_level");
            Vec::new()
        }),
        None => base.map(|b| b.levels.clone()).unwrap_or_default(),
    };
    let main_subject = match &draft.main_subject {
        Some(_) => opt(&draft.main_subject),
        None => base.and_then(|b| b.main_subject.clone()),
    };
    if main_subject.as_ref().is_some_and(|s| s.chars().count() > MAX_TEXT) {
        c.add("main_subject", "too_long");
    }
    let other_subjects = match &draft.other_subjects {
        Some(s) => s.split([',', ';']).map(clean).filter(|s| !s.is_empty()).collect(),
        None => base.map(|b| b.other_subjects.clone()).unwrap_or_default(),
    };
    if other_subjects.iter().any(|s: &String| s.chars().count() > MAX_TEXT) || other_subjects.len() > 20 {
        c.add("other_subjects", "too_long");
    }
    c.finish()?;
    Ok(PersonFields {
        full_name,
        birth_date,
        gender,
        national_id,
        phone,
        email,
        position,
        levels,
        main_subject,
        other_subjects,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn duplicate_reasons() {
        let base = |name: &str| PersonFields {
            full_name: name.into(),
            birth_date: None,
            gender: None,
            national_id: None,
            phone: None,
            email: None,
            position: Position::Teacher,
            levels: vec![],
            main_subject: None,
            other_subjects: vec![],
        };
        let (mut a, mut b) = (base("Nguyễn Văn An"), base("Nguyễn Văn An"));
        assert_eq!(duplicate_reason(&a, &b), None, "a name alone links nobody");
        a.birth_date = NaiveDate::from_ymd_opt(1985, 9, 2);
        b.birth_date = a.birth_date;
        b.full_name = "NGUYEN VAN AN".into();
        assert_eq!(duplicate_reason(&a, &b), Some("name_birth"));
        b.birth_date = NaiveDate::from_ymd_opt(1986, 9, 2);
        assert_eq!(duplicate_reason(&a, &b), None);
        a.email = Some("An@truong.vn".into());
        b.email = Some("an@truong.vn".into());
        assert_eq!(duplicate_reason(&a, &b), Some("email"));
        b.email = None;
        a.phone = Some("0912345678".into());
        b.phone = Some("0912345678".into());
        assert_eq!(duplicate_reason(&a, &b), Some("phone"));
        let (mut c, mut d) = (base("Lê Thị Hoa"), base("Trần Văn Bình"));
        c.national_id = Some("001085012345".into());
        d.national_id = Some("001085012345".into());
        assert_eq!(duplicate_reason(&c, &d), Some("national_id"));
    }

    use super::*;

    fn draft(name: &str) -> PersonDraft {
        PersonDraft { full_name: Some(name.into()), ..Default::default() }
    }

    #[test]
    fn canonical_phones_and_ids_take_the_short_path() {
        assert_eq!(normalize_phone("0912345678").as_deref(), Some("0912345678"));
        assert_eq!(normalize_phone("02431234567").as_deref(), Some("02431234567"));
        assert_eq!(normalize_phone("0912345678 ").as_deref(), Some("0912345678"));
        assert_eq!(normalize_phone("091234567"), None);
        assert_eq!(normalize_phone("091234567890"), None);
        assert_eq!(normalize_phone("84912345678").as_deref(), Some("0912345678"));
        assert_eq!(normalize_phone("０９１２３４５６７８"), None);
        assert_eq!(normalize_national_id("001085012345").as_deref(), Some("001085012345"));
        assert_eq!(normalize_national_id("123456789").as_deref(), Some("123456789"));
        assert_eq!(normalize_national_id("0010850123"), None);
        assert_eq!(normalize_national_id(""), None);
        assert_eq!(normalize_national_id("001085\t012345").as_deref(), Some("001085012345"));
        assert_eq!(normalize_national_id("００１０８５０１２３４５"), None);
    }

    #[test]
    fn phones() {
        assert_eq!(normalize_phone("+84 912 345 678").as_deref(), Some("0912345678"));
        assert_eq!(normalize_phone("0912.345.678").as_deref(), Some("0912345678"));
        assert_eq!(normalize_phone("12345"), None);
    }

    #[test]
    fn national_ids() {
        assert_eq!(normalize_national_id("001 085 012345").as_deref(), Some("001085012345"));
        assert!(is_legacy_id(&normalize_national_id("123456789").unwrap()));
        assert_eq!(normalize_national_id("12345"), None);
    }

    #[test]
    fn validate_collects_all_errors() {
        let mut d = draft("");
        d.birth_date = Some("31/02/1990".into());
        d.email = Some("không-phải-email".into());
        d.levels = Some("TH, ĐH".into());
        let e = validate(&d, None).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["full_name", "birth_date", "email", "levels"]);
    }

    #[test]
    fn birth_dates_read_like_the_roster_import() {
        let mut d = draft("Nguyễn Văn An");
        for (typed, want) in [("5/9/92", (1992, 9, 5)), ("05-09-1992", (1992, 9, 5)), ("1992-09-05", (1992, 9, 5))] {
            d.birth_date = Some(typed.into());
            let got = validate(&d, None).unwrap().birth_date;
            assert_eq!(got, NaiveDate::from_ymd_opt(want.0, want.1, want.2), "{typed}");
        }
        d.birth_date = Some("31/2/92".into());
        assert!(validate(&d, None).is_err());
    }

    #[test]
    fn identity_by_national_id_else_name_birth_contact() {
        let mut d = draft("  Nguyễn   Văn An ");
        d.birth_date = Some("02/09/1985".into());
        d.phone = Some("+84912345678".into());
        let p = validate(&d, None).unwrap();
        assert_eq!(p.full_name, "Nguyễn Văn An");
        assert_eq!(p.identity_key(), "nd:nguyen van an|1985-09-02|0912345678");
        d.national_id = Some("001085012345".into());
        assert_eq!(validate(&d, None).unwrap().identity_key(), "id:001085012345");
    }

    #[test]
    fn phones_with_the_trunk_zero_after_the_country_code() {
        for s in ["+840912345606", "+84 (0) 912 345 606", "0084 912 345 606", "84912345606", "840912345606"] {
            assert_eq!(normalize_phone(s).as_deref(), Some("0912345606"), "{s}");
        }
        assert_eq!(normalize_phone("+84 24 3825 1234").as_deref(), Some("02438251234"));
        // 11 digits are a landline (02…) or an old mobile (01…), nothing else
        assert_eq!(normalize_phone("09123456789"), None);
    }

    #[test]
    fn old_11_digit_mobiles_are_renumbered_by_the_2018_table() {
        assert_eq!(parse_phone("01623456789"), Ok(("0323456789".into(), true)));
        assert_eq!(parse_phone("0169 345 6789"), Ok(("0393456789".into(), true)));
        assert_eq!(parse_phone("+84 1203456789"), Ok(("0703456789".into(), true)));
        assert_eq!(parse_phone("01993456789"), Ok(("0593456789".into(), true)));
        assert_eq!(normalize_phone("01283456789").as_deref(), Some("0783456789"));
        // no network had 0191: refused, not stored as it is
        assert_eq!(parse_phone("01912345615"), Err(PhoneProblem::OldMobile));
        assert_eq!(normalize_phone("01912345615"), None);
        assert_eq!(parse_phone("0912345678"), Ok(("0912345678".into(), false)));
        assert_eq!(parse_phone("abc"), Err(PhoneProblem::Invalid));
        assert_eq!(RENUMBERING_2018.len(), 21);
    }

    #[test]
    fn names_are_letters_spaces_and_a_few_marks() {
        for ok in ["Nguyễn Văn An", "H'Hen Niê", "Nguyễn-Trần Thị B.", "Ng. Văn Tư", "Ksor H\u{2019}Bia", "Ли Мин"]
        {
            assert_eq!(name_bad_char(ok), None, "{ok}");
        }
        assert_eq!(name_bad_char("=HYPERLINK(\"http://evil\",\"x\")"), Some('='));
        assert_eq!(name_bad_char("Nguyễn Văn 2"), Some('2'));
        assert_eq!(name_bad_char("An@x"), Some('@'));
        assert_eq!(name_bad_char("An\tBình"), Some('\t'));
        let e = validate(&draft("=HYPERLINK(\"http://evil\",\"x\")"), None).unwrap_err();
        assert_eq!(e.errors[0].field, "full_name");
        assert_eq!(e.errors[0].code, "invalid");
    }

    #[test]
    fn edit_keeps_untouched_fields() {
        let base =
            validate(&PersonDraft { email: Some("an@example.vn".into()), ..draft("Nguyễn Văn An") }, None).unwrap();
        let e = validate(&PersonDraft { phone: Some("0912345678".into()), ..Default::default() }, Some(&base)).unwrap();
        assert_eq!(e.full_name, "Nguyễn Văn An");
        assert_eq!(e.email.as_deref(), Some("an@example.vn"));
        assert_eq!(e.phone.as_deref(), Some("0912345678"));
    }
}
