//! HTTP tests against the real server, on SQLite and PostgreSQL: pages, API, authorization per
//! role, CSRF, bad input, lockout and rate limits.

mod common;

use bdtx_testkit::{TestDb, both_backends};
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

both_backends!(probes_openapi_and_docs, |db: TestDb| async move {
    let app = start(db, 100).await;
    let c = reqwest::Client::new();
    let h: Value = c.get(app.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(h["status"], "ok");
    let spec: Value = c.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/units",
        "/api/v1/units/{id}",
        "/api/v1/people",
        "/api/v1/people/{id}",
        "/api/v1/modules",
        "/api/v1/audit",
        "/api/v1/learn/{e}",
        "/api/v1/learn/{e}/items/{key}/answers/{q}",
        "/api/v1/grading/{id}",
    ] {
        assert!(spec["paths"][p].is_object(), "{p} missing from OpenAPI");
    }
    let docs = c.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let _ = c.get(app.url("/login")).send().await.unwrap();
    let metrics = c.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("bdtx_http_requests_total"), "{metrics}");
});

both_backends!(browser_flow_login_tree_search_language, |db: TestDb| async move {
    let app = start(db, 100).await;
    let c = app.browser();
    // not logged in: pages send you to the login page, the API answers 401 JSON
    let r = c.get(app.url("/people")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login?next="));
    let r = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "unauthenticated");
    // a login form post without the CSRF token is refused
    let r = c.post(app.url("/login")).form(&[("username", "so.admin"), ("password", PW)]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // wrong password: Vietnamese message, 401
    let page = c.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&page);
    let r = c
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("username", "so.admin"), ("password", "sai mật khẩu")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("Tên đăng nhập hoặc mật khẩu không đúng"));
    let _ = app.form_login(&c, "so.admin").await;
    let tree = c.get(app.url("/units")).send().await.unwrap().text().await.unwrap();
    assert!(tree.contains("Sở Giáo dục và Đào tạo Ninh Bình") && tree.contains("Xã Kim Sơn"), "current tree");
    assert!(!tree.contains("Xã Phát Diệm"), "merged commune is gone today");
    let old = c.get(app.url("/units?at=01/01/2026")).send().await.unwrap().text().await.unwrap();
    assert!(old.contains("Xã Phát Diệm") && !old.contains("Xã Kim Sơn<"), "tree at 01/01/2026");
    let before = c.get(app.url("/units?at=01/01/2024")).send().await.unwrap().text().await.unwrap();
    assert!(
        before.contains("Sở Giáo dục và Đào tạo Hà Nam") && before.contains("Phòng Giáo dục và Đào tạo huyện Kim Sơn"),
        "tree before the 2025 merger"
    );
    let bad = c.get(app.url("/units?at=31/02/2026")).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("không phải ngày hợp lệ"));
    let found = c.get(app.url("/people?q=nguyen+van+an")).send().await.unwrap().text().await.unwrap();
    assert!(found.contains("Nguyễn Văn An"), "accent-insensitive search");
    // English
    let r = c.get(app.url("/lang/en?next=/units")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let en = c.get(app.url("/units")).send().await.unwrap().text().await.unwrap();
    assert!(en.contains("Organisation tree") && en.contains("lang=\"en\""));
    // logout needs the token too, then the session is gone
    let home = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let csrf = extract_csrf(&home);
    assert_eq!(c.post(app.url("/logout")).form(&[("_csrf", csrf.as_str())]).send().await.unwrap().status(), 303);
    assert_eq!(c.get(app.url("/units")).send().await.unwrap().status(), 303);
});

both_backends!(every_role_is_denied_outside_its_scope, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let an = app.person_id("Nguyễn Văn An").await; // a teacher of Xã Kim Sơn (formerly Phát Diệm)
    let province = app.unit_id("NB").await;
    let kim_son = app.unit_id("NB-KS04").await;
    let kim_dong = app.unit_id("NB-KS02").await;
    let uni = app.unit_id("DHSPHN2").await;
    let patch_name = json!({"full_name": "Nguyễn Văn Ân"});
    // (user, view An, edit phone, edit name, view NB unit, view Kim Son unit, restructure Kim Dong)
    let cases: &[(&str, u16, u16, u16, u16, u16, u16)] = &[
        ("bo.admin", 200, 200, 200, 200, 200, 422),
        ("so.admin", 200, 200, 200, 200, 200, 422),
        ("xa.admin", 404, 404, 404, 403, 403, 403),
        ("hieutruong", 404, 404, 404, 403, 403, 403),
        ("giangvien", 200, 403, 403, 200, 200, 403),
        ("vanhanh", 200, 200, 403, 200, 200, 403),
        ("cotcan", 404, 404, 404, 403, 403, 403),
        ("giaovien", 200, 200, 403, 403, 403, 403),
    ];
    for (i, &(user, view, phone, name, unit_nb, unit_ks, restructure)) in cases.iter().enumerate() {
        let t = app.token(user).await;
        let patch_phone = json!({"phone": format!("098765432{i}")});
        assert_eq!(app.get(&t, &format!("/api/v1/people/{an}")).await.0, view, "{user} view");
        assert_eq!(
            app.api(&t, Method::PATCH, &format!("/api/v1/people/{an}"), Some(patch_phone.clone())).await.0,
            phone,
            "{user} phone"
        );
        let (s, body) = app.api(&t, Method::PATCH, &format!("/api/v1/people/{an}"), Some(patch_name.clone())).await;
        assert_eq!(s, name, "{user} name: {body}");
        if s == 200 {
            // put it back for the next role
            app.api(&t, Method::PATCH, &format!("/api/v1/people/{an}"), Some(json!({"full_name": "Nguyễn Văn An"})))
                .await;
        } else {
            assert!(body["error"]["code"].is_string(), "structured error for {user}: {body}");
            assert!(view == 200 || !body.to_string().contains("Nguyễn Văn An"), "no data leaks to {user}");
        }
        assert_eq!(app.get(&t, &format!("/api/v1/units/{province}")).await.0, unit_nb, "{user} unit NB");
        assert_eq!(app.get(&t, &format!("/api/v1/units/{kim_son}")).await.0, unit_ks, "{user} unit Kim Son");
        // an invalid date: allowed roles get 422 (nothing changed), others 403 before any validation
        let (s, _) = app
            .api(
                &t,
                Method::POST,
                &format!("/api/v1/units/{kim_dong}/restructure"),
                Some(json!({"kind": "rename", "effective": "31/02/2027"})),
            )
            .await;
        assert_eq!(s, restructure, "{user} restructure");
        let _ = uni;
    }
    // learner and core teacher cannot list people or browse the tree; admins can
    for user in ["giaovien", "cotcan"] {
        let t = app.token(user).await;
        assert_eq!(app.get(&t, "/api/v1/people").await.0, 403, "{user}");
        assert_eq!(app.get(&t, "/api/v1/units").await.0, 403, "{user}");
        assert_eq!(app.get(&t, "/api/v1/audit").await.0, 403, "{user}");
    }
    // the commune admin's search never returns people of another commune
    let t = app.token("xa.admin").await;
    let (s, v) = app.get(&t, "/api/v1/people?q=an").await;
    assert_eq!(s, 200);
    assert!(v["items"].as_array().unwrap().iter().all(|p| p["id"].as_i64() != Some(an)));
    assert_eq!(app.get(&t, &format!("/api/v1/people?unit={province}")).await.0, 403);
    // the catalog is readable by all, editable by the Ministry only
    for user in ["so.admin", "giaovien"] {
        let t = app.token(user).await;
        assert_eq!(app.get(&t, "/api/v1/modules?family=gvpt_2019").await.1.as_array().unwrap().len(), 15);
        let (s, _) =
            app.api(&t, Method::PATCH, "/api/v1/modules/MN17", Some(json!({"title_vi": "X", "title_en": "X"}))).await;
        assert_eq!(s, 403, "{user} catalog edit");
    }
    let t = app.token("bo.admin").await;
    let (s, m) = app
        .api(
            &t,
            Method::PATCH,
            "/api/v1/modules/MN17",
            Some(json!({"title_vi": "Mô đun MN17 đã sửa", "title_en": "MN17 edited"})),
        )
        .await;
    assert_eq!((s, m["verified"].as_bool()), (200, Some(true)));
    // pages obey the same decision
    let c = app.browser();
    app.form_login(&c, "hieutruong").await;
    assert_eq!(c.get(app.url(&format!("/people/{an}"))).send().await.unwrap().status(), 404);
    assert_eq!(c.get(app.url(&format!("/units/{province}"))).send().await.unwrap().status(), 403);
    assert_eq!(c.get(app.url("/people/999999")).send().await.unwrap().status(), 404);
});

both_backends!(bad_input_is_refused_and_changes_nothing, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let an = app.person_id("Nguyễn Văn An").await;
    let t = app.token("so.admin").await;
    let before = app.get(&t, &format!("/api/v1/people/{an}")).await.1;
    let audit_before = app.get(&t, "/api/v1/audit").await.1.as_array().unwrap().len();
    // malformed JSON
    let r = reqwest::Client::new()
        .patch(app.url(&format!("/api/v1/people/{an}")))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{\"full_name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["fields"][0]["field"], "body");
    // several invalid fields at once, each reported, in Vietnamese
    let (s, e) = app
        .api(&t, Method::PATCH, &format!("/api/v1/people/{an}"), Some(json!({"birth_date": "30/02/1990", "email": "không hợp lệ", "national_id": "123", "full_name": "x".repeat(101), "levels": "TH, ĐH"})))
        .await;
    assert_eq!(s, 422);
    let fields: Vec<_> =
        e["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, vec!["full_name", "birth_date", "national_id", "email", "levels"]);
    assert!(e["error"]["message"].as_str().unwrap().contains("chưa có gì thay đổi"));
    // someone else's national ID: the same real person already exists
    let other = app.person_id("Lê Thị Lan").await;
    let other_id = app.get(&t, &format!("/api/v1/people/{other}")).await.1["person"]["national_id"].clone();
    let (s, e) =
        app.api(&t, Method::PATCH, &format!("/api/v1/people/{an}"), Some(json!({"national_id": other_id}))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("conflict")));
    // unknown and malformed ids
    assert_eq!(app.get(&t, "/api/v1/people/999999").await.0, 404);
    assert_eq!(app.get(&t, "/api/v1/people/abc").await.0, 404);
    assert_eq!(app.get(&t, "/api/v1/units/999999").await.0, 404);
    // a restructuring that would create a cycle or overlap
    let kim_dong = app.unit_id("NB-KS02").await;
    let (s, e) = app
        .api(
            &t,
            Method::POST,
            &format!("/api/v1/units/{kim_dong}/restructure"),
            Some(json!({"kind": "move", "effective": "01/01/2027", "target": "NB-KS02-C1"})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let codes: Vec<_> =
        e["error"]["fields"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect();
    assert!(codes.contains(&"cycle".to_string()), "{codes:?}");
    let (s, _) = app.api(&t, Method::POST, &format!("/api/v1/units/{kim_dong}/restructure"), Some(json!({"kind": "rename", "effective": "01/01/2020", "new_code": "NB-KD2", "new_name": "Xã Kim Đông mới"}))).await;
    assert_eq!(s, 422, "rename before the unit existed overlaps");
    let (s, _) = app
        .api(
            &t,
            Method::POST,
            &format!("/api/v1/units/{kim_dong}/restructure"),
            Some(json!({"kind": "explode", "effective": "01/01/2027"})),
        )
        .await;
    assert_eq!(s, 422);
    // nothing changed
    assert_eq!(app.get(&t, &format!("/api/v1/people/{an}")).await.1, before);
    assert_eq!(app.get(&t, "/api/v1/audit").await.1.as_array().unwrap().len(), audit_before);
    assert!(app.db.unit_by_code("NB-KD2").await.unwrap().is_none());
    // a valid rename works and is audited
    let (s, r) = app.api(&t, Method::POST, &format!("/api/v1/units/{kim_dong}/restructure"), Some(json!({"kind": "rename", "effective": "01/01/2027", "new_code": "NB-KD2", "new_name": "Xã Kim Đông mới"}))).await;
    assert_eq!(s, 200, "{r}");
    let audit = app.get(&t, "/api/v1/audit").await.1;
    assert_eq!(audit[0]["action"], "unit.rename");
    // The dashboards are recounted when the tree changes (a job due on the effective date); the
    // refused restructurings above queued nothing.
    let jobs = app.db.jobs_under(None, 10).await.unwrap();
    let rebuilds: Vec<_> = jobs.iter().filter(|j| j.kind == "rebuild_tallies").collect();
    assert_eq!(rebuilds.len(), 1, "{jobs:?}");
    let jan = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    assert_eq!(rebuilds[0].run_at, bdtx_domain::round::day_start(jan).max(rebuilds[0].created_at));
});

both_backends!(csrf_edit_form_activation_and_audit, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let an = app.person_id("Nguyễn Văn An").await;
    let c = app.browser();
    let csrf = app.form_login(&c, "so.admin").await;
    // cookie-authenticated API writes need the CSRF header
    let r =
        c.patch(app.url(&format!("/api/v1/people/{an}"))).json(&json!({"phone": "0911111111"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "csrf");
    let r = c
        .patch(app.url(&format!("/api/v1/people/{an}")))
        .header("x-csrf-token", &csrf)
        .json(&json!({"phone": "0911111111"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // the edit form: wrong token refused; bad data re-shown with Vietnamese messages; good data saved
    let r = c
        .post(app.url(&format!("/people/{an}/edit")))
        .form(&[("_csrf", "forged"), ("email", "a@b.vn")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.url(&format!("/people/{an}/edit")))
        .form(&[("_csrf", csrf.as_str()), ("birth_date", "32/13/1990")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Ngày sinh: không phải ngày hợp lệ"));
    let r = c
        .post(app.url(&format!("/people/{an}/edit")))
        .form(&[("_csrf", csrf.as_str()), ("email", "An.Nguyen@NinhBinh.edu.vn")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let page = c.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("an.nguyen@ninhbinh.edu.vn") && page.contains("Đã lưu thay đổi"));
    assert!(page.contains("<title>Nguyễn Văn An · BDTX</title>"), "the title holds the name only");
    // activation code: issued once, then the teacher activates and logs in
    let r =
        c.post(app.url(&format!("/people/{an}/activation"))).form(&[("_csrf", csrf.as_str())]).send().await.unwrap();
    let html = r.text().await.unwrap();
    let i = html.find("<code class=\"code\">").unwrap() + "<code class=\"code\">".len();
    let code = html[i..i + 10].to_string();
    let username =
        app.get(&app.token("so.admin").await, &format!("/api/v1/people/{an}")).await.1["account"]["username"]
            .as_str()
            .unwrap()
            .to_string();
    let t = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = t.get(app.url("/activate")).send().await.unwrap().text().await.unwrap();
    let tcsrf = extract_csrf(&page);
    let r = t
        .post(app.url("/activate"))
        .form(&[
            ("_csrf", tcsrf.as_str()),
            ("username", username.as_str()),
            ("code", code.as_str()),
            ("password", "12345678"),
            ("password2", "12345678"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a digits-only password is refused");
    let r = t
        .post(app.url("/activate"))
        .form(&[
            ("_csrf", tcsrf.as_str()),
            ("username", username.as_str()),
            ("code", code.as_str()),
            ("password", "Hoc tap 2026"),
            ("password2", "Hoc tap 2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": "Hoc tap 2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // the audit log shows who changed what, before and after
    let tok = app.token("so.admin").await;
    let audit = app.get(&tok, "/api/v1/audit").await.1;
    let edit = audit.as_array().unwrap().iter().find(|e| e["action"] == "person.update").unwrap();
    assert_eq!(edit["actor"], "so.admin");
    assert!(edit["after_json"].as_str().unwrap().contains("an.nguyen@ninhbinh.edu.vn"));
    let audit_page = c.get(app.url("/audit")).send().await.unwrap().text().await.unwrap();
    assert!(audit_page.contains("Sửa thông tin người"));
});

both_backends!(password_change_checks_the_current_password, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let t = app.token("giaovien").await;
    let (s, e) = app
        .api(&t, Method::POST, "/api/v1/me/password", Some(json!({"current": "sai", "new": "mật khẩu mới 2026"})))
        .await;
    assert_eq!((s, e["error"]["code"].as_str()), (401, Some("bad_credentials")));
    let (s, _) = app.api(&t, Method::POST, "/api/v1/me/password", Some(json!({"current": PW, "new": "1234567"}))).await;
    assert_eq!(s, 422);
    let (s, _) = app
        .api(&t, Method::POST, "/api/v1/me/password", Some(json!({"current": PW, "new": "mật khẩu mới 2026"})))
        .await;
    assert_eq!(s, 204);
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "giaovien", "password": "mật khẩu mới 2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // the page form
    let c = app.browser();
    let csrf = app.form_login(&c, "so.admin").await;
    let r = c
        .post(app.url("/account/password"))
        .form(&[("_csrf", csrf.as_str()), ("current", PW), ("password", "abc"), ("password2", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("ít nhất 8 ký tự"));
});

both_backends!(lockout_and_rate_limit, |db: TestDb| async move {
    let app = start(db, 8).await;
    let c = reqwest::Client::new();
    let login = |pw: &'static str| {
        c.post(app.url("/api/v1/auth/login")).json(&json!({"username": "giaovien", "password": pw})).send()
    };
    for _ in 0..4 {
        assert_eq!(login("sai").await.unwrap().status(), 401);
    }
    let r = login("sai").await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "locked");
    let r = login(PW).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "locked", "locked even with the right password");
    // per-address limit: 8 a minute, the rest get 429
    let mut limited = false;
    for _ in 0..5 {
        if login("sai").await.unwrap().status() == 429 {
            limited = true;
        }
    }
    assert!(limited);
});

both_backends!(admins_add_units_people_core_status_roles_and_moves, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let principal = app.token("hieutruong").await;
    let province = app.token("so.admin").await;
    let commune = app.token("xa.admin").await;
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    let other_school = app.unit_id("NB-THPT-01").await;
    let kim_dong = app.unit_id("NB-KS02").await;
    let nb = app.unit_id("NB").await;
    let post = |t: &str, path: &str, body: Value| {
        let (t, path) = (t.to_string(), path.to_string());
        let app = &app;
        async move { app.api(&t, Method::POST, &path, Some(body)).await }
    };
    // a principal adds a new teacher to their own school, not to another one
    let teacher = json!({"unit_id": school, "full_name": "  phạm   thị  HUYỀN ", "birth_date": "12/03/1995", "gender": "F",
        "national_id": "037195000999", "phone": "+84 915 000 999", "position": "teacher", "levels": "TH", "main_subject": "Tiếng Anh", "from": "05/09/2026"});
    let (s, p) = post(&principal, "/api/v1/people", teacher.clone()).await;
    assert_eq!(s, 201, "{p}");
    let new_id = p["id"].as_i64().unwrap();
    assert_eq!(p["phone"], "0915000999");
    let (s, e) = post(&principal, "/api/v1/people", teacher.clone()).await;
    assert_eq!((s, e["error"]["fields"][0]["field"].as_str()), (409, Some("identity")), "the same person twice");
    let mut elsewhere = teacher.clone();
    elsewhere["unit_id"] = json!(other_school);
    elsewhere["national_id"] = json!("037195000998");
    assert_eq!(post(&principal, "/api/v1/people", elsewhere).await.0, 403);
    // the new person has an account waiting for activation
    let (_, v) = app.get(&principal, &format!("/api/v1/people/{new_id}")).await;
    assert_eq!(
        (v["account"]["username"].as_str(), v["account"]["activated"].as_bool()),
        (Some("037195000999"), Some(false))
    );
    // units: the province adds a cluster and a multi-level school; the commune admin may not restructure
    let (s, c) = post(
        &province,
        "/api/v1/units",
        json!({"parent_id": kim_dong, "code": "NB-KS02-C9", "name": "Cụm trường số 9", "kind": "cluster"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let cluster = c["id"].as_i64().unwrap();
    let (s, _) = post(&province, "/api/v1/units", json!({"parent_id": cluster, "code": "NB-KS02-THTHCS-X", "name": "Trường TH và THCS Kim Đông B", "kind": "school", "levels": "TH, THCS"})).await;
    assert_eq!(s, 201);
    assert_eq!(
        post(
            &province,
            "/api/v1/units",
            json!({"parent_id": cluster, "code": "NB-KS02-THTHCS-X", "name": "Trùng", "kind": "school"})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        post(
            &province,
            "/api/v1/units",
            json!({"parent_id": cluster, "code": "X1", "name": "Sai loại", "kind": "province"})
        )
        .await
        .0,
        422
    );
    assert_eq!(
        post(
            &province,
            "/api/v1/units",
            json!({"parent_id": cluster, "code": "X2", "name": "Sai cấp", "kind": "school", "levels": "ĐH"})
        )
        .await
        .0,
        422
    );
    assert_eq!(
        post(&commune, "/api/v1/units", json!({"parent_id": nb, "code": "X3", "name": "Xã mới", "kind": "commune"}))
            .await
            .0,
        403
    );
    // a university's coverage: the Ministry adds a province; a province admin may not; kinds are checked
    let uni = app.unit_id("DHSPHN2").await;
    let ministry = app.token("bo.admin").await;
    let (s, e) = post(&ministry, &format!("/api/v1/units/{uni}/coverage"), json!({"province_code": "NB"})).await;
    assert_eq!(s, 409, "already covered: {e}");
    assert_eq!(
        post(&ministry, &format!("/api/v1/units/{uni}/coverage"), json!({"province_code": "NB-KS02"})).await.0,
        422
    );
    assert_eq!(post(&province, &format!("/api/v1/units/{uni}/coverage"), json!({"province_code": "NB"})).await.0, 403);
    // core status: by the principal for their teacher; an unknown module is refused
    assert_eq!(
        post(
            &principal,
            &format!("/api/v1/people/{new_id}/core"),
            json!({"module_code": "GV4660-03", "subject": "Tiếng Anh"})
        )
        .await
        .0,
        204
    );
    assert_eq!(
        post(&principal, &format!("/api/v1/people/{new_id}/core"), json!({"module_code": "GV4660-77"})).await.0,
        422
    );
    // roles: a principal may make a teacher core teacher of the school, not another principal
    assert_eq!(
        post(
            &principal,
            &format!("/api/v1/people/{new_id}/roles"),
            json!({"role": "core_teacher", "unit_code": "NB-KS02-TH-KIMDONG"})
        )
        .await
        .0,
        204
    );
    assert_eq!(
        post(
            &principal,
            &format!("/api/v1/people/{new_id}/roles"),
            json!({"role": "school_admin", "unit_code": "NB-KS02-TH-KIMDONG"})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post(
            &province,
            &format!("/api/v1/people/{new_id}/roles"),
            json!({"role": "school_admin", "unit_code": "NB-KS02"})
        )
        .await
        .0,
        422,
        "role on the wrong kind of unit"
    );
    let (_, v) = app.get(&principal, &format!("/api/v1/people/{new_id}")).await;
    let grant = v["roles"][0]["id"].as_i64().unwrap();
    assert_eq!(v["roles"][0]["role"], "core_teacher");
    assert_eq!(
        app.api(&commune, Method::DELETE, &format!("/api/v1/roles/{grant}"), None).await.0,
        204,
        "the commune admin may withdraw it too"
    );
    assert_eq!(app.api(&commune, Method::DELETE, &format!("/api/v1/roles/{grant}"), None).await.0, 404);
    // moves: the principal cannot send a teacher to a school outside their scope; the province can
    let mv = json!({"unit_code": "NB-THPT-01", "date": "01/01/2027"});
    assert_eq!(post(&principal, &format!("/api/v1/people/{new_id}/move"), mv.clone()).await.0, 403);
    assert_eq!(post(&province, &format!("/api/v1/people/{new_id}/move"), mv.clone()).await.0, 204);
    assert_eq!(
        post(
            &province,
            &format!("/api/v1/people/{new_id}/move"),
            json!({"unit_code": "NB-KS02-TH-KIMDONG", "date": "01/01/2020"})
        )
        .await
        .0,
        422,
        "overlapping date"
    );
    let (_, v) = app.get(&province, &format!("/api/v1/people/{new_id}")).await;
    let stays: Vec<_> = v["stays"].as_array().unwrap().iter().map(|s| s["unit_id"].as_i64().unwrap()).collect();
    assert_eq!(stays, vec![other_school, school]);
    // the teacher has left the principal's school (from 2027) but stays visible there until then? No:
    // today the teacher is still at the school, so the principal still sees them.
    assert_eq!(app.get(&principal, &format!("/api/v1/people/{new_id}")).await.0, 200);
    // retirement: the stay closes, history stays, the record remains reachable
    let (s, _) = post(&province, &format!("/api/v1/people/{new_id}/retire"), json!({"date": "31/13/2026"})).await;
    assert_eq!(s, 422);
    let (s, _) = post(&province, &format!("/api/v1/people/{new_id}/retire"), json!({"date": "01/01/2020"})).await;
    assert_eq!(s, 422, "before the pending move to the THPT school");
    // a retirement ahead of its date is refused (people_move_and_retire_checks tests it further)
    let (s, _) = post(&province, &format!("/api/v1/people/{new_id}/retire"), json!({"date": "01/06/2099"})).await;
    assert_eq!(s, 422);
    let (_, v) = app.get(&province, &format!("/api/v1/people/{new_id}")).await;
    assert_eq!(v["person"]["status"], "active");
    // the page forms go through the same checks
    let c = app.browser();
    let csrf = app.form_login(&c, "hieutruong").await;
    let r = c
        .post(app.url(&format!("/units/{school}/people")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("full_name", "Đỗ Văn Bình"),
            ("birth_date", "01/01/1990"),
            ("phone", "0916000111"),
            ("position", "teacher"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = c
        .post(app.url(&format!("/units/{other_school}/people")))
        .form(&[("_csrf", csrf.as_str()), ("full_name", "Đỗ Văn Cường")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Bạn không có quyền"));
});

both_backends!(roster_upload_preview_errors_apply_and_export, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let c = app.browser();
    let csrf = app.form_login(&c, "xa.admin").await; // Xã Kim Đông
    let csv = "Họ và tên,Ngày sinh,Số CCCD,Trường,Chức vụ\n\
               Hoàng Văn Tùng,05/05/1990,037090007001,Trường Tiểu học Kim Đông,Giáo viên\n\
               Ngô Thị Vân,05/05/1991,037191007002,Trường THCS Kim Đông,Giáo viên\n\
               Đinh Văn Sai,31/31/1990,037090007003,Trường THCS Kim Đông,Giáo viên\n\
               Tạ Thị Xa,05/05/1992,037192007004,Trường THPT Kim Sơn A,Giáo viên\n";
    let part = |bytes: Vec<u8>, name: &str| {
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()))
    };
    // without the CSRF token in the action URL the upload is refused
    let r = c.post(app.url("/roster/upload")).multipart(part(csv.as_bytes().to_vec(), "ds.csv")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.url(&format!("/roster/upload?_csrf={csrf}")))
        .multipart(part(csv.as_bytes().to_vec(), "ds.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"added\">1<"),
        "only the TH teacher: the THCS school is held back, the THPT school is outside the commune"
    );
    assert!(html.contains("không phải ngày hợp lệ") && html.contains("ngoài phạm vi quản lý"), "errors in Vietnamese");
    let token = {
        let i = html.find("name=\"token\" value=\"").unwrap() + "name=\"token\" value=\"".len();
        html[i..i + 32].to_string()
    };
    // the errors file
    let r = c.get(app.url(&format!("/roster/errors?token={token}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx");
    // nothing written by the preview; apply writes the one complete school; re-applying changes nothing
    let before = app.get(&app.token("so.admin").await, "/api/v1/people?q=hoang+van+tung").await.1["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, 0);
    let r = c
        .post(app.url("/roster/apply"))
        .form(&[("_csrf", csrf.as_str()), ("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = app.get(&app.token("so.admin").await, "/api/v1/people?q=hoang+van+tung").await.1["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, 1);
    let r = c
        .post(app.url("/roster/apply"))
        .form(&[("_csrf", csrf.as_str()), ("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("id=\"added\">0<"));
    // a row that changes someone: the preview says whom and which columns
    let phone = "Họ và tên,Ngày sinh,Số CCCD,Trường,Điện thoại\n\
                 Hoàng Văn Tùng,05/05/1990,037090007001,Trường Tiểu học Kim Đông,0912345678\n";
    let r = c
        .post(app.url(&format!("/roster/upload?_csrf={csrf}")))
        .multipart(part(phone.as_bytes().to_vec(), "sdt.csv"))
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    let updates = &html[html.find("id=\"updates\"").expect("the updates listed")..];
    assert!(updates.contains("Hoàng Văn Tùng</a></td><td>Điện thoại</td>"), "{updates}");
    // another account cannot apply someone else's upload
    let other = app.browser();
    let ocsrf = app.form_login(&other, "so.admin").await;
    let r = other
        .post(app.url("/roster/apply"))
        .form(&[("_csrf", ocsrf.as_str()), ("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // headings that differ: the page asks what the columns mean, then previews with that mapping
    let odd = "Tên GV,Nơi công tác,Ghi chú\nLương Văn Khải,Trường THCS Kim Đông,mới\n";
    let r = c
        .post(app.url(&format!("/roster/upload?_csrf={csrf}")))
        .multipart(part(odd.as_bytes().to_vec(), "khac.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Chọn ý nghĩa các cột") && html.contains("name=\"col_1\""));
    assert!(!html.contains(" selected>"), "no heading of this file names a field");
    // a heading the roster knows is offered as what it names, the others as ignored
    let some = "Tên GV,Ngày sinh\nLương Văn Khải,01/01/1990\n";
    let r = c
        .post(app.url(&format!("/roster/upload?_csrf={csrf}")))
        .multipart(part(some.as_bytes().to_vec(), "mot-phan.csv"))
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("<option value=\"birth_date\" selected>"), "{page}");
    assert_eq!(page.matches(" selected>").count(), 1);
    let token2 = {
        let i = html.find("name=\"token\" value=\"").unwrap() + "name=\"token\" value=\"".len();
        html[i..i + 32].to_string()
    };
    let r = c
        .post(app.url("/roster/map"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("token", token2.as_str()),
            ("col_0", "full_name"),
            ("col_1", "school"),
            ("col_2", ""),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"added\">1<"), "{html}");
    assert!(html.contains("name=\"map\" value=\"0:full_name,1:school\""));
    let r = c
        .post(app.url("/roster/apply"))
        .form(&[("_csrf", csrf.as_str()), ("token", token2.as_str()), ("map", "0:full_name,1:school")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("id=\"added\">1<"));
    // a .xls renamed .xlsx: a clear message, nothing written
    let r = c
        .post(app.url(&format!("/roster/upload?_csrf={csrf}")))
        .multipart(part(vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0], "cu.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(".xls"));
    // a Windows-1258 CSV (Excel's "CSV" on a Vietnamese Windows, tone marks as combining bytes):
    // read as Vietnamese, and the page says which encoding it was
    let mut cp1258 = b"Ho\xF2 va\xCC t\xEAn,Tr\xFD\xF5\xCCng\n".to_vec();
    cp1258.extend(b"Nguy\xEA\xDEn V\xE3n U\xECt,Tr\xFD\xF5\xCCng Ti\xEA\xD2u ho\xF2c Kim \xD0\xF4ng\n");
    let r = c
        .post(app.url(&format!("/roster/upload?_csrf={csrf}")))
        .multipart(part(cp1258, "excel.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"added\">1<"), "{html}");
    assert!(html.contains("id=\"encoding\">Windows-1258"), "{html}");
    // export of the commune's roster, Vietnamese order, as CSV and xlsx; learners cannot export
    let r = c.get(app.url("/roster/export?format=csv")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("Hoàng Văn Tùng") && !text.contains("Tạ Thị Xa"));
    assert!(!text.contains("Nguyễn Văn An"), "a teacher of another commune is not in this commune's export");
    assert!(text.contains("Trường Tiểu học Kim Đông") && text.contains("Xã Kim Đông"), "school and the unit above it");
    let r = c.get(app.url("/roster/export")).send().await.unwrap();
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    let learner = app.browser();
    app.form_login(&learner, "giaovien").await;
    assert_eq!(learner.get(app.url("/roster/export")).send().await.unwrap().status(), 403);
    assert_eq!(learner.get(app.url("/roster")).send().await.unwrap().status(), 403);
});

both_backends!(duplicates_page_and_merge_need_identity_rights, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    let prov = app.token("so.admin").await;
    let make = |name: &str, id: &str| json!({"unit_id": school, "full_name": name, "birth_date": "01/01/1990", "national_id": id, "phone": "0919999999"});
    let (s, a) = app.api(&prov, Method::POST, "/api/v1/people", Some(make("Phan Văn Lợi", "037090009001"))).await;
    assert_eq!(s, 201);
    let (_, b) = app.api(&prov, Method::POST, "/api/v1/people", Some(make("Phan Văn Lợi", "037090009002"))).await;
    let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    let principal = app.token("hieutruong").await;
    let (s, groups) = app.get(&principal, "/api/v1/people/duplicates").await;
    assert_eq!(s, 200);
    assert!(groups.as_array().unwrap().iter().any(|g| g["people"].as_array().unwrap().len() == 2));
    // a principal sees candidates but may not merge identities; a learner sees nothing
    assert_eq!(
        app.api(&principal, Method::POST, &format!("/api/v1/people/{a}/merge"), Some(json!({"others": [b]}))).await.0,
        403
    );
    assert_eq!(app.get(&app.token("giaovien").await, "/api/v1/people/duplicates").await.0, 403);
    // the commune admin merges through the page
    let c = app.browser();
    let csrf = app.form_login(&c, "xa.admin").await;
    let page = c.get(app.url("/people/duplicates")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Cùng số điện thoại") && page.contains("Phan Văn Lợi"));
    let ids = format!("{a},{b},");
    let r = c
        .post(app.url("/people/merge"))
        .form(&[("_csrf", csrf.as_str()), ("keep", &a.to_string()), ("ids", &ids)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, v) = app.get(&prov, &format!("/api/v1/people/{b}")).await;
    assert_eq!((v["person"]["status"].as_str(), v["person"]["merged_into"].as_i64()), (Some("merged"), Some(a)));
});

both_backends!(requests_forms_3_and_4_flow_to_the_level_above, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let principal = app.token("hieutruong").await; // Trường Tiểu học Kim Đông
    let commune = app.token("xa.admin").await; // Xã Kim Đông
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    let kim_dong = app.unit_id("NB-KS02").await;
    // a teacher of the principal's school
    let (_, list) = app.get(&principal, &format!("/api/v1/people?unit={school}")).await;
    let teacher =
        list["items"].as_array().unwrap().iter().find(|p| p["position"] == "teacher").unwrap()["id"].as_i64().unwrap();
    let post = |t: &str, path: &str, body: Value| {
        let (t, path) = (t.to_string(), path.to_string());
        let app = &app;
        async move { app.api(&t, Method::POST, &path, Some(body)).await }
    };
    // Mẫu 3: a correction addressed to the commune; once its deadline has passed it is listed as late
    let (s, c) = post(&principal, "/api/v1/requests", json!({"kind": "correction", "person_id": teacher, "note": "Sai ngày sinh, đúng là 12/03/1990", "deadline": "09/01/2099"})).await;
    assert_eq!(s, 201, "{c}");
    let filed = c["id"].as_i64().unwrap();
    bdtx_store::on!(&*app.db, p => sqlx::query("UPDATE requests SET deadline = '2021-01-09' WHERE id = $1").bind(filed).execute(p).await.map(|_| ())).unwrap();
    let (_, rows) = app.get(&commune, "/api/v1/requests?kind=correction").await;
    assert_eq!(rows[0]["to_unit_id"].as_i64(), Some(kim_dong));
    let c = app.browser();
    app.form_login(&c, "xa.admin").await;
    let page = c.get(app.url("/requests?kind=correction")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Quá hạn") && page.contains("Sai ngày sinh"));
    // bad input changes nothing
    assert_eq!(
        post(&principal, "/api/v1/requests", json!({"kind": "correction", "person_id": teacher, "note": ""})).await.0,
        422
    );
    assert_eq!(
        post(
            &principal,
            "/api/v1/requests",
            json!({"kind": "addition", "unit_id": school, "full_name": "A", "birth_date": "30/02/1990"})
        )
        .await
        .0,
        422
    );
    assert_eq!(
        post(
            &principal,
            "/api/v1/requests",
            json!({"kind": "addition", "unit_id": school, "full_name": "Ông B", "deadline": "mai"})
        )
        .await
        .0,
        422
    );
    assert_eq!(post(&principal, "/api/v1/requests", json!({"kind": "other"})).await.0, 422);
    let thpt = app.unit_id("NB-THPT-01").await;
    assert_eq!(
        post(&principal, "/api/v1/requests", json!({"kind": "addition", "unit_id": thpt, "full_name": "Ông C"}))
            .await
            .0,
        403
    );
    // Mẫu 4: an addition; the school cannot answer its own request, the commune can
    let (s, a) = post(&principal, "/api/v1/requests", json!({"kind": "addition", "unit_id": school, "full_name": "Kiều Thị Nhàn", "birth_date": "02/02/1996", "national_id": "037196008001", "note": "Giáo viên mới chuyển đến", "deadline": "31/12/2027"})).await;
    assert_eq!(s, 201);
    let id = a["id"].as_i64().unwrap();
    assert_eq!(post(&principal, &format!("/api/v1/requests/{id}/resolve"), json!({"accept": true})).await.0, 403);
    let (s, r) =
        post(&commune, &format!("/api/v1/requests/{id}/resolve"), json!({"accept": true, "resolution": "Đã bổ sung"}))
            .await;
    assert_eq!(s, 200, "{r}");
    let added = r["added_person"].as_i64().unwrap();
    let (_, v) = app.get(&principal, &format!("/api/v1/people/{added}")).await;
    assert_eq!(v["person"]["full_name"], "Kiều Thị Nhàn");
    assert_eq!(v["stays"][0]["unit_id"].as_i64(), Some(school));
    assert_eq!(
        post(&commune, &format!("/api/v1/requests/{id}/resolve"), json!({"accept": true})).await.0,
        422,
        "answered once"
    );
    // both forms download as xlsx; learners see nothing
    for kind in ["correction", "addition"] {
        let r = c.get(app.url(&format!("/requests/export?kind={kind}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    }
    assert_eq!(app.get(&app.token("giaovien").await, "/api/v1/requests?kind=addition").await.0, 403);
});

/// Read a downloaded .xlsx form back: its rows of text.
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = calamine::Reader::worksheet_range_at(&mut book, 0).unwrap().unwrap();
    sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

both_backends!(requests_refuse_what_cannot_be_answered, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let principal = app.token("hieutruong").await; // Trường Tiểu học Kim Đông
    let commune = app.token("xa.admin").await;
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    let post = |t: &str, path: &str, body: Value| {
        let (t, path) = (t.to_string(), path.to_string());
        let app = &app;
        async move { app.api(&t, Method::POST, &path, Some(body)).await }
    };
    let messages = |v: &Value| {
        v["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    // someone already on record at the principal's own school: refused at filing, saying where, pointing to Mẫu 3
    let (_, list) = app.get(&principal, &format!("/api/v1/people?unit={school}")).await;
    let mine = &list["items"].as_array().unwrap().iter().find(|p| p["position"] == "teacher").unwrap();
    let (_, mine) = app.get(&principal, &format!("/api/v1/people/{}", mine["id"])).await;
    let (mine_name, mine_id) = (
        mine["person"]["full_name"].as_str().unwrap().to_string(),
        mine["person"]["national_id"].as_str().expect("a demo teacher has a CCCD").to_string(),
    );
    let (s, v) = post(&principal, "/api/v1/requests", json!({"kind": "addition", "unit_id": school, "full_name": mine_name, "birth_date": "02/02/1990", "national_id": mine_id})).await;
    assert_eq!(s, 422, "{v}");
    let m = messages(&v);
    assert!(m.contains("Số CCCD: đã có hồ sơ trong hệ thống") && m.contains("Mẫu số 3"), "{m}");
    assert!(m.contains(&mine_name) && m.contains("Trường Tiểu học Kim Đông"), "says where: {m}");
    // someone on record elsewhere (the teacher Nguyễn Văn An, of another commune): only that the CCCD is taken
    let so = app.token("so.admin").await;
    let (_, an) = app.get(&so, &format!("/api/v1/people/{}", app.person_id("Nguyễn Văn An").await)).await;
    let an_id = an["person"]["national_id"].as_str().expect("An has a CCCD").to_string();
    let an_unit = an["stays"][0]["unit_name"].as_str().unwrap().to_string();
    let (s, v) = post(
        &principal,
        "/api/v1/requests",
        json!({"kind": "addition", "unit_id": school, "full_name": "Ai Đó", "national_id": an_id}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let m = messages(&v);
    assert!(m.contains("Số CCCD: đã có hồ sơ trong hệ thống"), "{m}");
    assert!(!m.contains("Nguyễn Văn An") && !m.contains(&an_unit) && !v.to_string().contains(&an_unit), "no leak: {v}");
    // the birth date as the roster import reads it (d/m/yy); a deadline before today is refused
    let (s, v) = post(&principal, "/api/v1/requests", json!({"kind": "addition", "unit_id": school, "full_name": "Lò Văn Mới", "birth_date": "5/9/92", "national_id": "037192009911", "deadline": "01/01/2020"})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(messages(&v), "Hạn: không được trước ngày hôm nay");
    let (s, v) = post(&principal, "/api/v1/requests", json!({"kind": "addition", "unit_id": school, "full_name": "Lò Văn Mới", "birth_date": "5/9/92", "national_id": "037192009911", "position": "teacher", "note": "Mới tuyển"})).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (_, rows) = app.get(&commune, "/api/v1/requests?kind=addition").await;
    let row = rows.as_array().unwrap().iter().find(|r| r["id"].as_i64() == Some(id)).unwrap();
    assert!(row["data"].as_str().unwrap().contains("1992-09-05"), "{row}");
    // rejecting needs a reason; without one nothing changes
    let c = app.browser();
    let csrf = app.form_login(&c, "xa.admin").await;
    let form = |accept: &'static str, reason: &'static str| {
        let csrf = csrf.clone();
        let c = c.clone();
        let url = app.url(&format!("/requests/{id}/resolve"));
        async move {
            let r = c
                .post(url)
                .form(&[("_csrf", csrf.as_str()), ("accept", accept), ("resolution", reason)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, page) = form("0", "  ").await;
    assert_eq!(s, 422);
    assert!(page.contains("Lý do: bắt buộc nhập khi không chấp nhận đề nghị"), "{page}");
    let (s, v) = post(&commune, &format!("/api/v1/requests/{id}/resolve"), json!({"accept": false})).await;
    assert_eq!((s, v["error"]["fields"][0]["field"].as_str()), (422, Some("reason")), "{v}");
    let (_, rows) = app.get(&commune, "/api/v1/requests?kind=addition").await;
    assert_eq!(rows.as_array().unwrap().iter().find(|r| r["id"].as_i64() == Some(id)).unwrap()["status"], "open");
    assert_eq!(form("0", "Đã có hồ sơ ở trường khác").await.0, 303);
    let list = c.get(app.url("/requests?kind=addition")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("Lý do không chấp nhận: Đã có hồ sơ ở trường khác"), "{list}");
    // answering again: says it was already answered and how, changes nothing
    let (s, page) = form("1", "").await;
    assert_eq!(s, 422);
    assert!(page.contains("Đề nghị: đã được xử lý trước đó (tình trạng: Không chấp nhận)"), "{page}");
    assert!(!page.contains("ngừng hoạt động"));
    let (_, rows) = app.get(&commune, "/api/v1/requests?kind=addition").await;
    let row = rows.as_array().unwrap().iter().find(|r| r["id"].as_i64() == Some(id)).unwrap();
    assert_eq!(
        (row["status"].as_str(), row["resolution"].as_str()),
        (Some("rejected"), Some("Đã có hồ sơ ở trường khác"))
    );
    let (_, found) = app.get(&so, "/api/v1/people?q=037192009911").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "nobody was added");
    // an accepted correction answered twice says so too
    let (_, c3) = post(
        &principal,
        "/api/v1/requests",
        json!({"kind": "correction", "person_id": mine["person"]["id"], "note": "Sai số điện thoại"}),
    )
    .await;
    let c3 = c3["id"].as_i64().unwrap();
    assert_eq!(
        post(&commune, &format!("/api/v1/requests/{c3}/resolve"), json!({"accept": true, "resolution": "Đã sửa"}))
            .await
            .0,
        200
    );
    let (s, v) =
        post(&commune, &format!("/api/v1/requests/{c3}/resolve"), json!({"accept": false, "resolution": "x"})).await;
    assert_eq!((s, v["error"]["fields"][0]["code"].as_str()), (422, Some("already_resolved")), "{v}");
    // the forms as .xlsx: positions in Vietnamese, status and result of processing with the reason
    let form4 =
        xlsx_rows(&c.get(app.url("/requests/export?kind=addition")).send().await.unwrap().bytes().await.unwrap());
    let head = form4.iter().find(|r| r.first().is_some_and(|c| c == "STT")).unwrap();
    let at = |name: &str| head.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {head:?}"));
    let row = form4.iter().find(|r| r.get(1).is_some_and(|n| n == "Lò Văn Mới")).unwrap();
    assert_eq!(row[at("Chức vụ")], "Giáo viên");
    assert_eq!(row[at("Ngày sinh")], "05/09/1992");
    assert_eq!(row[at("Tình trạng")], "Không chấp nhận");
    assert_eq!(row[at("Kết quả xử lý")], "Lý do không chấp nhận: Đã có hồ sơ ở trường khác");
    let form3 =
        xlsx_rows(&c.get(app.url("/requests/export?kind=correction")).send().await.unwrap().bytes().await.unwrap());
    let head = form3.iter().find(|r| r.first().is_some_and(|c| c == "STT")).unwrap();
    let row = form3.iter().find(|r| r.get(3).is_some_and(|n| n == "Sai số điện thoại")).unwrap();
    let at = |name: &str| head.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {head:?}"));
    assert_eq!((row[at("Tình trạng")].as_str(), row[at("Kết quả xử lý")].as_str()), ("Đã xử lý", "Đã sửa"));
});

// The audit's case: a teacher imported again as a new record (another phone, no CCCD, an
// account never activated) at the same school; the commune admin keeps the new record. The
// teacher keeps a working login (the active account becomes the kept person's), the kept record
// gets the CCCD and e-mail, one open stay is left at the school, and the merge is explained in
// the audit. Crafted merges of unrelated people are refused; a principal sees no merge controls.
both_backends!(merging_keeps_the_login_and_refuses_unrelated_people, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let gv_account = app.db.account_by_username("giaovien").await.unwrap().unwrap();
    let gv = gv_account.person_id.unwrap();
    let from = app.db.stays(gv).await.unwrap()[0].valid_from.clone();
    let from = chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d").unwrap();
    // At Tiểu học Kim Đông, whose principal is hieutruong, in xa.admin's commune.
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    if app.db.person_chain(gv).await.unwrap()[0] != school {
        app.db.move_person(None, gv, school, from + chrono::Days::new(10)).await.unwrap();
    }
    let mut original = app.db.person(gv).await.unwrap().unwrap().fields();
    if original.email.is_none() {
        original.email = Some("an.nguyen@kimdong.edu.vn".into());
        app.db.update_person(None, gv, &original).await.unwrap();
    }
    assert!(original.national_id.is_some());
    let mut again = original.clone();
    again.national_id = None;
    again.email = None;
    again.phone = Some("0987000111".into());
    let dup = app.db.create_person(None, &again, school, from + chrono::Days::new(30)).await.unwrap();
    let pending = app.db.ensure_account(dup).await.unwrap();
    assert!(!pending.activated());
    // The teacher is logged in while the merge happens.
    let teacher = app.browser();
    app.form_login(&teacher, "giaovien").await;

    // The principal sees the group but no merge controls (merging takes the commune's right).
    let ht = app.browser();
    app.form_login(&ht, "hieutruong").await;
    let page = ht.get(app.url("/people/duplicates")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/people/{dup}\"")), "the group is listed");
    assert!(!page.contains("action=\"/people/merge\"") && !page.contains("name=\"keep\""), "no merge controls");
    assert!(page.contains("Bạn không có quyền gộp"));

    let c = app.browser();
    let csrf = app.form_login(&c, "xa.admin").await;
    let page = c.get(app.url("/people/duplicates")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("action=\"/people/merge\""));
    assert!(page.contains("Có tài khoản đang dùng"), "the record with an account in use is shown");
    let merge = async |ids: String, keep: i64| {
        c.post(app.url("/people/merge"))
            .form(&[("_csrf", csrf.clone()), ("ids", ids), ("keep", keep.to_string())])
            .send()
            .await
            .unwrap()
    };
    // Crafted merges: an unrelated colleague, a kept id outside the ids, a repeated id.
    let query = bdtx_store::people::PeopleQuery { q: String::new(), within: Some(school), limit: 50, offset: 0 };
    let colleague =
        app.db.search_people(&query).await.unwrap().into_iter().find(|p| p.id != gv && p.id != dup).unwrap();
    let r = merge(format!("{},{dup}", colleague.id), dup).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("không có dấu hiệu trùng với hồ sơ giữ lại"));
    let r = merge(format!("{gv},{dup}"), colleague.id).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("phải là một trong các hồ sơ được gộp"));
    assert_eq!(merge(format!("{gv},{gv},{dup}"), dup).await.status(), 422);
    assert_eq!(merge(format!("{gv},x"), gv).await.status(), 422);
    let (s, _) = app
        .api(
            &app.token("xa.admin").await,
            Method::POST,
            &format!("/api/v1/people/{dup}/merge"),
            Some(json!({"others": [colleague.id]})),
        )
        .await;
    assert_eq!(s, 422, "the API refuses too");
    assert_eq!(app.db.person(colleague.id).await.unwrap().unwrap().status, "active", "refusals change nothing");

    let r = merge(format!("{gv},{dup}"), dup).await;
    assert_eq!(r.status(), 303);
    // The teacher's session and password still work, now on the kept record.
    assert_eq!(teacher.get(app.url("/")).send().await.unwrap().status(), 200);
    app.token("giaovien").await;
    let account = app.db.account_by_username("giaovien").await.unwrap().unwrap();
    assert_eq!((account.person_id, account.disabled), (Some(dup), false));
    let pending = app.db.account(pending.id).await.unwrap().unwrap();
    assert_eq!((pending.person_id, pending.disabled), (Some(gv), true), "the unused account is kept, disabled");
    // The kept record has the CCCD and e-mail; the closed one no longer holds the CCCD.
    let kept = app.db.person(dup).await.unwrap().unwrap();
    assert_eq!((&kept.national_id, &kept.email, &kept.phone), (&original.national_id, &original.email, &again.phone));
    let closed = app.db.person(gv).await.unwrap().unwrap();
    assert_eq!((closed.status.as_str(), closed.merged_into, closed.national_id), ("merged", Some(dup), None));
    // One open stay at the school; the other is history of the closed record.
    let open: Vec<_> = app.db.stays(dup).await.unwrap().into_iter().filter(|s| s.valid_to.is_none()).collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].unit_id, school);
    assert!(app.db.stays(gv).await.unwrap().iter().all(|s| s.valid_to.is_some()));
    let page = c.get(app.url(&format!("/people/{dup}"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(page.matches("– nay").count(), 1, "one current stay on the profile");
    // The audit tells where the CCCD and the account came from.
    let log = app.db.audit_list(None, None, 1).await.unwrap();
    let detail: Value = serde_json::from_str(log[0].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(log[0].action, "person.merge");
    assert_eq!(detail["national_id_moved"]["from"], gv);
    assert_eq!(detail["filled"]["email"]["from"], gv);
    assert_eq!(detail["moved"][gv.to_string()]["account"]["replaced"], pending.id);
});

both_backends!(people_move_and_retire_checks, |db: TestDb| async move {
    let app = start(db, 1000).await;
    let province = app.token("so.admin").await;
    let school = app.unit_id("NB-KS02-TH-KIMDONG").await;
    let post = |t: &str, path: &str, body: Value| {
        let (t, path) = (t.to_string(), path.to_string());
        let app = &app;
        async move { app.api(&t, Method::POST, &path, Some(body)).await }
    };
    let today = bdtx_domain::dates::today();
    let show = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    let soon = show(today + chrono::Days::new(5));
    let teacher = json!({"unit_id": school, "full_name": "Trịnh Thị Hưu", "birth_date": "02/02/1967",
        "national_id": "037167000888", "position": "teacher", "levels": "TH", "from": "01/09/2000"});
    let (s, p) = post(&province, "/api/v1/people", teacher).await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    let stays = |v: &Value| v["stays"].as_array().unwrap().len();
    // a move to a unit closed on the move's date is refused, naming the unit and when it closed
    for (code, closed) in [("NB-KS01", "01/07/2026"), ("NB_OLD-KS", "01/07/2025")] {
        let (s, e) =
            post(&province, &format!("/api/v1/people/{id}/move"), json!({"unit_code": code, "date": soon})).await;
        assert_eq!(s, 422, "{code}: {e}");
        let msg = e["error"]["fields"][0]["message"].as_str().unwrap();
        assert!(msg.contains(code) && msg.contains(&format!("ngừng hoạt động từ {closed}")), "{msg}");
    }
    // a move to the unit one already works at is refused: never two open stays there
    let (s, e) =
        post(&province, &format!("/api/v1/people/{id}/move"), json!({"unit_code": "NB-KS02-TH-KIMDONG", "date": soon}))
            .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["error"]["fields"][0]["message"].as_str().unwrap().contains("đang công tác tại đơn vị này"), "{e}");
    let (_, v) = app.get(&province, &format!("/api/v1/people/{id}")).await;
    assert_eq!(stays(&v), 1, "{v}");
    // a retirement ahead of its date is refused on the page with a Vietnamese message; she stays listed
    let c = app.browser();
    let csrf = app.form_login(&c, "xa.admin").await;
    let retire = |date: String| {
        let (c, csrf) = (&c, &csrf);
        let url = app.url(&format!("/people/{id}/retire"));
        async move { c.post(url).form(&[("_csrf", csrf.as_str()), ("date", date.as_str())]).send().await.unwrap() }
    };
    let r = retire(soon.clone()).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("ngày nghỉ hưu / thôi công tác chưa đến"));
    let (_, v) = app.get(&province, &format!("/api/v1/people/{id}")).await;
    assert_eq!((v["person"]["status"].as_str(), stays(&v)), (Some("active"), 1), "{v}");
    assert!(v["stays"][0]["valid_to"].is_null(), "{v}");
    let found = |v: &Value| v["items"].as_array().unwrap().iter().any(|p| p["id"] == id);
    let search = format!("/api/v1/people?q={}", urlencoding("Trịnh Thị Hưu"));
    assert!(found(&app.get(&province, &search).await.1));
    // on its date it takes effect: retired, out of today's lists
    let r = retire(show(today)).await;
    assert_eq!(r.status(), 303);
    let (_, v) = app.get(&province, &format!("/api/v1/people/{id}")).await;
    assert_eq!(v["person"]["status"], "retired");
    assert!(v["stays"].as_array().unwrap().iter().all(|s| !s["valid_to"].is_null()), "{v}");
    assert!(!found(&app.get(&province, &search).await.1));
    let (s, _) = post(&province, &format!("/api/v1/people/{id}/retire"), json!({"date": show(today)})).await;
    assert_eq!(s, 422, "already retired");
});
