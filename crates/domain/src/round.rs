//! Training rounds (đợt bồi dưỡng): audiences, windows per level, a learner's personal window
//! and the exact moment a course locks, and the LMS's automatic assessment (the first of the
//! three sign-offs).
//!
//! Windows are dates in Asia/Ho_Chi_Minh: a window "24/12/2020–08/01/2021" opens at 00:00 on
//! 24/12 and locks at 00:00 on 09/01 Vietnam time (the last day is whole).

use chrono::{Days, NaiveDate, TimeZone};
use chrono_tz::Asia::Ho_Chi_Minh;
use serde::{Deserialize, Serialize};

use crate::org::Level;

/// Who a round trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// giáo viên
    Teachers,
    /// cán bộ quản lý
    Managers,
}

/// Mass training (đại trà) or the training of core people (cốt cán), run by the Ministry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Mass,
    Core,
}

/// How a round is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Tự học qua mạng (plus professional activity at school).
    SelfStudy,
    /// 7-2-7: seven days online, two days in person, seven days online.
    Blended727,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}
str_enum!(Audience { Teachers = "teachers", Managers = "managers" });
str_enum!(Tier { Mass = "mass", Core = "core" });
str_enum!(Delivery { SelfStudy = "self_study", Blended727 = "blended_727" });
str_enum!(EnrollmentKind { Main = "main", Concurrent = "concurrent", Reference = "reference" });

/// Why a learner studies a subject in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentKind {
    /// môn chính: graded by the class's reporters.
    Main,
    /// môn kiêm nhiệm: +15 days after the window, not graded by reporters.
    Concurrent,
    /// môn tham khảo (primary general-class teachers): at most 30 days.
    Reference,
}

/// Extra days for concurrent subjects after the window closes (Công văn 4132).
pub const CONCURRENT_EXTRA_DAYS: u64 = 15;
/// Days a learner who could only log in late gets from their first possible login.
pub const LATE_START_DAYS: u64 = 15;
/// Reference subjects last at most this many days from the window's opening.
pub const REFERENCE_DAYS: u64 = 30;
/// At most this many learners per core person (reporter or assistant) in a class.
pub const LEARNERS_PER_CORE: usize = 50;

/// The dates of a round for one level, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub level: Level,
    pub opens: NaiveDate,
    pub closes: NaiveDate,
}

impl Window {
    pub fn check(&self) -> Result<(), &'static str> {
        if self.closes < self.opens { Err("window_order") } else { Ok(()) }
    }
}

/// A learner's own dates in a round (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalWindow {
    pub starts: NaiveDate,
    pub ends: NaiveDate,
}

/// A learner's window for one enrollment. `first_login` is the first day the learner could log
/// in and find the course (their enrollment or their account's activation, whichever is later);
/// a main-subject learner who could only start after the window opened keeps the course open
/// for [`LATE_START_DAYS`] days after that day, never less than the round's window.
pub fn personal_window(w: &Window, kind: EnrollmentKind, first_login: Option<NaiveDate>) -> PersonalWindow {
    let plus = |d: NaiveDate, n: u64| d.checked_add_days(Days::new(n)).unwrap_or(d);
    match kind {
        EnrollmentKind::Main => match first_login {
            Some(d) if d > w.opens => PersonalWindow { starts: w.opens, ends: w.closes.max(plus(d, LATE_START_DAYS)) },
            _ => PersonalWindow { starts: w.opens, ends: w.closes },
        },
        EnrollmentKind::Concurrent => PersonalWindow { starts: w.opens, ends: plus(w.closes, CONCURRENT_EXTRA_DAYS) },
        EnrollmentKind::Reference => PersonalWindow { starts: w.opens, ends: plus(w.opens, REFERENCE_DAYS - 1) },
    }
}

/// The instant (UTC unix seconds) a day begins in Vietnam.
pub fn day_start(d: NaiveDate) -> i64 {
    Ho_Chi_Minh
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp() - 7 * 3600)
}

/// Whether a learner may submit at `now`, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// Before the first day: the course can be read, nothing submitted.
    NotYet,
    Open,
    /// After the last day: reading allowed, no more submissions.
    Locked,
}

impl PersonalWindow {
    /// The instant the course locks: 00:00 Vietnam time on the day after the last day.
    pub fn lock_at(&self) -> i64 {
        day_start(self.ends.checked_add_days(Days::new(1)).unwrap_or(self.ends))
    }
    pub fn state(&self, now_unix: i64) -> WindowState {
        if now_unix < day_start(self.starts) {
            WindowState::NotYet
        } else if now_unix < self.lock_at() {
            WindowState::Open
        } else {
            WindowState::Locked
        }
    }
}

/// The round's pass rule for the LMS's automatic assessment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PassRule {
    /// Every required quiz's best attempt must reach this percentage.
    pub quiz_percent: u8,
    /// The final assignment must be graded as passed (not only submitted).
    pub final_graded: bool,
}

/// What a learner has done on one required activity.
#[derive(Debug, Clone, PartialEq)]
pub enum ActivityState {
    Lesson { done: bool },
    Quiz { best_percent: Option<f64> },
    Essay { submitted: bool },
    Final { submitted: bool, graded_pass: Option<bool> },
}

/// The automatic assessment of one enrollment: passed, or the keys of what is missing.
pub fn lms_assessment<'a>(
    rule: &PassRule,
    required: impl IntoIterator<Item = (&'a str, ActivityState)>,
) -> Result<(), Vec<&'a str>> {
    let mut missing = Vec::new();
    for (key, st) in required {
        let ok = match st {
            ActivityState::Lesson { done } => done,
            ActivityState::Quiz { best_percent } => {
                best_percent.is_some_and(|p| p + 1e-9 >= f64::from(rule.quiz_percent))
            }
            ActivityState::Essay { submitted } => submitted,
            ActivityState::Final { submitted, graded_pass } => {
                if rule.final_graded {
                    graded_pass == Some(true)
                } else {
                    submitted
                }
            }
        };
        if !ok {
            missing.push(key);
        }
    }
    if missing.is_empty() { Ok(()) } else { Err(missing) }
}

/// Proposes classes of at most `per_class` learners for each cluster and spreads the core people
/// of the cluster over them, each taking at most [`LEARNERS_PER_CORE`] learners. Input: for each
/// cluster, its learner count and its available core people; output: for each cluster, the
/// class sizes and, per class, the indexes of the core people proposed.
pub fn propose_classes(learners: usize, core: usize, per_class: usize) -> Vec<(usize, Vec<usize>)> {
    if learners == 0 {
        return Vec::new();
    }
    let per_class = per_class.max(1);
    let n = learners.div_ceil(per_class);
    let base = learners / n;
    let extra = learners % n;
    let mut out: Vec<(usize, Vec<usize>)> = (0..n).map(|i| (base + usize::from(i < extra), Vec::new())).collect();
    // Round-robin the core people; a class needs ceil(size / 50) of them.
    let mut next = 0;
    for (size, staff) in &mut out {
        let need = size.div_ceil(LEARNERS_PER_CORE);
        for _ in 0..need.min(core) {
            if core == 0 {
                break;
            }
            staff.push(next % core);
            next += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }
    fn thcs() -> Window {
        Window { level: Level::THCS, opens: d("24/12/2020"), closes: d("08/01/2021") }
    }

    #[test]
    fn windows_from_the_seed() {
        let w = thcs();
        assert_eq!(personal_window(&w, EnrollmentKind::Main, None).ends, d("08/01/2021"));
        assert_eq!(personal_window(&w, EnrollmentKind::Main, Some(d("20/12/2020"))).ends, d("08/01/2021"));
        // Concurrent subjects: 15 more days after 08/01/2021.
        assert_eq!(personal_window(&w, EnrollmentKind::Concurrent, None).ends, d("23/01/2021"));
        // Could only log in on 05/01: 15 days from then.
        assert_eq!(personal_window(&w, EnrollmentKind::Main, Some(d("05/01/2021"))).ends, d("20/01/2021"));
        // On the opening day: no extension; one day late: 15 days from then.
        assert_eq!(personal_window(&w, EnrollmentKind::Main, Some(d("24/12/2020"))).ends, d("08/01/2021"));
        assert_eq!(personal_window(&w, EnrollmentKind::Main, Some(d("25/12/2020"))).ends, d("09/01/2021"));
        let th = Window { level: Level::TH, opens: d("26/12/2020"), closes: d("10/01/2021") };
        assert_eq!(personal_window(&th, EnrollmentKind::Reference, None).ends, d("24/01/2021"));
    }

    #[test]
    fn locking_is_exact_at_midnight_in_vietnam() {
        let pw = personal_window(&thcs(), EnrollmentKind::Main, None);
        // 09/01/2021 00:00 in Hanoi is 08/01/2021 17:00 UTC.
        let lock = chrono::NaiveDate::from_ymd_opt(2021, 1, 8).unwrap().and_hms_opt(17, 0, 0).unwrap().and_utc();
        assert_eq!(pw.lock_at(), lock.timestamp());
        assert_eq!(pw.state(lock.timestamp() - 1), WindowState::Open);
        assert_eq!(pw.state(lock.timestamp()), WindowState::Locked);
        let open = chrono::NaiveDate::from_ymd_opt(2020, 12, 23).unwrap().and_hms_opt(17, 0, 0).unwrap().and_utc();
        assert_eq!(pw.state(open.timestamp() - 1), WindowState::NotYet);
        assert_eq!(pw.state(open.timestamp()), WindowState::Open);
    }

    #[test]
    fn assessment_needs_every_required_activity() {
        let rule = PassRule { quiz_percent: 70, final_graded: false };
        let all = |q: Option<f64>, fin: bool| {
            vec![
                ("l1", ActivityState::Lesson { done: true }),
                ("q1", ActivityState::Quiz { best_percent: q }),
                ("f", ActivityState::Final { submitted: fin, graded_pass: None }),
            ]
        };
        assert_eq!(lms_assessment(&rule, all(Some(70.0), true)), Ok(()));
        assert_eq!(lms_assessment(&rule, all(Some(69.9), true)), Err(vec!["q1"]));
        assert_eq!(lms_assessment(&rule, all(None, false)), Err(vec!["q1", "f"]));
        let strict = PassRule { quiz_percent: 70, final_graded: true };
        assert_eq!(lms_assessment(&strict, all(Some(90.0), true)), Err(vec!["f"]));
    }

    #[test]
    fn proposals_respect_fifty_per_core_person() {
        let p = propose_classes(230, 3, 120);
        assert_eq!(p.iter().map(|c| c.0).sum::<usize>(), 230);
        assert!(p.iter().all(|c| c.0 <= 120));
        for (size, staff) in &p {
            assert!(staff.len() * LEARNERS_PER_CORE >= *size || staff.len() == 3, "{p:?}");
        }
        assert_eq!(propose_classes(0, 2, 50), vec![]);
        assert_eq!(propose_classes(10, 0, 50), vec![(10, vec![])]);
    }
}
