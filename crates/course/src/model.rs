//! The course model. Stored as JSON by `bdtx-store`; the keys (`Item::key`, `Question::key`,
//! `Criterion::key`) are stable identifiers that progress, attempts and grades refer to.

use serde::{Deserialize, Serialize};

/// A module's online course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Course {
    /// Catalog module code this course teaches (e.g. "GV4660-02"); may be a free code.
    pub module_code: String,
    pub title: String,
    /// Sanitized HTML.
    pub summary_html: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub items: Vec<Item>,
}

/// One activity of a course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique in the course: [a-z0-9-]{1,40}.
    pub key: String,
    pub title: String,
    /// Counts for the LMS's automatic assessment.
    pub required: bool,
    pub kind: ItemKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    Lesson {
        /// Sanitized HTML.
        body_html: String,
        /// A video: an https URL or a media file of the package.
        video: Option<MediaRef>,
        documents: Vec<MediaRef>,
    },
    Quiz(Quiz),
    /// An essay question: free text (and files if allowed), graded by the class's core person.
    Essay(Assignment),
    /// The final assignment (bài tập cuối khóa).
    Final(Assignment),
}

/// A link to a video or document: a package file (stored content-addressed) or an external URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaRef {
    pub title: String,
    /// `/files/<sha256>/<name>` for package files, or an https URL.
    pub url: String,
    pub mime: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// Sanitized HTML.
    pub prompt_html: String,
    /// May the learner attach files (in addition to text)?
    pub allow_files: bool,
    pub rubric: Rubric,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quiz {
    /// Percentage of the points needed to pass (0..=100).
    pub pass_percent: u8,
    /// Attempts allowed; 0 = unlimited.
    pub max_attempts: u32,
    /// Shuffle question order and options per attempt.
    pub shuffle: bool,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// Unique in the quiz: [a-z0-9-]{1,40}.
    pub key: String,
    /// Sanitized HTML.
    pub prompt_html: String,
    /// Points for a fully correct answer (> 0).
    pub points: f64,
    pub kind: QuestionKind,
}

/// Option indexes always refer to the authored order; shuffling only changes what is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    Single {
        options: Vec<String>,
        correct: usize,
    },
    Multiple {
        options: Vec<String>,
        correct: Vec<usize>,
    },
    TrueFalse {
        correct: bool,
    },
    /// Left item i matches right item `pairs[i].1`; the learner sees the rights shuffled.
    Matching {
        pairs: Vec<(String, String)>,
    },
}

/// What a learner answers. Matching: for each left item (authored order) the index of the right
/// item (authored order) chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Single(usize),
    Multiple(Vec<usize>),
    TrueFalse(bool),
    Matching(Vec<usize>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rubric {
    pub criteria: Vec<Criterion>,
    /// Percentage of the total needed to pass (0..=100).
    pub pass_percent: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Unique in the rubric: [a-z0-9-]{1,40}.
    pub key: String,
    pub title: String,
    pub max_points: f64,
    /// Descriptive bands shown to the grader, best first (e.g. Tốt 4, Khá 3, Đạt 2, Chưa đạt 0).
    pub levels: Vec<RubricLevel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RubricLevel {
    pub title: String,
    pub points: f64,
    pub description: String,
}

/// A grader's score for one criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionScore {
    pub key: String,
    pub points: f64,
}
