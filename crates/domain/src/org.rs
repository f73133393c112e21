//! Organisation units as data: kinds, school levels, validity dates and the rules a
//! restructuring (merge, rename, move) must satisfy. The store applies what these rules accept.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Checker, Invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Bộ GDĐT
    Ministry,
    /// Sở GDĐT
    Province,
    /// Phòng GDĐT (district, abolished 2025) or the commune's education office
    Commune,
    /// Cụm trường
    Cluster,
    /// Trường (or GDTX centre)
    School,
    /// Trường ĐH sư phạm / Học viện QLGD
    University,
}

impl UnitKind {
    pub const ALL: [UnitKind; 6] = [
        UnitKind::Ministry,
        UnitKind::Province,
        UnitKind::Commune,
        UnitKind::Cluster,
        UnitKind::School,
        UnitKind::University,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Ministry => "ministry",
            UnitKind::Province => "province",
            UnitKind::Commune => "commune",
            UnitKind::Cluster => "cluster",
            UnitKind::School => "school",
            UnitKind::University => "university",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Which kinds may be the parent of this kind.
    pub fn allowed_parent(self, parent: UnitKind) -> bool {
        use UnitKind::*;
        match self {
            Ministry => false,
            Province | University => parent == Ministry,
            Commune => parent == Province,
            Cluster => matches!(parent, Province | Commune),
            School => matches!(parent, Province | Commune | Cluster),
        }
    }
}

/// School levels (cấp học).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    MN,
    TH,
    THCS,
    THPT,
    GDTX,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::MN, Level::TH, Level::THCS, Level::THPT, Level::GDTX];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::MN => "MN",
            Level::TH => "TH",
            Level::THCS => "THCS",
            Level::THPT => "THPT",
            Level::GDTX => "GDTX",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_ascii() {
            return Self::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(s));
        }
        // Some letters past ASCII have ASCII capitals ('ı' → 'I', 'ſ' → 'S').
        let s = s.to_uppercase();
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Parse "TH, THCS" into a sorted, de-duplicated list; an unknown level is an error.
pub fn parse_levels(s: &str) -> Result<Vec<Level>, String> {
    let mut out = Vec::new();
    for part in s.split([',', ';', ' ', '+']).filter(|p| !p.trim().is_empty()) {
        match Level::parse(part) {
            Some(l) => {
                if !out.contains(&l) {
                    out.push(l)
                }
            }
            None => return Err(part.trim().to_string()),
        }
    }
    out.sort();
    Ok(out)
}

pub fn levels_to_string(levels: &[Level]) -> String {
    let mut out = String::with_capacity(levels.len() * 5);
    for (i, l) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(l.as_str());
    }
    out
}

/// What the rules need to know about a unit taking part in a restructuring.
#[derive(Debug, Clone)]
pub struct UnitSpan {
    pub id: i64,
    pub kind: UnitKind,
    pub valid_from: NaiveDate,
    /// First day the unit no longer exists (exclusive end); `None` while it exists.
    pub valid_to: Option<NaiveDate>,
}

impl UnitSpan {
    pub fn valid_at(&self, d: NaiveDate) -> bool {
        self.valid_from <= d && self.valid_to.is_none_or(|t| d < t)
    }
}

/// The restructurings that close units: all close the sources on `effective` and make the
/// target their successor; records dated before `effective` keep pointing at the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restructure {
    /// Several units of one kind become one, new or existing (sáp nhập).
    Merge,
    /// One unit continues as a new unit with another name (đổi tên).
    Rename,
    /// Units are abolished and what they held goes to a unit of another kind, e.g. the district
    /// offices abolished on 1 July 2025 (giải thể).
    Dissolve,
}

impl Restructure {
    pub fn as_str(self) -> &'static str {
        match self {
            Restructure::Merge => "merge",
            Restructure::Rename => "rename",
            Restructure::Dissolve => "dissolve",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Restructure::Merge, Restructure::Rename, Restructure::Dissolve].into_iter().find(|k| k.as_str() == s)
    }
}

pub fn check_merge(
    kind: Restructure,
    sources: &[UnitSpan],
    target_existing: Option<&UnitSpan>,
    target_kind: UnitKind,
    effective: NaiveDate,
) -> Result<(), Invalid> {
    let mut c = Checker::default();
    if sources.is_empty() {
        c.add("sources", "required");
    }
    match kind {
        Restructure::Rename if sources.len() > 1 || target_existing.is_some() => c.add("sources", "rename_one_to_new"),
        Restructure::Dissolve if target_existing.is_none() => c.add("target", "required"),
        _ => {}
    }
    let mut seen = std::collections::HashSet::new();
    for s in sources {
        if !seen.insert(s.id) {
            c.add("sources", "duplicate");
        }
        if s.valid_to.is_some() {
            c.add("sources", "already_closed");
        } else if effective <= s.valid_from {
            c.add("effective", "overlap");
        }
        if kind == Restructure::Dissolve {
            if s.kind == target_kind {
                c.add("target", "kind_mismatch");
            }
        } else if s.kind != target_kind {
            c.add("sources", "kind_mismatch");
        }
        if s.kind == UnitKind::Ministry {
            c.add("sources", "not_allowed");
        }
    }
    if let Some(t) = target_existing {
        if sources.iter().any(|s| s.id == t.id) {
            c.add("target", "cycle");
        }
        if !t.valid_at(effective) {
            c.add("target", "not_valid_at_date");
        }
    }
    c.finish()
}

/// Moving `unit` under `new_parent` from `effective`: the parent must exist then, be of an
/// allowed kind, and not be the unit itself or one of its descendants (`descendants`).
pub fn check_move(
    unit: &UnitSpan,
    new_parent: &UnitSpan,
    descendants: &[i64],
    effective: NaiveDate,
    current_link_from: NaiveDate,
) -> Result<(), Invalid> {
    let mut c = Checker::default();
    if unit.id == new_parent.id || descendants.contains(&new_parent.id) {
        c.add("parent", "cycle");
    }
    if !unit.kind.allowed_parent(new_parent.kind) {
        c.add("parent", "kind_not_allowed");
    }
    if !unit.valid_at(effective) || !new_parent.valid_at(effective) {
        c.add("effective", "not_valid_at_date");
    }
    if effective <= current_link_from {
        c.add("effective", "overlap");
    }
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn span(id: i64, kind: UnitKind, from: &str, to: Option<&str>) -> UnitSpan {
        UnitSpan { id, kind, valid_from: d(from), valid_to: to.map(d) }
    }

    #[test]
    fn levels_parse_in_any_case() {
        assert_eq!(Level::parse(" th "), Some(Level::TH));
        assert_eq!(Level::parse("Thcs"), Some(Level::THCS));
        assert_eq!(Level::parse("gdtx"), Some(Level::GDTX));
        // Letters past ASCII whose capitals are ASCII take the general path.
        assert_eq!(Level::parse("thcſ"), Some(Level::THCS));
        assert_eq!(Level::parse("gdtx\u{A0}"), Some(Level::GDTX));
        assert_eq!(Level::parse("ĐH"), None);
        assert_eq!(parse_levels("thcs, TH"), Ok(vec![Level::TH, Level::THCS]));
        assert_eq!(levels_to_string(&[Level::TH, Level::THCS, Level::THPT]), "TH,THCS,THPT");
        assert_eq!(levels_to_string(&[]), "");
    }

    #[test]
    fn merge_accepts_open_units_of_same_kind() {
        let a = span(1, UnitKind::Province, "2008-01-01", None);
        let b = span(2, UnitKind::Province, "2008-01-01", None);
        assert!(check_merge(Restructure::Merge, &[a, b], None, UnitKind::Province, d("2025-07-01")).is_ok());
    }

    #[test]
    fn merge_rejects_overlap_closed_and_cycle() {
        let a = span(1, UnitKind::Commune, "2025-07-01", None);
        let closed = span(2, UnitKind::Commune, "2000-01-01", Some("2025-07-01"));
        let e = check_merge(Restructure::Merge, &[a.clone(), closed], None, UnitKind::Commune, d("2025-07-01"))
            .unwrap_err();
        let codes: Vec<_> = e.errors.iter().map(|e| e.code).collect();
        assert!(codes.contains(&"overlap"), "{codes:?}");
        assert!(codes.contains(&"already_closed"), "{codes:?}");
        let e =
            check_merge(Restructure::Merge, &[a.clone()], Some(&a), UnitKind::Commune, d("2026-07-01")).unwrap_err();
        assert_eq!(e.errors[0].code, "cycle");
    }

    #[test]
    fn move_rejects_cycles_and_bad_kinds() {
        let commune = span(10, UnitKind::Commune, "2025-07-01", None);
        let school = span(11, UnitKind::School, "2000-01-01", None);
        let e = check_move(&commune, &school, &[11], d("2026-01-01"), d("2025-07-01")).unwrap_err();
        let codes: Vec<_> = e.errors.iter().map(|e| e.code).collect();
        assert!(codes.contains(&"cycle") && codes.contains(&"kind_not_allowed"), "{codes:?}");
        assert!(check_move(&school, &commune, &[], d("2026-01-01"), d("2025-07-01")).is_ok());
    }

    #[test]
    fn levels_parse() {
        assert_eq!(parse_levels("thcs, TH").unwrap(), vec![Level::TH, Level::THCS]);
        assert_eq!(parse_levels("TH+THCS+TH").unwrap(), vec![Level::TH, Level::THCS]);
        assert_eq!(parse_levels("ĐH").unwrap_err(), "ĐH");
    }
}
