//! Peer-support plans (kế hoạch hỗ trợ đồng nghiệp) over HTTP on both backends: written and
//! submitted by the core person, approved or returned by the approver their organisation
//! requires, the signed scan kept by content, the completion report flagged late, and the
//! province's setting of who approves core managers' plans.

mod common;

use bdtx_domain::authz::Role;
use bdtx_testkit::{TestDb, both_backends};
use common::{App, PW, start};

async fn person_of(app: &App, user: &str) -> i64 {
    app.db.account_by_username(user).await.unwrap().unwrap().person_id.unwrap()
}

type FormBody = Vec<(&'static str, String)>;

async fn post(app: &App, c: &reqwest::Client, path: &str, form: FormBody) -> reqwest::Response {
    c.post(app.url(path)).form(&form).send().await.unwrap()
}

/// The plan id a create redirect points at.
fn plan_id(r: &reqwest::Response) -> i64 {
    let loc = r.headers()["location"].to_str().unwrap();
    let rest = loc.strip_prefix("/plans/").unwrap_or_else(|| panic!("{loc}"));
    rest[..rest.find('?').unwrap_or(rest.len())].parse().unwrap()
}

fn plan_form(csrf: &str, round: i64, class: Option<i64>, hours: &str) -> FormBody {
    let mut f: FormBody = vec![
        ("_csrf", csrf.to_string()),
        ("round", round.to_string()),
        ("groups", "Giáo viên mầm non cụm trường số 1".into()),
        ("schedule", "Tuần 1–3 của đợt; sinh hoạt chuyên môn tại trường ngày thứ Bảy".into()),
        ("online", "Trả lời câu hỏi trên diễn đàn lớp, nhắc học viên chưa đăng nhập".into()),
        ("in_person", "Sinh hoạt chuyên môn 3 buổi tại cụm trường".into()),
        ("hours", hours.into()),
    ];
    if let Some(c) = class {
        f.push(("class", c.to_string()));
    }
    f
}

/// An extra login with one role at a unit (the demo has one admin per level).
async fn admin_login(app: &App, username: &str, role: Role, unit: i64) {
    let hash = bdtx_store::password::hash_async(PW.to_string()).await;
    let acc = app.db.create_account(username, None, Some(hash)).await.unwrap();
    app.db.grant_role(None, acc, role, unit).await.unwrap();
}

fn scan_part(bytes: &[u8], name: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part("scan", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()))
}

both_backends!(core_teacher_plan_is_approved_by_the_school_scanned_and_reported, |db: TestDb| async move {
    let app = start(db, 100).await;
    let core = person_of(&app, "cotcan").await;
    let learner = person_of(&app, "giaovien").await;
    let e = app.db.enrollments_of(learner).await.unwrap()[0].clone();
    let (round, class) = (e.round_id, e.class_id.unwrap());
    // The demo's core teacher works at Mầm non Phát Diệm (now in Xã Kim Sơn) and hieutruong is
    // the principal of Tiểu học Kim Đông: the core teacher moves there today, so that
    // hieutruong is the principal of their school and xa.admin the commune above it.
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    let former = app.db.person_chain(core).await.unwrap()[0];
    assert_ne!(former, school);
    app.db.move_person(None, core, school, bdtx_domain::dates::today()).await.unwrap();
    // An admin of another commune: the one the core teacher came from.
    let mut other = None;
    for u in app.db.ancestors(former, bdtx_domain::dates::today()).await.unwrap() {
        if app.db.unit(u).await.unwrap().unwrap().kind == "commune" {
            other = Some(u);
            break;
        }
    }
    let other = other.unwrap();
    assert_ne!(other, app.unit_id("NB-KS02").await);
    admin_login(&app, "xa.khac", Role::CommuneAdmin, other).await;

    let cc = app.browser();
    let csrf = app.form_login(&cc, "cotcan").await;
    let page = cc.get(app.url("/plans")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("name=\"class\" value=\"{class}\"")), "the classes they staff are shown: {page}");
    assert!(page.contains("href=\"/plans\""), "nav link");

    // Bad hours: nothing is written.
    let r = post(&app, &cc, "/plans", plan_form(&csrf, round, Some(class), "0")).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Số giờ hỗ trợ: phải lớn hơn 0"));
    assert!(app.db.plans_of(core).await.unwrap().is_empty());
    let r = post(&app, &cc, "/plans", plan_form(&csrf, round, Some(class), "40")).await;
    assert_eq!(r.status(), 303);
    let id = plan_id(&r);
    let plan = app.db.plan(id).await.unwrap().unwrap();
    assert_eq!((plan.status.as_str(), plan.hours, plan.class_id_list()), ("draft", 40.0, vec![class]));
    assert_eq!(plan.approver_unit_id, None, "computed when submitted");
    // The due date: the round's latest window close + 15 days.
    let last = app.db.windows(round).await.unwrap().iter().map(|w| w.closes.clone()).max().unwrap();
    let due = bdtx_domain::dates::parse_date(&last).unwrap() + chrono::Duration::days(15);
    assert_eq!(plan.report_due, bdtx_domain::dates::iso(due));
    let ht = app.browser();
    let hcsrf = app.form_login(&ht, "hieutruong").await;
    assert_eq!(ht.get(app.url(&format!("/plans/{id}"))).send().await.unwrap().status(), 404, "a draft is the author's");
    // One plan per round.
    let r = post(&app, &cc, "/plans", plan_form(&csrf, round, None, "40")).await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.db.plans_of(core).await.unwrap().len(), 1);

    // Submitted: the approver is the teacher's school.
    let r = post(&app, &cc, &format!("/plans/{id}/submit"), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 303);
    let plan = app.db.plan(id).await.unwrap().unwrap();
    assert_eq!(plan.status, "submitted");
    assert_eq!(plan.approver_unit_id, Some(school));
    assert_eq!(plan.author_kind.as_deref(), Some("teacher"));
    let r = post(&app, &cc, &format!("/plans/{id}/submit"), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 409, "submitted once");
    let r =
        post(&app, &cc, &format!("/plans/{id}/decide"), vec![("_csrf", csrf.clone()), ("decision", "approve".into())])
            .await;
    assert_eq!(r.status(), 403, "nobody approves their own plan");

    // Outside the approver's scope: a learner and another commune's admin do not see it; the
    // commune above the school sees it but the school decides.
    let decide = format!("/plans/{id}/decide");
    for (user, seen, status) in [("giaovien", 404, 404), ("xa.khac", 404, 404), ("xa.admin", 200, 403)] {
        let c = app.browser();
        let t = app.form_login(&c, user).await;
        assert_eq!(c.get(app.url(&format!("/plans/{id}"))).send().await.unwrap().status(), seen, "{user}");
        let r = post(&app, &c, &decide, vec![("_csrf", t), ("decision", "approve".into())]).await;
        assert_eq!(r.status(), status, "{user}");
    }
    let r = post(&app, &app.browser(), &decide, vec![("decision", "approve".into())]).await;
    assert!(r.status() == 403 || r.status() == 303, "no session, no decision: {}", r.status());
    assert_eq!(app.db.plan(id).await.unwrap().unwrap().status, "submitted", "nothing changed");

    // The principal sees it in the queue, returns it with a comment (required), the author
    // revises and resubmits, the principal approves; approving twice is a conflict.
    let queue = ht.get(app.url("/plans")).send().await.unwrap().text().await.unwrap();
    assert!(queue.contains(&format!("/plans/{id}\">Phê duyệt hoặc trả lại")), "{queue}");
    let r = post(&app, &ht, &decide, vec![("_csrf", hcsrf.clone()), ("decision", "return".into())]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Nhận xét: bắt buộc nhập"));
    let r = post(
        &app,
        &ht,
        &decide,
        vec![("_csrf", hcsrf.clone()), ("decision", "return".into()), ("comment", "Bổ sung lịch sinh hoạt cụm".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let plan = app.db.plan(id).await.unwrap().unwrap();
    assert_eq!((plan.status.as_str(), plan.decision_comment.as_str()), ("returned", "Bổ sung lịch sinh hoạt cụm"));
    let r = post(&app, &ht, &decide, vec![("_csrf", hcsrf.clone()), ("decision", "approve".into())]).await;
    assert_eq!(r.status(), 409, "a returned plan is not awaiting a decision");
    let mine = cc.get(app.url(&format!("/plans/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains("Bổ sung lịch sinh hoạt cụm") && mine.contains("Bị trả lại để sửa"), "{mine}");
    let r = post(&app, &cc, &format!("/plans/{id}"), plan_form(&csrf, round, Some(class), "37,5")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.plan(id).await.unwrap().unwrap().hours, 37.5);
    let r = post(&app, &cc, &format!("/plans/{id}/submit"), vec![("_csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 303);
    let r = post(&app, &ht, &decide, vec![("_csrf", hcsrf.clone()), ("decision", "approve".into())]).await;
    assert_eq!(r.status(), 303);
    let r = post(&app, &ht, &decide, vec![("_csrf", hcsrf.clone()), ("decision", "approve".into())]).await;
    assert_eq!(r.status(), 409);
    let plan = app.db.plan(id).await.unwrap().unwrap();
    assert_eq!(plan.status, "approved");
    assert_eq!(plan.decided_by, Some(app.db.account_by_username("hieutruong").await.unwrap().unwrap().id));
    let r = post(&app, &cc, &format!("/plans/{id}"), plan_form(&csrf, round, Some(class), "50")).await;
    assert_eq!(r.status(), 422, "an approved plan is not edited");
    assert_eq!(app.db.plan(id).await.unwrap().unwrap().hours, 37.5);

    // The signed scan: an .exe renamed .pdf is refused with a Vietnamese message and nothing is
    // stored; a real PDF is kept with its checksum.
    let files = bdtx_course::FileStore::new(&app.files);
    let scan = format!("/plans/{id}/scan?_csrf={}", common::urlencoding(&csrf));
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xffThis program cannot be run in DOS mode.".to_vec();
    let r = cc.post(app.url(&scan)).multipart(scan_part(&exe, "ke-hoach.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Bản kế hoạch đã ký, đóng dấu: không phải tệp PDF hoặc ảnh JPG, PNG")
            && text.contains("chưa có gì thay đổi"),
        "{text}"
    );
    assert!(files.path(&bdtx_course::files::sha256_hex(&exe)).is_none(), "the refused file is not stored");
    assert_eq!(app.db.plan(id).await.unwrap().unwrap().scan_sha256, None);
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    let hscan = format!("/plans/{id}/scan?_csrf={}", common::urlencoding(&hcsrf));
    let r = ht.post(app.url(&hscan)).multipart(scan_part(&pdf, "ke-hoach.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 403, "the author uploads their own plan");
    let r = cc.post(app.url(&scan)).multipart(scan_part(&pdf, "ke-hoach-da-ky.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let plan = app.db.plan(id).await.unwrap().unwrap();
    let sha = plan.scan_sha256.clone().unwrap();
    assert_eq!(sha, bdtx_course::files::sha256_hex(&pdf));
    assert_eq!(
        (plan.scan_mime.as_deref(), plan.scan_name.as_deref()),
        (Some("application/pdf"), Some("ke-hoach-da-ky.pdf"))
    );
    assert!(files.verify(&sha).unwrap());
    let got = ht.get(app.url(&format!("/plans/{id}/scan"))).send().await.unwrap();
    assert_eq!(got.status(), 200, "the approver reads it");
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf);

    // The report: its due date passed (set through the store), the list flags it overdue, then late.
    app.db.set_plan_report_due(None, id, bdtx_domain::dates::today() - chrono::Duration::days(1)).await.unwrap();
    let list = ht.get(app.url("/plans")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("quá hạn, chưa nộp"), "{list}");
    let report = format!("/plans/{id}/report");
    let r = post(&app, &cc, &report, vec![("_csrf", csrf.clone()), ("report", "  ".into())]).await;
    assert_eq!(r.status(), 422);
    let r = post(
        &app,
        &cc,
        &report,
        vec![("_csrf", csrf.clone()), ("report", "Đã hỗ trợ 48 học viên; 45 học viên hoàn thành.".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().contains("plans.reported_late"));
    let plan = app.db.plan(id).await.unwrap().unwrap();
    assert_eq!(plan.report_late, Some(true));
    assert_eq!(plan.report_state(bdtx_domain::dates::now_unix()), bdtx_store::plans::ReportState::Late);
    let r = post(&app, &cc, &report, vec![("_csrf", csrf.clone()), ("report", "Lần hai".into())]).await;
    assert_eq!(r.status(), 409, "one report");
    let list = ht.get(app.url("/plans")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("nộp muộn"), "{list}");
    let mine = cc.get(app.url("/plans")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains("nộp muộn"), "{mine}");

    // Every step is in the audit log, filed under the approver's school.
    let log = app.db.audit_list(Some(school), None, 200).await.unwrap();
    for action in ["plan.submit", "plan.return", "plan.approve", "plan.scan", "plan.report"] {
        assert!(log.iter().any(|a| a.action == action && a.entity_id == id.to_string()), "{action} audited");
    }
});

both_backends!(manager_plans_go_to_the_commune_or_the_province_by_setting, |db: TestDb| async move {
    let app = start(db, 100).await;
    let learner = person_of(&app, "giaovien").await;
    let round = app.db.enrollments_of(learner).await.unwrap()[0].round_id;
    let module = app.db.round(round).await.unwrap().unwrap().module_code;
    // The principal of Tiểu học Kim Đông is also a core manager for the round's module.
    let principal = person_of(&app, "hieutruong").await;
    app.db.add_core_status(None, principal, &module, "", bdtx_domain::dates::today()).await.unwrap();
    let commune = app.unit_id("NB-KS02").await;
    let province = app.unit_id("NB").await;

    // A learner who is not core and staffs no class may not write one.
    let gv = app.browser();
    let gcsrf = app.form_login(&gv, "giaovien").await;
    let r = post(&app, &gv, "/plans", plan_form(&gcsrf, round, None, "40")).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("không phải cốt cán của mô đun này"));

    let ht = app.browser();
    let hcsrf = app.form_login(&ht, "hieutruong").await;
    let r = post(&app, &ht, "/plans", plan_form(&hcsrf, round, None, "40")).await;
    assert_eq!(r.status(), 303);
    let id = plan_id(&r);
    post(&app, &ht, &format!("/plans/{id}/submit"), vec![("_csrf", hcsrf.clone())]).await;
    let plan = app.db.plan(id).await.unwrap().unwrap();
    assert_eq!((plan.author_kind.as_deref(), plan.approver_unit_id), (Some("manager"), Some(commune)));
    let decide = format!("/plans/{id}/decide");
    let r = post(&app, &ht, &decide, vec![("_csrf", hcsrf.clone()), ("decision", "approve".into())]).await;
    assert_eq!(r.status(), 403, "a school admin does not approve a commune's plan, least of all their own");

    // The commune office returns it.
    let xa = app.browser();
    let xcsrf = app.form_login(&xa, "xa.admin").await;
    let queue = xa.get(app.url("/plans")).send().await.unwrap().text().await.unwrap();
    assert!(queue.contains(&format!("/plans/{id}\">Phê duyệt hoặc trả lại")), "{queue}");
    let r = post(
        &app,
        &xa,
        &decide,
        vec![("_csrf", xcsrf.clone()), ("decision", "return".into()), ("comment", "Theo quy định mới của Sở".into())],
    )
    .await;
    assert_eq!(r.status(), 303);

    // The province decides that its department approves core managers' plans; only its admins may.
    let so = app.browser();
    let scsrf = app.form_login(&so, "so.admin").await;
    let page = so.get(app.url("/plans")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"value\" value=\"commune\" checked"), "the default: {page}");
    let setting = |csrf: &str, unit: i64, value: &str| {
        vec![("_csrf", csrf.to_string()), ("unit", unit.to_string()), ("value", value.to_string())]
    };
    let r = post(&app, &xa, "/plans/settings", setting(&xcsrf, province, "province")).await;
    assert_eq!(r.status(), 403);
    let r = post(&app, &so, "/plans/settings", setting(&scsrf, province, "district")).await;
    assert_eq!(r.status(), 422);
    let r = post(&app, &so, "/plans/settings", setting(&scsrf, commune, "province")).await;
    assert_eq!(r.status(), 422, "a setting of provinces");
    assert_eq!(app.db.manager_approver(province).await.unwrap(), bdtx_store::plans::ManagerApprover::Commune);
    let r = post(&app, &so, "/plans/settings", setting(&scsrf, province, "province")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.setting(province, "plan_approver_managers").await.unwrap().as_deref(), Some("province"));

    // Resubmitted, the plan now goes to the province; the commune no longer decides it.
    let r = post(&app, &ht, &format!("/plans/{id}/submit"), vec![("_csrf", hcsrf.clone())]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.plan(id).await.unwrap().unwrap().approver_unit_id, Some(province));
    let r = post(&app, &xa, &decide, vec![("_csrf", xcsrf.clone()), ("decision", "approve".into())]).await;
    assert_eq!(r.status(), 403);
    let r = post(&app, &so, &decide, vec![("_csrf", scsrf.clone()), ("decision", "approve".into())]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.plan(id).await.unwrap().unwrap().status, "approved");
    // Teachers still go to their school.
    let core = person_of(&app, "cotcan").await;
    let (unit, approver, kind) = app.db.plan_approver_for(core).await.unwrap();
    assert_eq!((approver, kind), (unit, "teacher"));
    assert!(app.db.audit_list(None, None, 50).await.unwrap().iter().any(|a| a.action == "setting.update"));
});

both_backends!(merging_people_moves_their_plans, |db: TestDb| async move {
    let app = start(db, 100).await;
    let learner = person_of(&app, "giaovien").await;
    let core = person_of(&app, "cotcan").await;
    let round = app.db.enrollments_of(learner).await.unwrap()[0].round_id;
    let module = app.db.round(round).await.unwrap().unwrap().module_code;
    let school = app.db.person_chain(core).await.unwrap()[0];
    let input = bdtx_store::plans::PlanInput {
        groups_text: "Nhóm giáo viên cụm 1".into(),
        schedule: "Tuần 1–3".into(),
        online_activities: "Diễn đàn lớp".into(),
        hours: "40".into(),
        ..Default::default()
    };
    // Two second records, each core with a plan for the round.
    let mut dups = Vec::new();
    for (name, phone) in [("Trần Thị Hồng", "0912000001"), ("Lê Văn Bình", "0912000002")] {
        let draft = bdtx_domain::people::PersonDraft {
            full_name: Some(name.into()),
            birth_date: Some("01/02/1985".into()),
            gender: Some("F".into()),
            phone: Some(phone.into()),
            position: Some("teacher".into()),
            levels: Some("MN".into()),
            ..Default::default()
        };
        let fields = bdtx_domain::people::validate(&draft, None).unwrap();
        let p = app.db.create_person(None, &fields, school, bdtx_domain::dates::today()).await.unwrap();
        app.db.add_core_status(None, p, &module, "", bdtx_domain::dates::today()).await.unwrap();
        let plan = app.db.create_plan(None, p, round, &input).await.unwrap();
        dups.push((p, plan));
    }
    // The learner had no plan: the plan moves to them. The core teacher has one for the round
    // already: theirs stays, the other stays with the closed record (nothing is lost).
    let theirs = app.db.create_plan(None, core, round, &input).await.unwrap();
    app.db.merge_people(None, learner, &[dups[0].0]).await.unwrap();
    app.db.merge_people(None, core, &[dups[1].0]).await.unwrap();
    assert_eq!(app.db.plan(dups[0].1).await.unwrap().unwrap().person_id, learner);
    assert_eq!(app.db.plan(theirs).await.unwrap().unwrap().person_id, core);
    assert_eq!(app.db.plan(dups[1].1).await.unwrap().unwrap().person_id, dups[1].0);
    assert_eq!(app.db.plans_of(learner).await.unwrap().len(), 1);
});
