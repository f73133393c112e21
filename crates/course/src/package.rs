//! Course packages: a folder or a .zip holding `course.yaml`, Markdown texts, quiz and rubric
//! YAML files and a `media/` folder. The format is documented in `docs/course-package.md`.
//!
//! [`load_files`] does the work on a list of `(path, bytes)`; [`load_dir`] and [`load_zip`]
//! gather that list (the zip reader refuses archives that unpack to more than
//! [`MAX_PACKAGE_BYTES`] or hold more than [`MAX_PACKAGE_FILES`] entries, and any path that is
//! absolute or climbs with `..`). All text is NFC. [`validate`] checks a [`Course`] whatever its
//! origin (a package or the UI's editor); every error is a [`PackageError`] with a Vietnamese
//! message naming the file and, where known, the line.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use unicode_normalization::UnicodeNormalization;

use crate::files::{FileKind, read_limited, sha256_hex, sniff};
use crate::html::{FILES_PREFIX, is_file_url, is_relative, markdown_to_html, percent_encode};
use crate::model::{Assignment, Course, Item, ItemKind, MediaRef, Question, QuestionKind, Quiz, Rubric, Section};
use crate::rubric::is_quarter;
use crate::{fmt_points, is_valid_key};

/// The most a package may hold once unpacked.
pub const MAX_PACKAGE_BYTES: u64 = 200 * 1024 * 1024;
/// The most files (zip entries) a package may hold.
pub const MAX_PACKAGE_FILES: usize = 2_000;
/// The package's description, at its root.
pub const COURSE_FILE: &str = "course.yaml";
/// The folder of the package's media files.
pub const MEDIA_DIR: &str = "media/";

/// A loaded package: the course, its HTML already pointing at the media's stored URLs, and the
/// media files to put in the [`FileStore`](crate::files::FileStore).
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub course: Course,
    pub media: Vec<MediaFile>,
}

impl Package {
    /// The media file at this package path (e.g. `media/hinh-1.png`).
    pub fn media_file(&self, name: &str) -> Option<&MediaFile> {
        self.media.iter().find(|m| m.name == name)
    }
}

/// A file of the package's `media/` folder.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaFile {
    /// Path in the package, e.g. `media/a.pdf`.
    pub name: String,
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    pub mime: String,
}

impl std::fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFile")
            .field("name", &self.name)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("mime", &self.mime)
            .finish()
    }
}

impl MediaFile {
    /// The last component of the name (`a.pdf`).
    pub fn file_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// Where the file is served: `/files/<sha256>/<file name, percent-encoded>`.
    pub fn url(&self) -> String {
        media_url(&self.sha256, self.file_name())
    }
}

/// The URL of a stored file: `/files/<sha256>/<name, percent-encoded>`.
pub fn media_url(sha256: &str, file_name: &str) -> String {
    format!("{FILES_PREFIX}{sha256}/{}", percent_encode(file_name))
}

/// A package or course that cannot be used, with a Vietnamese message.
///
/// Displayed as `file, dòng N: message`, `file: message` or `Message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(self))]
pub struct PackageError {
    /// A stable identifier (e.g. `missing_file`, `duplicate_key`).
    pub code: &'static str,
    /// The package file at fault.
    pub file: Option<String>,
    /// The line in `file` (1-based), when known.
    pub line: Option<usize>,
    pub message: String,
}

fn render(err: &PackageError) -> String {
    match (&err.file, err.line) {
        (Some(file), Some(line)) => format!("{file}, dòng {line}: {}", err.message),
        (Some(file), None) => format!("{file}: {}", err.message),
        (None, _) => capitalize(&err.message),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl PackageError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        PackageError { code, file: None, line: None, message: message.into() }
    }

    fn in_file(mut self, file: &str) -> Self {
        self.file = Some(file.to_string());
        self
    }

    fn at(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// A stable identifier for API clients.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

// ---------------------------------------------------------------------------------------------
// Validation of a course (from a package or from the UI)
// ---------------------------------------------------------------------------------------------

/// Where in a YAML file a problem lies, for finding its line.
#[derive(Debug, Clone, PartialEq)]
enum Anchor {
    None,
    /// The `nth` (1-based) `key: <key>` line.
    Key(String, usize),
    /// The first `<field>:` line.
    Field(&'static str),
}

/// A problem found by a check, before it is placed in a file or an item.
#[derive(Debug, Clone, PartialEq)]
struct Problem {
    code: &'static str,
    /// What the problem is about, e.g. `câu hỏi “c3”`.
    subject: Option<String>,
    message: String,
    anchor: Anchor,
}

impl Problem {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Problem { code, subject: None, message: message.into(), anchor: Anchor::None }
    }

    fn about(mut self, subject: String) -> Self {
        self.subject = Some(subject);
        self
    }

    fn anchor(mut self, anchor: Anchor) -> Self {
        self.anchor = anchor;
        self
    }

    fn text(&self) -> String {
        match &self.subject {
            Some(subject) => format!("{subject}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// Placed in a file whose text is known: the anchor gives the line.
    fn in_file(self, file: &str, text: &str) -> PackageError {
        let line = match &self.anchor {
            Anchor::None => None,
            Anchor::Key(key, nth) => key_line(text, key, *nth),
            Anchor::Field(field) => field_line(text, field),
        };
        PackageError::new(self.code, self.text()).in_file(file).at(line)
    }

    /// For a course without files: prefixed with the activity it concerns.
    fn in_item(self, item: &Item) -> PackageError {
        let message = match &self.subject {
            Some(subject) => format!("hoạt động “{}”, {subject}: {}", item.key, self.message),
            None => format!("hoạt động “{}”: {}", item.key, self.message),
        };
        PackageError::new(self.code, message)
    }
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Blank HTML: nothing but tags and white space (an empty editor gives `<p><br></p>`).
fn is_blank_html(html: &str) -> bool {
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag && !c.is_whitespace() => return false,
            _ => {}
        }
    }
    !html.contains("<img")
}

fn check_key(key: &str, what: &str, anchor: Anchor) -> Result<(), Problem> {
    if is_valid_key(key) {
        return Ok(());
    }
    Err(Problem::new(
        "bad_key",
        format!(
            "{what} “{key}” không hợp lệ: chỉ dùng chữ thường không dấu a-z, chữ số và dấu gạch ngang, tối đa 40 ký tự"
        ),
    )
    .anchor(anchor))
}

/// The (1-based) occurrence of `key` among `keys` that repeats an earlier one.
fn first_duplicate<'a>(keys: impl Iterator<Item = &'a str>) -> Option<(&'a str, usize)> {
    let mut seen: Vec<&str> = Vec::new();
    for key in keys {
        if seen.contains(&key) {
            let nth = seen.iter().filter(|k| **k == key).count() + 1;
            return Some((key, nth));
        }
        seen.push(key);
    }
    None
}

fn check_percent(percent: u8) -> Result<(), Problem> {
    if percent > 100 {
        return Err(Problem::new("pass_percent", format!("tỉ lệ đạt {percent}% vượt quá 100%"))
            .anchor(Anchor::Field("pass_percent")));
    }
    Ok(())
}

fn check_options(options: &[String]) -> Result<(), Problem> {
    if options.len() < 2 {
        return Err(Problem::new("options", format!("cần ít nhất 2 lựa chọn (có {})", options.len())));
    }
    if let Some(i) = options.iter().position(|o| is_blank(o)) {
        return Err(Problem::new("empty_text", format!("lựa chọn {} để trống", i + 1)));
    }
    if let Some((text, _)) = first_duplicate(options.iter().map(|o| o.trim())) {
        return Err(Problem::new("duplicate_option", format!("lựa chọn “{text}” bị lặp")));
    }
    Ok(())
}

fn check_question(question: &Question) -> Result<(), Problem> {
    if !question.points.is_finite() || question.points <= 0.0 {
        return Err(Problem::new("points", format!("điểm phải lớn hơn 0 (đang là {})", fmt_points(question.points))));
    }
    if is_blank_html(&question.prompt_html) {
        return Err(Problem::new("empty_text", "chưa có nội dung câu hỏi"));
    }
    match &question.kind {
        QuestionKind::Single { options, correct } => {
            check_options(options)?;
            if *correct >= options.len() {
                return Err(Problem::new(
                    "option_out_of_range",
                    format!("đáp án đúng {} nằm ngoài các lựa chọn 1–{}", correct.saturating_add(1), options.len()),
                ));
            }
        }
        QuestionKind::Multiple { options, correct } => {
            check_options(options)?;
            if correct.is_empty() {
                return Err(Problem::new("no_correct", "câu nhiều lựa chọn chưa có đáp án đúng nào"));
            }
            if let Some(&bad) = correct.iter().find(|&&c| c >= options.len()) {
                return Err(Problem::new(
                    "option_out_of_range",
                    format!("đáp án đúng {} nằm ngoài các lựa chọn 1–{}", bad.saturating_add(1), options.len()),
                ));
            }
            let mut sorted = correct.clone();
            sorted.sort_unstable();
            if let Some(pair) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(Problem::new("duplicate_option", format!("đáp án đúng {} được ghi hai lần", pair[0] + 1)));
            }
        }
        QuestionKind::TrueFalse { .. } => {}
        QuestionKind::Matching { pairs } => {
            if pairs.len() < 2 {
                return Err(Problem::new(
                    "matching_pairs",
                    format!("câu ghép đôi cần ít nhất 2 cặp (có {})", pairs.len()),
                ));
            }
            if let Some(i) = pairs.iter().position(|(l, r)| is_blank(l) || is_blank(r)) {
                return Err(Problem::new("empty_text", format!("cặp {} có vế để trống", i + 1)));
            }
            for side in
                [pairs.iter().map(|p| p.0.trim()).collect::<Vec<_>>(), pairs.iter().map(|p| p.1.trim()).collect()]
            {
                if let Some((text, _)) = first_duplicate(side.into_iter()) {
                    return Err(Problem::new("duplicate_option", format!("vế “{text}” bị lặp")));
                }
            }
        }
    }
    Ok(())
}

fn check_quiz(quiz: &Quiz) -> Result<(), Problem> {
    check_percent(quiz.pass_percent)?;
    if quiz.questions.is_empty() {
        return Err(Problem::new("quiz_empty", "bài kiểm tra chưa có câu hỏi nào").anchor(Anchor::Field("questions")));
    }
    for question in &quiz.questions {
        check_key(&question.key, "mã câu hỏi", Anchor::Key(question.key.clone(), 1))?;
    }
    if let Some((key, nth)) = first_duplicate(quiz.questions.iter().map(|q| q.key.as_str())) {
        return Err(Problem::new("duplicate_key", format!("mã câu hỏi “{key}” bị trùng"))
            .anchor(Anchor::Key(key.to_string(), nth)));
    }
    for question in &quiz.questions {
        check_question(question)
            .map_err(|p| p.about(format!("câu hỏi “{}”", question.key)).anchor(Anchor::Key(question.key.clone(), 1)))?;
    }
    Ok(())
}

fn check_rubric(rubric: &Rubric) -> Result<(), Problem> {
    check_percent(rubric.pass_percent)?;
    if rubric.criteria.is_empty() {
        return Err(
            Problem::new("rubric_empty", "thang đánh giá chưa có tiêu chí nào").anchor(Anchor::Field("criteria"))
        );
    }
    for criterion in &rubric.criteria {
        check_key(&criterion.key, "mã tiêu chí", Anchor::Key(criterion.key.clone(), 1))?;
    }
    if let Some((key, nth)) = first_duplicate(rubric.criteria.iter().map(|c| c.key.as_str())) {
        return Err(Problem::new("duplicate_key", format!("mã tiêu chí “{key}” bị trùng"))
            .anchor(Anchor::Key(key.to_string(), nth)));
    }
    for criterion in &rubric.criteria {
        let subject = format!("tiêu chí “{}”", criterion.key);
        let anchor = Anchor::Key(criterion.key.clone(), 1);
        let fail =
            |code, message: String| Err(Problem::new(code, message).about(subject.clone()).anchor(anchor.clone()));
        if is_blank(&criterion.title) {
            return fail("empty_text", "chưa có tên tiêu chí".into());
        }
        let max = criterion.max_points;
        if !max.is_finite() || max <= 0.0 || !is_quarter(max) {
            return fail(
                "points",
                format!("điểm tối đa phải lớn hơn 0 và là bội của 0,25 (đang là {})", fmt_points(max)),
            );
        }
        for level in &criterion.levels {
            if is_blank(&level.title) {
                return fail("empty_text", "có mức đánh giá chưa đặt tên".into());
            }
            let points = level.points;
            if !points.is_finite() || points < 0.0 || points > max || !is_quarter(points) {
                return fail(
                    "level_points",
                    format!(
                        "mức “{}” có {} điểm: phải từ 0 đến {} và là bội của 0,25",
                        level.title,
                        fmt_points(points),
                        fmt_points(max)
                    ),
                );
            }
        }
    }
    Ok(())
}

fn check_media_ref(media: &MediaRef) -> Result<(), Problem> {
    if is_blank(&media.title) {
        return Err(Problem::new("empty_text", format!("tệp/liên kết {} chưa có tiêu đề", media.url)));
    }
    let url = media.url.trim();
    if !(is_file_url(url) || url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))) {
        return Err(Problem::new("media_url", format!("liên kết “{url}” không hợp lệ: chỉ nhận địa chỉ https://")));
    }
    Ok(())
}

fn check_assignment(assignment: &Assignment) -> Result<(), Problem> {
    if is_blank_html(&assignment.prompt_html) {
        return Err(Problem::new("empty_text", "chưa có đề bài"));
    }
    check_rubric(&assignment.rubric).map_err(|p| p.anchor(Anchor::None))
}

/// Checks of one activity that do not concern its quiz or rubric.
fn check_item_head(item: &Item) -> Result<(), Problem> {
    check_key(&item.key, "mã hoạt động", Anchor::Key(item.key.clone(), 1))?;
    if is_blank(&item.title) {
        return Err(Problem::new("empty_text", format!("hoạt động “{}” chưa có tên", item.key)));
    }
    if let ItemKind::Lesson { video, documents, .. } = &item.kind {
        for media in video.iter().chain(documents) {
            check_media_ref(media).map_err(|p| p.about(format!("hoạt động “{}”", item.key)))?;
        }
    }
    Ok(())
}

/// Course-wide checks: titles, unique activity keys, at most one final assignment.
fn check_course_head(course: &Course) -> Result<(), Problem> {
    if is_blank(&course.module_code) {
        return Err(Problem::new("empty_text", "chưa có mã mô đun").anchor(Anchor::Field("module_code")));
    }
    if is_blank(&course.title) {
        return Err(Problem::new("empty_text", "chưa có tên khóa học").anchor(Anchor::Field("title")));
    }
    if let Some(i) = course.sections.iter().position(|s| is_blank(&s.title)) {
        return Err(Problem::new("empty_text", format!("phần {} chưa có tên", i + 1)));
    }
    let items = || course.sections.iter().flat_map(|s| &s.items);
    if let Some((key, nth)) = first_duplicate(items().map(|i| i.key.as_str())) {
        return Err(Problem::new("duplicate_key", format!("mã hoạt động “{key}” bị trùng"))
            .anchor(Anchor::Key(key.to_string(), nth)));
    }
    let finals: Vec<&Item> = items().filter(|i| matches!(i.kind, ItemKind::Final(_))).collect();
    if let [_, second, ..] = finals.as_slice() {
        return Err(Problem::new("several_finals", "khóa học chỉ có một bài tập cuối khóa")
            .about(format!("hoạt động “{}”", second.key))
            .anchor(Anchor::Key(second.key.clone(), 1)));
    }
    Ok(())
}

/// Checks a course, whether loaded from a package or authored in the UI: codes and titles
/// present, keys well formed and unique (activities in the course, questions in their quiz,
/// criteria in their rubric), quizzes and rubrics coherent (see `docs/course-package.md`),
/// media links to stored files or https, at most one final assignment.
pub fn validate(course: &Course) -> Result<(), PackageError> {
    for item in course.sections.iter().flat_map(|s| &s.items) {
        check_item_head(item).map_err(|p| PackageError::new(p.code, p.text()))?;
    }
    check_course_head(course).map_err(|p| PackageError::new(p.code, p.text()))?;
    for item in course.sections.iter().flat_map(|s| &s.items) {
        let checked = match &item.kind {
            ItemKind::Lesson { .. } => Ok(()),
            ItemKind::Quiz(quiz) => check_quiz(quiz),
            ItemKind::Essay(assignment) | ItemKind::Final(assignment) => check_assignment(assignment),
        };
        checked.map_err(|p| p.in_item(item))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Finding lines in YAML text
// ---------------------------------------------------------------------------------------------

/// The content of a line without indentation and list dashes.
fn line_body(line: &str) -> &str {
    let mut body = line.trim_start();
    while let Some(rest) = body.strip_prefix('-') {
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            break;
        }
        body = rest.trim_start();
    }
    body
}

fn unquote(value: &str) -> &str {
    let value = match value.find(" #") {
        Some(i) if !value.starts_with(['"', '\'']) => &value[..i],
        _ => value,
    };
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

/// The line (1-based) of the `nth` `key: <key>` entry.
fn key_line(text: &str, key: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line_body(line).strip_prefix("key:").is_some_and(|v| unquote(v) == key))
        .nth(nth.saturating_sub(1))
        .map(|(i, _)| i + 1)
}

/// The line (1-based) of the first `<field>:` entry.
fn field_line(text: &str, field: &str) -> Option<usize> {
    text.lines()
        .position(|line| line_body(line).strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))
        .map(|i| i + 1)
}

/// The line (1-based) of the first line containing `needle`.
fn text_line(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|line| line.contains(needle)).map(|i| i + 1)
}

// ---------------------------------------------------------------------------------------------
// YAML errors in Vietnamese
// ---------------------------------------------------------------------------------------------

fn yaml_error(file: &str, err: &serde_yaml_ng::Error) -> PackageError {
    let line = err.location().map(|l| l.line());
    PackageError::new("yaml", translate_yaml(&err.to_string())).in_file(file).at(line)
}

/// Removes every ` at line N column M` / ` at position N`.
fn strip_marks(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(i) = rest.find(" at ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let skip = if let Some(tail) = after.strip_prefix("line ") {
            let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
            let tail = &tail[digits..];
            match tail.strip_prefix(" column ") {
                Some(col) => 5 + digits + 8 + col.bytes().take_while(u8::is_ascii_digit).count(),
                None => 5 + digits,
            }
        } else if let Some(tail) = after.strip_prefix("position ") {
            9 + tail.bytes().take_while(u8::is_ascii_digit).count()
        } else {
            out.push_str(" at ");
            0
        };
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

fn translate_found(found: &str) -> String {
    if let Some(s) = found.strip_prefix("string ") {
        return format!("chuỗi {s}");
    }
    for (en, vi) in [("integer ", "số "), ("floating point ", "số "), ("boolean ", "")] {
        if let Some(v) = found.strip_prefix(en) {
            return format!("{vi}{}", v.trim_matches('`'));
        }
    }
    match found {
        "sequence" => "danh sách".into(),
        "map" => "bảng khóa–giá trị".into(),
        "unit value" | "null" => "giá trị rỗng".into(),
        other => other.into(),
    }
}

fn translate_expected(expected: &str) -> String {
    match expected {
        "a string" | "string" => "chuỗi".into(),
        "u8" | "u16" | "u32" | "u64" | "usize" => "số nguyên không âm".into(),
        "f32" | "f64" => "số (dấu chấm thập phân, ví dụ 1.5)".into(),
        "a boolean" => "true hoặc false".into(),
        "a sequence" => "danh sách".into(),
        "a tuple of size 2" | "sequence of 2 elements" => "cặp [vế trái, vế phải]".into(),
        other if other.starts_with("struct ") || other == "a map" => "bảng khóa–giá trị".into(),
        other => other.into(),
    }
}

fn translate_yaml(message: &str) -> String {
    let message = strip_marks(message);
    // Drop the path serde_yaml_ng puts first ("sections[0].items[2]: missing field `title`").
    let message = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && !path.is_empty() => rest.to_string(),
        _ => message,
    };
    let ticks = backticked(&message);
    let list = |names: &[&str]| names.join(", ");
    if message.starts_with("missing field") {
        return format!("thiếu khóa '{}'", ticks.first().unwrap_or(&""));
    }
    if message.starts_with("unknown field") {
        let (name, allowed) = ticks.split_first().map(|(n, a)| (*n, a)).unwrap_or(("", &[]));
        return if allowed.is_empty() {
            format!("khóa '{name}' không hợp lệ")
        } else {
            format!("khóa '{name}' không hợp lệ (các khóa dùng được: {})", list(allowed))
        };
    }
    if message.starts_with("unknown variant") {
        let (name, allowed) = ticks.split_first().map(|(n, a)| (*n, a)).unwrap_or(("", &[]));
        return format!("giá trị '{name}' không hợp lệ (chọn một trong: {})", list(allowed));
    }
    if message.starts_with("duplicate field") {
        return format!("khóa '{}' bị lặp", ticks.first().unwrap_or(&""));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let hint = if expected.starts_with('f') && found.starts_with("string") && found.contains(',') {
            " — hãy dùng dấu chấm thập phân"
        } else {
            ""
        };
        return format!("sai kiểu giá trị: cần {}, gặp {}{hint}", translate_expected(expected), translate_found(found));
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("giá trị không hợp lệ: cần {}, gặp {}", translate_expected(expected), translate_found(found));
    }
    if let Some(rest) = message.strip_prefix("invalid length ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("độ dài {found} không hợp lệ: cần {}", translate_expected(expected));
    }
    if message.contains("untagged enum RawCorrect") {
        return "'correct' phải là một số thứ tự, một danh sách số thứ tự hoặc true/false".into();
    }
    if message.starts_with("EOF while parsing") {
        return "tệp trống".into();
    }
    let hint = if message.starts_with("mapping values are not allowed") {
        ": dấu ':' không được dùng ở đây, hãy đặt giá trị trong dấu ngoặc kép"
    } else if message.starts_with("found character that cannot start any token") {
        ": ký tự không hợp lệ — thụt lề bằng phím Tab, hoặc giá trị bắt đầu bằng ký tự đặc biệt (@, `, %…) chưa đặt \
         trong dấu ngoặc kép"
    } else if message.starts_with("did not find expected key") || message.starts_with("did not find expected '-'") {
        ": thụt lề không thẳng hàng"
    } else if message.contains("while scanning a tag") {
        ": giá trị bắt đầu bằng ! hoặc ký tự đặc biệt cần đặt trong dấu ngoặc kép"
    } else {
        ""
    };
    format!("lỗi cú pháp YAML{hint} ({message})")
}

fn parse_yaml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, PackageError> {
    if text.lines().all(|line| line.trim().is_empty() || line.trim_start().starts_with('#')) {
        return Err(PackageError::new("yaml", "tệp trống").in_file(file));
    }
    serde_yaml_ng::from_str(text).map_err(|err| yaml_error(file, &err))
}

// ---------------------------------------------------------------------------------------------
// The YAML files as written
// ---------------------------------------------------------------------------------------------

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCourse {
    module_code: String,
    title: String,
    #[serde(default)]
    summary: String,
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    title: String,
    items: Vec<RawItem>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum RawItemType {
    Lesson,
    Quiz,
    Essay,
    Final,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    key: String,
    title: String,
    #[serde(default = "yes")]
    required: bool,
    #[serde(rename = "type")]
    kind: RawItemType,
    body: Option<String>,
    video: Option<RawMedia>,
    documents: Option<Vec<RawMedia>>,
    quiz: Option<String>,
    prompt: Option<String>,
    rubric: Option<String>,
    allow_files: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    title: Option<String>,
    src: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuiz {
    pass_percent: u32,
    #[serde(default)]
    max_attempts: u32,
    #[serde(default)]
    shuffle: bool,
    questions: Vec<RawQuestion>,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum RawQuestionType {
    Single,
    Multiple,
    TrueFalse,
    Matching,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCorrect {
    Bool(bool),
    One(u64),
    Many(Vec<u64>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    key: String,
    #[serde(rename = "type")]
    kind: RawQuestionType,
    prompt: String,
    #[serde(default = "one")]
    points: f64,
    options: Option<Vec<String>>,
    correct: Option<RawCorrect>,
    pairs: Option<Vec<(String, String)>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRubric {
    pass_percent: u32,
    criteria: Vec<RawCriterion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    key: String,
    title: String,
    max_points: f64,
    #[serde(default)]
    levels: Vec<RawLevel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    title: String,
    points: f64,
    #[serde(default)]
    description: String,
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Limits {
    max_bytes: u64,
    max_files: usize,
}

const LIMITS: Limits = Limits { max_bytes: MAX_PACKAGE_BYTES, max_files: MAX_PACKAGE_FILES };

fn too_many_files(limits: Limits) -> PackageError {
    PackageError::new("too_many_files", format!("gói có quá nhiều tệp: tối đa {}", group_thousands(limits.max_files)))
}

fn too_large(limits: Limits) -> PackageError {
    PackageError::new(
        "too_large",
        format!("gói quá lớn: tối đa {} MB sau khi giải nén", fmt_points(limits.max_bytes as f64 / 1048576.0)),
    )
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// Files to ignore: those operating systems leave behind.
fn is_junk(path: &str) -> bool {
    path.split('/').any(|part| part == "__MACOSX" || part.starts_with('.'))
        || path
            .rsplit('/')
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case("Thumbs.db") || name.eq_ignore_ascii_case("desktop.ini"))
}

/// Normalises a path found in a package: `/` separators, NFC, no `.` or empty parts. Absolute
/// paths and `..` are refused.
fn clean_path(raw: &str) -> Result<String, PackageError> {
    let unsafe_path = || PackageError::new("unsafe_path", format!("đường dẫn không an toàn trong gói: {raw}"));
    let path: String = raw.replace('\\', "/").nfc().collect();
    if path.starts_with('/') || path.contains('\0') || path.split('/').next().is_some_and(|p| p.ends_with(':')) {
        return Err(unsafe_path());
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path()),
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err(unsafe_path());
    }
    Ok(parts.join("/"))
}

/// Joins a reference written in a file in `base` (a folder, "" for the root) to a package
/// path; `None` if it climbs out of the package or is absolute.
fn resolve(base: &str, reference: &str) -> Option<String> {
    let reference = reference.trim().replace('\\', "/");
    if reference.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in reference.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/").nfc().collect())
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("")
}

fn decode(path: &str, bytes: &[u8]) -> Result<String, PackageError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        PackageError::new("encoding", "tệp không phải văn bản UTF-8 (hãy lưu lại với mã hóa UTF-8)").in_file(path)
    })?;
    Ok(text.replace("\r\n", "\n").nfc().collect())
}

/// Loads a package from its files: `(path in the package, content)`. `course.yaml` must be at
/// the root, or inside the one folder that holds everything (a zipped folder).
pub fn load_files(files: &[(String, Vec<u8>)]) -> Result<Package, PackageError> {
    load_files_with(files, LIMITS)
}

fn load_files_with(files: &[(String, Vec<u8>)], limits: Limits) -> Result<Package, PackageError> {
    let mut cleaned: BTreeMap<String, &[u8]> = BTreeMap::new();
    let mut total: u64 = 0;
    for (raw, bytes) in files {
        let path = clean_path(raw)?;
        if is_junk(&path) {
            continue;
        }
        total += bytes.len() as u64;
        if total > limits.max_bytes {
            return Err(too_large(limits));
        }
        if cleaned.insert(path.clone(), bytes).is_some() {
            return Err(PackageError::new("duplicate_file", format!("tệp {path} xuất hiện hai lần trong gói")));
        }
        if cleaned.len() > limits.max_files {
            return Err(too_many_files(limits));
        }
    }
    let prefix = find_root(&cleaned)?;
    let files: BTreeMap<String, &[u8]> = cleaned
        .into_iter()
        .filter_map(|(path, bytes)| Some((path.strip_prefix(&prefix)?.to_string(), bytes)))
        .collect();
    let media = load_media(&files)?;
    let loader = Loader { files: &files, media: &media };
    let course = loader.course()?;
    validate(&course).map_err(|e| PackageError { file: e.file.or_else(|| Some(COURSE_FILE.into())), ..e })?;
    Ok(Package { course, media: media.into_values().collect() })
}

/// `""` if course.yaml is at the root, `"folder/"` if the package is one folder holding it.
fn find_root(files: &BTreeMap<String, &[u8]>) -> Result<String, PackageError> {
    if files.contains_key(COURSE_FILE) {
        return Ok(String::new());
    }
    let tops: HashSet<&str> = files.keys().map(|p| p.split('/').next().unwrap_or(p)).collect();
    if tops.len() == 1 {
        let top = tops.into_iter().next().expect("one top-level entry");
        let prefix = format!("{top}/");
        if files.contains_key(&format!("{prefix}{COURSE_FILE}")) {
            return Ok(prefix);
        }
    }
    let mut message = format!("không tìm thấy {COURSE_FILE} ở thư mục gốc của gói");
    if files.is_empty() {
        message.push_str(" (gói trống)");
    } else if let Some(path) = files.keys().find(|p| p.rsplit('/').next() == Some(COURSE_FILE)) {
        let _ = write!(message, " (có {path}: hãy đặt nó ở thư mục gốc hoặc nén đúng một thư mục chứa nó)");
    }
    Err(PackageError::new("no_course_yaml", message))
}

fn load_media(files: &BTreeMap<String, &[u8]>) -> Result<BTreeMap<String, MediaFile>, PackageError> {
    let mut media = BTreeMap::new();
    for (path, bytes) in files.range(MEDIA_DIR.to_string()..).take_while(|(p, _)| p.starts_with(MEDIA_DIR)) {
        let ext = path.rsplit_once('.').map(|(_, e)| e).filter(|e| !e.contains('/')).unwrap_or("");
        let Some(kind) = FileKind::from_extension(ext) else {
            let known: Vec<&str> = FileKind::ALL.iter().map(|k| k.extension()).collect();
            return Err(PackageError::new(
                "media_type",
                format!("loại tệp không được hỗ trợ (chỉ nhận .{}, .jpeg, .m4v)", known.join(", .")),
            )
            .in_file(path));
        };
        let found = sniff(bytes);
        if found != Some(kind) {
            let what =
                found.map(|k| format!("nội dung là {}", k.label())).unwrap_or_else(|| "nội dung không nhận ra".into());
            return Err(PackageError::new(
                "media_content",
                format!("tệp có đuôi .{ext} nhưng {what}: hãy kiểm tra lại tệp"),
            )
            .in_file(path));
        }
        media.insert(
            path.clone(),
            MediaFile {
                name: path.clone(),
                bytes: bytes.to_vec(),
                sha256: sha256_hex(bytes),
                mime: kind.mime().into(),
            },
        );
    }
    Ok(media)
}

struct Loader<'a> {
    files: &'a BTreeMap<String, &'a [u8]>,
    media: &'a BTreeMap<String, MediaFile>,
}

/// How a reference from one file to another failed.
fn missing_file(from: &str, line: Option<usize>, path: &str) -> PackageError {
    PackageError::new("missing_file", format!("thiếu tệp {path} được nhắc đến ở đây")).in_file(from).at(line)
}

impl Loader<'_> {
    /// The text of a file referenced from `from` (at `line`).
    fn text(&self, from: &str, line: Option<usize>, reference: &str) -> Result<(String, String), PackageError> {
        let Some(path) = resolve("", reference) else {
            return Err(PackageError::new("unsafe_path", format!("đường dẫn không an toàn: {reference}"))
                .in_file(from)
                .at(line));
        };
        let bytes = self.files.get(&path).ok_or_else(|| missing_file(from, line, &path))?;
        Ok((decode(&path, bytes)?, path))
    }

    /// Markdown written in `file` (whose text is `text`) to HTML; relative links must reach the
    /// package's media. `line` locates inline Markdown (e.g. a question's prompt).
    fn markdown(&self, md: &str, file: &str, text: &str, line: Option<usize>) -> Result<String, PackageError> {
        let problem: RefCell<Option<PackageError>> = RefCell::new(None);
        let base = parent_dir(file);
        let lookup = |target: &str| -> Option<String> {
            let candidates = [resolve(base, target), resolve("", target)];
            if let Some(found) = candidates.iter().flatten().find_map(|p| self.media.get(p)) {
                return Some(found.url());
            }
            let mut problem = problem.borrow_mut();
            if problem.is_some() {
                return None;
            }
            let line = line.or_else(|| text_line(text, target));
            *problem = Some(
                match candidates.iter().flatten().find(|p| self.files.contains_key(*p)) {
                    Some(other) => PackageError::new(
                        "media_outside",
                        format!("liên kết tới {other}: chỉ liên kết được tới tệp trong thư mục {MEDIA_DIR}"),
                    ),
                    None => {
                        let shown = candidates
                            .iter()
                            .flatten()
                            .find(|p| p.starts_with(MEDIA_DIR))
                            .or(candidates[0].as_ref())
                            .cloned()
                            .unwrap_or_else(|| target.to_string());
                        PackageError::new("media_missing", format!("thiếu tệp {shown} được nhắc đến ở đây"))
                    }
                }
                .in_file(file)
                .at(line),
            );
            None
        };
        let html = markdown_to_html(md, &lookup);
        match problem.into_inner() {
            Some(err) => Err(err),
            None => Ok(html),
        }
    }

    fn course(&self) -> Result<Course, PackageError> {
        let text = decode(COURSE_FILE, self.files[COURSE_FILE])?;
        let raw: RawCourse = parse_yaml(COURSE_FILE, &text)?;
        let summary_line = field_line(&text, "summary");
        let mut course = Course {
            module_code: raw.module_code.trim().to_string(),
            title: raw.title.trim().to_string(),
            summary_html: self.markdown(&raw.summary, COURSE_FILE, &text, summary_line)?,
            sections: Vec::new(),
        };
        let mut seen = Vec::new();
        for raw_section in raw.sections {
            let mut section = Section { title: raw_section.title.trim().to_string(), items: Vec::new() };
            for raw_item in raw_section.items {
                let key = raw_item.key.trim().to_string();
                let nth = seen.iter().filter(|k| **k == key).count() + 1;
                seen.push(key.clone());
                let item = self.item(raw_item, &text, nth)?;
                check_item_head(&item)
                    .map_err(|p| p.anchor(Anchor::Key(key.clone(), nth)).in_file(COURSE_FILE, &text))?;
                section.items.push(item);
            }
            course.sections.push(section);
        }
        check_course_head(&course).map_err(|p| p.in_file(COURSE_FILE, &text))?;
        Ok(course)
    }

    fn item(&self, raw: RawItem, text: &str, nth: usize) -> Result<Item, PackageError> {
        let key = raw.key.trim().to_string();
        let line = key_line(text, &key, nth);
        let label = match raw.kind {
            RawItemType::Lesson => "bài học",
            RawItemType::Quiz => "bài kiểm tra",
            RawItemType::Essay => "câu hỏi tự luận",
            RawItemType::Final => "bài tập cuối khóa",
        };
        let fail = |message: String| PackageError::new("yaml", message).in_file(COURSE_FILE).at(line);
        let present = [
            ("body", raw.body.is_some()),
            ("video", raw.video.is_some()),
            ("documents", raw.documents.is_some()),
            ("quiz", raw.quiz.is_some()),
            ("prompt", raw.prompt.is_some()),
            ("rubric", raw.rubric.is_some()),
            ("allow_files", raw.allow_files.is_some()),
        ];
        let (needed, allowed): (&[&str], &[&str]) = match raw.kind {
            RawItemType::Lesson => (&["body"], &["body", "video", "documents"]),
            RawItemType::Quiz => (&["quiz"], &["quiz"]),
            RawItemType::Essay | RawItemType::Final => (&["prompt", "rubric"], &["prompt", "rubric", "allow_files"]),
        };
        for (field, is_present) in present {
            if is_present && !allowed.contains(&field) {
                return Err(fail(format!("hoạt động “{key}” ({label}) không dùng khóa '{field}'")));
            }
            if !is_present && needed.contains(&field) {
                return Err(fail(format!("hoạt động “{key}” ({label}) thiếu khóa '{field}'")));
            }
        }
        let kind = match raw.kind {
            RawItemType::Lesson => {
                let (body, body_path) = self.text(COURSE_FILE, line, raw.body.as_deref().unwrap_or_default())?;
                let body_html = self.markdown(&body, &body_path, &body, None)?;
                let title = raw.title.trim();
                let video = raw.video.map(|v| self.media_ref(v, title, true, line)).transpose()?;
                let documents = raw
                    .documents
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| self.media_ref(d, "", false, line))
                    .collect::<Result<_, _>>()?;
                ItemKind::Lesson { body_html, video, documents }
            }
            RawItemType::Quiz => ItemKind::Quiz(self.quiz(raw.quiz.as_deref().unwrap_or_default(), line)?),
            RawItemType::Essay | RawItemType::Final => {
                let (prompt, prompt_path) = self.text(COURSE_FILE, line, raw.prompt.as_deref().unwrap_or_default())?;
                let prompt_html = self.markdown(&prompt, &prompt_path, &prompt, None)?;
                if is_blank_html(&prompt_html) {
                    return Err(PackageError::new("empty_text", "đề bài để trống").in_file(&prompt_path));
                }
                let rubric = self.rubric(raw.rubric.as_deref().unwrap_or_default(), line)?;
                let assignment = Assignment { prompt_html, allow_files: raw.allow_files.unwrap_or(false), rubric };
                if raw.kind == RawItemType::Essay { ItemKind::Essay(assignment) } else { ItemKind::Final(assignment) }
            }
        };
        Ok(Item { key, title: raw.title.trim().to_string(), required: raw.required, kind })
    }

    fn media_ref(
        &self,
        raw: RawMedia,
        default_title: &str,
        video: bool,
        line: Option<usize>,
    ) -> Result<MediaRef, PackageError> {
        let src = raw.src.trim();
        let fail = |code, message: String| Err(PackageError::new(code, message).in_file(COURSE_FILE).at(line));
        let title = raw.title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if !is_relative(src) {
            if !src.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) {
                return fail(
                    "media_url",
                    format!("liên kết “{src}” không hợp lệ: chỉ nhận địa chỉ https:// hoặc tệp trong {MEDIA_DIR}"),
                );
            }
            let title = title
                .unwrap_or_else(|| if default_title.is_empty() { src.to_string() } else { default_title.to_string() });
            return Ok(MediaRef { title, url: src.to_string(), mime: None });
        }
        let Some(path) = resolve("", src) else {
            return fail("unsafe_path", format!("đường dẫn không an toàn: {src}"));
        };
        let Some(file) = self.media.get(&path) else {
            if self.files.contains_key(&path) {
                return fail("media_outside", format!("{path}: tệp video/tài liệu phải nằm trong thư mục {MEDIA_DIR}"));
            }
            return fail("media_missing", format!("thiếu tệp {path} được nhắc đến ở đây"));
        };
        if video && !file.mime.starts_with("video/") {
            return fail("media_type", format!("{path} không phải video (.mp4, .webm)"));
        }
        let title = title.unwrap_or_else(|| {
            if default_title.is_empty() { file.file_name().to_string() } else { default_title.to_string() }
        });
        Ok(MediaRef { title, url: file.url(), mime: Some(file.mime.clone()) })
    }

    fn quiz(&self, reference: &str, line: Option<usize>) -> Result<Quiz, PackageError> {
        let (text, path) = self.text(COURSE_FILE, line, reference)?;
        let raw: RawQuiz = parse_yaml(&path, &text)?;
        if raw.pass_percent > 100 {
            return Err(PackageError::new("pass_percent", format!("tỉ lệ đạt {}% vượt quá 100%", raw.pass_percent))
                .in_file(&path)
                .at(field_line(&text, "pass_percent")));
        }
        let mut questions = Vec::new();
        let mut seen = Vec::new();
        for raw_question in raw.questions {
            let key = raw_question.key.trim().to_string();
            let nth = seen.iter().filter(|k| **k == key).count() + 1;
            seen.push(key.clone());
            questions.push(self.question(raw_question, key, &path, &text, nth)?);
        }
        let quiz = Quiz {
            pass_percent: raw.pass_percent as u8,
            max_attempts: raw.max_attempts,
            shuffle: raw.shuffle,
            questions,
        };
        check_quiz(&quiz).map_err(|p| p.in_file(&path, &text))?;
        Ok(quiz)
    }

    fn question(
        &self,
        raw: RawQuestion,
        key: String,
        path: &str,
        text: &str,
        nth: usize,
    ) -> Result<Question, PackageError> {
        let line = key_line(text, &key, nth);
        let fail = |code, message: String| {
            PackageError::new(code, format!("câu hỏi “{key}”: {message}")).in_file(path).at(line)
        };
        let (label, needed, allowed): (&str, &[&str], &[&str]) = match raw.kind {
            RawQuestionType::Single => ("một lựa chọn", &["options", "correct"], &["options", "correct"]),
            RawQuestionType::Multiple => ("nhiều lựa chọn", &["options", "correct"], &["options", "correct"]),
            RawQuestionType::TrueFalse => ("đúng/sai", &["correct"], &["correct"]),
            RawQuestionType::Matching => ("ghép đôi", &["pairs"], &["pairs"]),
        };
        for (field, is_present) in
            [("options", raw.options.is_some()), ("correct", raw.correct.is_some()), ("pairs", raw.pairs.is_some())]
        {
            if is_present && !allowed.contains(&field) {
                return Err(fail("yaml", format!("câu {label} không dùng khóa '{field}'")));
            }
            if !is_present && needed.contains(&field) {
                return Err(fail("yaml", format!("câu {label} thiếu khóa '{field}'")));
            }
        }
        let options: Vec<String> = raw.options.unwrap_or_default().into_iter().map(|o| o.trim().to_string()).collect();
        let count = options.len();
        let index = |n: u64| -> Result<usize, PackageError> {
            match usize::try_from(n) {
                Ok(n) if (1..=count).contains(&n) => Ok(n - 1),
                _ => Err(fail("option_out_of_range", format!("đáp án đúng {n} nằm ngoài các lựa chọn 1–{count}"))),
            }
        };
        let kind = match (raw.kind, raw.correct) {
            (RawQuestionType::Single, Some(RawCorrect::One(n))) => QuestionKind::Single { correct: index(n)?, options },
            (RawQuestionType::Single, _) => {
                return Err(fail("bad_correct", "'correct' phải là số thứ tự của một lựa chọn (1, 2, …)".into()));
            }
            (RawQuestionType::Multiple, Some(RawCorrect::One(n))) => {
                QuestionKind::Multiple { correct: vec![index(n)?], options }
            }
            (RawQuestionType::Multiple, Some(RawCorrect::Many(ns))) => {
                let correct = ns.into_iter().map(index).collect::<Result<_, _>>()?;
                QuestionKind::Multiple { correct, options }
            }
            (RawQuestionType::Multiple, _) => {
                return Err(fail(
                    "bad_correct",
                    "'correct' phải là danh sách số thứ tự các lựa chọn đúng, ví dụ [1, 3]".into(),
                ));
            }
            (RawQuestionType::TrueFalse, Some(RawCorrect::Bool(correct))) => QuestionKind::TrueFalse { correct },
            (RawQuestionType::TrueFalse, _) => {
                return Err(fail("bad_correct", "'correct' phải là true (đúng) hoặc false (sai)".into()));
            }
            (RawQuestionType::Matching, _) => QuestionKind::Matching {
                pairs: raw
                    .pairs
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(l, r)| (l.trim().to_string(), r.trim().to_string()))
                    .collect(),
            },
        };
        let prompt_html = self.markdown(&raw.prompt, path, text, line)?;
        Ok(Question { key, prompt_html, points: raw.points, kind })
    }

    fn rubric(&self, reference: &str, line: Option<usize>) -> Result<Rubric, PackageError> {
        let (text, path) = self.text(COURSE_FILE, line, reference)?;
        let raw: RawRubric = parse_yaml(&path, &text)?;
        if raw.pass_percent > 100 {
            return Err(PackageError::new("pass_percent", format!("tỉ lệ đạt {}% vượt quá 100%", raw.pass_percent))
                .in_file(&path)
                .at(field_line(&text, "pass_percent")));
        }
        let rubric = Rubric {
            pass_percent: raw.pass_percent as u8,
            criteria: raw
                .criteria
                .into_iter()
                .map(|c| crate::model::Criterion {
                    key: c.key.trim().to_string(),
                    title: c.title.trim().to_string(),
                    max_points: c.max_points,
                    levels: c
                        .levels
                        .into_iter()
                        .map(|l| crate::model::RubricLevel {
                            title: l.title.trim().to_string(),
                            points: l.points,
                            description: l.description.trim().to_string(),
                        })
                        .collect(),
                })
                .collect(),
        };
        check_rubric(&rubric).map_err(|p| p.in_file(&path, &text))?;
        Ok(rubric)
    }
}

/// Loads a package from a folder on disk (symbolic links are refused).
pub fn load_dir(dir: &Path) -> Result<Package, PackageError> {
    let mut files = Vec::new();
    let mut total = 0;
    collect_dir(dir, "", &mut files, &mut total, LIMITS)?;
    load_files(&files)
}

fn collect_dir(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<(String, Vec<u8>)>,
    total: &mut u64,
    limits: Limits,
) -> Result<(), PackageError> {
    let io_error =
        |path: &Path, err: std::io::Error| PackageError::new("io", format!("không đọc được {}: {err}", path.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io_error(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(PackageError::new("encoding", format!("tên tệp không phải UTF-8: {}", path.display())));
        };
        let relative = format!("{prefix}{name}");
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
        if meta.file_type().is_symlink() {
            return Err(
                PackageError::new("unsafe_path", "không nhận liên kết tượng trưng (symlink)").in_file(&relative)
            );
        }
        if meta.is_dir() {
            collect_dir(&path, &format!("{relative}/"), files, total, limits)?;
        } else {
            *total += meta.len();
            if *total > limits.max_bytes {
                return Err(too_large(limits));
            }
            if files.len() >= limits.max_files {
                return Err(too_many_files(limits));
            }
            files.push((relative, std::fs::read(&path).map_err(|e| io_error(&path, e))?));
        }
    }
    Ok(())
}

/// Loads a package from a .zip (the whole archive in memory). Refuses archives with more than
/// [`MAX_PACKAGE_FILES`] entries or unpacking to more than [`MAX_PACKAGE_BYTES`] (sizes are
/// checked while unpacking, not trusted from the archive), encrypted entries, symbolic links,
/// absolute paths and `..`.
pub fn load_zip(bytes: &[u8]) -> Result<Package, PackageError> {
    load_zip_with(bytes, LIMITS)
}

fn load_zip_with(bytes: &[u8], limits: Limits) -> Result<Package, PackageError> {
    let invalid = |detail: String| PackageError::new("zip_invalid", format!("tệp .zip không đọc được: {detail}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| invalid(e.to_string()))?;
    if archive.len() > limits.max_files {
        return Err(too_many_files(limits));
    }
    let mut files = Vec::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| invalid(e.to_string()))?;
        let name = entry.name().map_err(|e| invalid(e.to_string()))?.to_string();
        if entry.encrypted() {
            return Err(invalid(format!("{name} được đặt mật khẩu")));
        }
        if entry.is_symlink() {
            return Err(PackageError::new("unsafe_path", "không nhận liên kết tượng trưng (symlink)").in_file(&name));
        }
        if entry.is_dir() {
            clean_path(&name)?;
            continue;
        }
        clean_path(&name)?;
        if entry.size() > limits.max_bytes - total {
            return Err(too_large(limits));
        }
        let content =
            read_limited(&mut entry, limits.max_bytes - total).map_err(|e| invalid(format!("{name}: {e}")))?;
        let Some(content) = content else {
            return Err(too_large(limits));
        };
        total += content.len() as u64;
        files.push((name, content));
    }
    load_files_with(&files, limits)
}

// ---------------------------------------------------------------------------------------------
// Authoring in the web UI: quiz and rubric YAML, Markdown linking the course's stored files
// ---------------------------------------------------------------------------------------------

/// The name under which a text typed in the editor is read; errors from it carry the line but
/// no file (`file: None`).
const TYPED: &str = "typed.txt";

fn typed(err: PackageError) -> PackageError {
    PackageError { file: None, ..err }
}

fn media_map(media: &[MediaFile]) -> BTreeMap<String, MediaFile> {
    media.iter().map(|m| (m.name.clone(), m.clone())).collect()
}

/// Text typed in a browser: CRLF line ends become LF, NFC.
fn typed_text(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n").nfc().collect()
}

/// The stored files a course already refers to (in its HTML, videos and documents), as media of
/// a package named `media/<file name>` (with empty `bytes`): Markdown typed in the editor links
/// them as `media/<file name>`, exactly as in a package. The first file of a name wins.
pub fn course_media(course: &Course) -> Vec<MediaFile> {
    let mut found: Vec<(String, Option<String>)> = Vec::new();
    let mut scan = |text: &str| {
        let mut rest = text;
        while let Some(i) = rest.find(FILES_PREFIX) {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| matches!(c, '"' | '\'' | '<' | '>' | '(' | ')' | '#' | '?' | '&') || c.is_whitespace())
                .unwrap_or(tail.len());
            found.push((tail[..end].to_string(), None));
            rest = &tail[FILES_PREFIX.len()..];
        }
    };
    scan(&course.summary_html);
    let mut refs = Vec::new();
    for item in course.sections.iter().flat_map(|s| &s.items) {
        match &item.kind {
            ItemKind::Lesson { body_html, video, documents } => {
                scan(body_html);
                refs.extend(video.iter().chain(documents).cloned());
            }
            ItemKind::Quiz(quiz) => quiz.questions.iter().for_each(|q| scan(&q.prompt_html)),
            ItemKind::Essay(a) | ItemKind::Final(a) => scan(&a.prompt_html),
        }
    }
    found.extend(refs.into_iter().map(|r| (r.url, r.mime)));
    let mut media: BTreeMap<String, MediaFile> = BTreeMap::new();
    for (url, mime) in found {
        if !is_file_url(&url) {
            continue;
        }
        let sha256 = &url[FILES_PREFIX.len()..FILES_PREFIX.len() + 64];
        let name = crate::html::percent_decode(url[FILES_PREFIX.len() + 64..].trim_start_matches('/'));
        if name.is_empty() {
            continue;
        }
        let mime = mime.unwrap_or_else(|| {
            let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
            FileKind::from_extension(ext)
                .map(|k| k.mime().to_string())
                .unwrap_or_else(|| "application/octet-stream".into())
        });
        let path = format!("{MEDIA_DIR}{name}");
        media.entry(path.clone()).or_insert(MediaFile { name: path, bytes: Vec::new(), sha256: sha256.into(), mime });
    }
    media.into_values().collect()
}

/// Markdown typed in the editor to sanitized HTML. A relative link or image must name one of
/// `media` (see [`course_media`]), e.g. `media/hinh-1.png`; stored files' URLs
/// (`/files/<sha256>/<name>`) are kept as written. Errors carry the line, no file.
pub fn markdown_with_media(md: &str, media: &[MediaFile]) -> Result<String, PackageError> {
    let text = typed_text(md);
    let files = BTreeMap::new();
    let media = media_map(media);
    Loader { files: &files, media: &media }.markdown(&text, TYPED, &text, None).map_err(typed)
}

/// A quiz typed in the editor, in the format of a package's quiz file (`docs/course-package.md`),
/// with the same checks; prompts may link `media` (see [`markdown_with_media`]). Errors carry
/// the line, no file.
pub fn quiz_from_yaml_with(text: &str, media: &[MediaFile]) -> Result<Quiz, PackageError> {
    let text = typed_text(text);
    let files: BTreeMap<String, &[u8]> = [(TYPED.to_string(), text.as_bytes())].into_iter().collect();
    let media = media_map(media);
    Loader { files: &files, media: &media }.quiz(TYPED, None).map_err(typed)
}

/// A quiz typed in the package's quiz file format, without media (see [`quiz_from_yaml_with`]).
pub fn quiz_from_yaml(text: &str) -> Result<Quiz, PackageError> {
    quiz_from_yaml_with(text, &[])
}

/// A rubric typed in the format of a package's rubric file, with the same checks. Errors carry
/// the line, no file.
pub fn rubric_from_yaml(text: &str) -> Result<Rubric, PackageError> {
    let text = typed_text(text);
    let files: BTreeMap<String, &[u8]> = [(TYPED.to_string(), text.as_bytes())].into_iter().collect();
    let media = BTreeMap::new();
    Loader { files: &files, media: &media }.rubric(TYPED, None).map_err(typed)
}

/// A video or document link typed in the editor: an `https://` URL, a stored file of `media`
/// given by its URL (`/files/<sha256>/<name>`) or as `media/<name>`. `title` empty: the
/// `default_title`, else the file name (or the URL). A video must be a video file.
pub fn media_link(
    src: &str,
    title: &str,
    default_title: &str,
    video: bool,
    media: &[MediaFile],
) -> Result<MediaRef, PackageError> {
    let src = src.trim();
    let title = Some(title.trim().to_string()).filter(|t| !t.is_empty());
    if is_file_url(src) {
        let sha256 = &src[FILES_PREFIX.len()..FILES_PREFIX.len() + 64];
        let Some(file) = media.iter().find(|m| m.sha256 == sha256) else {
            return Err(PackageError::new("media_missing", format!("tệp {src} không có trong khóa học")));
        };
        if video && !file.mime.starts_with("video/") {
            return Err(PackageError::new("media_type", format!("{} không phải video (.mp4, .webm)", file.name)));
        }
        let title = title.unwrap_or_else(|| {
            if default_title.is_empty() { file.file_name().to_string() } else { default_title.to_string() }
        });
        return Ok(MediaRef { title, url: src.to_string(), mime: Some(file.mime.clone()) });
    }
    let files = BTreeMap::new();
    let media = media_map(media);
    Loader { files: &files, media: &media }
        .media_ref(RawMedia { title, src: src.to_string() }, default_title, video, None)
        .map_err(typed)
}

/// A quiz in the package's quiz file format, for the editor to show when the author's own text
/// is not kept (an imported package): prompts are their HTML, which Markdown passes through.
/// [`quiz_from_yaml`] reads it back to the same quiz.
pub fn quiz_to_yaml(quiz: &Quiz) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "pass_percent: {}", quiz.pass_percent);
    let _ = writeln!(out, "max_attempts: {}", quiz.max_attempts);
    let _ = writeln!(out, "shuffle: {}", quiz.shuffle);
    out.push_str("questions:\n");
    for (i, q) in quiz.questions.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let kind = match &q.kind {
            QuestionKind::Single { .. } => "single",
            QuestionKind::Multiple { .. } => "multiple",
            QuestionKind::TrueFalse { .. } => "true_false",
            QuestionKind::Matching { .. } => "matching",
        };
        let _ = writeln!(out, "  - key: {}", yaml_scalar(&q.key, 6));
        let _ = writeln!(out, "    type: {kind}");
        if q.points != 1.0 {
            let _ = writeln!(out, "    points: {}", yaml_number(q.points));
        }
        let _ = writeln!(out, "    prompt: {}", yaml_scalar(&q.prompt_html, 6));
        match &q.kind {
            QuestionKind::Single { options, correct } => {
                yaml_list(&mut out, "options", options);
                let _ = writeln!(out, "    correct: {}", correct + 1);
            }
            QuestionKind::Multiple { options, correct } => {
                yaml_list(&mut out, "options", options);
                let numbers: Vec<String> = correct.iter().map(|c| (c + 1).to_string()).collect();
                let _ = writeln!(out, "    correct: [{}]", numbers.join(", "));
            }
            QuestionKind::TrueFalse { correct } => {
                let _ = writeln!(out, "    correct: {correct}");
            }
            QuestionKind::Matching { pairs } => {
                out.push_str("    pairs:\n");
                for (left, right) in pairs {
                    let _ = writeln!(out, "      - [{}, {}]", yaml_flow_scalar(left), yaml_flow_scalar(right));
                }
            }
        }
    }
    out
}

/// A rubric in the package's rubric file format; [`rubric_from_yaml`] reads it back.
pub fn rubric_to_yaml(rubric: &Rubric) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "pass_percent: {}", rubric.pass_percent);
    out.push_str("criteria:\n");
    for c in &rubric.criteria {
        let _ = writeln!(out, "  - key: {}", yaml_scalar(&c.key, 6));
        let _ = writeln!(out, "    title: {}", yaml_scalar(&c.title, 6));
        let _ = writeln!(out, "    max_points: {}", yaml_number(c.max_points));
        if !c.levels.is_empty() {
            out.push_str("    levels:\n");
            for level in &c.levels {
                let _ = writeln!(out, "      - title: {}", yaml_scalar(&level.title, 10));
                let _ = writeln!(out, "        points: {}", yaml_number(level.points));
                if !level.description.is_empty() {
                    let _ = writeln!(out, "        description: {}", yaml_scalar(&level.description, 10));
                }
            }
        }
    }
    out
}

fn yaml_list(out: &mut String, key: &str, items: &[String]) {
    let _ = writeln!(out, "    {key}:");
    for item in items {
        let _ = writeln!(out, "      - {}", yaml_scalar(item, 8));
    }
}

/// A number as YAML: whole numbers without a decimal point, others with a point (`1.5`).
fn yaml_number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// Whether `s` may be written plain (unquoted) and reads back as the same string.
fn yaml_plain_ok(s: &str) -> bool {
    if s.is_empty()
        || s.trim() != s
        || s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`',
        ])
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(|c| c.is_control())
    {
        return false;
    }
    matches!(serde_yaml_ng::from_str::<serde_yaml_ng::Value>(s), Ok(serde_yaml_ng::Value::String(v)) if v == s)
}

/// A double-quoted scalar (JSON's string syntax is valid YAML).
fn yaml_quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A value after `key: `: plain when safe, a literal block (`|`) for multi-line text whose lines
/// are indented by `indent` spaces, otherwise double-quoted.
fn yaml_scalar(s: &str, indent: usize) -> String {
    if s.contains('\n') {
        let body = s.strip_suffix('\n').unwrap_or(s);
        let block = !body.ends_with('\n')
            && !body.starts_with([' ', '\t', '\n'])
            && !s.chars().any(|c| c.is_control() && c != '\n');
        if block {
            let mut out = String::from(if s.ends_with('\n') { "|" } else { "|-" });
            for line in body.split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent));
                    out.push_str(line);
                }
            }
            return out;
        }
        return yaml_quoted(s);
    }
    if yaml_plain_ok(s) { s.to_string() } else { yaml_quoted(s) }
}

/// An item of a flow sequence (`[a, b]`): plain only without flow indicators.
fn yaml_flow_scalar(s: &str) -> String {
    if yaml_plain_ok(s) && !s.contains([',', '[', ']', '{', '}']) { s.to_string() } else { yaml_quoted(s) }
}

#[cfg(test)]
mod authoring_tests {
    use super::*;
    use crate::model::{Criterion, RubricLevel};

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn demo_quizzes_and_rubrics_round_trip() {
        let course = crate::demo_package().course;
        let (mut quizzes, mut rubrics) = (0, 0);
        for item in course.sections.iter().flat_map(|s| &s.items) {
            match &item.kind {
                ItemKind::Quiz(quiz) => {
                    let text = quiz_to_yaml(quiz);
                    assert_eq!(&quiz_from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}")), quiz, "{text}");
                    quizzes += 1;
                }
                ItemKind::Essay(a) | ItemKind::Final(a) => {
                    let text = rubric_to_yaml(&a.rubric);
                    assert_eq!(rubric_from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}")), a.rubric, "{text}");
                    rubrics += 1;
                }
                ItemKind::Lesson { .. } => {}
            }
        }
        assert!(quizzes >= 3 && rubrics >= 2);
    }

    #[test]
    fn tricky_texts_round_trip() {
        let text = "\
pass_percent: 75
max_attempts: 2
shuffle: false
questions:
  - key: c1
    type: single
    points: 1.5
    prompt: |
      # Câu hỏi

      Chọn **một**:

      - ý a
      - ý b
    options: [\"true\", \"1\", \"a: b\", \"- x\", \"#x\", \"'q\", \"null\", \"Thật thà, ngay thẳng\", \"  lề\"]
    correct: 8
  - key: c2
    type: multiple
    prompt: \"Chọn: các ý đúng\"
    options: [Một, Hai, Ba]
    correct: [1, 3]
  - key: c3
    type: true_false
    prompt: Đúng hay sai?
    correct: false
  - key: c4
    type: matching
    points: 2.25
    prompt: Ghép đôi
    pairs:
      - [Trung thực, \"Thật thà, ngay thẳng\"]
      - [\"[a]\", \"{b}: c\"]
      - [yes, \"no\"]
";
        let quiz = quiz_from_yaml(text).unwrap();
        assert!(quiz.questions[0].prompt_html.contains("<h1>Câu hỏi</h1>"), "{}", quiz.questions[0].prompt_html);
        let again = quiz_to_yaml(&quiz);
        assert_eq!(quiz_from_yaml(&again).unwrap_or_else(|e| panic!("{e}\n{again}")), quiz, "{again}");
        assert!(again.contains("correct: 8") && again.contains("correct: [1, 3]"), "{again}");

        let rubric = Rubric {
            pass_percent: 50,
            criteria: vec![Criterion {
                key: "muc-tieu".into(),
                title: "Mục tiêu: rõ ràng".into(),
                max_points: 2.5,
                levels: vec![
                    RubricLevel { title: "Tốt".into(), points: 2.5, description: "Đủ ba mặt #1".into() },
                    RubricLevel { title: "true".into(), points: 0.0, description: String::new() },
                ],
            }],
        };
        let text = rubric_to_yaml(&rubric);
        assert_eq!(rubric_from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}")), rubric, "{text}");
    }

    #[test]
    fn typed_errors_name_the_line_not_a_file() {
        let err = quiz_from_yaml(
            "pass_percent: 80\r\nquestions:\r\n  - key: c1\r\n    type: single\r\n    prompt: Hỏi\r\n    options: [a, b]\r\n    correct: 5\r\n",
        )
        .unwrap_err();
        assert_eq!((err.code, err.file.as_deref(), err.line), ("option_out_of_range", None, Some(3)), "{err:?}");
        assert!(err.message.contains("đáp án đúng 5 nằm ngoài các lựa chọn 1–2"), "{}", err.message);
        let err = rubric_from_yaml("pass_percent: 50\ncriteria: []\n").unwrap_err();
        assert_eq!(err.code, "rubric_empty");
        let err = quiz_from_yaml("").unwrap_err();
        assert_eq!(err.code, "yaml");
    }

    #[test]
    fn markdown_links_the_course_files() {
        let course = Course {
            module_code: "GV4660-02".into(),
            title: "Thử".into(),
            summary_html: format!("<p><img src=\"/files/{SHA}/h%C3%ACnh%201.png\" alt=\"\"></p>"),
            sections: vec![Section {
                title: "Phần 1".into(),
                items: vec![Item {
                    key: "bai-1".into(),
                    title: "Bài 1".into(),
                    required: true,
                    kind: ItemKind::Lesson {
                        body_html: String::new(),
                        video: None,
                        documents: vec![MediaRef {
                            title: "Phiếu".into(),
                            url: format!("/files/{}/phieu.pdf", "a".repeat(64)),
                            mime: Some("application/pdf".into()),
                        }],
                    },
                }],
            }],
        };
        let media = course_media(&course);
        let names: Vec<&str> = media.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["media/hình 1.png", "media/phieu.pdf"]);
        assert_eq!(media[0].mime, "image/png");
        let html = markdown_with_media("## Bài\n\n![x](<media/hình 1.png>) [phiếu](media/phieu.pdf)", &media).unwrap();
        assert!(html.contains(&format!("src=\"/files/{SHA}/h%C3%ACnh%201.png\"")), "{html}");
        assert!(html.contains(&format!("href=\"/files/{}/phieu.pdf\"", "a".repeat(64))), "{html}");
        let kept = markdown_with_media(&format!("![x](/files/{SHA}/khac.png)"), &media).unwrap();
        assert!(kept.contains(&format!("/files/{SHA}/khac.png")), "{kept}");
        let err = markdown_with_media("Dòng 1\n\n![x](media/khong-co.png)", &media).unwrap_err();
        assert_eq!((err.code, err.line), ("media_missing", Some(3)), "{err:?}");

        let doc = media_link("media/phieu.pdf", "", "", false, &media).unwrap();
        assert_eq!((doc.title.as_str(), doc.mime.as_deref()), ("phieu.pdf", Some("application/pdf")));
        let doc = media_link(&format!("/files/{}/phieu.pdf", "a".repeat(64)), "Phiếu", "", false, &media).unwrap();
        assert_eq!(doc.title, "Phiếu");
        assert_eq!(media_link("media/phieu.pdf", "", "Bài 1", true, &media).unwrap_err().code, "media_type");
        assert_eq!(media_link("http://example.org/v.mp4", "", "Bài 1", true, &media).unwrap_err().code, "media_url");
        let video = media_link("https://example.org/v.mp4", "", "Bài 1", true, &media).unwrap();
        assert_eq!((video.title.as_str(), video.url.as_str()), ("Bài 1", "https://example.org/v.mp4"));
    }
}

#[cfg(test)]
mod tests;
