//! The demo course package.
use crate::package::{Package, load_files};

static DEMO: include_dir::Dir<'_> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/demo/gv4660-02");

/// The files of the demo package, as `(path in the package, content)`.
pub fn demo_files() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![&DEMO];
    while let Some(dir) = stack.pop() {
        for entry in dir.entries() {
            match entry {
                include_dir::DirEntry::Dir(sub) => stack.push(sub),
                include_dir::DirEntry::File(file) => {
                    files.push((file.path().to_string_lossy().replace('\\', "/"), file.contents().to_vec()))
                }
            }
        }
    }
    files.sort();
    files
}

/// The demo course: module 2 of Decision 4660 for lower-secondary teachers.
pub fn demo_package() -> Package {
    load_files(&demo_files()).expect("the demo package is valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ItemKind, QuestionKind};
    use crate::package::validate;

    #[test]
    fn demo_loads_and_validates() {
        let package = demo_package();
        validate(&package.course).unwrap();
        let course = &package.course;
        assert_eq!(course.module_code, "GV4660-02");
        assert_eq!(
            course.title,
            "Sử dụng phương pháp dạy học và giáo dục phát triển phẩm chất, năng lực học sinh trung học cơ sở"
        );
        assert_eq!(course.sections.len(), 3);
        assert!(course.summary_html.contains("<strong>xây dựng kế hoạch bài dạy</strong>"), "{}", course.summary_html);
    }

    #[test]
    fn demo_has_every_kind() {
        let package = demo_package();
        let items: Vec<_> = package.course.sections.iter().flat_map(|s| &s.items).collect();
        let lessons = items.iter().filter(|i| matches!(i.kind, ItemKind::Lesson { .. })).count();
        assert!(lessons >= 4, "{lessons}");
        for section in &package.course.sections {
            let quizzes: Vec<_> = section
                .items
                .iter()
                .filter_map(|i| match &i.kind {
                    ItemKind::Quiz(q) => Some(q),
                    _ => None,
                })
                .collect();
            assert_eq!(quizzes.len(), 1, "{}", section.title);
            let quiz = quizzes[0];
            assert!((5..=8).contains(&quiz.questions.len()));
            assert!([70, 80].contains(&quiz.pass_percent));
            assert_eq!(quiz.max_attempts, 3);
            assert!(quiz.shuffle);
            for wanted in ["single", "multiple", "true_false", "matching"] {
                assert!(
                    quiz.questions.iter().any(|q| matches!(
                        (&q.kind, wanted),
                        (QuestionKind::Single { .. }, "single")
                            | (QuestionKind::Multiple { .. }, "multiple")
                            | (QuestionKind::TrueFalse { .. }, "true_false")
                            | (QuestionKind::Matching { .. }, "matching")
                    )),
                    "{} lacks {wanted}",
                    section.title
                );
            }
        }
        let essays: Vec<_> = items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Essay(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(essays.len(), 1);
        assert_eq!(essays[0].rubric.criteria.len(), 3);
        let finals: Vec<_> = items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Final(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(finals.len(), 1);
        assert!(finals[0].allow_files);
        assert_eq!(finals[0].rubric.criteria.len(), 4);
        for rubric in [&essays[0].rubric, &finals[0].rubric] {
            assert_eq!(rubric.total(), 10.0);
            for criterion in &rubric.criteria {
                let levels: Vec<&str> = criterion.levels.iter().map(|l| l.title.as_str()).collect();
                assert_eq!(levels, ["Tốt", "Khá", "Đạt", "Chưa đạt"]);
            }
        }
    }

    #[test]
    fn demo_media_are_linked() {
        let package = demo_package();
        let png = package.media_file("media/tien-trinh-bai-day.png").unwrap();
        let pdf = package.media_file("media/phieu-hoc-tap-manh-ghep.pdf").unwrap();
        assert_eq!(png.mime, "image/png");
        assert_eq!(pdf.mime, "application/pdf");
        assert_eq!(package.media.len(), 2);
        let lessons: Vec<_> = package
            .course
            .sections
            .iter()
            .flat_map(|s| &s.items)
            .filter_map(|i| match &i.kind {
                ItemKind::Lesson { body_html, video, documents } => Some((body_html, video, documents)),
                _ => None,
            })
            .collect();
        assert!(lessons.iter().any(|(body, _, _)| body.contains(&format!("<img src=\"{}\"", png.url()))));
        assert!(lessons.iter().any(|(body, _, _)| body.contains("<table>")));
        let video = lessons.iter().find_map(|(_, v, _)| v.as_ref()).unwrap();
        assert!(video.url.starts_with("https://"));
        let document = lessons.iter().flat_map(|(_, _, d)| d.iter()).next().unwrap();
        assert_eq!(document.url, pdf.url());
        assert_eq!(document.mime.as_deref(), Some("application/pdf"));
    }

    #[test]
    fn embedded_files_match_the_folder() {
        // include_dir does not notice new files: touch src/demo.rs after adding one.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/gv4660-02");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                    on_disk.push((name, std::fs::read(&path).unwrap()));
                }
            }
        }
        on_disk.sort();
        assert_eq!(demo_files(), on_disk);
    }

    #[test]
    fn demo_text_is_nfc() {
        use unicode_normalization::UnicodeNormalization;
        for (name, bytes) in demo_files() {
            if name.ends_with(".md") || name.ends_with(".yaml") {
                let text = String::from_utf8(bytes).unwrap();
                assert_eq!(text.nfc().collect::<String>(), text, "{name}");
            }
        }
    }
}
