//! The three sign-offs of an enrollment, in order (điều kiện hoàn thành): (i) the LMS's automatic
//! assessment, (ii) the assigned core person's pass or not-pass, (iii) the university key
//! lecturer's confirmation. A later step cannot happen before an earlier one has passed; an
//! undo needs a reason and cannot skip a later step that still stands.

use serde::{Deserialize, Serialize};

/// The human sign-offs (the first, the LMS's, is computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// (ii) báo cáo viên / GV cốt cán đánh giá
    Core,
    /// (iii) giảng viên sư phạm chủ chốt xác nhận
    University,
}

impl Gate {
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Core => "core",
            Gate::University => "university",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "core" => Some(Gate::Core),
            "university" => Some(Gate::University),
            _ => None,
        }
    }
}

/// Where an enrollment stands: whether each step has passed (`None`: not marked yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SignOffs {
    pub lms: bool,
    pub core: Option<bool>,
    pub university: Option<bool>,
}

impl SignOffs {
    /// Completed: all three steps passed.
    pub fn complete(&self) -> bool {
        self.lms && self.core == Some(true) && self.university == Some(true)
    }

    /// May `gate` be marked `pass` now? Core: a pass needs the LMS's pass (a not-pass may be
    /// given at any time); university: only after the core person's pass. A step already
    /// marked must be undone first.
    pub fn check_mark(&self, gate: Gate, pass: bool) -> Result<(), &'static str> {
        match gate {
            Gate::Core => {
                if self.core.is_some() {
                    return Err("already_marked");
                }
                if pass && !self.lms {
                    return Err("lms_not_passed");
                }
            }
            Gate::University => {
                if self.university.is_some() {
                    return Err("already_marked");
                }
                if self.core != Some(true) {
                    return Err("core_not_passed");
                }
            }
        }
        Ok(())
    }

    /// May `gate` be undone? It must be marked, and the core step cannot be undone while the
    /// university's confirmation stands. A reason is required.
    pub fn check_undo(&self, gate: Gate, reason: &str) -> Result<(), &'static str> {
        if reason.trim().chars().count() < 5 {
            return Err("reason_required");
        }
        match gate {
            Gate::Core if self.core.is_none() => Err("not_marked"),
            Gate::Core if self.university.is_some() => Err("university_confirmed"),
            Gate::University if self.university.is_none() => Err("not_marked"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_happen_in_order() {
        let mut s = SignOffs::default();
        assert_eq!(s.check_mark(Gate::Core, true), Err("lms_not_passed"));
        assert_eq!(s.check_mark(Gate::Core, false), Ok(()), "a not-pass needs no LMS pass");
        assert_eq!(s.check_mark(Gate::University, true), Err("core_not_passed"));
        s.lms = true;
        assert_eq!(s.check_mark(Gate::Core, true), Ok(()));
        s.core = Some(false);
        assert_eq!(s.check_mark(Gate::University, true), Err("core_not_passed"));
        assert_eq!(s.check_mark(Gate::Core, true), Err("already_marked"));
        s.core = Some(true);
        assert_eq!(s.check_mark(Gate::University, true), Ok(()));
        s.university = Some(true);
        assert!(s.complete());
    }

    #[test]
    fn undo_needs_a_reason_and_goes_backwards() {
        let s = SignOffs { lms: true, core: Some(true), university: Some(true) };
        assert_eq!(s.check_undo(Gate::Core, "nhầm người"), Err("university_confirmed"));
        assert_eq!(s.check_undo(Gate::University, ""), Err("reason_required"));
        assert_eq!(s.check_undo(Gate::University, "xác nhận nhầm lớp"), Ok(()));
        let none = SignOffs::default();
        assert_eq!(none.check_undo(Gate::Core, "không có gì"), Err("not_marked"));
    }
}
