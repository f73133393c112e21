//! The yearly cycle over HTTP on both backends: a teacher's personal plan (short plans refused),
//! the principal's approval (outside their school: 404), changes to an approved plan refused
//! until reopened, results out of range refused and valid ones classified, the classified list
//! as .xlsx, the province's policy per year (inconsistent policies refused), and the
//! self-assessment against the teacher standard with evidence, a colleague's comment, the
//! principal's evaluation and the roll-up suggesting modules.

mod common;

use bdtx_domain::authz::Role;
use bdtx_domain::scoring::Audience;
use bdtx_testkit::{TestDb, both_backends};
use common::{App, PW, start};

type FormBody = Vec<(String, String)>;

async fn person_of(app: &App, user: &str) -> i64 {
    app.db.account_by_username(user).await.unwrap().unwrap().person_id.unwrap()
}

async fn post(app: &App, c: &reqwest::Client, path: &str, form: &FormBody) -> reqwest::Response {
    c.post(app.url(path)).form(form).send().await.unwrap()
}

fn form(csrf: &str, pairs: &[(&str, &str)]) -> FormBody {
    let mut f = vec![("_csrf".to_string(), csrf.to_string())];
    f.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    f
}

async fn admin_login(app: &App, username: &str, role: Role, unit: i64) {
    let hash = bdtx_store::password::hash_async(PW.to_string()).await;
    let acc = app.db.create_account(username, None, Some(hash)).await.unwrap();
    app.db.grant_role(None, acc, role, unit).await.unwrap();
}

async fn body(r: reqwest::Response) -> (u16, String) {
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

both_backends!(yearly_plan_results_and_standard_over_http, |db: TestDb| async move {
    let app = start(db, 100).await;
    let today = bdtx_domain::dates::today();
    let gv = person_of(&app, "giaovien").await;
    let core = person_of(&app, "cotcan").await;
    // The teacher and the core teacher (a colleague) work at Tiểu học Kim Đông, whose principal
    // is hieutruong; another school's principal is ht.khac.
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    for p in [gv, core] {
        if app.db.person_chain(p).await.unwrap()[0] != school {
            app.db.move_person(None, p, school, today).await.unwrap();
        }
    }
    admin_login(&app, "ht.khac", Role::SchoolAdmin, app.unit_id("NB-KS01-TH-THUONGKIEM").await).await;
    let year = "2024-2025";

    let t = app.browser();
    let csrf = app.form_login(&t, "giaovien").await;
    let page = t.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"p.CT03.GVPT05\""), "programme-03 modules to choose: {page}");
    assert!(page.contains("31/05/2025"), "the deadline is shown");
    assert!(page.contains("href=\"/yearly\""), "nav link");

    // A plan short of programme 03's 40 periods: refused, nothing written.
    let plan = |gvpt08: &str| {
        form(
            &csrf,
            &[
                ("year", year),
                ("p.CT01.CT01", "40"),
                ("p.CT02.CT02", "40"),
                ("p.CT03.GVPT05", "20"),
                ("p.CT03.GVPT08", gvpt08),
                ("p.CT03.GVPT01", ""),
            ],
        )
    };
    let (s, text) = body(post(&app, &t, "/yearly/plan", &plan("")).await).await;
    assert_eq!(s, 422);
    assert!(
        text.contains("Chương trình bồi dưỡng 03 (mô đun tự chọn) (20/40 tiết): chưa đủ số tiết quy định"),
        "{text}"
    );
    assert!(app.db.year_plan_of(gv, year).await.unwrap().is_none());
    let r = post(&app, &t, "/yearly/plan", &plan("20")).await;
    assert_eq!(r.status(), 303);
    let id = app.db.year_plan_of(gv, year).await.unwrap().unwrap().id;
    assert_eq!(app.db.year_items(id).await.unwrap().len(), 4);

    let ht = app.browser();
    let hcsrf = app.form_login(&ht, "hieutruong").await;
    let other = app.browser();
    let ocsrf = app.form_login(&other, "ht.khac").await;
    let plan_url = format!("/yearly/plans/{id}");
    assert_eq!(ht.get(app.url(&plan_url)).send().await.unwrap().status(), 404, "a draft is the author's");
    let r = post(&app, &t, &format!("{plan_url}/submit"), &form(&csrf, &[])).await;
    assert_eq!(r.status(), 303);
    let p = app.db.year_plan(id).await.unwrap().unwrap();
    assert_eq!((p.status.as_str(), p.approver_unit_id), ("submitted", Some(school)));

    // Another school's principal: the plan does not exist for them.
    assert_eq!(other.get(app.url(&plan_url)).send().await.unwrap().status(), 404);
    let r = post(&app, &other, &format!("{plan_url}/decide"), &form(&ocsrf, &[("decision", "approve")])).await;
    assert_eq!(r.status(), 404);
    // The author does not approve their own plan; without a CSRF token nothing happens.
    let r = post(&app, &t, &format!("{plan_url}/decide"), &form(&csrf, &[("decision", "approve")])).await;
    assert_eq!(r.status(), 403);
    let r = ht.post(app.url(&format!("{plan_url}/decide"))).form(&[("decision", "approve")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.db.year_plan(id).await.unwrap().unwrap().status, "submitted");
    // Results wait for the approval.
    let items = app.db.year_items(id).await.unwrap();
    let scores_as = |c: &str, v: &[&str]| {
        let mut f = form(c, &[]);
        for (i, s) in items.iter().zip(v) {
            f.push((format!("s.{}.0", i.id), s.to_string()));
        }
        f
    };
    let scores = |v: &[&str]| scores_as(&hcsrf, v);
    let (s, text) = body(post(&app, &ht, &format!("{plan_url}/results"), &scores(&["8", "7", "6", "9"])).await).await;
    assert_eq!(s, 422, "{text}");
    let page = ht.get(app.url("/yearly?year=2024-2025")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("href=\"/yearly/plans/{id}\"")), "in the principal's list");
    let r = post(&app, &ht, &format!("{plan_url}/decide"), &form(&hcsrf, &[("decision", "approve")])).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.year_plan(id).await.unwrap().unwrap().status, "approved");

    // The approved plan cannot be changed by its author.
    let (s, text) = body(post(&app, &t, "/yearly/plan", &plan("30")).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("chỉ sửa được khi bị trả lại hoặc được hiệu trưởng mở lại"), "{text}");
    assert_eq!(app.db.year_items(id).await.unwrap().iter().map(|i| i.periods).sum::<i64>(), 120);

    // Results: 11 is out of the 0–10 range: nothing stored; then valid ones classified.
    let (s, text) = body(post(&app, &ht, &format!("{plan_url}/results"), &scores(&["8", "11", "6", "9"])).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("điểm nằm ngoài thang cho phép"), "{text}");
    assert!(app.db.year_items(id).await.unwrap().iter().all(|i| i.score.is_none()));
    let (s, _) =
        body(post(&app, &other, &format!("{plan_url}/results"), &scores_as(&ocsrf, &["8", "7", "6", "9"])).await).await;
    assert_eq!(s, 404, "another school's principal");
    let (s, _) =
        body(post(&app, &t, &format!("{plan_url}/results"), &scores_as(&csrf, &["10", "10", "10", "10"])).await).await;
    assert_eq!(s, 403, "nobody scores their own year");
    let r = post(&app, &ht, &format!("{plan_url}/results"), &scores(&["8", "7", "6", "9"])).await;
    assert_eq!(r.status(), 303);
    let p = app.db.year_plan(id).await.unwrap().unwrap();
    // (8 + 7 + (6 + 9) / 2) / 3 = 7,5; every item at least 5.
    assert_eq!((p.result_average, p.result_label.as_deref()), (Some(750), Some("Hoàn thành")));
    let page = t.get(app.url(&plan_url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<strong id=\"result\">Hoàn thành</strong>") && page.contains(">7,5<"), "{page}");

    // The classified list as .xlsx.
    let r = ht.get(app.url(&format!("/yearly/results.xlsx?year={year}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], bdtx_web::download::XLSX);
    let bytes = r.bytes().await.unwrap();
    let mut rows: Vec<Vec<String>> = Vec::new();
    bdtx_roster::read::for_each_row_in::<bdtx_roster::read::ReadError>(&bytes, Default::default(), &mut |_, cells| {
        rows.push(cells);
        Ok(())
    })
    .unwrap();
    let name = app.db.person(gv).await.unwrap().unwrap().full_name;
    let row = rows.iter().find(|r| r.contains(&name)).unwrap_or_else(|| panic!("{rows:?}"));
    assert!(row.contains(&"7,5".to_string()) && row.contains(&"Hoàn thành".to_string()), "{row:?}");
    assert_eq!(
        other.get(app.url(&format!("/yearly/results.xlsx?year={year}&unit={school}"))).send().await.unwrap().status(),
        403
    );

    // Reopening needs a reason; then the author may change the plan again.
    let r = post(&app, &ht, &format!("{plan_url}/decide"), &form(&hcsrf, &[("decision", "reopen")])).await;
    assert_eq!(r.status(), 422);
    let r = post(
        &app,
        &ht,
        &format!("{plan_url}/decide"),
        &form(&hcsrf, &[("decision", "reopen"), ("comment", "Đổi mô đun")]),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(post(&app, &t, "/yearly/plan", &plan("30")).await.status(), 303);

    // The province's policies: an inconsistent version is refused whole with the reason; the
    // school may not choose; the province chooses a version for a year.
    let so = app.browser();
    let scsrf = app.form_login(&so, "so.admin").await;
    let prov = app.unit_id("NB").await;
    let overlap = bdtx_domain::scoring::SHIPPED[0]
        .replace("from: 7, to: 9", "from: 7, to: 9.5")
        .replace("version: 1", "version: 3");
    let (s, text) = body(
        post(&app, &so, "/yearly/policies", &form(&scsrf, &[("unit", &prov.to_string()), ("yaml", &overlap)])).await,
    )
    .await;
    assert_eq!(s, 422);
    assert!(text.contains("Giỏi / Khá: các ngưỡng chồng lấn nhau"), "{text}");
    assert_eq!(app.db.scoring_policies().await.unwrap().len(), 4, "nothing added");
    let v2 = bdtx_domain::scoring::SHIPPED[0].replace("version: 1", "version: 3");
    let r = post(&app, &so, "/yearly/policies", &form(&scsrf, &[("unit", &prov.to_string()), ("yaml", &v2)])).await;
    assert_eq!(r.status(), 303);
    let choose = |c: &str| {
        form(
            c,
            &[
                ("unit", &prov.to_string()),
                ("year", "2019-2020"),
                ("audience", "teacher"),
                ("policy", "bdtx-2012-teacher@3"),
            ],
        )
    };
    assert_eq!(post(&app, &ht, "/yearly/policy", &choose(&hcsrf)).await.status(), 403);
    assert_eq!(post(&app, &so, "/yearly/policy", &choose(&scsrf)).await.status(), 303);
    assert_eq!(app.db.year_policy(Some(prov), "2019-2020", Audience::Teacher).await.unwrap(), "bdtx-2012-teacher@3");

    // 2019-2020 under the 2012 rules: two parts per content, classified Giỏi … .
    let old = "2019-2020";
    let f = form(
        &csrf,
        &[("year", old), ("p.ND1.ND1", "30"), ("p.ND2.ND2", "30"), ("p.ND3.TH1", "30"), ("p.ND3.TH2", "30")],
    );
    assert_eq!(post(&app, &t, "/yearly/plan", &f).await.status(), 303);
    let old_id = app.db.year_plan_of(gv, old).await.unwrap().unwrap().id;
    assert_eq!(app.db.year_plan(old_id).await.unwrap().unwrap().policy, "bdtx-2012-teacher@3");
    assert_eq!(post(&app, &t, &format!("/yearly/plans/{old_id}/submit"), &form(&csrf, &[])).await.status(), 303);
    let r = post(&app, &ht, &format!("/yearly/plans/{old_id}/decide"), &form(&hcsrf, &[("decision", "approve")])).await;
    assert_eq!(r.status(), 303);
    let page = ht.get(app.url(&format!("/yearly/plans/{old_id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Tiếp thu kiến thức, kĩ năng (0–5)"), "two parts: {page}");
    let old_items = app.db.year_items(old_id).await.unwrap();
    let two = |a: &str, b: &str| {
        let mut f = form(&hcsrf, &[]);
        for i in &old_items {
            f.push((format!("s.{}.0", i.id), a.to_string()));
            f.push((format!("s.{}.1", i.id), b.to_string()));
        }
        f
    };
    let (s, text) = body(post(&app, &ht, &format!("/yearly/plans/{old_id}/results"), &two("5,5", "4")).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("Tiếp thu kiến thức, kĩ năng (0–5): điểm nằm ngoài thang cho phép"), "{text}");
    let r = post(&app, &ht, &format!("/yearly/plans/{old_id}/results"), &two("4,5", "4,5")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.year_plan(old_id).await.unwrap().unwrap().result_label.as_deref(), Some("Giỏi"));

    // The standard: every criterion is needed to submit; evidence by content.
    let page = t.get(app.url(&format!("/yearly/standard?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"c15\"") && !page.contains("name=\"c16\""), "15 criteria");
    let mut levels: Vec<(String, String)> =
        (1..=15).map(|n| (format!("c{n}"), if n <= 4 { "tot" } else { "kha" }.to_string())).collect();
    levels[4].1 = "dat".into();
    let standard_form = |c: &str, action: &str, levels: &[(String, String)]| {
        let mut f = form(c, &[("year", year), ("action", action), ("note", "Minh chứng kèm theo")]);
        f.extend(levels.iter().cloned());
        f
    };
    let (s, text) =
        body(post(&app, &t, "/yearly/standard", &standard_form(&csrf, "submit", &levels[..14])).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("Tiêu chí 15."), "{text}");
    assert!(app.db.assessment_of(gv, year, "teacher_2018").await.unwrap().is_none());
    let r = post(&app, &t, "/yearly/standard", &standard_form(&csrf, "submit", &levels)).await;
    assert_eq!(r.status(), 303);
    let a = app.db.assessment_of(gv, year, "teacher_2018").await.unwrap().unwrap();
    assert_eq!(a.self_overall.as_deref(), Some("kha"));
    let upload = |bytes: &[u8], name: &str| {
        reqwest::multipart::Form::new()
            .text("_csrf", csrf.clone())
            .text("criterion", "5")
            .part("file", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()))
    };
    let url = app.url(&format!("/yearly/standard/{}/evidence?_csrf={}", a.id, common::urlencoding(&csrf)));
    let r = t.post(&url).multipart(upload(b"not a pdf at all", "minh-chung.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let r = t.post(&url).multipart(upload(pdf, "Giáo án minh chứng.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let ev = app.db.evidence(a.id).await.unwrap();
    assert_eq!((ev.len(), ev[0].criterion), (1, 5));

    // A colleague comments; another school's principal sees nothing; the principal evaluates.
    let cc = app.browser();
    let ccsrf = app.form_login(&cc, "cotcan").await;
    let a_url = format!("/yearly/standard/{}", a.id);
    let page = cc.get(app.url(&a_url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Giáo án minh chứng.pdf"), "{page}");
    let r =
        post(&app, &cc, &format!("{a_url}/comment"), &form(&ccsrf, &[("body", "Cần bổ sung minh chứng tiêu chí 5")]))
            .await;
    assert_eq!(r.status(), 303);
    let r = post(
        &app,
        &cc,
        &format!("{a_url}/evaluate"),
        &form(&ccsrf, &levels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()),
    )
    .await;
    assert_eq!(r.status(), 403, "colleagues comment, they do not evaluate");
    assert_eq!(other.get(app.url(&a_url)).send().await.unwrap().status(), 404);
    let eval: Vec<(&str, &str)> = levels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = post(&app, &other, &format!("{a_url}/evaluate"), &form(&ocsrf, &eval)).await;
    assert_eq!(r.status(), 404);
    let r = post(&app, &t, &format!("{a_url}/evaluate"), &form(&csrf, &eval)).await;
    assert_eq!(r.status(), 403, "not one's own");
    let r = post(&app, &ht, &format!("{a_url}/evaluate"), &form(&hcsrf, &eval)).await;
    assert_eq!(r.status(), 303);
    let a = app.db.assessment(a.id).await.unwrap().unwrap();
    assert_eq!((a.status.as_str(), a.eval_overall.as_deref()), ("evaluated", Some("kha")));
    assert_eq!(app.db.assessment_comments(a.id).await.unwrap().len(), 1);
    let r = post(&app, &ht, &format!("{a_url}/evaluate"), &form(&hcsrf, &eval)).await;
    assert_eq!(r.status(), 409, "evaluated once");

    // The roll-up: criterion 5 is the weakest; module GVPT05 is suggested.
    let page = ht.get(app.url(&format!("/yearly/rollup?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<td class=\"suggested\">GVPT05"), "{page}");
    let page = so.get(app.url(&format!("/yearly/rollup?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<td class=\"suggested\">GVPT05"), "the province sees it too");
    assert_eq!(t.get(app.url(&format!("/yearly/rollup?year={year}"))).send().await.unwrap().status(), 403);

    // Modules completed in rounds count towards programme 01 where the province says so: the
    // teacher's demo enrollment passes the LMS, the core teacher's and the university's
    // sign-offs (today, so in the current school year).
    let now_year = bdtx_store::yearly::current_school_year();
    let e = app.db.enrollments_of(gv).await.unwrap()[0].clone();
    let module = app.db.round(e.round_id).await.unwrap().unwrap().module_code;
    bdtx_store::on!(&app.db.db, p => sqlx::query("UPDATE enrollments SET lms_passed_at = $2 WHERE id = $1")
        .bind(e.id).bind(bdtx_domain::dates::now_unix()).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    use bdtx_domain::completion::Gate;
    app.db.sign_off(None, Some(core), &[e.id], Gate::Core, true, "", None).await.unwrap();
    app.db.sign_off(None, None, &[e.id], Gate::University, true, "", None).await.unwrap();
    let key = format!("p.CT01.{module}");
    let with_round = form(
        &csrf,
        &[
            ("year", now_year.as_str()),
            ("p.CT01.CT01", "20"),
            (key.as_str(), "20"),
            ("p.CT02.CT02", "40"),
            ("p.CT03.GVPT05", "40"),
        ],
    );
    let (s, text) = body(post(&app, &t, "/yearly/plan", &with_round).await).await;
    assert_eq!(s, 422, "not counted until the province says so: {text}");
    let page = t.get(app.url(&format!("/yearly?year={now_year}"))).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(&format!("name=\"{key}\"")));
    let rounds = form(&scsrf, &[("unit", &prov.to_string()), ("year", now_year.as_str()), ("group", "CT01")]);
    assert_eq!(
        post(
            &app,
            &ht,
            "/yearly/rounds",
            &form(&hcsrf, &[("unit", &prov.to_string()), ("year", now_year.as_str()), ("group", "CT01")])
        )
        .await
        .status(),
        403
    );
    assert_eq!(post(&app, &so, "/yearly/rounds", &rounds).await.status(), 303);
    let page = t.get(app.url(&format!("/yearly?year={now_year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("name=\"{key}\"")), "{page}");
    assert_eq!(post(&app, &t, "/yearly/plan", &with_round).await.status(), 303);
    let plan = app.db.year_plan_of(gv, &now_year).await.unwrap().unwrap();
    let items = app.db.year_items(plan.id).await.unwrap();
    let counted = items.iter().find(|i| i.code == module).unwrap();
    assert_eq!((counted.grp.as_str(), counted.source.as_str(), counted.periods), ("CT01", "round", 20));

    // The school's summary of plans as .xlsx.
    let r = ht.get(app.url(&format!("/yearly/plans.xlsx?year={year}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], bdtx_web::download::XLSX);

    // The demo's last school year: approved plans with results and evaluated assessments at
    // the demo learner's (former) school; the roll-up suggests modules from the weak criteria.
    bdtx_store::demo::seed_yearly(&app.db).await.unwrap();
    let last: i32 = now_year[..4].parse::<i32>().unwrap() - 1;
    let last = format!("{last}-{}", last + 1);
    let page = so.get(app.url(&format!("/yearly/rollup?year={last}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<td class=\"suggested\">GVPT06"), "{page}");
    let page = so.get(app.url(&format!("/yearly?year={last}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Hoàn thành") && page.contains("Không hoàn thành"), "{page}");
});

both_backends!(yearly_deadlines_lists_sent_upward_and_exemption_over_http, |db: TestDb| async move {
    let app = start(db, 100).await;
    let today = bdtx_domain::dates::today();
    let gv = person_of(&app, "giaovien").await;
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    if app.db.person_chain(gv).await.unwrap()[0] != school {
        app.db.move_person(None, gv, school, today).await.unwrap();
    }
    admin_login(&app, "ht.khac", Role::SchoolAdmin, app.unit_id("NB-KS01-TH-THUONGKIEM").await).await;
    let prov = app.unit_id("NB").await;
    let year = "2019-2020";
    let so = app.browser();
    let scsrf = app.form_login(&so, "so.admin").await;
    let ht = app.browser();
    let hcsrf = app.form_login(&ht, "hieutruong").await;
    let t = app.browser();
    let csrf = app.form_login(&t, "giaovien").await;

    // The province's deadlines of 2019-2020 (seed 001: schools by 20/5/2020, offices by 21/5/2020).
    let deadlines = |c: &str, plan: &str, school_d: &str, office_d: &str| {
        form(
            c,
            &[
                ("unit", &prov.to_string()),
                ("year", year),
                ("d.plan_submit", plan),
                ("d.plan_approve", ""),
                ("d.school_report", school_d),
                ("d.office_report", office_d),
            ],
        )
    };
    let (s, text) =
        body(post(&app, &so, "/yearly/deadlines", &deadlines(&scsrf, "", "22/05/2020", "21/05/2020")).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("Hạn Phòng GDĐT/xã báo cáo Sở: không được sớm hơn hạn của bước trước"), "{text}");
    let (s, text) = body(post(&app, &so, "/yearly/deadlines", &deadlines(&scsrf, "31/02/2020", "", "")).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("không phải ngày hợp lệ"), "{text}");
    let r = post(&app, &ht, "/yearly/deadlines", &deadlines(&hcsrf, "", "20/05/2020", "21/05/2020")).await;
    assert_eq!(r.status(), 403, "a school does not set the province's deadlines");
    assert!(app.db.yearly_deadlines(prov, year).await.unwrap().is_empty(), "nothing stored");
    let r = post(&app, &so, "/yearly/deadlines", &deadlines(&scsrf, "31/05/2020", "20/05/2020", "21/05/2020")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.yearly_deadlines(prov, year).await.unwrap().len(), 3);
    let page = so.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"d.school_report\" value=\"20/05/2020\""), "the form shows them");

    // The teacher sees them; an English teacher may claim the exemption from content 3.
    let page = t.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Trường gửi báo cáo kết quả kèm danh sách xếp loại lên cấp trên: <strong>20/05/2020"),
        "{page}"
    );
    assert!(!page.contains("value=\"tieng-anh-he-2019\""), "not an English teacher");
    let plan =
        form(&csrf, &[("year", year), ("exemption", "tieng-anh-he-2019"), ("p.ND1.ND1", "30"), ("p.ND2.ND2", "30")]);
    let (s, text) = body(post(&app, &t, "/yearly/plan", &plan).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("không áp dụng cho thầy/cô trong năm học này"), "{text}");
    bdtx_store::on!(&app.db.db, p => sqlx::query("UPDATE people SET main_subject = $2 WHERE id = $1")
        .bind(gv).bind("Tiếng Anh").execute(p).await.map(|_| ()))
    .unwrap();
    let page = t.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("value=\"tieng-anh-he-2019\""), "{page}");
    let mut with_nd3 = plan.clone();
    with_nd3.push(("p.ND3.TH1".into(), "60".into()));
    let (s, text) = body(post(&app, &t, "/yearly/plan", &with_nd3).await).await;
    assert_eq!(s, 422);
    assert!(text.contains("thuộc nội dung được miễn"), "{text}");
    assert_eq!(post(&app, &t, "/yearly/plan", &plan).await.status(), 303);
    let id = app.db.year_plan_of(gv, year).await.unwrap().unwrap().id;
    assert_eq!(post(&app, &t, &format!("/yearly/plans/{id}/submit"), &form(&csrf, &[])).await.status(), 303);
    let page = ht.get(app.url(&format!("/yearly/plans/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<dd id=\"exemption\"><strong>Giáo viên tiếng Anh được Sở GD"), "{page}");
    let r = post(&app, &ht, &format!("/yearly/plans/{id}/decide"), &form(&hcsrf, &[("decision", "approve")])).await;
    assert_eq!(r.status(), 303);
    let items = app.db.year_items(id).await.unwrap();
    let mut scores = form(&hcsrf, &[]);
    for (i, (a, b)) in items.iter().zip([("4", "4"), ("4,5", "4,5")]) {
        scores.push((format!("s.{}.0", i.id), a.into()));
        scores.push((format!("s.{}.1", i.id), b.into()));
    }
    assert_eq!(post(&app, &ht, &format!("/yearly/plans/{id}/results"), &scores).await.status(), 303);
    let p = app.db.year_plan(id).await.unwrap().unwrap();
    assert_eq!((p.result_average, p.result_label.as_deref()), (Some(850), Some("Khá")));

    // The school sends its classified list to the commune, late (the deadline was 20/5/2020).
    let page = ht.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<p id=\"report-state\">Chưa gửi") && page.contains("quá hạn"), "{page}");
    let send = |c: &str, unit: i64| form(c, &[("unit", &unit.to_string()), ("year", year), ("note", "Kèm danh sách")]);
    let other = app.browser();
    let ocsrf = app.form_login(&other, "ht.khac").await;
    assert_eq!(post(&app, &other, "/yearly/report", &send(&ocsrf, school)).await.status(), 403);
    let xa = app.browser();
    let xcsrf = app.form_login(&xa, "xa.admin").await;
    assert_eq!(
        post(&app, &xa, "/yearly/report", &send(&xcsrf, school)).await.status(),
        403,
        "the school sends its own"
    );
    let r = ht.post(app.url("/yearly/report")).form(&[("unit", school.to_string())]).send().await.unwrap();
    assert_eq!(r.status(), 403, "no CSRF token");
    assert!(app.db.yearly_report(school, year).await.unwrap().is_none());
    let (s, text) =
        body(post(&app, &other, "/yearly/report", &send(&ocsrf, app.unit_id("NB-KS01-TH-THUONGKIEM").await)).await)
            .await;
    assert_eq!(s, 422, "no approved plan there");
    assert!(text.contains("chưa có kế hoạch nào được phê duyệt để gửi"), "{text}");
    assert_eq!(post(&app, &ht, "/yearly/report", &send(&hcsrf, school)).await.status(), 303);
    assert_eq!(post(&app, &ht, "/yearly/report", &send(&hcsrf, school)).await.status(), 303);
    let sent = app.db.yearly_report(school, year).await.unwrap().unwrap();
    assert_eq!((sent.times, sent.to_unit_id), (2, app.unit_id("NB-KS02").await));
    let page = ht.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<p id=\"report-state\">Đã gửi lúc") && page.contains("gửi lại lúc"), "{page}");

    // The commune sees who sent (late) and who has not; the province sees the commune.
    let page = xa.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    let table = &page[page.find("id=\"senders\"").expect("senders")..];
    let row = table.split("<tr>").find(|r| r.contains("Trường Tiểu học Kim Đông")).expect("the school");
    assert!(row.contains("Khá: 1") && row.contains("quá hạn"), "{row}");
    let row = table.split("<tr>").find(|r| r.contains("Trường THCS Kim Đông")).expect("another school");
    assert!(row.contains("Chưa gửi") && row.contains("quá hạn"), "{row}");
    let page = so.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"senders\"") && page.contains("Xã Kim Đông"), "{page}");
    // A teacher sees no one's list.
    let page = t.get(app.url(&format!("/yearly?year={year}"))).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("id=\"senders\""));

    // The same as JSON, per role: a person's plan and results, a school's classified list.
    let path = format!("/api/v1/yearly/people/{gv}?year={year}");
    for (user, status) in [
        ("giaovien", 200),
        ("hieutruong", 200),
        ("xa.admin", 200),
        ("so.admin", 200),
        ("ht.khac", 404),
        ("cotcan", 404),
    ] {
        let (s, v) = app.get(&app.token(user).await, &path).await;
        assert_eq!(s, status, "{user}: {v}");
        if s == 200 {
            assert_eq!(v["plan"]["result_average"], 850, "{user}: {v}");
            assert_eq!(v["plan"]["exemption"], "tieng-anh-he-2019");
            assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
        }
    }
    let token = app.token("giaovien").await;
    let (s, _) = app.get(&token, &format!("/api/v1/yearly/people/{gv}?year=2019")).await;
    assert_eq!(s, 422, "a school year is 2019-2020");
    let (s, v) = app.get(&token, &format!("/api/v1/yearly/people/{gv}?year=2020-2021")).await;
    assert_eq!((s, v["plan"].is_null()), (200, true), "no plan that year");
    let list = format!("/api/v1/yearly/units/{school}/classified?year={year}");
    for (user, status) in
        [("hieutruong", 200), ("xa.admin", 200), ("so.admin", 200), ("ht.khac", 403), ("giaovien", 403)]
    {
        let (s, v) = app.get(&app.token(user).await, &list).await;
        assert_eq!(s, status, "{user}: {v}");
        if s == 200 {
            assert_eq!(v["rows"][0]["class_label"], "Khá", "{user}: {v}");
            assert_eq!(v["report"]["times"], 2);
        }
    }
    let (s, v) = app.get(&app.token("so.admin").await, "/api/openapi.json").await;
    assert_eq!(s, 200);
    assert!(v["paths"]["/api/v1/yearly/units/{id}/classified"].is_object(), "documented");
});
