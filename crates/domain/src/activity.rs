//! Professional-activity sessions (sinh hoạt chuyên môn) of a round at a school or cluster, and
//! the in-person days of a 7-2-7 round: their default dates, the checks on a scheduled session,
//! and the signed QR check-in token a learner's phone presents.
//!
//! Công văn 4132: after the first 5 days of self-study, 3 days of professional activity at school
//! or cluster, facilitated by core people; core people themselves follow 7-2-7 (7 days online,
//! 2 in person, 7 online).
//!
//! A QR token names a session, an expiry and a random nonce, signed with HMAC-SHA256 (RFC 2104)
//! under the server's secret: `<session>.<expires>.<nonce>.<mac hex>`. Verification says which
//! of "forged", "not this session" or "expired" applies, in that order.

use chrono::{Days, NaiveDate};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Checker, Invalid};
use crate::org::Level;
use crate::round::{Delivery, Window};

/// Days of self-study before the professional activity begins.
pub const SELF_STUDY_FIRST_DAYS: u64 = 5;
/// Days of professional activity after them.
pub const ACTIVITY_DAYS: u64 = 3;
/// 7-2-7: days online before the in-person days, and how many in-person days.
pub const BLENDED_ONLINE_DAYS: u64 = 7;
pub const BLENDED_IN_PERSON_DAYS: u64 = 2;
/// Longest session a unit may schedule (days, both ends included).
pub const MAX_SESSION_DAYS: i64 = 7;
/// A QR token is valid this long after it is shown (seconds)…
pub const QR_VALID_SECS: i64 = 600;
/// …and the facilitator's page shows a fresh one this often (seconds).
pub const QR_ROTATE_SECS: i64 = 120;

const MAX_TOPIC: usize = 500;
const MAX_PLACE: usize = 300;

/// What kind of session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// sinh hoạt chuyên môn at school or cluster
    Professional,
    /// a 7-2-7 round's in-person day(s)
    InPerson,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Professional => "professional",
            SessionKind::InPerson => "in_person",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "professional" => Some(SessionKind::Professional),
            "in_person" => Some(SessionKind::InPerson),
            _ => None,
        }
    }
    /// The kind a round's sessions default to.
    pub fn default_for(delivery: Delivery) -> SessionKind {
        match delivery {
            Delivery::SelfStudy => SessionKind::Professional,
            Delivery::Blended727 => SessionKind::InPerson,
        }
    }
}

fn plus(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(Days::new(n)).unwrap_or(d)
}

/// The window a unit's sessions follow: the earliest-opening window among the unit's levels, or
/// the earliest of the round when none of them has one.
pub fn unit_window(windows: &[Window], levels: &[Level]) -> Option<Window> {
    let mine = windows.iter().filter(|w| levels.contains(&w.level)).min_by_key(|w| w.opens);
    mine.or_else(|| windows.iter().min_by_key(|w| w.opens)).copied()
}

/// The default first and last day (inclusive) of a unit's session in a round: for self-study,
/// the 3 days after the first 5 days of the window (days 6–8); for 7-2-7, the round's in-person
/// days if set, else days 8–9 of the window.
pub fn default_dates(
    delivery: Delivery,
    windows: &[Window],
    levels: &[Level],
    in_person: Option<(NaiveDate, NaiveDate)>,
) -> Option<(NaiveDate, NaiveDate)> {
    match delivery {
        Delivery::Blended727 => {
            if let Some(days) = in_person {
                return Some(days);
            }
            let w = unit_window(windows, levels)?;
            let from = plus(w.opens, BLENDED_ONLINE_DAYS);
            Some((from, plus(from, BLENDED_IN_PERSON_DAYS - 1)))
        }
        Delivery::SelfStudy => {
            let w = unit_window(windows, levels)?;
            let from = plus(w.opens, SELF_STUDY_FIRST_DAYS);
            Some((from, plus(from, ACTIVITY_DAYS - 1)))
        }
    }
}

/// A session as scheduled, before it is stored (text already cleaned).
#[derive(Debug, Clone)]
pub struct SessionDraft<'a> {
    pub kind: Option<SessionKind>,
    pub topic: &'a str,
    pub place: &'a str,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

/// What the store found out about the draft's surroundings.
#[derive(Debug, Clone, Copy)]
pub struct SessionContext {
    pub delivery: Delivery,
    /// The round's first and last day over all its windows.
    pub round_span: Option<(NaiveDate, NaiveDate)>,
    /// The unit is a school or a cluster.
    pub unit_ok: bool,
    /// The unit lies under the round's owner (a province's round is for its own schools).
    pub unit_in_round: bool,
    /// A facilitator was named and exists.
    pub facilitator_given: bool,
    /// The facilitator is core (cốt cán) for the round's module.
    pub facilitator_core: bool,
}

/// Every check on a session, all reported at once.
pub fn check_session(d: &SessionDraft, cx: &SessionContext) -> Result<(), Invalid> {
    let mut c = Checker::default();
    match d.kind {
        None => c.add("session_kind", "required"),
        Some(SessionKind::InPerson) if cx.delivery != Delivery::Blended727 => {
            c.add("session_kind", "session_in_person_727")
        }
        Some(_) => {}
    }
    if !cx.unit_ok {
        c.add("session_unit", "session_unit_kind");
    } else if !cx.unit_in_round {
        c.add("session_unit", "session_unit_outside_round");
    }
    if d.topic.is_empty() {
        c.add("session_topic", "required");
    } else if d.topic.chars().count() > MAX_TOPIC {
        c.add("session_topic", "too_long");
    }
    if d.place.is_empty() {
        c.add("session_place", "required");
    } else if d.place.chars().count() > MAX_PLACE {
        c.add("session_place", "too_long");
    }
    if !cx.facilitator_given {
        c.add("session_facilitator", "required");
    } else if !cx.facilitator_core {
        c.add("session_facilitator", "session_not_core");
    }
    match (d.starts_on, d.ends_on) {
        (Some(a), Some(b)) => {
            if b < a {
                c.add("session_dates", "window_order");
            } else if (b - a).num_days() + 1 > MAX_SESSION_DAYS {
                c.add("session_dates", "session_too_long");
            } else if let Some((first, last)) = cx.round_span
                && (a < first || b > last)
            {
                c.add("session_dates", "session_outside_round");
            }
        }
        (None, _) => c.add("session_starts", "invalid_date"),
        (_, None) => c.add("session_ends", "invalid_date"),
    }
    c.finish()
}

// ---------------------------------------------------------------- QR check-in

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(key: &[u8], session: i64, expires: i64, nonce: &str) -> String {
    hex(&hmac_sha256(key, format!("bdtx-checkin-v1|{session}|{expires}|{nonce}").as_bytes()))
}

/// What a genuine token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrClaims {
    pub session: i64,
    pub expires: i64,
    pub nonce: String,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrError {
    /// Not made by this server (altered, truncated, or signed with another key).
    Forged,
    /// Genuine, but for another session.
    NotThisSession,
    /// Genuine, but shown too long ago.
    Expired,
}

impl QrError {
    pub fn code(self) -> &'static str {
        match self {
            QrError::Forged => "qr_forged",
            QrError::NotThisSession => "qr_other_session",
            QrError::Expired => "qr_expired",
        }
    }
}

fn nonce_ok(n: &str) -> bool {
    (8..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A token for `session`, valid until `expires` (unix seconds); `nonce` is random
/// (8–64 ASCII letters and digits).
pub fn qr_sign(key: &[u8], session: i64, expires: i64, nonce: &str) -> String {
    debug_assert!(nonce_ok(nonce));
    format!("{session}.{expires}.{nonce}.{}", mac(key, session, expires, nonce))
}

/// Check a token presented for `session` at `now`.
pub fn qr_verify(key: &[u8], token: &str, session: i64, now: i64) -> Result<QrClaims, QrError> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [s, e, nonce, m] = parts.as_slice() else { return Err(QrError::Forged) };
    let (Ok(s), Ok(e)) = (s.parse::<i64>(), e.parse::<i64>()) else { return Err(QrError::Forged) };
    if !nonce_ok(nonce) || m.len() != 64 {
        return Err(QrError::Forged);
    }
    let expected = mac(key, s, e, nonce);
    // Constant-time comparison.
    let diff = expected.bytes().zip(m.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(QrError::Forged);
    }
    if s != session {
        return Err(QrError::NotThisSession);
    }
    if now >= e {
        return Err(QrError::Expired);
    }
    Ok(QrClaims { session: s, expires: e, nonce: nonce.to_string() })
}

/// QR check-in is open only on the session's own days (Vietnam dates): the code is not shown,
/// nor accepted, before the first day or after the last.
pub fn checkin_open(starts_on: NaiveDate, ends_on: NaiveDate, today: NaiveDate) -> bool {
    starts_on <= today && today <= ends_on
}

/// The expiry of the token shown at `now`: tokens rotate every [`QR_ROTATE_SECS`] and each is
/// valid [`QR_VALID_SECS`] after its period began.
pub fn qr_expiry(now: i64) -> i64 {
    now - now.rem_euclid(QR_ROTATE_SECS) + QR_VALID_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }

    #[test]
    fn default_dates_follow_the_seed() {
        // THCS window 24/12/2020–08/01/2021: self-study until 28/12, activity 29–31/12.
        let ws = [
            Window { level: Level::THCS, opens: d("24/12/2020"), closes: d("08/01/2021") },
            Window { level: Level::TH, opens: d("26/12/2020"), closes: d("10/01/2021") },
        ];
        assert_eq!(
            default_dates(Delivery::SelfStudy, &ws, &[Level::THCS], None),
            Some((d("29/12/2020"), d("31/12/2020")))
        );
        assert_eq!(
            default_dates(Delivery::SelfStudy, &ws, &[Level::TH], None),
            Some((d("31/12/2020"), d("02/01/2021")))
        );
        // A unit whose levels have no window: the earliest window of the round.
        assert_eq!(
            default_dates(Delivery::SelfStudy, &ws, &[Level::MN], None),
            Some((d("29/12/2020"), d("31/12/2020")))
        );
        // 7-2-7: the round's in-person days, else days 8 and 9.
        let days = (d("05/01/2021"), d("06/01/2021"));
        assert_eq!(default_dates(Delivery::Blended727, &ws, &[Level::THCS], Some(days)), Some(days));
        assert_eq!(
            default_dates(Delivery::Blended727, &ws, &[Level::THCS], None),
            Some((d("31/12/2020"), d("01/01/2021")))
        );
        assert_eq!(default_dates(Delivery::SelfStudy, &[], &[Level::THCS], None), None);
    }

    fn cx(core: bool) -> SessionContext {
        SessionContext {
            delivery: Delivery::SelfStudy,
            round_span: Some((d("24/12/2020"), d("10/01/2021"))),
            unit_ok: true,
            unit_in_round: true,
            facilitator_given: true,
            facilitator_core: core,
        }
    }

    fn draft<'a>(kind: SessionKind, a: &str, b: &str) -> SessionDraft<'a> {
        SessionDraft {
            kind: Some(kind),
            topic: "Thảo luận mô đun 2",
            place: "Phòng họp trường",
            starts_on: Some(d(a)),
            ends_on: Some(d(b)),
        }
    }

    fn codes(r: Result<(), Invalid>) -> Vec<(String, &'static str)> {
        r.err().map(|e| e.errors.into_iter().map(|f| (f.field, f.code)).collect()).unwrap_or_default()
    }

    #[test]
    fn session_checks() {
        let ok = draft(SessionKind::Professional, "29/12/2020", "31/12/2020");
        assert_eq!(check_session(&ok, &cx(true)), Ok(()));
        assert_eq!(codes(check_session(&ok, &cx(false))), vec![("session_facilitator".into(), "session_not_core")]);
        let inp = draft(SessionKind::InPerson, "29/12/2020", "30/12/2020");
        assert_eq!(codes(check_session(&inp, &cx(true))), vec![("session_kind".into(), "session_in_person_727")]);
        let elsewhere = SessionContext { unit_in_round: false, ..cx(true) };
        assert_eq!(codes(check_session(&ok, &elsewhere)), vec![("session_unit".into(), "session_unit_outside_round")]);
        let blended = SessionContext { delivery: Delivery::Blended727, ..cx(true) };
        assert_eq!(check_session(&inp, &blended), Ok(()));
        let late = draft(SessionKind::Professional, "10/01/2021", "11/01/2021");
        assert_eq!(codes(check_session(&late, &cx(true))), vec![("session_dates".into(), "session_outside_round")]);
        let back = draft(SessionKind::Professional, "31/12/2020", "29/12/2020");
        assert_eq!(codes(check_session(&back, &cx(true))), vec![("session_dates".into(), "window_order")]);
        let long = draft(SessionKind::Professional, "24/12/2020", "31/12/2020");
        assert_eq!(codes(check_session(&long, &cx(true))), vec![("session_dates".into(), "session_too_long")]);
        let empty = SessionDraft { kind: None, topic: "", place: "", starts_on: None, ends_on: None };
        let none = SessionContext { unit_ok: false, facilitator_given: false, ..cx(false) };
        assert_eq!(codes(check_session(&empty, &none)).len(), 6);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let out = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&out), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        // Test case 6: a key longer than the block.
        let out = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex(&out), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn qr_tokens() {
        let key = b"0123456789abcdef0123456789abcdef";
        let t = qr_sign(key, 42, 1_000, "abcDEF123456");
        assert_eq!(
            qr_verify(key, &t, 42, 999),
            Ok(QrClaims { session: 42, expires: 1_000, nonce: "abcDEF123456".into() })
        );
        assert_eq!(qr_verify(key, &t, 42, 1_000), Err(QrError::Expired));
        assert_eq!(qr_verify(key, &t, 43, 999), Err(QrError::NotThisSession));
        // Signed with another key, altered, or truncated: forged, whatever session it names.
        assert_eq!(qr_verify(b"another key", &t, 42, 999), Err(QrError::Forged));
        let later = t.replacen(".1000.", ".9000.", 1);
        assert_eq!(qr_verify(key, &later, 42, 999), Err(QrError::Forged));
        assert_eq!(qr_verify(key, &t[..t.len() - 1], 42, 999), Err(QrError::Forged));
        assert_eq!(qr_verify(key, "", 42, 999), Err(QrError::Forged));
        assert_eq!(qr_verify(key, "42.1000.abc!def12.00", 42, 999), Err(QrError::Forged));
        // A forged token that is also expired or for another session is still "forged".
        assert_eq!(qr_verify(b"x", &t, 43, 5_000), Err(QrError::Forged));
        assert!(checkin_open(d("29/12/2020"), d("31/12/2020"), d("29/12/2020")));
        assert!(checkin_open(d("29/12/2020"), d("31/12/2020"), d("31/12/2020")));
        assert!(!checkin_open(d("29/12/2020"), d("31/12/2020"), d("01/01/2021")));
        assert!(!checkin_open(d("29/12/2020"), d("31/12/2020"), d("28/12/2020")));
        // Rotation: every period's token lasts at least the valid time minus one period.
        assert_eq!(qr_expiry(1_200), 1_200 + QR_VALID_SECS);
        assert_eq!(qr_expiry(1_319), 1_200 + QR_VALID_SECS);
        assert!(qr_expiry(1_319) - 1_319 > QR_VALID_SECS - QR_ROTATE_SECS);
    }
}
