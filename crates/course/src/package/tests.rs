use super::*;
use crate::files::tests::{PDF, PNG, zip_of};
use crate::model::{Criterion, RubricLevel};

const COURSE: &str = "\
module_code: GV4660-02
title: Khóa học thử
summary: Tóm tắt **ngắn** ![sơ đồ](media/so-do.png)
sections:
  - title: Phần 1
    items:
      - key: bai-1
        title: Bài 1
        type: lesson
        body: lessons/bai-1.md
        video:
          src: https://example.org/video.mp4
        documents:
          - title: Tài liệu
            src: media/tai-lieu.pdf
      - key: kiem-tra
        title: Kiểm tra
        required: false
        type: quiz
        quiz: quizzes/kt.yaml
  - title: Phần 2
    items:
      - key: tu-luan
        title: Tự luận
        type: essay
        prompt: essays/tl.md
        rubric: rubrics/r.yaml
      - key: cuoi-khoa
        title: Cuối khóa
        type: final
        prompt: essays/ck.md
        rubric: rubrics/r.yaml
        allow_files: true
";

const QUIZ: &str = "\
pass_percent: 80
max_attempts: 3
shuffle: true
questions:
  - key: c1
    type: single
    prompt: Chọn một
    options: [A, B, C]
    correct: 2
  - key: c2
    type: multiple
    points: 2
    prompt: Chọn nhiều
    options: [A, B, C]
    correct: [1, 3]
  - key: c3
    type: true_false
    prompt: Đúng hay sai?
    correct: false
  - key: c4
    type: matching
    prompt: Ghép đôi ![h](../media/so-do.png)
    pairs:
      - [Một, '1']
      - [Hai, '2']
";

const RUBRIC: &str = "\
pass_percent: 50
criteria:
  - key: noi-dung
    title: Nội dung
    max_points: 6
    levels:
      - {title: Tốt, points: 6, description: Đầy đủ}
      - {title: Chưa đạt, points: 1}
  - key: trinh-bay
    title: Trình bày
    max_points: 4
";

fn base() -> Vec<(String, Vec<u8>)> {
    vec![
        ("course.yaml".into(), COURSE.into()),
        ("lessons/bai-1.md".into(), "# Bài 1\n\n![Hình](../media/so-do.png)\n\n[Tải](media/tai-lieu.pdf)\n".into()),
        ("quizzes/kt.yaml".into(), QUIZ.into()),
        ("essays/tl.md".into(), "Viết **một** đoạn.".into()),
        ("essays/ck.md".into(), "Xây dựng kế hoạch bài dạy.".into()),
        ("rubrics/r.yaml".into(), RUBRIC.into()),
        ("media/so-do.png".into(), PNG.to_vec()),
        ("media/tai-lieu.pdf".into(), PDF.to_vec()),
    ]
}

fn set(mut files: Vec<(String, Vec<u8>)>, path: &str, content: &[u8]) -> Vec<(String, Vec<u8>)> {
    files.retain(|(p, _)| p != path);
    files.push((path.into(), content.to_vec()));
    files
}

fn without(mut files: Vec<(String, Vec<u8>)>, path: &str) -> Vec<(String, Vec<u8>)> {
    files.retain(|(p, _)| p != path);
    files
}

/// The base package with `from` replaced by `to` in the file `path`.
fn edit(path: &str, from: &str, to: &str) -> Vec<(String, Vec<u8>)> {
    let files = base();
    let text = String::from_utf8(files.iter().find(|(p, _)| p == path).unwrap().1.clone()).unwrap();
    assert!(text.contains(from), "{from:?} not in {path}");
    set(files, path, text.replacen(from, to, 1).as_bytes())
}

fn err(files: &[(String, Vec<u8>)]) -> PackageError {
    load_files(files).expect_err("the package should be refused")
}

#[track_caller]
fn assert_err(files: &[(String, Vec<u8>)], code: &str, shown: &str) {
    let e = err(files);
    assert_eq!((e.code, e.to_string().as_str()), (code, shown), "{e:?}");
}

#[test]
fn loads_every_kind() {
    let package = load_files(&base()).unwrap();
    let course = &package.course;
    assert_eq!(course.module_code, "GV4660-02");
    assert_eq!(course.title, "Khóa học thử");
    let png = package.media_file("media/so-do.png").unwrap();
    assert_eq!(png.sha256, sha256_hex(PNG));
    assert_eq!(png.mime, "image/png");
    assert_eq!(png.url(), format!("/files/{}/so-do.png", png.sha256));
    assert!(format!("{png:?}").contains("bytes: 16"));
    assert!(
        course.summary_html.contains(&format!("<img src=\"{}\" alt=\"sơ đồ\">", png.url())),
        "{}",
        course.summary_html
    );
    assert_eq!(course.sections.len(), 2);
    let items: Vec<&Item> = course.sections.iter().flat_map(|s| &s.items).collect();
    let ItemKind::Lesson { body_html, video, documents } = &items[0].kind else { panic!() };
    assert!(body_html.contains("<h1>Bài 1</h1>"));
    assert!(body_html.contains(&png.url()), "{body_html}");
    let pdf = package.media_file("media/tai-lieu.pdf").unwrap();
    assert!(body_html.contains(&format!("href=\"{}\"", pdf.url())), "{body_html}");
    let video = video.as_ref().unwrap();
    assert_eq!(video, &MediaRef { title: "Bài 1".into(), url: "https://example.org/video.mp4".into(), mime: None });
    assert_eq!(
        documents,
        &[MediaRef { title: "Tài liệu".into(), url: pdf.url(), mime: Some("application/pdf".into()) }]
    );
    assert!(items[0].required);
    assert!(!items[1].required);
    let ItemKind::Quiz(quiz) = &items[1].kind else { panic!() };
    assert_eq!((quiz.pass_percent, quiz.max_attempts, quiz.shuffle), (80, 3, true));
    assert_eq!(
        quiz.questions[0].kind,
        QuestionKind::Single { options: vec!["A".into(), "B".into(), "C".into()], correct: 1 }
    );
    assert_eq!(quiz.questions[0].points, 1.0);
    assert_eq!(
        quiz.questions[1].kind,
        QuestionKind::Multiple { options: vec!["A".into(), "B".into(), "C".into()], correct: vec![0, 2] }
    );
    assert_eq!(quiz.questions[1].points, 2.0);
    assert_eq!(quiz.questions[2].kind, QuestionKind::TrueFalse { correct: false });
    assert_eq!(
        quiz.questions[3].kind,
        QuestionKind::Matching { pairs: vec![("Một".into(), "1".into()), ("Hai".into(), "2".into())] }
    );
    assert!(quiz.questions[3].prompt_html.contains(&png.url()), "{}", quiz.questions[3].prompt_html);
    let ItemKind::Essay(essay) = &items[2].kind else { panic!() };
    assert_eq!(essay.prompt_html, "<p>Viết <strong>một</strong> đoạn.</p>\n");
    assert!(!essay.allow_files);
    assert_eq!(essay.rubric.pass_percent, 50);
    assert_eq!(
        essay.rubric.criteria[0].levels[1],
        RubricLevel { title: "Chưa đạt".into(), points: 1.0, description: String::new() }
    );
    assert!(essay.rubric.criteria[1].levels.is_empty());
    let ItemKind::Final(last) = &items[3].kind else { panic!() };
    assert!(last.allow_files);
    assert_eq!(package.media.len(), 2);
}

#[test]
fn loads_a_zipped_folder_and_ignores_junk() {
    let mut entries: Vec<(String, Vec<u8>)> = base().into_iter().map(|(p, b)| (format!("goi-mo-dun/{p}"), b)).collect();
    entries.push(("__MACOSX/goi-mo-dun/._course.yaml".into(), b"\0\x05junk".to_vec()));
    entries.push(("goi-mo-dun/.DS_Store".into(), b"junk".to_vec()));
    entries.push(("goi-mo-dun/media/Thumbs.db".into(), b"junk".to_vec()));
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let package = load_zip(&zip_of(&refs)).unwrap();
    assert_eq!(package, load_files(&base()).unwrap());
}

#[test]
fn zip_with_directory_entries_and_backslashes() {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    writer.add_directory("lessons/", options).unwrap();
    for (path, bytes) in base() {
        writer.start_file(path.replace('/', "\\"), options).unwrap();
        std::io::Write::write_all(&mut writer, &bytes).unwrap();
    }
    let bytes = writer.finish().unwrap().into_inner();
    assert_eq!(load_zip(&bytes).unwrap(), load_files(&base()).unwrap());
}

#[test]
fn text_is_nfc_and_bom_is_ignored() {
    let nfd = "Khóa học thử".nfd().collect::<String>();
    let course = COURSE.replace("Khóa học thử", &nfd);
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend(course.replace('\n', "\r\n").as_bytes());
    let files = set(base(), "course.yaml", &bytes);
    // An NFD file name (as macOS writes them) is found too.
    let nfd_name = "media/sơ-đồ.png".nfd().collect::<String>();
    let files = set(files, &nfd_name, PNG);
    let package = load_files(&files).unwrap();
    assert_eq!(package.course.title, "Khóa học thử");
    assert!(package.media_file("media/sơ-đồ.png").is_some());
}

#[test]
fn loads_from_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in base() {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    assert_eq!(load_dir(dir.path()).unwrap(), load_files(&base()).unwrap());
}

#[test]
fn folder_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_dir(&dir.path().join("khong-co")).unwrap_err();
    assert_eq!(e.code, "io");
    assert!(e.message.starts_with("không đọc được"), "{e}");

    std::fs::write(dir.path().join("course.yaml"), COURSE).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("lien-ket")).unwrap();
    let e = load_dir(dir.path()).unwrap_err();
    assert_eq!(e.code, "unsafe_path");
    assert_eq!(e.to_string(), "lien-ket: không nhận liên kết tượng trưng (symlink)");

    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(dir.path().join(name), b"1234").unwrap();
    }
    let mut files = Vec::new();
    let limits = Limits { max_bytes: 10, max_files: 5 };
    assert_eq!(collect_dir(dir.path(), "", &mut files, &mut 0, limits).unwrap_err().code, "too_large");
    let limits = Limits { max_bytes: 100, max_files: 2 };
    let mut files = Vec::new();
    assert_eq!(collect_dir(dir.path(), "", &mut files, &mut 0, limits).unwrap_err().code, "too_many_files");
}

#[test]
fn root_must_hold_course_yaml() {
    assert_err(&[], "no_course_yaml", "Không tìm thấy course.yaml ở thư mục gốc của gói (gói trống)");
    assert_err(&without(base(), "course.yaml"), "no_course_yaml", "Không tìm thấy course.yaml ở thư mục gốc của gói");
    let nested: Vec<_> = base().into_iter().map(|(p, b)| (format!("a/b/{p}"), b)).collect();
    assert_err(
        &nested,
        "no_course_yaml",
        "Không tìm thấy course.yaml ở thư mục gốc của gói (có a/b/course.yaml: hãy đặt nó ở thư mục gốc hoặc nén \
         đúng một thư mục chứa nó)",
    );
    let mut two_folders: Vec<_> = base().into_iter().map(|(p, b)| (format!("goi/{p}"), b)).collect();
    two_folders.push(("khac/ghi-chu.txt".into(), b"x".to_vec()));
    assert_eq!(err(&two_folders).code, "no_course_yaml");
}

#[test]
fn unsafe_paths() {
    for bad in ["../course.yaml", "/etc/passwd", "a/../../b", "C:/Windows/x", "..\\x", "", "/", "a\0b"] {
        let e = err(&set(base(), bad, b"x"));
        assert_eq!(e.code, "unsafe_path", "{bad:?}");
        assert_eq!(e.to_string(), format!("Đường dẫn không an toàn trong gói: {bad}"));
    }
    // `.` parts are harmless.
    assert!(load_files(&set(base(), "./lessons/./ghi-chu.md", b"x")).is_ok());
}

#[test]
fn duplicate_paths() {
    let files = set(base(), "./media/so-do.png", PNG);
    assert_err(&files, "duplicate_file", "Tệp media/so-do.png xuất hiện hai lần trong gói");
}

#[test]
fn size_and_count_limits() {
    let limits = Limits { max_bytes: 100, max_files: 100 };
    assert_eq!(load_files_with(&base(), limits).unwrap_err().to_string(), "Gói quá lớn: tối đa 0 MB sau khi giải nén");
    let limits = Limits { max_bytes: 1 << 20, max_files: 3 };
    assert_eq!(load_files_with(&base(), limits).unwrap_err().to_string(), "Gói có quá nhiều tệp: tối đa 3");
    assert_eq!(too_many_files(LIMITS).to_string(), "Gói có quá nhiều tệp: tối đa 2.000");
    assert_eq!(too_large(LIMITS).to_string(), "Gói quá lớn: tối đa 200 MB sau khi giải nén");
    assert_eq!(group_thousands(1234567), "1.234.567");
    assert_eq!(group_thousands(12), "12");
}

#[test]
fn zip_guards() {
    let e = load_zip(b"PK\x03\x04 not really").unwrap_err();
    assert_eq!(e.code, "zip_invalid");
    assert!(e.to_string().starts_with("Tệp .zip không đọc được: "), "{e}");
    assert_eq!(load_zip(b"").unwrap_err().code, "zip_invalid");

    let entries: Vec<(String, Vec<u8>)> = base();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let zip = zip_of(&refs);
    assert_eq!(load_zip_with(&zip, Limits { max_bytes: 1 << 20, max_files: 4 }).unwrap_err().code, "too_many_files");
    let e = load_zip_with(&zip, Limits { max_bytes: 500, max_files: 100 }).unwrap_err();
    assert_eq!(e.code, "too_large");

    // A highly compressible entry (a bomb in miniature) stops at the limit.
    let zeros = vec![0u8; 2_000_000];
    let bomb = zip_of(&[("course.yaml", COURSE.as_bytes()), ("media/a.pdf", &zeros)]);
    assert!(bomb.len() < 20_000);
    assert_eq!(load_zip_with(&bomb, Limits { max_bytes: 1_000_000, max_files: 100 }).unwrap_err().code, "too_large");

    for bad in ["/course.yaml", "../course.yaml", "a/../../x"] {
        let zip = zip_of(&[(bad, b"x")]);
        assert_eq!(load_zip(&zip).unwrap_err().code, "unsafe_path", "{bad}");
    }
}

#[test]
fn zip_that_lies_about_sizes_is_refused() {
    let zeros = vec![0u8; 100_000];
    let mut zip = zip_of(&[("course.yaml", COURSE.as_bytes()), ("media/a.bin", &zeros)]);
    // Patch every record of the second entry to declare 10 bytes instead of 100 000: the local
    // header (signature PK\3\4, size at +22) and the central directory (PK\1\2, size at +24).
    let declared = 100_000u32.to_le_bytes();
    let mut patched = 0;
    for i in 0..zip.len() - 4 {
        let at = match &zip[i..i + 4] {
            b"PK\x03\x04" => i + 22,
            b"PK\x01\x02" => i + 24,
            _ => continue,
        };
        if zip[at..at + 4] == declared {
            zip[at..at + 4].copy_from_slice(&10u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    let e = load_zip_with(&zip, Limits { max_bytes: 50_000, max_files: 100 }).unwrap_err();
    assert!(["too_large", "zip_invalid"].contains(&e.code), "{e:?}");
}

#[test]
fn media_types() {
    assert_err(
        &set(base(), "media/cai-dat.exe", b"MZ"),
        "media_type",
        "media/cai-dat.exe: loại tệp không được hỗ trợ (chỉ nhận .pdf, .docx, .xlsx, .pptx, .jpg, .png, .gif, .webp, \
         .mp4, .webm, .mp3, .zip, .jpeg, .m4v)",
    );
    assert_eq!(err(&set(base(), "media/khong-duoi", PNG)).code, "media_type");
    assert_eq!(err(&set(base(), "media/a.svg", b"<svg onload=alert(1)>")).code, "media_type");
    assert_err(
        &set(base(), "media/bai-giang.pdf", PNG),
        "media_content",
        "media/bai-giang.pdf: tệp có đuôi .pdf nhưng nội dung là ảnh PNG: hãy kiểm tra lại tệp",
    );
    assert_err(
        &set(base(), "media/anh.jpg", b"MZ\x90"),
        "media_content",
        "media/anh.jpg: tệp có đuôi .jpg nhưng nội dung không nhận ra: hãy kiểm tra lại tệp",
    );
    // Files outside media/ are not media and are ignored when unused.
    assert!(load_files(&set(base(), "ghi-chu/cai-dat.exe", b"MZ")).is_ok());
}

#[test]
fn text_must_be_utf8() {
    assert_err(
        &set(base(), "lessons/bai-1.md", b"Nguy\xd4n V\xa8n"),
        "encoding",
        "lessons/bai-1.md: tệp không phải văn bản UTF-8 (hãy lưu lại với mã hóa UTF-8)",
    );
    assert_eq!(err(&set(base(), "course.yaml", b"title: \xff")).code, "encoding");
}

#[test]
fn yaml_errors_name_file_and_line() {
    assert_err(
        &edit("course.yaml", "      - key: bai-1\n        title: Bài 1\n", "      - key: bai-1\n"),
        "yaml",
        "course.yaml, dòng 7: thiếu khóa 'title'",
    );
    assert_err(
        &edit("course.yaml", "title: Khóa học thử\n", "title: Khóa học thử\ntieu_de: x\n"),
        "yaml",
        "course.yaml, dòng 3: khóa 'tieu_de' không hợp lệ (các khóa dùng được: module_code, title, summary, sections)",
    );
    assert_err(
        &edit("course.yaml", "type: lesson", "type: bai-hoc"),
        "yaml",
        "course.yaml, dòng 9: giá trị 'bai-hoc' không hợp lệ (chọn một trong: lesson, quiz, essay, final)",
    );
    assert_err(
        &edit("quizzes/kt.yaml", "points: 2", "points: 1,5"),
        "yaml",
        "quizzes/kt.yaml, dòng 12: sai kiểu giá trị: cần số (dấu chấm thập phân, ví dụ 1.5), gặp chuỗi \"1,5\" — hãy \
         dùng dấu chấm thập phân",
    );
    assert_err(
        &edit("quizzes/kt.yaml", "pass_percent: 80", "pass_percent: -5"),
        "yaml",
        "quizzes/kt.yaml, dòng 1: sai kiểu giá trị: cần số nguyên không âm, gặp số -5",
    );
    assert_err(
        &edit("quizzes/kt.yaml", "      - [Hai, '2']", "      - [Hai, '2', '3']"),
        "yaml",
        "quizzes/kt.yaml, dòng 25: độ dài 3 không hợp lệ: cần cặp [vế trái, vế phải]",
    );
    assert_err(
        &edit("quizzes/kt.yaml", "correct: 2", "correct: hai"),
        "yaml",
        "quizzes/kt.yaml, dòng 5: 'correct' phải là một số thứ tự, một danh sách số thứ tự hoặc true/false",
    );
    let e = err(&edit("course.yaml", "title: Khóa học thử", "title: Khóa: học thử"));
    assert_eq!(e.code, "yaml");
    assert_eq!(
        e.message,
        "lỗi cú pháp YAML: dấu ':' không được dùng ở đây, hãy đặt giá trị trong dấu ngoặc kép (mapping values are not \
         allowed in this context)"
    );
    assert_eq!(e.line, Some(2));
    assert_err(&set(base(), "rubrics/r.yaml", b""), "yaml", "rubrics/r.yaml: tệp trống");
    assert_err(&set(base(), "rubrics/r.yaml", "# chưa viết\n\n".as_bytes()), "yaml", "rubrics/r.yaml: tệp trống");
    assert_err(
        &set(base(), "rubrics/r.yaml", b"pass_percent: 50\ncriteria: 3\n"),
        "yaml",
        "rubrics/r.yaml, dòng 2: sai kiểu giá trị: cần danh sách, gặp số 3",
    );
    assert_err(
        &edit("course.yaml", "sections:\n", "sections:\n  - items: []\n"),
        "yaml",
        "course.yaml, dòng 5: thiếu khóa 'title'",
    );
    assert_err(
        &edit("quizzes/kt.yaml", "shuffle: true", "shuffle: có"),
        "yaml",
        "quizzes/kt.yaml, dòng 3: sai kiểu giá trị: cần true hoặc false, gặp chuỗi \"có\"",
    );
}

#[test]
fn yaml_message_translation() {
    assert_eq!(
        strip_marks("did not find expected key at line 3 column 5, while parsing a block mapping at line 2 column 3"),
        "did not find expected key, while parsing a block mapping"
    );
    assert_eq!(strip_marks("x at position 7"), "x");
    assert_eq!(strip_marks("look at this"), "look at this");
    assert_eq!(strip_marks("at line"), "at line");
    assert_eq!(translate_yaml("a.b[0]: missing field `key` at line 2 column 3"), "thiếu khóa 'key'");
    assert_eq!(translate_yaml("unknown field `x`, there are no fields"), "khóa 'x' không hợp lệ");
    assert_eq!(translate_yaml("duplicate field `title`"), "khóa 'title' bị lặp");
    assert_eq!(
        translate_yaml("invalid type: map, expected a string"),
        "sai kiểu giá trị: cần chuỗi, gặp bảng khóa–giá trị"
    );
    assert_eq!(
        translate_yaml("invalid type: unit value, expected struct RawLevel"),
        "sai kiểu giá trị: cần bảng khóa–giá trị, gặp giá trị rỗng"
    );
    assert_eq!(
        translate_yaml("invalid type: boolean `true`, expected u32"),
        "sai kiểu giá trị: cần số nguyên không âm, gặp true"
    );
    assert_eq!(
        translate_yaml("invalid type: floating point `1.5`, expected a sequence"),
        "sai kiểu giá trị: cần danh sách, gặp số 1.5"
    );
    assert_eq!(
        translate_yaml("invalid type: sequence, expected something"),
        "sai kiểu giá trị: cần something, gặp danh sách"
    );
    assert_eq!(translate_yaml("EOF while parsing a value"), "tệp trống");
    assert_eq!(
        translate_yaml("invalid value: integer `300`, expected u8"),
        "giá trị không hợp lệ: cần số nguyên không âm, gặp số 300"
    );
    assert_eq!(translate_yaml("recursion limit exceeded"), "lỗi cú pháp YAML (recursion limit exceeded)");
    assert_eq!(
        translate_yaml("found character that cannot start any token, while scanning for the next token"),
        "lỗi cú pháp YAML: ký tự không hợp lệ — thụt lề bằng phím Tab, hoặc giá trị bắt đầu bằng ký tự đặc biệt \
         (@, `, %…) chưa đặt trong dấu ngoặc kép (found character that cannot start any token, while scanning for \
         the next token)"
    );
    assert_eq!(
        translate_yaml("did not find expected key, while parsing a block mapping"),
        "lỗi cú pháp YAML: thụt lề không thẳng hàng (did not find expected key, while parsing a block mapping)"
    );
    assert_eq!(
        translate_yaml("did not find expected whitespace or line break, while scanning a tag"),
        "lỗi cú pháp YAML: giá trị bắt đầu bằng ! hoặc ký tự đặc biệt cần đặt trong dấu ngoặc kép (did not find \
         expected whitespace or line break, while scanning a tag)"
    );
}

#[test]
fn duplicate_yaml_keys_are_refused() {
    let e = err(&edit("course.yaml", "title: Khóa học thử\n", "title: Khóa học thử\ntitle: Lần hai\n"));
    assert_eq!(e.code, "yaml");
    assert_eq!(e.file.as_deref(), Some("course.yaml"));
}

#[test]
fn item_fields_depend_on_type() {
    assert_err(
        &edit("course.yaml", "        body: lessons/bai-1.md\n", ""),
        "yaml",
        "course.yaml, dòng 7: hoạt động “bai-1” (bài học) thiếu khóa 'body'",
    );
    assert_err(
        &edit("course.yaml", "        quiz: quizzes/kt.yaml\n", "        quiz: quizzes/kt.yaml\n        body: a.md\n"),
        "yaml",
        "course.yaml, dòng 16: hoạt động “kiem-tra” (bài kiểm tra) không dùng khóa 'body'",
    );
    assert_err(
        &edit("course.yaml", "        quiz: quizzes/kt.yaml\n", ""),
        "yaml",
        "course.yaml, dòng 16: hoạt động “kiem-tra” (bài kiểm tra) thiếu khóa 'quiz'",
    );
    assert_err(
        &edit(
            "course.yaml",
            "        prompt: essays/tl.md\n        rubric: rubrics/r.yaml\n",
            "        prompt: essays/tl.md\n",
        ),
        "yaml",
        "course.yaml, dòng 23: hoạt động “tu-luan” (câu hỏi tự luận) thiếu khóa 'rubric'",
    );
    assert_err(
        &edit(
            "course.yaml",
            "        allow_files: true\n",
            "        allow_files: true\n        video: {src: https://a.vn/v}\n",
        ),
        "yaml",
        "course.yaml, dòng 28: hoạt động “cuoi-khoa” (bài tập cuối khóa) không dùng khóa 'video'",
    );
    assert_err(
        &edit(
            "course.yaml",
            "        body: lessons/bai-1.md\n",
            "        body: lessons/bai-1.md\n        allow_files: false\n",
        ),
        "yaml",
        "course.yaml, dòng 7: hoạt động “bai-1” (bài học) không dùng khóa 'allow_files'",
    );
}

#[test]
fn referenced_files_must_exist() {
    assert_err(
        &without(base(), "lessons/bai-1.md"),
        "missing_file",
        "course.yaml, dòng 7: thiếu tệp lessons/bai-1.md được nhắc đến ở đây",
    );
    assert_err(
        &without(base(), "quizzes/kt.yaml"),
        "missing_file",
        "course.yaml, dòng 16: thiếu tệp quizzes/kt.yaml được nhắc đến ở đây",
    );
    assert_err(
        &without(base(), "rubrics/r.yaml"),
        "missing_file",
        "course.yaml, dòng 23: thiếu tệp rubrics/r.yaml được nhắc đến ở đây",
    );
    assert_err(
        &without(base(), "essays/ck.md"),
        "missing_file",
        "course.yaml, dòng 28: thiếu tệp essays/ck.md được nhắc đến ở đây",
    );
    assert_err(
        &edit("course.yaml", "body: lessons/bai-1.md", "body: ../bai-1.md"),
        "unsafe_path",
        "course.yaml, dòng 7: đường dẫn không an toàn: ../bai-1.md",
    );
    // Paths are relative to the package root and may be written with ./ or backslashes.
    assert!(load_files(&edit("course.yaml", "body: lessons/bai-1.md", "body: ./lessons\\bai-1.md")).is_ok());
}

#[test]
fn markdown_media_must_exist() {
    assert_err(
        &edit("lessons/bai-1.md", "[Tải](media/tai-lieu.pdf)", "Xem\n[Tải](media/khong-co.pdf)"),
        "media_missing",
        "lessons/bai-1.md, dòng 6: thiếu tệp media/khong-co.pdf được nhắc đến ở đây",
    );
    assert_err(
        &edit("lessons/bai-1.md", "[Tải](media/tai-lieu.pdf)", "[Bài sau](bai-2.md)"),
        "media_missing",
        "lessons/bai-1.md, dòng 5: thiếu tệp lessons/bai-2.md được nhắc đến ở đây",
    );
    assert_err(
        &edit("lessons/bai-1.md", "[Tải](media/tai-lieu.pdf)", "[Đề](../essays/tl.md)"),
        "media_outside",
        "lessons/bai-1.md, dòng 5: liên kết tới essays/tl.md: chỉ liên kết được tới tệp trong thư mục media/",
    );
    assert_err(
        &edit("quizzes/kt.yaml", "prompt: Chọn nhiều", "prompt: Chọn nhiều ![x](media/x.png)"),
        "media_missing",
        "quizzes/kt.yaml, dòng 10: thiếu tệp media/x.png được nhắc đến ở đây",
    );
    assert_err(
        &edit("course.yaml", "summary: Tóm tắt **ngắn** ![sơ đồ](media/so-do.png)", "summary: \"![a](media/a.png)\""),
        "media_missing",
        "course.yaml, dòng 3: thiếu tệp media/a.png được nhắc đến ở đây",
    );
    assert_err(
        &edit("essays/tl.md", "Viết", "![a](../../a.png) Viết"),
        "media_missing",
        "essays/tl.md, dòng 1: thiếu tệp ../../a.png được nhắc đến ở đây",
    );
    // External images and links are left alone (the sanitizer keeps https only).
    let package = load_files(&edit("essays/tl.md", "Viết", "![a](https://a.vn/a.png) [b](https://b.vn) Viết")).unwrap();
    let ItemKind::Essay(essay) = &package.course.sections[1].items[0].kind else { panic!() };
    assert!(essay.prompt_html.contains("src=\"https://a.vn/a.png\""));
}

#[test]
fn lesson_media_refs() {
    assert_err(
        &edit("course.yaml", "src: https://example.org/video.mp4", "src: http://example.org/video.mp4"),
        "media_url",
        "course.yaml, dòng 7: liên kết “http://example.org/video.mp4” không hợp lệ: chỉ nhận địa chỉ https:// hoặc tệp \
         trong media/",
    );
    assert_eq!(
        err(&edit("course.yaml", "src: https://example.org/video.mp4", "src: javascript:alert(1)")).code,
        "media_url"
    );
    assert_err(
        &edit("course.yaml", "src: https://example.org/video.mp4", "src: media/video.mp4"),
        "media_missing",
        "course.yaml, dòng 7: thiếu tệp media/video.mp4 được nhắc đến ở đây",
    );
    assert_err(
        &edit("course.yaml", "src: https://example.org/video.mp4", "src: media/tai-lieu.pdf"),
        "media_type",
        "course.yaml, dòng 7: media/tai-lieu.pdf không phải video (.mp4, .webm)",
    );
    assert_err(
        &edit("course.yaml", "src: media/tai-lieu.pdf", "src: lessons/bai-1.md"),
        "media_outside",
        "course.yaml, dòng 7: lessons/bai-1.md: tệp video/tài liệu phải nằm trong thư mục media/",
    );
    assert_err(
        &edit("course.yaml", "src: media/tai-lieu.pdf", "src: media/../../x.pdf"),
        "unsafe_path",
        "course.yaml, dòng 7: đường dẫn không an toàn: media/../../x.pdf",
    );
    // A packaged video, and a document without a title (named after its file).
    let mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0isommp42";
    let files = set(
        edit("course.yaml", "src: https://example.org/video.mp4", "src: media/video.mp4\n          title: Video bài 1"),
        "media/video.mp4",
        mp4,
    );
    let files = {
        let text = String::from_utf8(files.iter().find(|(p, _)| p == "course.yaml").unwrap().1.clone()).unwrap();
        set(
            files,
            "course.yaml",
            text.replace("          - title: Tài liệu\n            src", "          - src").as_bytes(),
        )
    };
    let package = load_files(&files).unwrap();
    let ItemKind::Lesson { video, documents, .. } = &package.course.sections[0].items[0].kind else { panic!() };
    let video = video.as_ref().unwrap();
    assert_eq!(video.title, "Video bài 1");
    assert_eq!(video.mime.as_deref(), Some("video/mp4"));
    assert_eq!(video.url, package.media_file("media/video.mp4").unwrap().url());
    assert_eq!(documents[0].title, "tai-lieu.pdf");
}

#[test]
fn activity_keys_and_titles() {
    assert_err(
        &edit("course.yaml", "key: bai-1", "key: Bài 1"),
        "bad_key",
        "course.yaml, dòng 7: mã hoạt động “Bài 1” không hợp lệ: chỉ dùng chữ thường không dấu a-z, chữ số và dấu gạch \
         ngang, tối đa 40 ký tự",
    );
    assert_err(
        &edit("course.yaml", "key: kiem-tra", "key: bai-1"),
        "duplicate_key",
        "course.yaml, dòng 16: mã hoạt động “bai-1” bị trùng",
    );
    assert_err(
        &edit(
            "course.yaml",
            "key: tu-luan\n        title: Tự luận\n        type: essay",
            "key: tu-luan\n        title: Tự luận\n        type: final",
        ),
        "several_finals",
        "course.yaml, dòng 28: hoạt động “cuoi-khoa”: khóa học chỉ có một bài tập cuối khóa",
    );
    assert_err(
        &edit("course.yaml", "title: Bài 1", "title: '  '"),
        "empty_text",
        "course.yaml, dòng 7: hoạt động “bai-1” chưa có tên",
    );
    assert_err(
        &edit("course.yaml", "title: Khóa học thử", "title: ''"),
        "empty_text",
        "course.yaml, dòng 2: chưa có tên khóa học",
    );
    assert_err(
        &edit("course.yaml", "module_code: GV4660-02", "module_code: ' '"),
        "empty_text",
        "course.yaml, dòng 1: chưa có mã mô đun",
    );
    assert_err(&edit("course.yaml", "title: Phần 2", "title: ''"), "empty_text", "course.yaml: phần 2 chưa có tên");
    assert_err(&set(base(), "essays/tl.md", b"  \n\n"), "empty_text", "essays/tl.md: đề bài để trống");
}

#[test]
fn quiz_errors() {
    let quiz = |from: &str, to: &str| edit("quizzes/kt.yaml", from, to);
    assert_err(
        &quiz("pass_percent: 80", "pass_percent: 150"),
        "pass_percent",
        "quizzes/kt.yaml, dòng 1: tỉ lệ đạt 150% vượt quá 100%",
    );
    let empty = "pass_percent: 80\nquestions: []\n";
    assert_err(
        &set(base(), "quizzes/kt.yaml", empty.as_bytes()),
        "quiz_empty",
        "quizzes/kt.yaml, dòng 2: bài kiểm tra chưa có câu hỏi nào",
    );
    assert_err(
        &quiz("key: c2", "key: C_2"),
        "bad_key",
        "quizzes/kt.yaml, dòng 10: mã câu hỏi “C_2” không hợp lệ: chỉ dùng chữ thường không dấu a-z, chữ số và dấu gạch \
         ngang, tối đa 40 ký tự",
    );
    assert_err(&quiz("key: c3", "key: c1"), "duplicate_key", "quizzes/kt.yaml, dòng 16: mã câu hỏi “c1” bị trùng");
    assert_err(
        &quiz("points: 2", "points: 0"),
        "points",
        "quizzes/kt.yaml, dòng 10: câu hỏi “c2”: điểm phải lớn hơn 0 (đang là 0)",
    );
    assert_err(
        &quiz("points: 2", "points: -1.5"),
        "points",
        "quizzes/kt.yaml, dòng 10: câu hỏi “c2”: điểm phải lớn hơn 0 (đang là -1,5)",
    );
    assert_eq!(err(&quiz("points: 2", "points: .nan")).code, "points");
    assert_err(
        &quiz("prompt: Chọn một", "prompt: ' '"),
        "empty_text",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: chưa có nội dung câu hỏi",
    );
    // Single choice
    assert_err(
        &quiz("options: [A, B, C]\n    correct: 2", "options: [A]\n    correct: 1"),
        "options",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: cần ít nhất 2 lựa chọn (có 1)",
    );
    assert_err(
        &quiz("options: [A, B, C]\n    correct: 2", "options: [A, '', C]\n    correct: 1"),
        "empty_text",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: lựa chọn 2 để trống",
    );
    assert_err(
        &quiz("options: [A, B, C]\n    correct: 2", "options: [A, B, ' A']\n    correct: 1"),
        "duplicate_option",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: lựa chọn “A” bị lặp",
    );
    assert_err(
        &quiz("correct: 2", "correct: 4"),
        "option_out_of_range",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: đáp án đúng 4 nằm ngoài các lựa chọn 1–3",
    );
    assert_err(
        &quiz("correct: 2", "correct: 0"),
        "option_out_of_range",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: đáp án đúng 0 nằm ngoài các lựa chọn 1–3",
    );
    assert_err(
        &quiz("correct: 2", "correct: [2]"),
        "bad_correct",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: 'correct' phải là số thứ tự của một lựa chọn (1, 2, …)",
    );
    assert_err(
        &quiz("    correct: 2\n", ""),
        "yaml",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: câu một lựa chọn thiếu khóa 'correct'",
    );
    assert_err(
        &quiz("    options: [A, B, C]\n    correct: 2\n", "    correct: 2\n"),
        "yaml",
        "quizzes/kt.yaml, dòng 5: câu hỏi “c1”: câu một lựa chọn thiếu khóa 'options'",
    );
    // Multiple choice
    assert_err(
        &quiz("correct: [1, 3]", "correct: []"),
        "no_correct",
        "quizzes/kt.yaml, dòng 10: câu hỏi “c2”: câu nhiều lựa chọn chưa có đáp án đúng nào",
    );
    assert_err(
        &quiz("correct: [1, 3]", "correct: [1, 1]"),
        "duplicate_option",
        "quizzes/kt.yaml, dòng 10: câu hỏi “c2”: đáp án đúng 1 được ghi hai lần",
    );
    assert_err(
        &quiz("correct: [1, 3]", "correct: [1, 9]"),
        "option_out_of_range",
        "quizzes/kt.yaml, dòng 10: câu hỏi “c2”: đáp án đúng 9 nằm ngoài các lựa chọn 1–3",
    );
    assert_err(
        &quiz("correct: [1, 3]", "correct: true"),
        "bad_correct",
        "quizzes/kt.yaml, dòng 10: câu hỏi “c2”: 'correct' phải là danh sách số thứ tự các lựa chọn đúng, ví dụ [1, 3]",
    );
    let single_number = load_files(&quiz("correct: [1, 3]", "correct: 3")).unwrap();
    let ItemKind::Quiz(q) = &single_number.course.sections[0].items[1].kind else { panic!() };
    assert_eq!(
        q.questions[1].kind,
        QuestionKind::Multiple { options: vec!["A".into(), "B".into(), "C".into()], correct: vec![2] }
    );
    // True/false
    assert_err(
        &quiz("correct: false", "correct: 1"),
        "bad_correct",
        "quizzes/kt.yaml, dòng 16: câu hỏi “c3”: 'correct' phải là true (đúng) hoặc false (sai)",
    );
    assert_err(
        &quiz("    correct: false\n", "    correct: false\n    options: [Đúng, Sai]\n"),
        "yaml",
        "quizzes/kt.yaml, dòng 16: câu hỏi “c3”: câu đúng/sai không dùng khóa 'options'",
    );
    // Matching
    assert_err(
        &quiz("      - [Hai, '2']\n", ""),
        "matching_pairs",
        "quizzes/kt.yaml, dòng 20: câu hỏi “c4”: câu ghép đôi cần ít nhất 2 cặp (có 1)",
    );
    assert_err(
        &quiz("[Hai, '2']", "[Hai, '1']"),
        "duplicate_option",
        "quizzes/kt.yaml, dòng 20: câu hỏi “c4”: vế “1” bị lặp",
    );
    assert_err(
        &quiz("[Hai, '2']", "[Một, '2']"),
        "duplicate_option",
        "quizzes/kt.yaml, dòng 20: câu hỏi “c4”: vế “Một” bị lặp",
    );
    assert_err(
        &quiz("[Hai, '2']", "[Hai, '']"),
        "empty_text",
        "quizzes/kt.yaml, dòng 20: câu hỏi “c4”: cặp 2 có vế để trống",
    );
    assert_err(
        &quiz("    pairs:\n", "    correct: 1\n    pairs:\n"),
        "yaml",
        "quizzes/kt.yaml, dòng 20: câu hỏi “c4”: câu ghép đôi không dùng khóa 'correct'",
    );
    assert_err(
        &quiz("    pairs:\n      - [Một, '1']\n      - [Hai, '2']\n", ""),
        "yaml",
        "quizzes/kt.yaml, dòng 20: câu hỏi “c4”: câu ghép đôi thiếu khóa 'pairs'",
    );
}

#[test]
fn rubric_errors() {
    let rubric = |from: &str, to: &str| edit("rubrics/r.yaml", from, to);
    assert_err(
        &rubric("pass_percent: 50", "pass_percent: 101"),
        "pass_percent",
        "rubrics/r.yaml, dòng 1: tỉ lệ đạt 101% vượt quá 100%",
    );
    assert_err(
        &set(base(), "rubrics/r.yaml", b"pass_percent: 50\ncriteria: []\n"),
        "rubric_empty",
        "rubrics/r.yaml, dòng 2: thang đánh giá chưa có tiêu chí nào",
    );
    assert_err(
        &rubric("key: trinh-bay", "key: trình-bày"),
        "bad_key",
        "rubrics/r.yaml, dòng 9: mã tiêu chí “trình-bày” không hợp lệ: chỉ dùng chữ thường không dấu a-z, chữ số và \
         dấu gạch ngang, tối đa 40 ký tự",
    );
    assert_err(
        &rubric("key: trinh-bay", "key: noi-dung"),
        "duplicate_key",
        "rubrics/r.yaml, dòng 9: mã tiêu chí “noi-dung” bị trùng",
    );
    assert_err(
        &rubric("title: Trình bày", "title: ''"),
        "empty_text",
        "rubrics/r.yaml, dòng 9: tiêu chí “trinh-bay”: chưa có tên tiêu chí",
    );
    assert_err(
        &rubric("max_points: 4", "max_points: 0"),
        "points",
        "rubrics/r.yaml, dòng 9: tiêu chí “trinh-bay”: điểm tối đa phải lớn hơn 0 và là bội của 0,25 (đang là 0)",
    );
    assert_err(
        &rubric("max_points: 4", "max_points: 2.1"),
        "points",
        "rubrics/r.yaml, dòng 9: tiêu chí “trinh-bay”: điểm tối đa phải lớn hơn 0 và là bội của 0,25 (đang là 2,1)",
    );
    assert_err(
        &rubric("{title: Tốt, points: 6,", "{title: Tốt, points: 7,"),
        "level_points",
        "rubrics/r.yaml, dòng 3: tiêu chí “noi-dung”: mức “Tốt” có 7 điểm: phải từ 0 đến 6 và là bội của 0,25",
    );
    assert_eq!(err(&rubric("points: 1}", "points: 0.3}")).code, "level_points");
    assert_eq!(err(&rubric("points: 1}", "points: -1}")).code, "level_points");
    assert_err(
        &rubric("{title: Chưa đạt,", "{title: '',"),
        "empty_text",
        "rubrics/r.yaml, dòng 3: tiêu chí “noi-dung”: có mức đánh giá chưa đặt tên",
    );
}

fn ui_course() -> Course {
    load_files(&base()).unwrap().course
}

fn item_mut<'a>(course: &'a mut Course, key: &str) -> &'a mut Item {
    course.sections.iter_mut().flat_map(|s| &mut s.items).find(|i| i.key == key).unwrap()
}

fn quiz_mut(course: &mut Course) -> &mut Quiz {
    match &mut item_mut(course, "kiem-tra").kind {
        ItemKind::Quiz(quiz) => quiz,
        _ => panic!(),
    }
}

fn rubric_mut(course: &mut Course) -> &mut Rubric {
    match &mut item_mut(course, "tu-luan").kind {
        ItemKind::Essay(a) => &mut a.rubric,
        _ => panic!(),
    }
}

#[track_caller]
fn assert_invalid(course: &Course, code: &str, shown: &str) {
    let e = validate(course).unwrap_err();
    assert_eq!((e.code, e.to_string().as_str()), (code, shown), "{e:?}");
    assert_eq!((e.file, e.line), (None, None));
}

#[test]
fn validate_ui_courses() {
    validate(&ui_course()).unwrap();
    let empty =
        Course { module_code: "GV01".into(), title: "Mới".into(), summary_html: String::new(), sections: vec![] };
    validate(&empty).unwrap();

    let mut c = ui_course();
    quiz_mut(&mut c).questions[0].kind = QuestionKind::Single { options: vec!["A".into(), "B".into()], correct: 2 };
    assert_invalid(
        &c,
        "option_out_of_range",
        "Hoạt động “kiem-tra”, câu hỏi “c1”: đáp án đúng 3 nằm ngoài các lựa chọn 1–2",
    );

    let mut c = ui_course();
    quiz_mut(&mut c).questions[0].kind =
        QuestionKind::Single { options: vec!["A".into(), "B".into()], correct: usize::MAX };
    assert_eq!(validate(&c).unwrap_err().code, "option_out_of_range");

    let mut c = ui_course();
    quiz_mut(&mut c).pass_percent = 101;
    assert_invalid(&c, "pass_percent", "Hoạt động “kiem-tra”: tỉ lệ đạt 101% vượt quá 100%");

    let mut c = ui_course();
    quiz_mut(&mut c).questions[1].kind =
        QuestionKind::Multiple { options: vec!["A".into(), "B".into()], correct: vec![] };
    assert_invalid(&c, "no_correct", "Hoạt động “kiem-tra”, câu hỏi “c2”: câu nhiều lựa chọn chưa có đáp án đúng nào");

    let mut c = ui_course();
    quiz_mut(&mut c).questions[3].kind = QuestionKind::Matching { pairs: vec![("a".into(), "b".into())] };
    assert_invalid(&c, "matching_pairs", "Hoạt động “kiem-tra”, câu hỏi “c4”: câu ghép đôi cần ít nhất 2 cặp (có 1)");

    let mut c = ui_course();
    quiz_mut(&mut c).questions[2].points = f64::INFINITY;
    assert_eq!(validate(&c).unwrap_err().code, "points");

    let mut c = ui_course();
    quiz_mut(&mut c).questions[2].prompt_html = "<p><br></p>".into();
    assert_invalid(&c, "empty_text", "Hoạt động “kiem-tra”, câu hỏi “c3”: chưa có nội dung câu hỏi");
    quiz_mut(&mut c).questions[2].prompt_html = format!("<p><img src=\"/files/{}/a.png\"></p>", "a".repeat(64));
    validate(&c).unwrap();

    let mut c = ui_course();
    quiz_mut(&mut c).questions[2].key = "c1".into();
    assert_invalid(&c, "duplicate_key", "Hoạt động “kiem-tra”: mã câu hỏi “c1” bị trùng");

    let mut c = ui_course();
    quiz_mut(&mut c).questions.clear();
    assert_invalid(&c, "quiz_empty", "Hoạt động “kiem-tra”: bài kiểm tra chưa có câu hỏi nào");

    let mut c = ui_course();
    rubric_mut(&mut c).criteria.clear();
    assert_invalid(&c, "rubric_empty", "Hoạt động “tu-luan”: thang đánh giá chưa có tiêu chí nào");

    let mut c = ui_course();
    rubric_mut(&mut c).criteria.push(Criterion {
        key: "sang-tao".into(),
        title: "Sáng tạo".into(),
        max_points: 2.0,
        levels: vec![RubricLevel { title: "Tốt".into(), points: 2.5, description: String::new() }],
    });
    assert_invalid(
        &c,
        "level_points",
        "Hoạt động “tu-luan”, tiêu chí “sang-tao”: mức “Tốt” có 2,5 điểm: phải từ 0 đến 2 và là bội của 0,25",
    );

    let mut c = ui_course();
    let ItemKind::Essay(essay) = &mut item_mut(&mut c, "tu-luan").kind else { panic!() };
    essay.prompt_html = " ".into();
    assert_invalid(&c, "empty_text", "Hoạt động “tu-luan”: chưa có đề bài");

    let mut c = ui_course();
    item_mut(&mut c, "bai-1").key = "bai 1".into();
    assert_eq!(validate(&c).unwrap_err().code, "bad_key");

    let mut c = ui_course();
    item_mut(&mut c, "kiem-tra").key = "bai-1".into();
    assert_invalid(&c, "duplicate_key", "Mã hoạt động “bai-1” bị trùng");

    let mut c = ui_course();
    item_mut(&mut c, "bai-1").title = String::new();
    assert_invalid(&c, "empty_text", "Hoạt động “bai-1” chưa có tên");

    let mut c = ui_course();
    let ItemKind::Lesson { video, .. } = &mut item_mut(&mut c, "bai-1").kind else { panic!() };
    video.as_mut().unwrap().url = "javascript:alert(1)".into();
    assert_invalid(
        &c,
        "media_url",
        "Hoạt động “bai-1”: liên kết “javascript:alert(1)” không hợp lệ: chỉ nhận địa chỉ https://",
    );
    let ItemKind::Lesson { video, .. } = &mut item_mut(&mut c, "bai-1").kind else { panic!() };
    *video = None;
    validate(&c).unwrap();

    let mut c = ui_course();
    let ItemKind::Lesson { documents, .. } = &mut item_mut(&mut c, "bai-1").kind else { panic!() };
    documents[0].title = " ".into();
    assert_eq!(validate(&c).unwrap_err().code, "empty_text");

    let mut c = ui_course();
    let kind = item_mut(&mut c, "cuoi-khoa").kind.clone();
    item_mut(&mut c, "tu-luan").kind = kind;
    assert_invalid(&c, "several_finals", "Hoạt động “cuoi-khoa”: khóa học chỉ có một bài tập cuối khóa");

    let mut c = ui_course();
    c.title = " ".into();
    assert_invalid(&c, "empty_text", "Chưa có tên khóa học");
    let mut c = ui_course();
    c.module_code = String::new();
    assert_invalid(&c, "empty_text", "Chưa có mã mô đun");
    let mut c = ui_course();
    c.sections[0].title = String::new();
    assert_invalid(&c, "empty_text", "Phần 1 chưa có tên");
}

#[test]
fn error_display() {
    let e = PackageError::new("x", "thiếu khóa 'title'");
    assert_eq!(e.to_string(), "Thiếu khóa 'title'");
    assert_eq!(e.clone().in_file("course.yaml").to_string(), "course.yaml: thiếu khóa 'title'");
    assert_eq!(e.clone().in_file("course.yaml").at(Some(12)).to_string(), "course.yaml, dòng 12: thiếu khóa 'title'");
    assert_eq!(e.code(), "x");
    assert_eq!(capitalize(""), "");
    assert_eq!(capitalize("đường"), "Đường");
}

#[test]
fn line_helpers() {
    let text = "a: 1\nitems:\n  - key: bai-1 # chú thích\n    title: x\n  - key: \"bai-2\"\n  -   key: 'bai-1'\n  - keys: bai-1\n";
    assert_eq!(key_line(text, "bai-1", 1), Some(3));
    assert_eq!(key_line(text, "bai-2", 1), Some(5));
    assert_eq!(key_line(text, "bai-1", 2), Some(6));
    assert_eq!(key_line(text, "bai-1", 3), None);
    assert_eq!(key_line(text, "bai-3", 1), None);
    assert_eq!(field_line(text, "title"), Some(4));
    assert_eq!(field_line(text, "item"), None);
    assert_eq!(field_line(text, "items"), Some(2));
    assert_eq!(text_line(text, "bai-2"), Some(5));
    assert_eq!(line_body("  - - x"), "x");
    assert_eq!(line_body("-x"), "-x");
    assert_eq!(unquote("'a # b'"), "a # b");
}

#[test]
fn path_helpers() {
    assert_eq!(clean_path("a\\b/./c//d").unwrap(), "a/b/c/d");
    assert_eq!(resolve("lessons", "../media/a.png").as_deref(), Some("media/a.png"));
    assert_eq!(resolve("lessons", "./a.png").as_deref(), Some("lessons/a.png"));
    assert_eq!(resolve("", "../a.png"), None);
    assert_eq!(resolve("", "/a.png"), None);
    assert_eq!(resolve("", "."), None);
    assert_eq!(parent_dir("a/b/c.md"), "a/b");
    assert_eq!(parent_dir("c.md"), "");
    assert!(is_junk("__MACOSX/a"));
    assert!(is_junk("a/.git/config"));
    assert!(is_junk("media/THUMBS.DB"));
    assert!(!is_junk("media/a.png"));
    assert_eq!(media_url("ab", "tài liệu.pdf"), "/files/ab/t%C3%A0i%20li%E1%BB%87u.pdf");
}

#[test]
fn documented_examples_load() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/course-package.md")).unwrap();
    let blocks: Vec<&str> = doc.split("```yaml\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    let [course, quiz, rubric] = blocks[..] else { panic!("{} yaml blocks", blocks.len()) };
    let files = vec![
        ("course.yaml".to_string(), course.as_bytes().to_vec()),
        ("lessons/bai-1-1.md".into(), b"# Bai 1".to_vec()),
        ("essays/tu-luan-1.md".into(), b"De bai".to_vec()),
        ("essays/cuoi-khoa.md".into(), b"De bai".to_vec()),
        ("quizzes/kiem-tra-1.yaml".into(), quiz.as_bytes().to_vec()),
        ("rubrics/tu-luan-1.yaml".into(), rubric.as_bytes().to_vec()),
        ("rubrics/cuoi-khoa.yaml".into(), rubric.as_bytes().to_vec()),
        ("media/phieu-hoc-tap.pdf".into(), PDF.to_vec()),
    ];
    let package = load_files(&files).unwrap();
    let ItemKind::Quiz(quiz) = &package.course.sections[0].items[1].kind else { panic!() };
    assert_eq!(quiz.questions.len(), 4);
    let ItemKind::Final(last) = &package.course.sections[0].items[3].kind else { panic!() };
    assert_eq!(last.rubric.criteria[0].levels.len(), 4);
}
