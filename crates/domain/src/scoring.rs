//! Scoring and classifying a teacher's or manager's yearly BDTX results by a versioned policy.
//!
//! A policy is data (`policies/*.yaml`, shipped; a province may add its own version): the parts
//! each content or module is scored on and their ranges, the plan's groups with their required
//! periods and weights, how the average is rounded, and the classes as contiguous bands of the
//! average, best first, each with a minimum for every component. Nothing here branches on a
//! regime: the 2012 and 2019 rules differ only by their files.
//!
//! Points are kept as hundredths (`Pts`), and the average is computed as an exact fraction before
//! it is rounded, so 8,95 rounds to 9,0 and never to 8,9 by a floating-point accident.

use serde::{Deserialize, Serialize};

use crate::error::{Checker, Invalid};

/// Points in hundredths: 7,25 points = 725.
pub type Pts = i64;

pub const SHIPPED: [&str; 4] = [
    include_str!("../policies/bdtx-2012-teacher.yaml"),
    include_str!("../policies/bdtx-2012-manager.yaml"),
    include_str!("../policies/bdtx-2019.yaml"),
    include_str!("../policies/bdtx-2012-teacher-v2.yaml"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub min: f64,
    pub max: f64,
}

/// A part every content or module is scored on (knowledge 0–5, application 0–5; or one 0–10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    pub min: f64,
    pub max: f64,
}

/// A group of the plan: a fixed content/programme (the group itself is the one item), or a
/// group of modules chosen from a catalog family (`choose_from`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    /// Periods required in a year.
    pub periods: i64,
    /// Weight of the group's mean in the average.
    pub weight: i64,
    #[serde(default)]
    pub choose_from: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// 8,95 → 9,0
    HalfUp,
    /// 8,85 → 8,8; 8,95 → 9,0
    HalfEven,
    /// 8,99 → 8,9
    Down,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AverageRule {
    /// 0, 1 or 2 decimals.
    pub decimals: u32,
    pub rounding: Rounding,
}

/// What a class's `min_each` applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EachOver {
    /// Every scored content and module.
    Items,
    /// Every group's mean (content 1, content 2, the mean of content-3 modules).
    Groups,
}

/// A class: the band [from, to) of the rounded average (the best band includes the scale's top)
/// and the least every component may score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    pub from: f64,
    pub to: f64,
    pub min_each: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
}

/// A waiver some people may claim in their plan (seed 001 mục II.2: English teachers sent to the
/// Sở's summer 2019 courses need not study content 3): the groups it waives, in which school years
/// and for which subjects. A waived group needs no periods, holds no items and is left out of the
/// average (the remaining groups keep their weights). The claim is part of the plan the approver
/// approves: the approver checks the fact behind it (who was sent), the policy only who may claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    /// Group keys waived.
    pub waives: Vec<String>,
    /// School years ("2019-2020") it may be claimed in; empty: every year the policy is used.
    #[serde(default)]
    pub years: Vec<String>,
    /// Subjects (compared with the person's main and other subjects, accents and case folded);
    /// empty: anyone.
    #[serde(default)]
    pub subjects: Vec<String>,
}

impl Exemption {
    /// May a person teaching `subjects` claim it in `year`?
    pub fn applies(&self, year: &str, subjects: &[String]) -> bool {
        let year_ok = self.years.is_empty() || self.years.iter().any(|y| y.trim() == year.trim());
        let mine: Vec<String> = subjects.iter().map(|s| crate::text::fold(s)).collect();
        let subject_ok = self.subjects.is_empty() || self.subjects.iter().any(|s| mine.contains(&crate::text::fold(s)));
        year_ok && subject_ok
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub id: String,
    pub version: u32,
    pub title_vi: String,
    pub title_en: String,
    /// "2012" or "2019": which catalog and which plan form applies (informational).
    pub regime: String,
    pub scale: Scale,
    pub components: Vec<Component>,
    pub groups: Vec<Group>,
    pub average: AverageRule,
    pub min_each_over: EachOver,
    /// Best first; contiguous bands.
    pub classes: Vec<Class>,
    /// Everything below the last band, and any incomplete year.
    pub fallback: Label,
    /// Waivers a plan may claim (none in most policies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<Exemption>,
}

/// One planned item and its score (None: not scored yet).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemScore {
    pub group: String,
    pub code: String,
    pub score: Option<Pts>,
}

/// A planned item before approval: its group, its code (a content's own key or a module code)
/// and its periods.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanItem {
    pub group: String,
    pub code: String,
    pub periods: i64,
    /// A module completed in a training round, counted in this group because the province says
    /// so (any group may then hold it, fixed or not).
    pub from_round: bool,
}

/// The result of classifying a year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The rounded average, when every group has items and every item is scored.
    pub average: Option<Pts>,
    pub class_key: String,
    pub label_vi: String,
    pub label_en: String,
    /// Every group has at least one item and every item is scored.
    pub complete: bool,
}

/// Hundredths from a decimal of the policy file.
pub fn pts(x: f64) -> Pts {
    (x * 100.0).round() as Pts
}

/// 725 → "7,25"; 900 → "9"; 850 → "8,5" (Vietnamese decimal comma).
pub fn show(p: Pts) -> String {
    let sign = if p < 0 { "-" } else { "" };
    let p = p.abs();
    let (i, f) = (p / 100, p % 100);
    match f {
        0 => format!("{sign}{i}"),
        f if f % 10 == 0 => format!("{sign}{i},{}", f / 10),
        f => format!("{sign}{i},{f:02}"),
    }
}

/// Show an average with exactly the policy's decimals: 900 with 1 decimal → "9,0".
pub fn show_fixed(p: Pts, decimals: u32) -> String {
    let s = format!("{:.*}", decimals as usize, p as f64 / 100.0);
    s.replace('.', ",")
}

/// Parse points as typed ("4", "4,5", "4.25") within [min, max]; at most two decimals.
pub fn parse_points(s: &str, min: Pts, max: Pts) -> Result<Pts, &'static str> {
    let s = s.trim().replace(',', ".");
    if s.is_empty() {
        return Err("required");
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s.as_str(), ""),
    };
    let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
    let negative = int.starts_with('-');
    let int_digits = int.trim_start_matches('-');
    if int_digits.is_empty() && frac.is_empty() || !digits(int_digits) || !digits(frac) || int_digits.len() > 6 {
        return Err("score_number");
    }
    if frac.len() > 2 {
        return Err("score_precision");
    }
    let i: i64 = if int_digits.is_empty() { 0 } else { int_digits.parse().map_err(|_| "score_number")? };
    let f: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| "score_number")? };
    let v = (i * 100 + f) * if negative { -1 } else { 1 };
    if v < min || v > max {
        return Err("score_range");
    }
    Ok(v)
}

impl Policy {
    /// `id@version`, how a year and a result name their policy.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// Parse and check a policy file; a file that does not parse or is inconsistent is refused
    /// whole with every problem named.
    pub fn from_yaml(text: &str) -> Result<Policy, Invalid> {
        let p: Policy = serde_yaml_ng::from_str(text).map_err(|_| Invalid::one("policy", "policy_yaml"))?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::default();
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 60
            && self.id.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
        if !id_ok {
            c.add("policy_id", "policy_id");
        }
        if self.version == 0 {
            c.add("policy_version", "policy_version");
        }
        for (field, s) in [("policy_title", &self.title_vi), ("policy_title", &self.title_en)] {
            if s.trim().is_empty() {
                c.add(field, "required");
            }
        }
        let (lo, hi) = (pts(self.scale.min), pts(self.scale.max));
        if lo < 0 || lo >= hi {
            c.add("policy_scale", "policy_scale");
        }
        // Components: their ranges add up to the scale.
        if self.components.is_empty() {
            c.add("policy_components", "required");
        }
        let mut keys = std::collections::HashSet::new();
        for k in &self.components {
            if !keys.insert(k.key.as_str()) {
                c.add(&k.label_vi, "duplicate");
            }
            if pts(k.min) < 0 || pts(k.min) >= pts(k.max) {
                c.add(&k.label_vi, "policy_range");
            }
        }
        let (sum_lo, sum_hi): (Pts, Pts) =
            self.components.iter().fold((0, 0), |(a, b), k| (a + pts(k.min), b + pts(k.max)));
        if !self.components.is_empty() && (sum_lo != lo || sum_hi != hi) {
            c.add("policy_components", "policy_components_scale");
        }
        // Groups.
        if self.groups.is_empty() {
            c.add("policy_groups", "required");
        }
        let mut gkeys = std::collections::HashSet::new();
        for g in &self.groups {
            if !gkeys.insert(g.key.as_str()) || g.key.trim().is_empty() {
                c.add(&g.label_vi, "duplicate");
            }
            if !(1..=1000).contains(&g.periods) {
                c.add(&g.label_vi, "policy_periods");
            }
            if !(1..=100).contains(&g.weight) {
                c.add(&g.label_vi, "policy_weight");
            }
        }
        if self.average.decimals > 2 {
            c.add("policy_decimals", "policy_decimals");
        }
        // Classes: non-empty bands inside the scale, best first, each starting where the one
        // above ends: no overlap, no gap; the best reaches the top.
        if self.classes.is_empty() {
            c.add("policy_classes", "required");
        }
        let mut ckeys = std::collections::HashSet::new();
        ckeys.insert(self.fallback.key.as_str());
        if self.fallback.key.trim().is_empty() || self.fallback.label_vi.trim().is_empty() {
            c.add("policy_fallback", "required");
        }
        for k in &self.classes {
            if !ckeys.insert(k.key.as_str()) || k.key.trim().is_empty() {
                c.add(&k.label_vi, "duplicate");
            }
            let (from, to, each) = (pts(k.from), pts(k.to), pts(k.min_each));
            if from >= to {
                c.add(&k.label_vi, "policy_class_empty");
            }
            if from < lo || to > hi || each < lo || each > hi {
                c.add(&k.label_vi, "policy_out_of_scale");
            }
        }
        if let Some(top) = self.classes.first().filter(|top| pts(top.to) != hi) {
            c.add(&top.label_vi, "policy_gap_top");
        }
        for w in self.classes.windows(2) {
            let (upper, lower) = (&w[0], &w[1]);
            let field = format!("{} / {}", upper.label_vi, lower.label_vi);
            match pts(lower.to).cmp(&pts(upper.from)) {
                std::cmp::Ordering::Greater => c.add(&field, "policy_overlap"),
                std::cmp::Ordering::Less => c.add(&field, "policy_gap"),
                std::cmp::Ordering::Equal => {}
            }
        }
        // Exemptions: unique keys, waiving known groups, never every group; years well formed.
        let mut ekeys = std::collections::HashSet::new();
        for e in &self.exemptions {
            if !ekeys.insert(e.key.as_str()) || e.key.trim().is_empty() || e.label_vi.trim().is_empty() {
                c.add(&e.label_vi, "duplicate");
            }
            if e.waives.is_empty() || e.waives.iter().any(|g| self.group(g).is_none()) {
                c.add(&e.label_vi, "yearly_group_unknown");
            }
            if !self.groups.is_empty() && self.groups.iter().all(|g| e.waives.contains(&g.key)) {
                c.add(&e.label_vi, "policy_exemption_all");
            }
            if e.years.iter().any(|y| parse_school_year(y).is_none()) {
                c.add(&e.label_vi, "school_year");
            }
        }
        c.finish()
    }

    pub fn exemption(&self, key: &str) -> Option<&Exemption> {
        self.exemptions.iter().find(|e| e.key == key)
    }

    /// The groups an exemption waives (none without one).
    pub fn waived(&self, exemption: Option<&str>) -> Vec<String> {
        exemption.and_then(|k| self.exemption(k)).map(|e| e.waives.clone()).unwrap_or_default()
    }

    pub fn group(&self, key: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.key == key)
    }

    /// Required periods in a year (120 in 2019, 30 + 30 + 60 in 2012).
    pub fn required_periods(&self) -> i64 {
        self.groups.iter().map(|g| g.periods).sum()
    }

    /// Check a plan: known groups, periods 1–200 per item, no item twice, and every group holding
    /// at least its required periods (the field names the group and what it holds). A group
    /// `waived` by the plan's exemption needs nothing and may hold nothing.
    pub fn check_plan(&self, items: &[PlanItem], waived: &[String]) -> Result<(), Invalid> {
        let mut c = Checker::default();
        let mut seen = std::collections::HashSet::new();
        for i in items {
            let Some(g) = self.group(&i.group) else {
                c.add(&i.code, "yearly_group_unknown");
                continue;
            };
            if waived.contains(&g.key) {
                c.add(&i.code, "yearly_group_exempt");
                continue;
            }
            if g.choose_from.is_none() && i.code != g.key && !i.from_round {
                c.add(&i.code, "yearly_group_unknown");
            }
            if !(1..=200).contains(&i.periods) {
                c.add(&i.code, "yearly_periods_range");
            }
            if !seen.insert(i.code.as_str()) {
                c.add(&i.code, "duplicate");
            }
        }
        for g in self.groups.iter().filter(|g| !waived.contains(&g.key)) {
            let total: i64 = items.iter().filter(|i| i.group == g.key).map(|i| i.periods.max(0)).sum();
            if total < g.periods {
                c.add(&format!("{} ({total}/{} tiết)", g.label_vi, g.periods), "yearly_periods_short");
            }
        }
        c.finish()
    }

    /// An item's score from its parts as typed, one per component in order; each part is
    /// checked against its own range (the field is the part's label).
    pub fn item_score(&self, parts: &[&str]) -> Result<(Pts, Vec<Pts>), Invalid> {
        let mut c = Checker::default();
        let mut values = Vec::new();
        for (k, raw) in self.components.iter().zip(parts.iter().chain(std::iter::repeat(&""))) {
            match parse_points(raw, pts(k.min), pts(k.max)) {
                Ok(v) => values.push(v),
                Err(code) => c.add(&format!("{} ({}–{})", k.label_vi, show(pts(k.min)), show(pts(k.max))), code),
            }
        }
        c.finish()?;
        Ok((values.iter().sum(), values))
    }

    /// Classify a year: the rounded average of the groups' means by weight, and the first class
    /// (best first) whose band starts at or below it and whose minimum every component meets.
    /// A year with an empty group or an unscored item gets the fallback. Groups `waived` by the
    /// plan's exemption are left out (their items too); the others keep their weights.
    pub fn classify(&self, items: &[ItemScore], waived: &[String]) -> Outcome {
        let items: Vec<&ItemScore> = items.iter().filter(|i| !waived.contains(&i.group)).collect();
        let fallback = |average| Outcome {
            average,
            class_key: self.fallback.key.clone(),
            label_vi: self.fallback.label_vi.clone(),
            label_en: self.fallback.label_en.clone(),
            complete: average.is_some(),
        };
        // Exact fraction num/den of the weighted mean, in hundredths.
        let (mut num, mut den): (i128, i128) = (0, 1);
        let mut weights: i128 = 0;
        let mut group_means: Vec<(i128, i128)> = Vec::new();
        for g in self.groups.iter().filter(|g| !waived.contains(&g.key)) {
            let scores: Vec<Option<Pts>> = items.iter().filter(|i| i.group == g.key).map(|i| i.score).collect();
            if scores.is_empty() || scores.iter().any(Option::is_none) {
                return fallback(None);
            }
            let sum: i128 = scores.iter().flatten().map(|s| *s as i128).sum();
            let n = scores.len() as i128;
            group_means.push((sum, n));
            num = num * n + g.weight as i128 * sum * den;
            den *= n;
            weights += g.weight as i128;
        }
        if weights == 0 {
            return fallback(None);
        }
        den *= weights;
        let unit: i128 = 10i128.pow(2 - self.average.decimals.min(2));
        let d = den * unit;
        let q = match self.average.rounding {
            Rounding::Down => num.div_euclid(d),
            Rounding::HalfUp => (2 * num + d).div_euclid(2 * d),
            Rounding::HalfEven => {
                let (fl, rem) = (num.div_euclid(d), num.rem_euclid(d));
                match (2 * rem).cmp(&d) {
                    std::cmp::Ordering::Less => fl,
                    std::cmp::Ordering::Greater => fl + 1,
                    std::cmp::Ordering::Equal => fl + (fl & 1),
                }
            }
        };
        let average = (q * unit) as Pts;
        let each_ok = |min: Pts| match self.min_each_over {
            EachOver::Items => items.iter().all(|i| i.score.is_some_and(|s| s >= min)),
            EachOver::Groups => group_means.iter().all(|(sum, n)| *sum >= min as i128 * n),
        };
        for k in &self.classes {
            if average >= pts(k.from) && each_ok(pts(k.min_each)) {
                return Outcome {
                    average: Some(average),
                    class_key: k.key.clone(),
                    label_vi: k.label_vi.clone(),
                    label_en: k.label_en.clone(),
                    complete: true,
                };
            }
        }
        fallback(Some(average))
    }

    /// The label of a class key (or the fallback's).
    pub fn label_of(&self, key: &str) -> Option<&str> {
        if self.fallback.key == key {
            return Some(&self.fallback.label_vi);
        }
        self.classes.iter().find(|k| k.key == key).map(|k| k.label_vi.as_str())
    }
}

/// The policies shipped with the binary.
pub fn shipped() -> Vec<Policy> {
    SHIPPED.iter().map(|t| Policy::from_yaml(t).expect("shipped policies are valid (checked by tests)")).collect()
}

/// A shipped policy by `id` or `id@version`.
pub fn shipped_policy(reference: &str) -> Option<Policy> {
    let (id, version) = match reference.split_once('@') {
        Some((i, v)) => (i, v.parse::<u32>().ok()),
        None => (reference, None),
    };
    shipped().into_iter().filter(|p| p.id == id && version.is_none_or(|v| v == p.version)).max_by_key(|p| p.version)
}

/// Who a policy is for: teachers (and preschool managers), or primary and lower-secondary
/// managers (classified Đạt / Không đạt under the 2012 rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Teacher,
    Manager,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Teacher => "teacher",
            Audience::Manager => "manager",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "teacher" => Some(Audience::Teacher),
            "manager" => Some(Audience::Manager),
            _ => None,
        }
    }
    /// A principal or vice-principal of a primary or lower-secondary school is a manager for
    /// scoring; a preschool manager is classified like teachers (seed 001 mục V.2).
    pub fn of(manager: bool, levels: &[crate::org::Level]) -> Audience {
        use crate::org::Level;
        if manager && levels.iter().any(|l| matches!(l, Level::TH | Level::THCS)) {
            Audience::Manager
        } else {
            Audience::Teacher
        }
    }
}

/// A school year "2019-2020": its first calendar year. Refuses anything else.
pub fn parse_school_year(s: &str) -> Option<i32> {
    let (a, b) = s.trim().split_once('-')?;
    let (a, b): (i32, i32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    ((2000..=2100).contains(&a) && b == a + 1).then_some(a)
}

/// The policy a province uses for a year when it has chosen none: Circular 26/2012 up to
/// 2019-2020 (seed 001 still applies it that year; version 2 adds the English teachers'
/// exemption of seed 001 mục II.2), Circular 19/2019 from 2020-2021.
pub fn default_policy(start_year: i32, audience: Audience) -> &'static str {
    match (start_year >= 2020, audience) {
        (true, _) => "bdtx-2019@1",
        (false, Audience::Teacher) => "bdtx-2012-teacher@2",
        (false, Audience::Manager) => "bdtx-2012-manager@1",
    }
}

/// The last day for submitting a personal plan (31 May under the 2019 rules, of the year's
/// second calendar year).
pub fn plan_deadline(start_year: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(start_year + 1, 5, 31).expect("valid date")
}

/// The dated deadlines a province sets for a school year (seed 001: schools report their
/// classified list to the office "trước ngày 20/5/2020", offices to the Sở "trước ngày 21/5/2020";
/// the 2019 rules: personal plans by 31 May), in the order they fall.
pub const DEADLINE_KINDS: [&str; 4] = ["plan_submit", "plan_approve", "school_report", "office_report"];

/// Check a year's deadlines as a whole: known kinds, each within the school year (1 August to
/// 31 December of its second calendar year), plans submitted no later than approved, schools
/// reporting no later than offices. The field names the kind.
pub fn check_deadlines(start_year: i32, due: &[(&str, Option<chrono::NaiveDate>)]) -> Result<(), Invalid> {
    let mut c = Checker::default();
    let first = chrono::NaiveDate::from_ymd_opt(start_year, 8, 1).expect("valid date");
    let last = chrono::NaiveDate::from_ymd_opt(start_year + 1, 12, 31).expect("valid date");
    let get = |k: &str| due.iter().find(|(x, _)| *x == k).and_then(|(_, d)| *d);
    for (kind, d) in due {
        if !DEADLINE_KINDS.contains(kind) {
            c.add(kind, "invalid");
        } else if d.is_some_and(|d| d < first || d > last) {
            c.add(&format!("yearly_deadline_{kind}"), "yearly_deadline_range");
        }
    }
    for (before, after) in [("plan_submit", "plan_approve"), ("school_report", "office_report")] {
        if let (Some(a), Some(b)) = (get(before), get(after))
            && a > b
        {
            c.add(&format!("yearly_deadline_{after}"), "yearly_deadline_order");
        }
    }
    c.finish()
}

/// Sent after the last day `due` (at or after 00:00 Vietnam time the day after), or not sent
/// and that moment has passed. No deadline: never late.
pub fn is_late(due: Option<chrono::NaiveDate>, sent_at: Option<i64>, now: i64) -> bool {
    let Some(limit) = due.and_then(|d| d.succ_opt()).map(crate::round::day_start) else { return false };
    sent_at.unwrap_or(now) >= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(group: &str, code: &str, score: f64) -> ItemScore {
        ItemScore { group: group.into(), code: code.into(), score: Some(pts(score)) }
    }
    fn year2012(nd1: f64, nd2: f64, nd3: &[f64]) -> Vec<ItemScore> {
        let mut v = vec![item("ND1", "ND1", nd1), item("ND2", "ND2", nd2)];
        for (i, s) in nd3.iter().enumerate() {
            v.push(item("ND3", &format!("TH{}", i + 1), *s));
        }
        v
    }

    #[test]
    fn shipped_policies_are_valid() {
        let all = shipped();
        assert_eq!(all.len(), 4);
        let (v1, v2) = (shipped_policy("bdtx-2012-teacher@1").unwrap(), shipped_policy("bdtx-2012-teacher").unwrap());
        assert_eq!(v2.version, 2, "the latest version");
        assert_eq!((v1.groups == v2.groups, v1.classes == v2.classes, v1.average == v2.average), (true, true, true));
        assert!(v1.exemptions.is_empty() && v2.exemptions.len() == 1, "version 2 only adds the exemption");
        assert_eq!(shipped_policy("bdtx-2012-teacher").unwrap().required_periods(), 120);
        assert_eq!(shipped_policy("bdtx-2019@1").unwrap().required_periods(), 120);
        let p = shipped_policy("bdtx-2019").unwrap();
        assert_eq!(p.groups.iter().map(|g| g.periods).collect::<Vec<_>>(), vec![40, 40, 40]);
        let p = shipped_policy("bdtx-2012-teacher").unwrap();
        assert_eq!(p.groups.iter().map(|g| g.periods).collect::<Vec<_>>(), vec![30, 30, 60]);
        assert!(shipped_policy("bdtx-2019@2").is_none());
    }

    /// Article 13 of Circular 26/2012: ĐTB = (ND1 + ND2 + ND3 × 2) / 4, ND3 the mean of the
    /// content-3 modules, one decimal; article 14's classes (as DOMAIN.md summarises them).
    #[test]
    fn teacher_2012_worked_examples() {
        let p = shipped_policy("bdtx-2012-teacher").unwrap();
        let c = |nd1, nd2, nd3: &[f64]| {
            let o = p.classify(&year2012(nd1, nd2, nd3), &[]);
            (o.average.map(show), o.label_vi)
        };
        // (8 + 9 + 2 × 9,5) / 4 = 9,0: Giỏi (no component below 7).
        assert_eq!(c(8.0, 9.0, &[9.0, 10.0]), (Some("9".into()), "Giỏi".into()));
        // (6,5 + 10 + 2 × 10) / 4 = 9,125 → 9,1 but content 1 is below 7: not Giỏi, Khá.
        assert_eq!(c(6.5, 10.0, &[10.0]), (Some("9,1".into()), "Khá".into()));
        // (7 + 7 + 2 × 7) / 4 = 7,0: Khá, the band's lower edge.
        assert_eq!(c(7.0, 7.0, &[7.0]), (Some("7".into()), "Khá".into()));
        // (7 + 6,5 + 2 × 7) / 4 = 6,875 → 6,9: Trung bình.
        assert_eq!(c(7.0, 6.5, &[7.0]), (Some("6,9".into()), "Trung bình".into()));
        // (5 + 5 + 2 × 5) / 4 = 5,0: Trung bình at its lower edge.
        assert_eq!(c(5.0, 5.0, &[5.0, 5.0]).1, "Trung bình");
        // A module at 4,5 although the average is (8 + 8 + 2 × 6,75) / 4 = 7,375 → 7,4:
        // Không hoàn thành kế hoạch.
        assert_eq!(c(8.0, 8.0, &[4.5, 9.0]), (Some("7,4".into()), "Không hoàn thành kế hoạch".into()));
        // (4 + 5 + 2 × 5) / 4 = 4,75 → 4,8.
        assert_eq!(c(4.0, 5.0, &[5.0]), (Some("4,8".into()), "Không hoàn thành kế hoạch".into()));
        // Rounding is exact: (9 + 9 + 2 × 8,9) / 4 = 8,95 → 9,0 (half up), Giỏi.
        assert_eq!(c(9.0, 9.0, &[8.9]), (Some("9".into()), "Giỏi".into()));
        // (9 + 9 + 2 × 8,85) / 4 = 8,925 → 8,9: Khá.
        assert_eq!(c(9.0, 9.0, &[8.85]), (Some("8,9".into()), "Khá".into()));
    }

    #[test]
    fn incomplete_years_are_not_completed() {
        let p = shipped_policy("bdtx-2012-teacher").unwrap();
        let mut items = year2012(10.0, 10.0, &[10.0]);
        items[2].score = None;
        let o = p.classify(&items, &[]);
        assert_eq!((o.average, o.class_key.as_str(), o.complete), (None, "khong_hoan_thanh", false));
        let o = p.classify(&items[..2], &[]);
        assert_eq!(o.class_key, "khong_hoan_thanh", "no content-3 module");
    }

    /// Seed 001 mục V.4.2: managers of primary and lower-secondary schools meet requirements
    /// when the average and every component are 5 or more.
    #[test]
    fn manager_2012_pass_or_fail() {
        let p = shipped_policy("bdtx-2012-manager").unwrap();
        assert_eq!(p.classify(&year2012(5.0, 5.0, &[5.0]), &[]).label_vi, "Đạt yêu cầu");
        assert_eq!(p.classify(&year2012(10.0, 10.0, &[4.75, 10.0]), &[]).label_vi, "Không đạt yêu cầu");
        assert_eq!(p.classify(&year2012(4.5, 5.0, &[5.0]), &[]).label_vi, "Không đạt yêu cầu");
    }

    /// The 2012 data against seed 001's own words (mục V): what the seed states is checked here;
    /// the teachers' average and thresholds it only refers to (Điều 13, 14) stay unverified.
    #[test]
    fn seed_001_wording_of_the_2012_rules() {
        // V.3.1: "Tiếp thu kiến thức và kĩ năng … (5,0 điểm)", "Vận dụng kiến thức BDTX vào hoạt
        // động nghề nghiệp … (5,0 điểm)".
        for id in ["bdtx-2012-teacher@1", "bdtx-2012-teacher@2", "bdtx-2012-manager@1"] {
            let p = shipped_policy(id).unwrap();
            let parts: Vec<_> = p.components.iter().map(|k| (k.key.as_str(), pts(k.min), pts(k.max))).collect();
            assert_eq!(parts, vec![("knowledge", 0, 500), ("application", 0, 500)], "{id}");
        }
        // V.2: "gồm 4 loại: Loại Giỏi, loại Khá, loại Trung bình và không hoàn thành kế hoạch".
        let p = shipped_policy("bdtx-2012-teacher@1").unwrap();
        let mut names: Vec<_> = p.classes.iter().map(|k| k.label_vi.to_lowercase()).collect();
        names.push(p.fallback.label_vi.to_lowercase());
        assert_eq!(names, vec!["giỏi", "khá", "trung bình", "không hoàn thành kế hoạch"]);
        // V.4.2: "đạt yêu cầu (nếu Điểm trung bình BDTX và các điểm thành phần đạt từ 5 điểm trở
        // lên) và không đạt yêu cầu (đối với các trường hợp còn lại)".
        let m = shipped_policy("bdtx-2012-manager@1").unwrap();
        assert_eq!(m.classes.len(), 1);
        assert_eq!((pts(m.classes[0].from), pts(m.classes[0].min_each)), (500, 500));
        assert_eq!(
            (m.classes[0].label_vi.as_str(), m.fallback.label_vi.as_str()),
            ("Đạt yêu cầu", "Không đạt yêu cầu")
        );
        // Every component exactly 5 and the average 5: "từ 5 điểm trở lên" includes 5.
        assert_eq!(m.classify(&year2012(5.0, 5.0, &[5.0, 5.0]), &[]).class_key, "dat");
        // An average well above 5 with one component at 4,99: "các trường hợp còn lại".
        assert_eq!(m.classify(&year2012(9.0, 9.0, &[4.99, 9.0]), &[]).class_key, "khong_dat");
        assert_eq!(m.classify(&year2012(4.99, 4.99, &[5.0]), &[]).class_key, "khong_dat");
    }

    /// Seed 001 mục II.2: "Miễn nhiệm vụ bồi dưỡng nội dung khối kiến thức tự chọn (nội dung 3)
    /// đối với giáo viên tiếng Anh đã được cử tham gia các lớp bồi dưỡng nâng cao năng lực tiếng
    /// Anh và bồi dưỡng nghiệp vụ sư phạm do Sở GD&ĐT tổ chức trong hè 2019."
    #[test]
    fn english_teachers_exempt_from_content_3_in_2019_2020() {
        let p = shipped_policy("bdtx-2012-teacher@2").unwrap();
        let e = p.exemption("tieng-anh-he-2019").unwrap();
        assert_eq!(e.waives, vec!["ND3".to_string()]);
        let english = vec!["tiếng anh".to_string()];
        assert!(e.applies("2019-2020", &english), "accents and case folded");
        assert!(!e.applies("2020-2021", &english), "the summer 2019 courses: that year only");
        assert!(!e.applies("2019-2020", &["Toán".to_string()]), "English teachers only");
        let waived = p.waived(Some("tieng-anh-he-2019"));
        let it = |g: &str, c: &str, n| PlanItem { group: g.into(), code: c.into(), periods: n, from_round: false };
        let plan = [it("ND1", "ND1", 30), it("ND2", "ND2", 30)];
        assert_eq!(p.check_plan(&plan, &[]).unwrap_err().errors[0].code, "yearly_periods_short");
        assert!(p.check_plan(&plan, &waived).is_ok(), "content 3 needs nothing");
        let with_nd3 = [it("ND1", "ND1", 30), it("ND2", "ND2", 30), it("ND3", "TH1", 60)];
        assert_eq!(p.check_plan(&with_nd3, &waived).unwrap_err().errors[0].code, "yearly_group_exempt");
        // The average of the contents studied, by their weights: (8 + 9) / 2 = 8,5.
        let o = p.classify(&year2012(8.0, 9.0, &[]), &waived);
        assert_eq!((o.average, o.label_vi.as_str()), (Some(850), "Khá"));
        assert_eq!(p.classify(&year2012(8.0, 9.0, &[]), &[]).class_key, "khong_hoan_thanh", "not exempt");
        // A policy waiving every group, or an unknown one, is refused.
        let all = SHIPPED[3].replace("waives: [ND3]", "waives: [ND1, ND2, ND3]");
        assert_eq!(Policy::from_yaml(&all).unwrap_err().errors[0].code, "policy_exemption_all");
        let unknown = SHIPPED[3].replace("waives: [ND3]", "waives: [ND4]");
        assert_eq!(Policy::from_yaml(&unknown).unwrap_err().errors[0].code, "yearly_group_unknown");
    }

    #[test]
    fn regime_2019_complete_when_every_item_passes() {
        let p = shipped_policy("bdtx-2019").unwrap();
        let mut items = vec![item("CT01", "CT01", 8.0), item("CT02", "CT02", 7.0), item("CT03", "GVPT05", 5.0)];
        let o = p.classify(&items, &[]);
        assert_eq!((o.label_vi.as_str(), o.average), ("Hoàn thành", Some(670)));
        items.push(item("CT03", "GVPT08", 4.99));
        assert_eq!(p.classify(&items, &[]).label_vi, "Không hoàn thành");
    }

    #[test]
    fn rounding_modes() {
        let mut p = shipped_policy("bdtx-2019").unwrap();
        let items = [item("CT01", "CT01", 8.85), item("CT02", "CT02", 8.85), item("CT03", "GVPT01", 8.85)];
        assert_eq!(p.classify(&items, &[]).average, Some(890));
        p.average.rounding = Rounding::HalfEven;
        assert_eq!(p.classify(&items, &[]).average, Some(880));
        p.average.rounding = Rounding::Down;
        assert_eq!(p.classify(&items, &[]).average, Some(880));
        p.average.decimals = 2;
        assert_eq!(p.classify(&items, &[]).average, Some(885));
    }

    #[test]
    fn inconsistent_policies_are_refused_with_reasons() {
        let text = SHIPPED[0];
        let overlap = text.replace("from: 7, to: 9", "from: 7, to: 9.5");
        let e = Policy::from_yaml(&overlap).unwrap_err();
        let got: Vec<_> = e.errors.iter().map(|f| (f.field.as_str(), f.code)).collect();
        assert_eq!(got, vec![("Giỏi / Khá", "policy_overlap")]);
        let gap = text.replace("from: 5, to: 7", "from: 5, to: 6.5");
        let e = Policy::from_yaml(&gap).unwrap_err();
        assert_eq!(e.errors[0].field, "Khá / Trung bình");
        assert_eq!(e.errors[0].code, "policy_gap");
        let top = text.replace("from: 9, to: 10", "from: 9, to: 9.5");
        assert_eq!(Policy::from_yaml(&top).unwrap_err().errors[0].code, "policy_gap_top");
        let parts =
            text.replace("min: 0, max: 5 }\n  - { key: application", "min: 0, max: 6 }\n  - { key: application");
        assert_eq!(Policy::from_yaml(&parts).unwrap_err().errors[0].code, "policy_components_scale");
        assert_eq!(Policy::from_yaml("id: [").unwrap_err().errors[0].code, "policy_yaml");
        let empty = text.replace("from: 5, to: 7", "from: 7, to: 7");
        assert!(Policy::from_yaml(&empty).unwrap_err().errors.iter().any(|e| e.code == "policy_class_empty"));
    }

    #[test]
    fn plans_need_the_required_periods() {
        let p = shipped_policy("bdtx-2019").unwrap();
        let it = |g: &str, c: &str, n| PlanItem { group: g.into(), code: c.into(), periods: n, from_round: false };
        let full =
            vec![it("CT01", "CT01", 40), it("CT02", "CT02", 40), it("CT03", "GVPT05", 20), it("CT03", "GVPT08", 20)];
        assert!(p.check_plan(&full, &[]).is_ok());
        let short = vec![it("CT01", "CT01", 40), it("CT02", "CT02", 40), it("CT03", "GVPT05", 30)];
        let e = p.check_plan(&short, &[]).unwrap_err();
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].field, "Chương trình bồi dưỡng 03 (mô đun tự chọn) (30/40 tiết)");
        assert_eq!(e.errors[0].code, "yearly_periods_short");
        let mut dup = full.clone();
        dup.push(it("CT03", "GVPT05", 5));
        assert_eq!(p.check_plan(&dup, &[]).unwrap_err().errors[0].code, "duplicate");
        let bad = vec![it("CT01", "CT02", 40)];
        assert!(p.check_plan(&bad, &[]).unwrap_err().errors.iter().any(|e| e.code == "yearly_group_unknown"));
        // A module completed in a round may count towards programme 01 where the province says so.
        let round = PlanItem { group: "CT01".into(), code: "GV4660-02".into(), periods: 20, from_round: true };
        let mut with_round = vec![it("CT01", "CT01", 20), round, it("CT02", "CT02", 40), it("CT03", "GVPT05", 40)];
        assert!(p.check_plan(&with_round, &[]).is_ok());
        with_round[1].from_round = false;
        assert!(p.check_plan(&with_round, &[]).is_err());
        let p = shipped_policy("bdtx-2012-teacher").unwrap();
        let e = p.check_plan(&[it("ND1", "ND1", 30), it("ND2", "ND2", 30), it("ND3", "TH1", 45)], &[]).unwrap_err();
        assert_eq!(e.errors[0].field, "Nội dung bồi dưỡng 3 (mô đun tự chọn) (45/60 tiết)");
    }

    #[test]
    fn points_as_typed() {
        assert_eq!(parse_points("4,5", 0, 500), Ok(450));
        assert_eq!(parse_points(" 5 ", 0, 500), Ok(500));
        assert_eq!(parse_points("0.25", 0, 500), Ok(25));
        assert_eq!(parse_points("5,5", 0, 500), Err("score_range"));
        assert_eq!(parse_points("-1", 0, 500), Err("score_range"));
        assert_eq!(parse_points("4,125", 0, 500), Err("score_precision"));
        assert_eq!(parse_points("năm", 0, 500), Err("score_number"));
        assert_eq!(parse_points("", 0, 500), Err("required"));
        assert_eq!(parse_points(".", 0, 500), Err("score_number"));
        let p = shipped_policy("bdtx-2012-teacher").unwrap();
        assert_eq!(p.item_score(&["4,5", "4"]).unwrap().0, 850);
        let e = p.item_score(&["6", "4"]).unwrap_err();
        assert_eq!(
            (e.errors[0].field.as_str(), e.errors[0].code),
            ("Tiếp thu kiến thức, kĩ năng (0–5)", "score_range")
        );
        assert_eq!(show(850), "8,5");
        assert_eq!(show(725), "7,25");
        assert_eq!(show_fixed(900, 1), "9,0");
    }

    #[test]
    fn deadlines_in_order_and_lateness() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        // Seed 001 (Mai Sơn, 2019-2020): schools by 20/5/2020, the office by 21/5/2020.
        let seed = [("school_report", d("2020-05-20")), ("office_report", d("2020-05-21"))];
        assert!(check_deadlines(2019, &seed).is_ok());
        let swapped = [("school_report", d("2020-05-22")), ("office_report", d("2020-05-21"))];
        let e = check_deadlines(2019, &swapped).unwrap_err();
        assert_eq!(
            (e.errors[0].field.as_str(), e.errors[0].code),
            ("yearly_deadline_office_report", "yearly_deadline_order")
        );
        let e = check_deadlines(2019, &[("plan_submit", d("2021-05-31"))]).unwrap_err();
        assert_eq!(e.errors[0].code, "yearly_deadline_range");
        assert!(check_deadlines(2019, &[("plan_submit", None), ("nope", None)]).is_err());
        let due = d("2020-05-20");
        let day = |s: &str| crate::round::day_start(d(s).unwrap());
        assert!(!is_late(due, Some(day("2020-05-20") + 23 * 3600), 0), "the last day is on time");
        assert!(is_late(due, Some(day("2020-05-21")), 0), "00:00 the day after is late");
        assert!(!is_late(due, None, day("2020-05-20")), "not sent, still time");
        assert!(is_late(due, None, day("2020-05-21")), "not sent, past the deadline");
        assert!(!is_late(None, None, i64::MAX));
    }

    #[test]
    fn years_and_defaults() {
        assert_eq!(parse_school_year("2019-2020"), Some(2019));
        assert_eq!(parse_school_year("2019-2021"), None);
        assert_eq!(parse_school_year("x"), None);
        assert_eq!(default_policy(2019, Audience::Manager), "bdtx-2012-manager@1");
        assert_eq!(default_policy(2019, Audience::Teacher), "bdtx-2012-teacher@2");
        assert_eq!(default_policy(2024, Audience::Manager), "bdtx-2019@1");
        assert_eq!(plan_deadline(2024).to_string(), "2025-05-31");
        use crate::org::Level;
        assert_eq!(Audience::of(true, &[Level::TH]), Audience::Manager);
        assert_eq!(Audience::of(true, &[Level::MN]), Audience::Teacher);
        assert_eq!(Audience::of(false, &[Level::THCS]), Audience::Teacher);
    }
}
