//! Course content of a module: the model (sections, lessons, quizzes, essays, the final
//! assignment, rubrics), the package format it is loaded from, sanitized rich text, quiz and
//! rubric scoring, and the content-addressed file store for media and uploads.

pub mod model;
