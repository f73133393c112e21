//! The module catalog shipped with the binary (`catalog/modules.yaml`): Decision 4660 modules
//! for teachers and managers, the 2019 GVPT01–15 modules, the 2012 contents and electives.
//! The store loads it on first start; admins may edit titles afterwards.

use serde::{Deserialize, Serialize};

pub const MODULES_YAML: &str = include_str!("../catalog/modules.yaml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogModule {
    pub code: String,
    pub family: String,
    pub number: i64,
    pub title_vi: String,
    pub title_en: String,
    #[serde(default)]
    pub levels: Vec<crate::org::Level>,
    pub periods: Option<i64>,
    pub criterion: Option<String>,
    pub verified: bool,
    pub source: String,
}

pub const FAMILIES: [&str; 5] = ["teacher_4660", "manager_4660", "gvpt_2019", "content_2012", "elective_2012"];

pub fn shipped() -> Vec<CatalogModule> {
    serde_yaml_ng::from_str(MODULES_YAML).expect("shipped catalog parses (checked by tests)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalog_is_complete_and_consistent() {
        let m = shipped();
        let mut codes = std::collections::HashSet::new();
        for x in &m {
            assert!(codes.insert(x.code.clone()), "duplicate {}", x.code);
            assert!(FAMILIES.contains(&x.family.as_str()), "{}", x.family);
            assert!(!x.title_vi.trim().is_empty());
        }
        for n in 1..=15 {
            assert!(codes.contains(&format!("GVPT{n:02}")), "GVPT{n:02}");
        }
        let periods = |c: &str| m.iter().find(|x| x.code == c).and_then(|x| x.periods);
        assert_eq!((periods("ND1"), periods("ND2"), periods("ND3")), (Some(30), Some(30), Some(60)));
        assert!(codes.contains("MN44") && codes.contains("TH45") && codes.contains("THCS41"));
        assert!(codes.contains("GV4660-02") && codes.contains("QL4660-09"));
    }
}
