//! The background worker: runs the jobs queued in the database and sends the e-mail outbox over
//! SMTP. One loop per server process ([`spawn`]); tests call [`run_once`] to drive it step by
//! step. Jobs: `remind` (a list's learners get an in-app notification and an e-mail),
//! `scheduled_reminders` (queued once a day: windows closing soon, learners without progress),
//! `rebuild_tallies` (after the unit tree changed).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use bdtx_store::jobs::{Job, NewJob, NewMail};
use bdtx_store::oversight::{DashFilter, Node};

use crate::AppState;

/// SMTP settings: `smtp://host:port` (plain, e.g. a local relay), `smtp://host:587?tls=required`
/// (STARTTLS) or `smtps://host` (TLS), with optional `user:password@`. Without a URL, messages
/// wait in the outbox.
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, from: &str) -> Result<Mailer, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("mail-from {from:?}: {e}"))?;
        let transport = match smtp_url.filter(|u| !u.is_empty()) {
            Some(u) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(u)
                    .map_err(|e| format!("smtp url: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => None,
        };
        Ok(Mailer { transport, from })
    }
    pub fn configured(&self) -> bool {
        self.transport.is_some()
    }
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let Some(t) = &self.transport else { return Err("SMTP chưa được cấu hình".into()) };
        let to: Mailbox = to.parse().map_err(|e| format!("địa chỉ không hợp lệ: {e}"))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        t.send(msg).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// A dashboard list handed to a job: a reminder to its learners, or its export as .xlsx.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListJob {
    pub round_id: i64,
    /// 'u' (a unit's subtree) or 'c' (a class).
    pub scope: String,
    pub id: i64,
    pub from: i64,
    pub to: i64,
    #[serde(default)]
    pub filter: DashFilter,
    /// The reminder's text (reminders only).
    #[serde(default)]
    pub message: String,
}

impl ListJob {
    pub fn node(&self) -> Node {
        if self.scope == "c" { Node::Class(self.id) } else { Node::Unit(self.id) }
    }
}

/// What one pass did (for tests and logs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub jobs_done: usize,
    pub jobs_failed: usize,
    pub mails_sent: usize,
    pub mails_failed: usize,
}

/// Run due jobs (at most `max_jobs`), then send due mail, once.
pub async fn run_once(st: &AppState) -> Pass {
    let mut pass = Pass::default();
    for _ in 0..20 {
        let job = match st.db.claim_job().await {
            Ok(Some(j)) => j,
            Ok(None) => break,
            Err(e) => {
                tracing::error!(error = %e, "claiming a job failed");
                break;
            }
        };
        match run_job(st, &job).await {
            Ok(result) => {
                pass.jobs_done += 1;
                if let Err(e) = st.db.finish_job(job.id, &result).await {
                    tracing::error!(job = job.id, error = %e, "recording a finished job failed");
                }
            }
            Err(err) => {
                pass.jobs_failed += 1;
                tracing::warn!(job = job.id, kind = %job.kind, error = %err, "job failed");
                if let Err(e) = st.db.fail_job(job.id, &err).await {
                    tracing::error!(job = job.id, error = %e, "recording a failed job failed");
                }
            }
        }
    }
    if st.mailer.configured() {
        match st.db.claim_mail(50).await {
            Ok(mails) => {
                for m in mails {
                    match st.mailer.send(&m.to_addr, &m.subject, &m.body).await {
                        Ok(()) => {
                            pass.mails_sent += 1;
                            let _ = st.db.mail_sent(m.id).await;
                        }
                        Err(e) => {
                            pass.mails_failed += 1;
                            tracing::warn!(mail = m.id, error = %e, "sending mail failed");
                            let _ = st.db.mail_failed(m.id, &e).await;
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "claiming mail failed"),
        }
    }
    pass
}

/// Queue today's scheduled reminders (once a day whatever the number of servers).
pub async fn schedule_daily(st: &AppState) -> Result<(), bdtx_store::StoreError> {
    let today = bdtx_store::oversight::today_iso();
    st.db
        .enqueue_job(&NewJob {
            kind: "scheduled_reminders",
            payload: serde_json::json!({ "date": today }),
            dedupe_key: Some(format!("scheduled_reminders:{today}")),
            unit_id: None,
            created_by: None,
            run_at: None,
        })
        .await?;
    Ok(())
}

/// The worker loop of a server: every `every`, schedule the day's reminders and run a pass.
pub fn spawn(st: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = schedule_daily(&st).await {
                tracing::error!(error = %e, "scheduling reminders failed");
            }
            let p = run_once(&st).await;
            if p != Pass::default() {
                tracing::info!(?p, "worker pass");
            }
            tokio::time::sleep(every).await;
        }
    })
}

async fn run_job(st: &AppState, job: &Job) -> Result<serde_json::Value, String> {
    match job.kind.as_str() {
        "remind" => {
            let p: ListJob = serde_json::from_str(&job.payload).map_err(|e| e.to_string())?;
            remind(st, job, &p).await.map_err(|e| e.to_string())
        }
        "scheduled_reminders" => scheduled(st, job).await.map_err(|e| e.to_string()),
        "export_list" => {
            let p: ListJob = serde_json::from_str(&job.payload).map_err(|e| e.to_string())?;
            export_list(st, job, &p).await
        }
        "rebuild_tallies" => {
            let round = serde_json::from_str::<serde_json::Value>(&job.payload)
                .ok()
                .and_then(|v| v.get("round_id").and_then(|r| r.as_i64()));
            let n = st.db.rebuild_tallies(round).await.map_err(|e| e.to_string())?;
            Ok(serde_json::json!({ "enrollments": n }))
        }
        other => Err(format!("unknown job kind {other}")),
    }
}

/// Where an export job's file is kept (inside the files directory, by job id).
pub fn export_path(st: &AppState, job_id: i64) -> std::path::PathBuf {
    st.cfg.files_dir.join("exports").join(format!("job-{job_id}.xlsx"))
}

/// Write a (large) list as .xlsx in constant memory; rerunning overwrites the same file.
async fn export_list(st: &AppState, job: &Job, p: &ListJob) -> Result<serde_json::Value, String> {
    let path = export_path(st, job.id);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let tmp = path.with_extension("part");
    let mut x = bdtx_roster::export::StreamingXlsx::create(&tmp, "Danh sách", &crate::oversight_pages::HEADINGS)
        .map_err(|e| e.to_string())?;
    let mut n = 0u64;
    st.db
        .stream_stage_list(p.round_id, p.node(), p.from, p.to, &p.filter, |r| {
            n += 1;
            x.push(&crate::oversight_pages::list_cells(n, &r))
        })
        .await
        .map_err(|e| e.to_string())?;
    x.finish().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &path).map_err(|e| e.to_string())?;
    Ok(serde_json::json!({ "rows": n }))
}

fn learn_link(st: &AppState, enrollment: i64) -> String {
    format!("{}/learn/{enrollment}", st.cfg.public_url.trim_end_matches('/'))
}

async fn remind(st: &AppState, job: &Job, p: &ListJob) -> Result<serde_json::Value, bdtx_store::StoreError> {
    let round = st.db.round(p.round_id).await?.ok_or(bdtx_store::StoreError::NotFound)?;
    let mut notes = Vec::new();
    let mut mails = Vec::new();
    let mut no_email = 0;
    st.db
        .stream_stage_list(p.round_id, p.node(), p.from, p.to, &p.filter, |r| {
            notes.push((r.person_id, format!("/learn/{}#nhac-{}", r.enrollment_id, job.id), p.message.clone()));
            match r.email.as_deref().filter(|e| e.contains('@')) {
                Some(email) => mails.push(NewMail {
                    person_id: Some(r.person_id),
                    to_addr: email.to_string(),
                    subject: format!("[BDTX] Nhắc nhở: {}", round.title),
                    body: format!(
                        "Kính gửi thầy/cô {},\n\n{}\n\nKhóa học: {}\nHạn hoàn thành: {}\nVào học: {}\n\nHệ thống BDTX",
                        r.full_name,
                        p.message,
                        round.title,
                        bdtx_domain::dates::show(&r.ends_on),
                        learn_link(st, r.enrollment_id)
                    ),
                    dedupe_key: format!("job{}:e{}", job.id, r.enrollment_id),
                    job_id: Some(job.id),
                    unit_id: job.unit_id,
                }),
                None => no_email += 1,
            }
            Ok(())
        })
        .await?;
    let notified = st.db.notify_many(&notes, "reminder").await?;
    let queued = st.db.queue_mail(&mails).await?;
    Ok(serde_json::json!({ "people": notes.len(), "notified": notified, "mails": queued, "no_email": no_email }))
}

async fn scheduled(st: &AppState, job: &Job) -> Result<serde_json::Value, bdtx_store::StoreError> {
    let today = bdtx_domain::dates::today();
    let due = st.db.reminders_due(today, bdtx_domain::dates::now_unix()).await?;
    let mut notes = Vec::new();
    let mut mails = Vec::new();
    for d in &due {
        let text = match d.reason {
            bdtx_store::oversight::ReminderReason::Closing => format!(
                "Khóa học “{}” sẽ khóa sau ngày {}. Thầy/cô hãy hoàn thành các nội dung còn lại.",
                d.round_title,
                bdtx_domain::dates::show(&d.ends_on)
            ),
            bdtx_store::oversight::ReminderReason::Idle => format!(
                "Đã {} ngày thầy/cô chưa có tiến độ mới trong khóa học “{}” (hạn {}).",
                d.days,
                d.round_title,
                bdtx_domain::dates::show(&d.ends_on)
            ),
        };
        notes.push((d.person_id, format!("/learn/{}#{}", d.enrollment_id, d.key), text.clone()));
        if let Some(email) = d.email.as_deref().filter(|e| e.contains('@')) {
            mails.push(NewMail {
                person_id: Some(d.person_id),
                to_addr: email.to_string(),
                subject: format!("[BDTX] Nhắc nhở: {}", d.round_title),
                body: format!("{text}\n\nVào học: {}\n\nHệ thống BDTX", learn_link(st, d.enrollment_id)),
                dedupe_key: d.key.clone(),
                job_id: Some(job.id),
                unit_id: Some(d.unit_id),
            });
        }
    }
    let notified = st.db.notify_many(&notes, "reminder").await?;
    let queued = st.db.queue_mail(&mails).await?;
    Ok(serde_json::json!({ "due": due.len(), "notified": notified, "mails": queued }))
}
