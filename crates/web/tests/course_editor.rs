//! Course authoring in the web UI (issue 4), over HTTP on both backends: drafts edited in place,
//! Markdown sanitized, quizzes and rubrics as YAML, whole-course validation, versions used by a
//! round locked, new versions editable, editors only.

mod common;

use bdtx_course::model::{Course, ItemKind, QuestionKind};
use bdtx_course::package::{quiz_to_yaml, rubric_to_yaml};
use bdtx_domain::org::Level;
use bdtx_domain::round::{Audience, Delivery, PassRule, Tier, Window};
use bdtx_store::rounds::{EnrollFilter, NewRound};
use bdtx_testkit::{TestDb, both_backends};
use common::{App, start};

const LESSON_MD: &str = "# Tiêu đề bài\n\nĐoạn **quan trọng**.\n\n- ý một\n- ý hai\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n\n[Bấm](javascript:alert(3))\n";

const QUIZ_YAML: &str = "pass_percent: 75
max_attempts: 2
shuffle: true
questions:
  - key: c1
    type: single
    prompt: Phẩm chất nào **không** thuộc năm phẩm chất chủ yếu?
    options: [Yêu nước, Nhân ái, Sáng tạo, Trách nhiệm]
    correct: 3
  - key: c2
    type: multiple
    prompt: Những năng lực nào là năng lực chung?
    options:
      - Tự chủ và tự học
      - Giao tiếp và hợp tác
      - Tin học
    correct: [1, 2]
  - key: c3
    type: true_false
    prompt: Năng lực hình thành qua hoạt động của chính người học.
    correct: true
  - key: c4
    type: matching
    points: 2
    prompt: Ghép mỗi kĩ thuật với mô tả phù hợp.
    pairs:
      - [Khăn trải bàn, \"Viết ý kiến riêng, rồi thống nhất\"]
      - [Mảnh ghép, Chia sẻ kết quả trong nhóm mới]
";

const RUBRIC_YAML: &str = "pass_percent: 50
criteria:
  - key: noi-dung
    title: Nội dung
    max_points: 6
    levels:
      - {title: Tốt, points: 6, description: Đầy đủ và cụ thể}
      - {title: Đạt, points: 3}
  - key: trinh-bay
    title: Trình bày
    max_points: 4
";

/// A browser logged in as `user`, with its CSRF token.
async fn browser(app: &App, user: &str) -> (reqwest::Client, String) {
    let c = app.browser();
    let csrf = app.form_login(&c, user).await;
    (c, csrf)
}

async fn post(app: &App, c: &reqwest::Client, csrf: &str, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("_csrf", csrf)];
    form.extend_from_slice(fields);
    c.post(app.url(path)).form(&form).send().await.unwrap()
}

async fn text_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn course(app: &App, id: i64) -> Course {
    app.db.course(id).await.unwrap().unwrap()
}

/// Creates a draft through the form; returns its id.
async fn new_draft(app: &App, c: &reqwest::Client, csrf: &str, title: &str) -> i64 {
    let code = app.db.modules(None).await.unwrap()[0].code.clone();
    let r = post(app, c, csrf, "/courses/new", &[("module_code", &code), ("title", title)]).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.ends_with("?ok=editor.created"), "{to}");
    to.trim_start_matches("/courses/").split('?').next().unwrap().parse().unwrap()
}

async fn add_lesson(app: &App, c: &reqwest::Client, csrf: &str, id: i64, key: &str, body: &str) -> reqwest::Response {
    let path = format!("/courses/{id}/sections/0/items");
    post(
        app,
        c,
        csrf,
        &path,
        &[("key", key), ("title", "Bài học một"), ("type", "lesson"), ("required", "1"), ("body", body)],
    )
    .await
}

/// A round of the province on `course_id`, open today for every level, with the demo learner's
/// school enrolled; returns (round, the learner's enrollment in it).
async fn round_on(app: &App, course_id: i64) -> (i64, i64) {
    let province = app.unit_id("NB").await;
    let programme = app.db.create_programme(None, province, 2026, "Kế hoạch thử").await.unwrap();
    let today = bdtx_domain::dates::today();
    let windows = [Level::MN, Level::TH, Level::THCS, Level::THPT, Level::GDTX]
        .into_iter()
        .map(|level| Window {
            level,
            opens: today - chrono::Duration::days(3),
            closes: today + chrono::Duration::days(20),
        })
        .collect();
    let round = app
        .db
        .create_round(
            None,
            &NewRound {
                programme_id: programme,
                title: "Đợt thử soạn học liệu".into(),
                course_id,
                audience: Audience::Teachers,
                tier: Tier::Mass,
                subjects: vec![],
                delivery: Delivery::SelfStudy,
                in_person: None,
                pass_rule: PassRule { quiz_percent: 70, final_graded: false },
                windows,
            },
        )
        .await
        .unwrap();
    let person = app.db.account_by_username("giaovien").await.unwrap().unwrap().person_id.unwrap();
    let school = app.db.enrollments_of(person).await.unwrap()[0].unit_id;
    let filter = EnrollFilter { unit_id: school, level: None, subject: None };
    app.db.enroll_by_filter(None, round, &filter, today).await.unwrap();
    let e = app.db.enrollments_of(person).await.unwrap().into_iter().find(|e| e.round_id == round).unwrap();
    (round, e.id)
}

both_backends!(province_admin_authors_a_course, |db: TestDb| async move {
    let app = start(db, 100).await;
    let (c, csrf) = browser(&app, "so.admin").await;
    let page = c.get(app.url("/courses")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("href=\"/courses/new\""), "{page}");
    let (s, page) = text_of(c.get(app.url("/courses/new")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(page.contains("name=\"module_code\"") && page.contains("name=\"_csrf\""), "{page}");

    // A module outside the catalog is refused; then an empty draft.
    let before = app.db.courses().await.unwrap().len();
    let r = post(&app, &c, &csrf, "/courses/new", &[("module_code", "KHONG-CO"), ("title", "Thử")]).await;
    let (s, page) = text_of(r).await;
    assert_eq!(s, 422);
    assert!(page.contains("Hãy chọn một mô đun có trong danh mục"), "{page}");
    assert_eq!(app.db.courses().await.unwrap().len(), before, "nothing created");
    let id = new_draft(&app, &c, &csrf, "Khóa học soạn trên web").await;
    let draft = course(&app, id).await;
    assert!(draft.sections.is_empty() && draft.title == "Khóa học soạn trên web");
    let (s, page) = text_of(c.get(app.url(&format!("/courses/{id}"))).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(page.contains("Bản nháp"), "{page}");

    // Sections: a blank title is refused with the validator's message; add, rename, remove.
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/sections"), &[("title", "  ")]).await;
    let (s, page) = text_of(r).await;
    assert_eq!(s, 422);
    assert!(page.contains("Phần 1 chưa có tên"), "{page}");
    for title in ["Phần 1. Mở đầu", "Phần 2", "Phần thừa"] {
        let r = post(&app, &c, &csrf, &format!("/courses/{id}/sections"), &[("title", title)]).await;
        assert_eq!(r.status(), 303);
    }
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/sections/1/rename"), &[("title", "Phần 2. Vận dụng")]).await;
    assert_eq!(r.status(), 303);
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/sections/2/remove"), &[]).await;
    assert_eq!(r.status(), 303);
    let titles: Vec<String> = course(&app, id).await.sections.iter().map(|s| s.title.clone()).collect();
    assert_eq!(titles, ["Phần 1. Mở đầu", "Phần 2. Vận dụng"]);

    // A lesson: the outline's short form shows the whole form; then Markdown, sanitized.
    let path = format!("/courses/{id}/sections/0/items");
    let r =
        post(&app, &c, &csrf, &path, &[("stage", "head"), ("key", "bai-1"), ("title", "Bài 1"), ("type", "lesson")])
            .await;
    let (s, page) = text_of(r).await;
    assert_eq!(s, 200);
    assert!(page.contains("name=\"body\"") && page.contains("value=\"bai-1\""), "{page}");
    assert!(course(&app, id).await.sections[0].items.is_empty(), "nothing saved yet");
    let r =
        post(&app, &c, &csrf, &path, &[("stage", "head"), ("key", "Bài 1"), ("title", "Bài 1"), ("type", "lesson")])
            .await;
    let (s, page) = text_of(r).await;
    assert_eq!(s, 422);
    assert!(page.contains("Mã hoạt động “Bài 1” không hợp lệ"), "{page}");
    assert_eq!(add_lesson(&app, &c, &csrf, id, "bai-1", LESSON_MD).await.status(), 303);
    let saved = course(&app, id).await;
    let item = &saved.sections[0].items[0];
    let ItemKind::Lesson { body_html, video, documents } = &item.kind else { panic!("{item:?}") };
    assert!(body_html.contains("<h1>Tiêu đề bài</h1>"), "{body_html}");
    assert!(body_html.contains("<li>ý một</li>") && body_html.contains("<strong>quan trọng</strong>"), "{body_html}");
    for bad in ["<script", "onerror", "alert", "javascript"] {
        assert!(!body_html.contains(bad), "{bad} in {body_html}");
    }
    assert!(video.is_none() && documents.is_empty());
    // The edit form shows what the author wrote; the preview shows the sanitized HTML.
    let (s, page) = text_of(c.get(app.url(&format!("/courses/{id}/items/bai-1"))).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(page.contains("# Tiêu đề bài") && page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{page}");
    assert!(page.contains("<h1>Tiêu đề bài</h1>") && !page.contains("<script>alert"), "{page}");
    // A video must be https; documents may be https links.
    let edit = |video: &'static str| {
        vec![
            ("key", "bai-1"),
            ("title", "Bài học một"),
            ("required", "1"),
            ("body", LESSON_MD),
            ("video_url", video),
            ("documents", "Chương trình tổng thể | https://moet.gov.vn/ct.pdf\r\nhttps://moet.gov.vn/phu-luc.pdf"),
        ]
    };
    let (s, page) =
        text_of(post(&app, &c, &csrf, &format!("/courses/{id}/items/bai-1"), &edit("http://a.vn/v.mp4")).await).await;
    assert_eq!(s, 422);
    assert!(page.contains("chỉ nhận địa chỉ https://"), "{page}");
    assert_eq!(course(&app, id).await, saved, "nothing changed");
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/items/bai-1"), &edit("https://example.org/v.mp4")).await;
    assert_eq!(r.status(), 303);
    let saved = course(&app, id).await;
    let ItemKind::Lesson { video, documents, .. } = &saved.sections[0].items[0].kind else { panic!() };
    assert_eq!(
        video.as_ref().map(|v| (v.title.as_str(), v.url.as_str())),
        Some(("Bài học một", "https://example.org/v.mp4"))
    );
    let docs: Vec<(&str, &str)> = documents.iter().map(|d| (d.title.as_str(), d.url.as_str())).collect();
    assert_eq!(
        docs,
        [
            ("Chương trình tổng thể", "https://moet.gov.vn/ct.pdf"),
            ("https://moet.gov.vn/phu-luc.pdf", "https://moet.gov.vn/phu-luc.pdf")
        ]
    );

    // A quiz in the package's YAML format (typed with the browser's CRLF line ends).
    let quiz_form = |key: &'static str, yaml: String| {
        vec![
            ("key", key.to_string()),
            ("title", "Kiểm tra phần 1".into()),
            ("type", "quiz".into()),
            ("required", "1".into()),
            ("quiz", yaml),
        ]
    };
    let send = async |path: String, form: Vec<(&str, String)>| {
        let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&app, &c, &csrf, &path, &fields).await
    };
    let r = send(path.clone(), quiz_form("kiem-tra-1", QUIZ_YAML.replace('\n', "\r\n"))).await;
    assert_eq!(r.status(), 303);
    let saved = course(&app, id).await;
    let ItemKind::Quiz(quiz) = &saved.sections[0].items[1].kind else { panic!() };
    assert_eq!((quiz.pass_percent, quiz.max_attempts, quiz.shuffle), (75, 2, true));
    let kinds: Vec<&QuestionKind> = quiz.questions.iter().map(|q| &q.kind).collect();
    assert!(matches!(kinds[0], QuestionKind::Single { correct: 2, options } if options.len() == 4), "{kinds:?}");
    assert!(matches!(kinds[1], QuestionKind::Multiple { correct, .. } if correct == &[0, 1]), "{kinds:?}");
    assert!(matches!(kinds[2], QuestionKind::TrueFalse { correct: true }), "{kinds:?}");
    assert!(
        matches!(kinds[3], QuestionKind::Matching { pairs } if pairs[0].1 == "Viết ý kiến riêng, rồi thống nhất"),
        "{kinds:?}"
    );
    assert_eq!(quiz.questions[3].points, 2.0);
    assert!(quiz.questions[0].prompt_html.contains("<strong>không</strong>"));

    // An invalid quiz is refused with a Vietnamese message naming the line; nothing changes,
    // and the form keeps what the author typed.
    let bad = QUIZ_YAML.replace("correct: 3", "correct: 7");
    for (target, key) in [(path.clone(), "kiem-tra-2"), (format!("/courses/{id}/items/kiem-tra-1"), "kiem-tra-1")] {
        let (s, page) = text_of(send(target, quiz_form(key, bad.clone())).await).await;
        assert_eq!(s, 422, "{page}");
        assert!(page.contains("Chưa lưu"), "{page}");
        assert!(
            page.contains("Bài kiểm tra, dòng 5: câu hỏi “c1”: đáp án đúng 7 nằm ngoài các lựa chọn 1–4"),
            "{page}"
        );
        assert!(page.contains("correct: 7"), "the typed text is kept: {page}");
        assert_eq!(course(&app, id).await, saved, "nothing changed");
    }
    let (s, page) =
        text_of(send(path.clone(), quiz_form("kiem-tra-2", "pass_percent: 80\nquestions: []\n".into())).await).await;
    assert_eq!(s, 422);
    assert!(page.contains("bài kiểm tra chưa có câu hỏi nào"), "{page}");
    // A key already used is refused by the whole-course check.
    let (s, page) = text_of(send(path.clone(), quiz_form("bai-1", QUIZ_YAML.into())).await).await;
    assert_eq!(s, 422);
    assert!(page.contains("Mã hoạt động “bai-1” bị trùng"), "{page}");
    assert_eq!(course(&app, id).await, saved, "nothing changed");
    // The quiz's edit form shows the YAML as typed.
    let page = c.get(app.url(&format!("/courses/{id}/items/kiem-tra-1"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("correct: [1, 2]") && page.contains("Khăn trải bàn"), "{page}");

    // An essay (second section) with a Markdown prompt and a rubric in YAML.
    let essay = [
        ("key", "tu-luan-1"),
        ("title", "Câu hỏi tự luận"),
        ("type", "essay"),
        ("required", "1"),
        ("prompt", "Hãy mô tả **một** kĩ thuật dạy học tích cực.\r\n\r\n1. Mục tiêu\r\n2. Cách tổ chức"),
        ("allow_files", "1"),
        ("rubric", RUBRIC_YAML),
    ];
    let bad_rubric = RUBRIC_YAML.replace("points: 3}", "points: 7}");
    let mut bad_essay = essay.to_vec();
    bad_essay[6] = ("rubric", bad_rubric.as_str());
    let (s, page) = text_of(post(&app, &c, &csrf, &format!("/courses/{id}/sections/1/items"), &bad_essay).await).await;
    assert_eq!(s, 422);
    assert!(page.contains("mức “Đạt” có 7 điểm: phải từ 0 đến 6"), "{page}");
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/sections/1/items"), &essay).await;
    assert_eq!(r.status(), 303);

    // Moving: the quiz goes before the lesson.
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/items/kiem-tra-1/move"), &[("dir", "up")]).await;
    assert_eq!(r.status(), 303);

    // What a learner would see.
    let done = course(&app, id).await;
    bdtx_course::validate(&done).unwrap();
    let keys: Vec<Vec<&str>> = done.sections.iter().map(|s| s.items.iter().map(|i| i.key.as_str()).collect()).collect();
    assert_eq!(keys, [vec!["kiem-tra-1", "bai-1"], vec!["tu-luan-1"]]);
    let ItemKind::Essay(a) = &done.sections[1].items[0].kind else { panic!() };
    assert!(a.prompt_html.contains("<strong>một</strong>") && a.prompt_html.contains("<ol>"), "{}", a.prompt_html);
    assert!(a.allow_files);
    assert_eq!(a.rubric.pass_percent, 50);
    let criteria: Vec<(&str, f64, usize)> =
        a.rubric.criteria.iter().map(|c| (c.key.as_str(), c.max_points, c.levels.len())).collect();
    assert_eq!(criteria, [("noi-dung", 6.0, 2), ("trinh-bay", 4.0, 0)]);
    assert_eq!(bdtx_store::rounds::required_count(&done), 3);

    // Removing an activity drops what its author typed; a section with activities stays.
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/sections/1/remove"), &[]).await;
    let (s, page) = text_of(r).await;
    assert_eq!(s, 422);
    assert!(page.contains("Phần này còn hoạt động"), "{page}");
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/items/tu-luan-1/remove"), &[]).await;
    assert_eq!(r.status(), 303);
    let sources = app.db.course_sources(id).await.unwrap();
    assert!(sources.iter().all(|s| s.item_key != "tu-luan-1"), "{sources:?}");
    assert!(sources.iter().any(|s| s.item_key == "bai-1" && s.field == "body" && s.source == LESSON_MD));

    // Every change is in the audit log.
    let log = app.db.audit_list(None, None, 100).await.unwrap();
    assert!(log.iter().filter(|e| e.action == "course.update" && e.entity_id == id.to_string()).count() >= 8);
});

both_backends!(a_version_used_by_a_round_never_changes, |db: TestDb| async move {
    let app = start(db, 100).await;
    let (c, csrf) = browser(&app, "so.admin").await;
    let id = new_draft(&app, &c, &csrf, "Khóa học dùng trong đợt").await;
    assert_eq!(post(&app, &c, &csrf, &format!("/courses/{id}/sections"), &[("title", "Phần 1")]).await.status(), 303);
    assert_eq!(add_lesson(&app, &c, &csrf, id, "bai-1", LESSON_MD).await.status(), 303);
    assert!(!app.db.course_in_use(id).await.unwrap());
    let (round, e) = round_on(&app, id).await;
    assert!(app.db.course_in_use(id).await.unwrap());
    let used = course(&app, id).await;

    // The learner's page: the lesson, sanitized.
    let (lc, _) = browser(&app, "giaovien").await;
    let (s, page) = text_of(lc.get(app.url(&format!("/learn/{e}/item/bai-1"))).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(page.contains("<h1>Tiêu đề bài</h1>") && page.contains("<li>ý hai</li>"), "{page}");
    for bad in ["<script", "onerror", "alert(", "javascript:"] {
        assert!(!page.contains(bad), "{bad} reached the learner: {page}");
    }

    // Every change is refused (409) and changes nothing.
    let changes: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/courses/{id}/items/bai-1"), vec![("key", "bai-1"), ("title", "Sửa"), ("body", "Mới")]),
        (format!("/courses/{id}/sections"), vec![("title", "Phần 2")]),
        (format!("/courses/{id}/sections/0/rename"), vec![("title", "Phần một")]),
        (format!("/courses/{id}/sections/0/items"), vec![("key", "bai-2"), ("title", "Bài 2"), ("type", "lesson")]),
        (format!("/courses/{id}/items/bai-1/move"), vec![("dir", "down")]),
        (format!("/courses/{id}/items/bai-1/remove"), vec![]),
        (format!("/courses/{id}/settings"), vec![("title", "Tên mới"), ("summary", "Giới thiệu")]),
    ];
    for (path, fields) in &changes {
        let (s, page) = text_of(post(&app, &c, &csrf, path, fields).await).await;
        assert_eq!(s, 409, "{path}: {page}");
        assert!(page.contains("Tạo phiên bản mới để sửa"), "{page}");
    }
    assert_eq!(course(&app, id).await, used, "nothing changed");
    assert!(matches!(
        app.db.update_course_draft(None, id, &used).await,
        Err(bdtx_store::StoreError::Conflict("course_in_use"))
    ));
    let page = c.get(app.url(&format!("/courses/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Đang dùng trong đợt bồi dưỡng") && page.contains("Đợt thử soạn học liệu"), "{page}");
    assert!(!page.contains(&format!("/courses/{id}/sections\"")), "no editing forms: {page}");

    // A new version: the same content and texts, editable; the round keeps the old one.
    let r = post(&app, &c, &csrf, &format!("/courses/{id}/version"), &[]).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let copy: i64 = to.trim_start_matches("/courses/").split('?').next().unwrap().parse().unwrap();
    assert_ne!(copy, id);
    assert_eq!(course(&app, copy).await, used);
    let (old_row, new_row) =
        (app.db.course_row(id).await.unwrap().unwrap(), app.db.course_row(copy).await.unwrap().unwrap());
    assert_eq!((new_row.module_code.as_str(), new_row.version), (old_row.module_code.as_str(), old_row.version + 1));
    let page = c.get(app.url(&format!("/courses/{copy}/items/bai-1"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("# Tiêu đề bài"), "the author's Markdown came along: {page}");
    let r = post(
        &app,
        &c,
        &csrf,
        &format!("/courses/{copy}/items/bai-1"),
        &[("key", "bai-1"), ("title", "Bài học một (sửa)"), ("required", "1"), ("body", "## Nội dung mới")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let edited = course(&app, copy).await;
    assert_eq!(edited.sections[0].items[0].title, "Bài học một (sửa)");
    assert_eq!(course(&app, id).await, used, "the used version is unchanged");
    assert_eq!(app.db.round(round).await.unwrap().unwrap().course_id, id);
    let page = lc.get(app.url(&format!("/learn/{e}/item/bai-1"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<h1>Tiêu đề bài</h1>") && !page.contains("Nội dung mới"), "{page}");
});

both_backends!(an_imported_package_is_edited_through_the_same_forms, |db: TestDb| async move {
    let app = start(db, 100).await;
    let (c, csrf) = browser(&app, "so.admin").await;
    // The demo course is used by the demo round: read-only, then a new version.
    let demo = app.db.courses().await.unwrap()[0].id;
    let page = c.get(app.url(&format!("/courses/{demo}/items/bai-1-2"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<fieldset disabled>") && page.contains("Tạo phiên bản mới để sửa"), "{page}");
    let r = post(&app, &c, &csrf, &format!("/courses/{demo}/version"), &[]).await;
    assert_eq!(r.status(), 303);
    let id = app.db.courses().await.unwrap().iter().map(|r| r.id).max().unwrap();
    let original = course(&app, id).await;

    // Without the authors' texts the forms show the HTML and YAML; saving them unchanged keeps
    // the course exactly, stored files' URLs included.
    let item = |key: &str| original.sections.iter().flat_map(|s| &s.items).find(|i| i.key == key).unwrap().clone();
    let lesson = item("bai-1-2");
    let ItemKind::Lesson { body_html, video, documents } = &lesson.kind else { panic!() };
    assert!(body_html.contains("/files/"), "{body_html}");
    let page = c.get(app.url(&format!("/courses/{id}/items/bai-1-2"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("&#60;img src=&#34;/files/"), "{page}");
    let docs: String = documents.iter().map(|d| format!("{} | {}\n", d.title, d.url)).collect();
    let video_url = video.as_ref().map(|v| v.url.clone()).unwrap_or_default();
    let video_title = video.as_ref().map(|v| v.title.clone()).unwrap_or_default();
    let fields = [
        ("key", lesson.key.as_str()),
        ("title", lesson.title.as_str()),
        ("required", "1"),
        ("body", body_html.as_str()),
        ("video_url", video_url.as_str()),
        ("video_title", video_title.as_str()),
        ("documents", docs.as_str()),
    ];
    assert_eq!(post(&app, &c, &csrf, &format!("/courses/{id}/items/bai-1-2"), &fields).await.status(), 303);
    let quiz = item("kiem-tra-1");
    let ItemKind::Quiz(q) = &quiz.kind else { panic!() };
    let page = c.get(app.url(&format!("/courses/{id}/items/kiem-tra-1"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("pass_percent: 80"), "{page}");
    let yaml = quiz_to_yaml(q);
    let fields = [("key", "kiem-tra-1"), ("title", quiz.title.as_str()), ("required", "1"), ("quiz", yaml.as_str())];
    assert_eq!(post(&app, &c, &csrf, &format!("/courses/{id}/items/kiem-tra-1"), &fields).await.status(), 303);
    let essay = item("cuoi-khoa");
    let ItemKind::Final(a) = &essay.kind else { panic!() };
    let rubric = rubric_to_yaml(&a.rubric);
    let fields = [
        ("key", "cuoi-khoa"),
        ("title", essay.title.as_str()),
        ("required", "1"),
        ("prompt", a.prompt_html.as_str()),
        ("allow_files", "1"),
        ("rubric", rubric.as_str()),
    ];
    assert_eq!(post(&app, &c, &csrf, &format!("/courses/{id}/items/cuoi-khoa"), &fields).await.status(), 303);
    assert_eq!(course(&app, id).await, original, "saving the forms unchanged changes nothing");

    // Markdown may show the course's own files as media/<name>; other files are refused.
    let png = bdtx_course::demo_package().media_file("media/tien-trinh-bai-day.png").unwrap().url();
    let body = "Xem sơ đồ:\n\n![Tiến trình](media/tien-trinh-bai-day.png)\n";
    let fields = [("key", "bai-1-1"), ("title", "Bài 1"), ("required", "1"), ("body", body)];
    assert_eq!(post(&app, &c, &csrf, &format!("/courses/{id}/items/bai-1-1"), &fields).await.status(), 303);
    let ItemKind::Lesson { body_html, .. } = &item_of(&course(&app, id).await, "bai-1-1") else { panic!() };
    assert!(body_html.contains(&format!("<img src=\"{png}\"")), "{body_html}");
    let before = course(&app, id).await;
    let fields =
        [("key", "bai-1-1"), ("title", "Bài 1"), ("required", "1"), ("body", "Dòng 1\n\n![x](media/khong-co.png)")];
    let (s, page) = text_of(post(&app, &c, &csrf, &format!("/courses/{id}/items/bai-1-1"), &fields).await).await;
    assert_eq!(s, 422);
    assert!(page.contains("Nội dung bài học, dòng 3: thiếu tệp media/khong-co.png"), "{page}");
    assert_eq!(course(&app, id).await, before);
    // A second final assignment is refused.
    let fields = [("stage", "head"), ("key", "cuoi-khoa-2"), ("title", "Cuối khóa 2"), ("type", "final")];
    let (s, page) = text_of(post(&app, &c, &csrf, &format!("/courses/{id}/sections/0/items"), &fields).await).await;
    assert_eq!(s, 422);
    assert!(page.contains("Khóa học chỉ có một bài tập cuối khóa"), "{page}");
});

fn item_of(course: &Course, key: &str) -> ItemKind {
    course.sections.iter().flat_map(|s| &s.items).find(|i| i.key == key).unwrap().kind.clone()
}

both_backends!(only_ministry_and_province_admins_author, |db: TestDb| async move {
    let app = start(db, 100).await;
    let id = app.db.courses().await.unwrap()[0].id;
    // A draft to aim at (a copy of the demo course, not used by any round).
    let draft = app.db.new_course_version(None, id).await.unwrap().id;
    let before = course(&app, draft).await;
    let gets = ["/courses/new".to_string(), format!("/courses/{draft}"), format!("/courses/{draft}/items/bai-1-1")];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/courses/new".into(), vec![("module_code", "GV4660-02"), ("title", "Thử")]),
        (format!("/courses/{draft}/settings"), vec![("title", "Tên mới"), ("summary", "")]),
        (format!("/courses/{draft}/version"), vec![]),
        (format!("/courses/{draft}/sections"), vec![("title", "Phần mới")]),
        (format!("/courses/{draft}/sections/0/rename"), vec![("title", "Phần mới")]),
        (format!("/courses/{draft}/sections/0/remove"), vec![]),
        (
            format!("/courses/{draft}/sections/0/items"),
            vec![("stage", "head"), ("key", "x"), ("title", "X"), ("type", "lesson")],
        ),
        (
            format!("/courses/{draft}/sections/0/items"),
            vec![("key", "x"), ("title", "X"), ("type", "lesson"), ("body", "x")],
        ),
        (format!("/courses/{draft}/items/bai-1-1"), vec![("key", "bai-1-1"), ("title", "X"), ("body", "x")]),
        (format!("/courses/{draft}/items/bai-1-1/remove"), vec![]),
        (format!("/courses/{draft}/items/bai-1-1/move"), vec![("dir", "down")]),
    ];
    let courses_before = app.db.courses().await.unwrap().len();
    for user in ["giaovien", "hieutruong", "cotcan", "xa.admin"] {
        let (c, csrf) = browser(&app, user).await;
        for path in &gets {
            assert_eq!(c.get(app.url(path)).send().await.unwrap().status(), 403, "{user} GET {path}");
        }
        for (path, fields) in &posts {
            assert_eq!(post(&app, &c, &csrf, path, fields).await.status(), 403, "{user} POST {path}");
        }
        let page = c.get(app.url("/courses")).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("href=\"/courses/new\""), "{user}: {page}");
    }
    assert_eq!(course(&app, draft).await, before, "nothing changed");
    assert_eq!(app.db.courses().await.unwrap().len(), courses_before, "nothing created");
    // Not logged in: the login page.
    let anon = app.browser();
    let r = anon.get(app.url(&format!("/courses/{draft}"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login"));
    // The ministry and the province may.
    for user in ["bo.admin", "so.admin"] {
        let (c, csrf) = browser(&app, user).await;
        for path in &gets {
            assert_eq!(c.get(app.url(path)).send().await.unwrap().status(), 200, "{user} GET {path}");
        }
        let r = post(&app, &c, &csrf, &format!("/courses/{draft}/sections/0/rename"), &[("title", user)]).await;
        assert_eq!(r.status(), 303, "{user}");
    }
    assert_eq!(course(&app, draft).await.sections[0].title, "so.admin");
});
