//! Course content of a module: the model (sections, lessons, quizzes, essays, the final
//! assignment, rubrics), the package format it is loaded from, sanitized rich text, quiz and
//! rubric scoring, and the content-addressed file store for media and uploads.

pub mod demo;
pub mod files;
pub mod html;
pub mod model;
pub mod package;
pub mod quiz;
pub mod rubric;

pub use demo::demo_package;
pub use files::{
    FileKind, FileStore, PLAN_SCAN_POLICY, SUBMISSION_POLICY, StoredFile, UploadError, UploadPolicy, check_upload,
    sniff,
};
pub use html::{markdown_to_html, sanitize_html};
pub use model::{
    Answer, Assignment, Course, Criterion, CriterionScore, Item, ItemKind, MediaRef, Question, QuestionKind, Quiz,
    Rubric, RubricLevel, Section,
};
pub use package::{MediaFile, Package, PackageError, load_dir, load_files, load_zip, validate};
pub use quiz::{AnswerError, PublicKind, PublicQuestion, pass_mark, passed, public_questions, quiz_total};
pub use rubric::RubricError;

/// Points as Vietnamese users write them: decimal comma, at most two decimals, no trailing zeros
/// ("4", "2,5", "0,25").
pub(crate) fn fmt_points(points: f64) -> String {
    if !points.is_finite() {
        return points.to_string();
    }
    let text = format!("{points:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    text.replace('.', ",")
}

/// Whether `key` is a stable identifier: 1 to 40 of `a-z`, `0-9` and `-`.
pub fn is_valid_key(key: &str) -> bool {
    (1..=40).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_format() {
        assert_eq!(fmt_points(4.0), "4");
        assert_eq!(fmt_points(2.5), "2,5");
        assert_eq!(fmt_points(0.25), "0,25");
        assert_eq!(fmt_points(10.0), "10");
        assert_eq!(fmt_points(-0.001), "0");
        assert_eq!(fmt_points(-1.5), "-1,5");
        assert_eq!(fmt_points(f64::NAN), "NaN");
    }

    #[test]
    fn keys() {
        assert!(is_valid_key("bai-1"));
        assert!(is_valid_key(&"a".repeat(40)));
        assert!(!is_valid_key(&"a".repeat(41)));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("Bai-1"));
        assert!(!is_valid_key("bài-1"));
        assert!(!is_valid_key("bai_1"));
        assert!(!is_valid_key("bai 1"));
    }
}
