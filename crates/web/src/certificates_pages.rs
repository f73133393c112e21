//! Certificates: a university's key lecturer issues them for a class's completers (PDF with a
//! QR code, stored in the file store; a signed credential), downloads a class's certificates as
//! one ZIP, revokes with a reason; holders download theirs; anyone verifies a code at
//! `/verify/<code>` without logging in and sees only the masked card.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use bdtx_cert::{CertificateData, IssuerKey};
use bdtx_domain::authz::{Action, Principal, Role};
use bdtx_domain::dates::today;
use bdtx_store::certificates::{Certificate, NewCertificate};

use crate::AppState;
use crate::auth::Auth;
use crate::download::attachment;
use crate::error::{AppError, Form, Path};
use crate::learn::class_target;
use crate::pages::Ctx;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/classes/{id}/certificates", get(class_certificates).post(issue_submit))
        .route("/classes/{id}/certificates.zip", get(class_zip))
        .route("/certificates/{id}/pdf", get(pdf))
        .route("/certificates/{id}/credential", get(credential))
        .route("/certificates/{id}/revoke", post(revoke))
        .route("/verify/{code}", get(verify_page))
        .route("/issuers/{unit}", get(issuer_profile))
}

fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub fn verify_url(st: &AppState, code: &str) -> String {
    format!("{}/verify/{code}", st.cfg.public_url.trim_end_matches('/'))
}

fn issuer_id(st: &AppState, unit: i64) -> String {
    format!("{}/issuers/{unit}", st.cfg.public_url.trim_end_matches('/'))
}

/// The university a key lecturer issues for: their grant whose reach covers the class.
fn issuing_university(p: &Principal, chain: &[i64]) -> Option<i64> {
    p.grants
        .iter()
        .find(|g| g.role == Role::KeyLecturer && g.reach.iter().any(|u| chain.contains(u)))
        .map(|g| g.unit_id)
}

/// The issuer's key, created on first use.
async fn key_of(st: &AppState, unit: i64) -> Result<IssuerKey, AppError> {
    let (seed, _) = st
        .db
        .issuer_key(unit, || {
            let k = IssuerKey::generate();
            (hex::encode(k.seed()), k.public_multibase())
        })
        .await?;
    let bytes: [u8; 32] = hex::decode(seed)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| AppError::Internal("issuer key is malformed".into()))?;
    Ok(IssuerKey::from_seed(&bytes))
}

/// Issue certificates to every completer of a class who has none: all in one transaction.
/// Returns how many were issued.
pub async fn issue_for_class(st: &AppState, p: &Principal, actor: i64, class_id: i64) -> Result<usize, AppError> {
    let (class, target) = class_target(st, p, class_id).await?;
    crate::access::require(p, Action::IssueCertificates, &target)?;
    let university = issuing_university(p, &target.units).ok_or(AppError::Forbidden)?;
    let uni = st.db.unit(university).await?.ok_or(AppError::NotFound)?;
    let round = st.db.round(class.round_id).await?.ok_or(AppError::NotFound)?;
    let module = st.db.module(&round.module_code).await?;
    let owner = st.db.unit(round.owner_unit_id).await?.map(|u| u.name).unwrap_or_default();
    let place = owner.trim_start_matches("Sở Giáo dục và Đào tạo").trim().to_string();
    let signer = match p.person_id {
        Some(id) => st.db.person(id).await?.map(|x| x.full_name).unwrap_or_default(),
        None => String::new(),
    };
    let have: std::collections::HashSet<i64> =
        st.db.class_certificates(class_id).await?.into_iter().map(|c| c.enrollment_id).collect();
    let todo: Vec<_> = st
        .db
        .class_signoffs(class_id)
        .await?
        .into_iter()
        .filter(|r| r.state().complete() && !have.contains(&r.enrollment_id))
        .collect();
    if todo.is_empty() {
        return Err(AppError::invalid("certificate", "nobody_to_issue"));
    }
    let key = key_of(st, university).await?;
    let year = chrono::Datelike::year(&today());
    let prefix = format!("{}-{year}", uni.code);
    let first = st.db.next_certificate_seq(&prefix).await?;
    let mut datas = Vec::new();
    for (i, r) in todo.iter().enumerate() {
        let person = st.db.person(r.person_id).await?.ok_or(AppError::NotFound)?;
        let code = bdtx_cert::new_code();
        datas.push((
            r.enrollment_id,
            r.person_id,
            CertificateData {
                number: format!("{prefix}-{:06}", first + i as i64),
                code: code.clone(),
                holder_name: person.full_name,
                holder_birth_date: person.birth_date.as_deref().and_then(bdtx_domain::dates::parse_date),
                module_code: round.module_code.clone(),
                module_title: module.as_ref().map(|m| m.title_vi.clone()).unwrap_or_else(|| round.title.clone()),
                periods: module.as_ref().and_then(|m| m.periods).and_then(|n| u32::try_from(n).ok()),
                round_title: round.title.clone(),
                issuer_name: uni.name.clone(),
                issuer_unit_code: uni.code.clone(),
                province_name: place.clone(),
                issued_on: today(),
                signer_name: signer.clone(),
                signer_title: "GIẢNG VIÊN SƯ PHẠM CHỦ CHỐT".into(),
            },
        ));
    }
    let issuer = Issuer { key, id: issuer_id(st, university), base: st.cfg.public_url.clone(), unit_id: university };
    issue_batch(&st.db, &st.files, std::sync::Arc::new(issuer), datas, Some(actor), Some(class.unit_id)).await
}

/// Who signs a batch and where its certificates are verified.
pub struct Issuer {
    pub key: IssuerKey,
    /// The issuer's profile URL (`<public url>/issuers/<unit>`).
    pub id: String,
    /// The public URL the verification links start with.
    pub base: String,
    pub unit_id: i64,
}

/// Issues a batch `(enrollment, person, data)`: each certificate's PDF rendered, its credential
/// signed and the PDF written to the file store on every core; then one sync of the file store;
/// then the PDFs' and certificates' rows in one transaction (all or nothing). Returns how many
/// were issued. The certificates page and `cert_bench` both issue through here.
pub async fn issue_batch(
    db: &bdtx_store::Db,
    files: &bdtx_course::FileStore,
    issuer: std::sync::Arc<Issuer>,
    datas: Vec<(i64, i64, CertificateData)>,
    actor: Option<i64>,
    unit: Option<i64>,
) -> Result<usize, AppError> {
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(1);
    let chunk = datas.len().div_ceil(workers).max(1);
    let mut handles = Vec::new();
    let mut it = datas.into_iter().peekable();
    while it.peek().is_some() {
        let part: Vec<_> = it.by_ref().take(chunk).collect();
        let (issuer, files) = (issuer.clone(), files.clone());
        handles.push(tokio::task::spawn_blocking(move || -> Result<Vec<(NewCertificate, i64)>, AppError> {
            part.into_iter().map(|(e, p, data)| prepare(&issuer, &files, e, p, data)).collect()
        }));
    }
    let mut rows = Vec::new();
    let mut pdfs = Vec::new();
    for h in handles {
        for (row, size) in h.await.map_err(|e| AppError::Internal(e.to_string()))?? {
            pdfs.push((row.pdf_sha256.clone(), size));
            rows.push(row);
        }
    }
    // The PDFs are on disk before any row points at them.
    let files = files.clone();
    let checksums: Vec<String> = pdfs.iter().map(|(sha, _)| sha.clone()).collect();
    tokio::task::spawn_blocking(move || files.sync(&checksums.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("file store: {e}")))?;
    Ok(db.store_certificates_with_files(actor, &rows, &pdfs, unit).await?)
}

/// One certificate made ready to store: PDF rendered and written (not yet synced), credential
/// signed. Returns the row and the PDF's size.
fn prepare(
    issuer: &Issuer,
    files: &bdtx_course::FileStore,
    enrollment_id: i64,
    person_id: i64,
    data: CertificateData,
) -> Result<(NewCertificate, i64), AppError> {
    let url = format!("{}/verify/{}", issuer.base.trim_end_matches('/'), data.code);
    let pdf = bdtx_cert::render_pdf(&data, &url).map_err(|e| AppError::Internal(e.to_string()))?;
    let vc = bdtx_cert::issue(&data, &url, &issuer.id, &issuer.key, chrono::Utc::now());
    let stored = files.put_unsynced(&pdf).map_err(|e| AppError::Internal(format!("file store: {e}")))?;
    let row = NewCertificate {
        enrollment_id,
        number: data.number.clone(),
        code: data.code.clone(),
        issuer_unit_id: issuer.unit_id,
        holder_person_id: person_id,
        module_code: data.module_code.clone(),
        data: serde_json::to_string(&data).map_err(|e| AppError::Internal(e.to_string()))?,
        pdf_sha256: stored.sha256,
        credential: vc.to_string(),
    };
    Ok((row, stored.size as i64))
}

#[derive(Template, WebTemplate)]
#[template(path = "certificates.html")]
struct ClassCertificates {
    ctx: Ctx,
    class: bdtx_store::rounds::Class,
    certs: Vec<(Certificate, String)>,
    can_issue: bool,
}

async fn class_certificates(
    State(st): State<AppState>,
    ctx: Ctx,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<ClassCertificates, AppError> {
    let (class, target) = class_target(&st, &auth.principal, id).await?;
    let can_issue = auth.principal.can(Action::IssueCertificates, &target);
    if !can_issue {
        crate::access::require(&auth.principal, Action::ViewRound, &target)?;
    }
    let mut certs = Vec::new();
    for c in st.db.class_certificates(id).await? {
        let name = serde_json::from_str::<CertificateData>(&c.data).map(|d| d.holder_name).unwrap_or_default();
        certs.push((c, name));
    }
    Ok(ClassCertificates { ctx, class, certs, can_issue })
}

async fn issue_submit(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    issue_for_class(&st, &auth.principal, auth.account.id, id).await?;
    Ok(see(&format!("/classes/{id}/certificates?ok=certificates.issued")))
}

async fn class_zip(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (class, target) = class_target(&st, &auth.principal, id).await?;
    if !auth.principal.can(Action::IssueCertificates, &target) {
        crate::access::require(&auth.principal, Action::ViewRound, &target)?;
    }
    let mut files = Vec::new();
    for c in st.db.class_certificates(id).await? {
        let data: CertificateData = serde_json::from_str(&c.data).map_err(|e| AppError::Internal(e.to_string()))?;
        let bytes = st.files.read(&c.pdf_sha256).map_err(|e| AppError::Internal(format!("file store: {e}")))?;
        files.push((bdtx_cert::zip::certificate_file_name(&data), bytes));
    }
    let zip = bdtx_cert::bundle(files).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(attachment(
        zip,
        "application/zip",
        &format!("giay-chung-nhan-{}.zip", bdtx_cert::zip::safe_file_name(&class.name)),
    ))
}

/// The holder, or whoever may see the class's certificates.
async fn readable(st: &AppState, p: &Principal, id: i64) -> Result<Certificate, AppError> {
    let c = st.db.certificate(id).await?.ok_or(AppError::NotFound)?;
    if p.person_id == Some(c.holder_person_id) {
        return Ok(c);
    }
    let e = st.db.enrollment(c.enrollment_id).await?.ok_or(AppError::NotFound)?;
    let class = e.class_id.ok_or(AppError::NotFound)?;
    let (_, target) = class_target(st, p, class).await?;
    if p.can(Action::IssueCertificates, &target) || p.can(Action::ViewRound, &target) {
        Ok(c)
    } else {
        Err(AppError::NotFound)
    }
}

async fn pdf(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let c = readable(&st, &auth.principal, id).await?;
    let bytes = st.files.read(&c.pdf_sha256).map_err(|e| AppError::Internal(format!("file store: {e}")))?;
    Ok(attachment(bytes, "application/pdf", &format!("{}.pdf", c.number)))
}

async fn credential(State(st): State<AppState>, auth: Auth, Path(id): Path<i64>) -> Result<Response, AppError> {
    let c = readable(&st, &auth.principal, id).await?;
    Ok(attachment(c.credential.into_bytes(), "application/json", &format!("{}.json", c.number)))
}

#[derive(Deserialize)]
struct RevokeForm {
    reason: String,
}

async fn revoke(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Form(f): Form<RevokeForm>,
) -> Result<Response, AppError> {
    let c = st.db.certificate(id).await?.ok_or(AppError::NotFound)?;
    let e = st.db.enrollment(c.enrollment_id).await?.ok_or(AppError::NotFound)?;
    let class = e.class_id.ok_or(AppError::NotFound)?;
    let (cl, target) = class_target(&st, &auth.principal, class).await?;
    crate::access::require(&auth.principal, Action::IssueCertificates, &target)?;
    st.db.revoke_certificate(Some(auth.account.id), id, &f.reason, Some(cl.unit_id)).await?;
    Ok(see(&format!("/classes/{class}/certificates?ok=certificates.revoked")))
}

/// What anyone may see of a certificate: never more than this card.
pub struct Card {
    pub valid: bool,
    pub number: String,
    pub masked_name: String,
    pub module: String,
    pub issuer: String,
    pub issued_on: String,
    pub revoked_on: Option<String>,
    pub revoke_reason: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "verify.html")]
struct VerifyPage {
    ctx: Ctx,
    card: Option<Card>,
}

/// The public verification page: no login; an unknown or malformed code says so.
async fn verify_page(State(st): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> Result<Response, AppError> {
    let found = match bdtx_cert::parse_code(&code) {
        Some(c) => st.db.certificate_by_code(&c).await?,
        None => None,
    };
    let card = found.and_then(|c| {
        let d: CertificateData = serde_json::from_str(&c.data).ok()?;
        Some(Card {
            valid: c.revoked_at.is_none(),
            number: d.number,
            masked_name: bdtx_cert::mask_name(&d.holder_name),
            module: format!("{} – {}", d.module_code, d.module_title),
            issuer: d.issuer_name,
            issued_on: bdtx_cert::pdf::format_date(d.issued_on),
            revoked_on: c.revoked_at.map(bdtx_domain::dates::show_instant),
            revoke_reason: c.revoke_reason,
        })
    });
    let status = if card.is_some() { axum::http::StatusCode::OK } else { axum::http::StatusCode::NOT_FOUND };
    let mut res = (status, VerifyPage { ctx, card }).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The issuer's public profile with its verification key (for offline verification).
async fn issuer_profile(State(st): State<AppState>, Path(unit): Path<i64>) -> Result<Response, AppError> {
    let key = st.db.issuer_public_key(unit).await?.ok_or(AppError::NotFound)?;
    let u = st.db.unit(unit).await?.ok_or(AppError::NotFound)?;
    let id = issuer_id(&st, unit);
    Ok(axum::Json(serde_json::json!({
        "id": id,
        "type": ["Profile"],
        "name": u.name,
        "verificationMethod": [{"id": format!("{id}#key-1"), "type": "Multikey", "controller": id, "publicKeyMultibase": key}],
    }))
    .into_response())
}
