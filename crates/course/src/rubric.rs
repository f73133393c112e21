//! Scoring essays and final assignments against their rubric.

use crate::fmt_points;
use crate::model::{CriterionScore, Rubric};

/// Tolerance for comparing sums of quarter points with percentages.
const EPSILON: f64 = 1e-9;

/// Scores are given in steps of this many points.
pub const SCORE_STEP: f64 = 0.25;

/// A grader's scores that do not fit the rubric.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RubricError {
    #[error("Tiêu chí “{title}”: điểm {} nằm ngoài khoảng 0–{}", fmt_points(*.points), fmt_points(*.max_points))]
    ScoreOutOfRange { key: String, title: String, points: f64, max_points: f64 },
    #[error("Tiêu chí “{title}”: điểm {} không phải bội của 0,25", fmt_points(*.points))]
    ScoreStep { key: String, title: String, points: f64 },
    #[error("Chưa chấm tiêu chí “{title}”")]
    CriterionMissing { key: String, title: String },
    #[error("Không có tiêu chí mã “{key}” trong thang đánh giá")]
    CriterionUnknown { key: String },
    #[error("Tiêu chí “{title}” được chấm hai lần")]
    CriterionTwice { key: String, title: String },
}

impl RubricError {
    /// A stable identifier for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            RubricError::ScoreOutOfRange { .. } => "score_out_of_range",
            RubricError::ScoreStep { .. } => "score_step",
            RubricError::CriterionMissing { .. } => "criterion_missing",
            RubricError::CriterionUnknown { .. } => "criterion_unknown",
            RubricError::CriterionTwice { .. } => "criterion_twice",
        }
    }

    /// The key of the criterion concerned.
    pub fn key(&self) -> &str {
        match self {
            RubricError::ScoreOutOfRange { key, .. }
            | RubricError::ScoreStep { key, .. }
            | RubricError::CriterionMissing { key, .. }
            | RubricError::CriterionUnknown { key }
            | RubricError::CriterionTwice { key, .. } => key,
        }
    }
}

/// Whether `x` is a whole number of quarter points.
pub(crate) fn is_quarter(x: f64) -> bool {
    x.is_finite() && ((x / SCORE_STEP).round() * SCORE_STEP - x).abs() < EPSILON
}

impl Rubric {
    /// The maximum total: the sum of the criteria's `max_points`.
    pub fn total(&self) -> f64 {
        self.criteria.iter().map(|c| c.max_points).sum()
    }

    /// Checks a grader's scores and returns their total. Every criterion must be scored exactly
    /// once, with finite points between 0 and its `max_points`, in steps of 0.25.
    pub fn score(&self, scores: &[CriterionScore]) -> Result<f64, RubricError> {
        let mut seen = vec![false; self.criteria.len()];
        let mut total = 0.0;
        for score in scores {
            let Some(i) = self.criteria.iter().position(|c| c.key == score.key) else {
                return Err(RubricError::CriterionUnknown { key: score.key.clone() });
            };
            let criterion = &self.criteria[i];
            if std::mem::replace(&mut seen[i], true) {
                return Err(RubricError::CriterionTwice { key: criterion.key.clone(), title: criterion.title.clone() });
            }
            if !score.points.is_finite() || score.points < 0.0 || score.points > criterion.max_points + EPSILON {
                return Err(RubricError::ScoreOutOfRange {
                    key: criterion.key.clone(),
                    title: criterion.title.clone(),
                    points: score.points,
                    max_points: criterion.max_points,
                });
            }
            if !is_quarter(score.points) {
                return Err(RubricError::ScoreStep {
                    key: criterion.key.clone(),
                    title: criterion.title.clone(),
                    points: score.points,
                });
            }
            total += score.points;
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            let criterion = &self.criteria[i];
            return Err(RubricError::CriterionMissing { key: criterion.key.clone(), title: criterion.title.clone() });
        }
        Ok(total)
    }

    /// Whether `total_points` reaches the pass mark (`total_points × 100 ≥ total × pass_percent`).
    pub fn passed(&self, total_points: f64) -> bool {
        total_points.is_finite() && total_points * 100.0 + EPSILON >= self.total() * f64::from(self.pass_percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Criterion, RubricLevel};

    fn criterion(key: &str, title: &str, max: f64) -> Criterion {
        Criterion {
            key: key.into(),
            title: title.into(),
            max_points: max,
            levels: vec![
                RubricLevel { title: "Tốt".into(), points: max, description: String::new() },
                RubricLevel { title: "Chưa đạt".into(), points: 0.0, description: String::new() },
            ],
        }
    }

    fn rubric() -> Rubric {
        Rubric {
            criteria: vec![
                criterion("noi-dung", "Nội dung", 4.0),
                criterion("phuong-phap", "Phương pháp", 3.0),
                criterion("trinh-bay", "Trình bày", 3.0),
            ],
            pass_percent: 50,
        }
    }

    fn s(key: &str, points: f64) -> CriterionScore {
        CriterionScore { key: key.into(), points }
    }

    #[test]
    fn total_and_score() {
        let r = rubric();
        assert_eq!(r.total(), 10.0);
        assert_eq!(r.score(&[s("trinh-bay", 2.25), s("noi-dung", 4.0), s("phuong-phap", 0.0)]), Ok(6.25));
    }

    #[test]
    fn pass_mark() {
        let r = rubric();
        assert!(r.passed(5.0));
        assert!(r.passed(10.0));
        assert!(!r.passed(4.75));
        assert!(!r.passed(f64::NAN));
        let none = Rubric { criteria: vec![], pass_percent: 0 };
        assert_eq!(none.total(), 0.0);
        assert!(none.passed(0.0));
    }

    #[test]
    fn out_of_range() {
        let r = rubric();
        for bad in [4.25, -0.25, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = r.score(&[s("noi-dung", bad), s("phuong-phap", 1.0), s("trinh-bay", 1.0)]).unwrap_err();
            assert_eq!(err.code(), "score_out_of_range", "{bad}");
            assert_eq!(err.key(), "noi-dung");
        }
        let err = r.score(&[s("noi-dung", 4.5)]).unwrap_err();
        assert_eq!(err.to_string(), "Tiêu chí “Nội dung”: điểm 4,5 nằm ngoài khoảng 0–4");
    }

    #[test]
    fn quarter_steps() {
        let r = rubric();
        let err = r.score(&[s("noi-dung", 2.1), s("phuong-phap", 1.0), s("trinh-bay", 1.0)]).unwrap_err();
        assert_eq!(err.code(), "score_step");
        assert_eq!(err.to_string(), "Tiêu chí “Nội dung”: điểm 2,1 không phải bội của 0,25");
        for ok in [0.25, 0.5, 0.75, 1.0, 3.75] {
            assert!(r.score(&[s("noi-dung", ok), s("phuong-phap", 1.0), s("trinh-bay", 1.0)]).is_ok());
        }
    }

    #[test]
    fn missing_unknown_twice() {
        let r = rubric();
        let err = r.score(&[s("noi-dung", 1.0), s("trinh-bay", 1.0)]).unwrap_err();
        assert_eq!(err, RubricError::CriterionMissing { key: "phuong-phap".into(), title: "Phương pháp".into() });
        assert_eq!(err.code(), "criterion_missing");
        assert_eq!(err.to_string(), "Chưa chấm tiêu chí “Phương pháp”");

        let err = r.score(&[s("noi-dung", 1.0), s("sang-tao", 1.0)]).unwrap_err();
        assert_eq!(err.code(), "criterion_unknown");
        assert_eq!(err.key(), "sang-tao");
        assert_eq!(err.to_string(), "Không có tiêu chí mã “sang-tao” trong thang đánh giá");

        let err = r.score(&[s("noi-dung", 1.0), s("noi-dung", 2.0)]).unwrap_err();
        assert_eq!(err.code(), "criterion_twice");
        assert_eq!(err.to_string(), "Tiêu chí “Nội dung” được chấm hai lần");

        assert_eq!(r.score(&[]).unwrap_err().code(), "criterion_missing");
    }

    #[test]
    fn quarter_helper() {
        assert!(is_quarter(0.0));
        assert!(is_quarter(2.75));
        assert!(is_quarter(0.1 + 0.15));
        assert!(!is_quarter(0.3));
        assert!(!is_quarter(f64::NAN));
    }
}
