//! The certificate as a signed, offline-verifiable credential: an Open Badges 3.0
//! `OpenBadgeCredential` (a W3C Verifiable Credential 2.0) secured with a Data Integrity proof of
//! the `eddsa-jcs-2022` cryptosuite (Ed25519 over JCS-canonicalized JSON).
//!
//! Signing, per the cryptosuite: the proof options (the proof without `proofValue`, carrying the
//! document's `@context`) and the document (without `proof`) are each canonicalized with JCS
//! (RFC 8785) and hashed with SHA-256; Ed25519 signs the 64 bytes `hash(options) ‖ hash(document)`;
//! `proofValue` is the signature in multibase base58btc (`z…`). Keys are published as multibase
//! `z6Mk…` (multicodec `ed25519-pub`, 0xed01), the form `did:key` uses.

use chrono::{DateTime, FixedOffset, NaiveTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::TryRngCore;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::model::CertificateData;

pub const CONTEXT_VC2: &str = "https://www.w3.org/ns/credentials/v2";
pub const CONTEXT_OB3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
pub const PROOF_TYPE: &str = "DataIntegrityProof";
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
pub const PROOF_PURPOSE: &str = "assertionMethod";
/// The fragment of the verification method: `<issuer id>#key-1`.
pub const KEY_FRAGMENT: &str = "key-1";

/// Multicodec prefixes (unsigned varints) of Ed25519 public and private keys.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// Why a credential (or a detached signature) did not verify. [`VerifyError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a credential we can read: not JSON of the right shape, no proof, a proof value or key
    /// that does not decode.
    #[error("dữ liệu không đúng định dạng: {0}")]
    Malformed(String),
    /// The signature does not match the document: something was changed after signing, or it was
    /// signed by another key.
    #[error("chữ ký không hợp lệ: nội dung đã bị thay đổi hoặc không do đơn vị này ký")]
    BadSignature,
    /// The proof says it was made by a key other than the one given (its verification method names
    /// another key, or belongs to someone other than the issuer).
    #[error("chữ ký được tạo bằng khóa khác với khóa công khai đã cho")]
    WrongKey,
    /// A proof type, cryptosuite or purpose this verifier does not handle.
    #[error("không hỗ trợ: {0}")]
    Unsupported(String),
}

impl VerifyError {
    /// `malformed`, `bad_signature`, `wrong_key` or `unsupported`.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::WrongKey => "wrong_key",
            VerifyError::Unsupported(_) => "unsupported",
        }
    }
}

/// A university's signing key (Ed25519). Store [`IssuerKey::seed`] (or
/// [`IssuerKey::to_secret_multibase`]) secretly; publish [`IssuerKey::public_multibase`].
#[derive(Clone)]
pub struct IssuerKey {
    signing: SigningKey,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("IssuerKey").field("public", &self.public_multibase()).finish()
    }
}

impl IssuerKey {
    /// The key whose 32-byte Ed25519 secret (seed) is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> IssuerKey {
        IssuerKey { signing: SigningKey::from_bytes(seed) }
    }

    /// A new key from the operating system's random source.
    pub fn generate() -> IssuerKey {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut seed).expect("the operating system's random source works");
        let key = IssuerKey::from_seed(&seed);
        seed.fill(0);
        key
    }

    /// The 32-byte secret, for storing.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The secret as multibase (`z3u2…`: multicodec `ed25519-priv` 0x1300 + seed, base58btc).
    pub fn to_secret_multibase(&self) -> String {
        multibase(&ED25519_PRIV, &self.seed())
    }

    /// Reads [`IssuerKey::to_secret_multibase`].
    pub fn from_secret_multibase(s: &str) -> Result<IssuerKey, VerifyError> {
        let seed = decode_multikey(s, &ED25519_PRIV).ok_or_else(|| VerifyError::Malformed("khóa bí mật".into()))?;
        Ok(IssuerKey::from_seed(&seed))
    }

    /// The public key as multibase `z6Mk…` (multicodec `ed25519-pub` 0xed01 + key, base58btc).
    pub fn public_multibase(&self) -> String {
        multibase(&ED25519_PUB, self.signing.verifying_key().as_bytes())
    }

    /// The raw 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key as a `did:key` identifier.
    pub fn did_key(&self) -> String {
        format!("did:key:{}", self.public_multibase())
    }
}

fn multibase(prefix: &[u8; 2], key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(prefix);
    bytes.extend_from_slice(key);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Decodes `z` + base58btc(`prefix` + 32 bytes).
fn decode_multikey(s: &str, prefix: &[u8; 2]) -> Option<[u8; 32]> {
    let bytes = bs58::decode(s.strip_prefix('z')?).into_vec().ok()?;
    let key = bytes.strip_prefix(prefix.as_slice())?;
    key.try_into().ok()
}

/// Reads a published public key (`z6Mk…`).
pub fn public_key_from_multibase(s: &str) -> Result<VerifyingKey, VerifyError> {
    let bytes =
        decode_multikey(s.trim(), &ED25519_PUB).ok_or_else(|| VerifyError::Malformed("khóa công khai".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| VerifyError::Malformed("khóa công khai".into()))
}

/// Signs arbitrary bytes (e.g. a PDF's SHA-256); the signature as multibase base58btc.
pub fn sign_detached(key: &IssuerKey, data: &[u8]) -> String {
    format!("z{}", bs58::encode(key.signing.sign(data).to_bytes()).into_string())
}

/// Checks a signature made by [`sign_detached`].
pub fn verify_detached(public_key_multibase: &str, data: &[u8], signature_multibase: &str) -> Result<(), VerifyError> {
    let key = public_key_from_multibase(public_key_multibase)?;
    let signature = decode_signature(signature_multibase)?;
    key.verify_strict(data, &signature).map_err(|_| VerifyError::BadSignature)
}

fn decode_signature(s: &str) -> Result<Signature, VerifyError> {
    let malformed = || VerifyError::Malformed("proofValue".into());
    let bytes = bs58::decode(s.strip_prefix('z').ok_or_else(malformed)?).into_vec().map_err(|_| malformed())?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| malformed())?;
    Ok(Signature::from_bytes(&bytes))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The credential without its proof.
pub fn unsigned_credential(c: &CertificateData, verify_url: &str, issuer_id: &str) -> Value {
    let vietnam = FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset");
    let valid_from = c
        .issued_on
        .and_time(NaiveTime::MIN)
        .and_local_timezone(vietnam)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .expect("a fixed offset has no gaps");
    let periods = c.periods.map(|p| format!(", thời lượng {p} tiết")).unwrap_or_default();
    json!({
        "@context": [CONTEXT_VC2, CONTEXT_OB3],
        "id": verify_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Giấy chứng nhận hoàn thành bồi dưỡng thường xuyên",
        "description": format!(
            "Giấy chứng nhận số {} do {} cấp ngày {}.",
            c.number,
            c.issuer_name,
            c.issued_on.format("%d/%m/%Y")
        ),
        "issuer": {
            "id": issuer_id,
            "type": ["Profile"],
            "name": c.issuer_name,
        },
        "validFrom": valid_from,
        "awardedDate": valid_from,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": c.holder_name,
            "identifier": [{
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": false,
                "identityHash": c.holder_name,
            }],
            "term": c.round_title,
            "achievement": {
                "id": format!("{}/achievements/{}", issuer_id.trim_end_matches('/'), encode_path_segment(&c.module_code)),
                "type": ["Achievement"],
                "humanCode": c.module_code,
                "name": c.module_title,
                "description": format!("Mô đun bồi dưỡng thường xuyên {}: {}{periods}.", c.module_code, c.module_title),
                "criteria": {
                    "narrative": format!(
                        "Hoàn thành mô đun {}: đạt đánh giá tự động của hệ thống học tập trực tuyến, \
                         được giáo viên/cán bộ quản lý cốt cán phụ trách nhóm xác nhận và được {} \
                         xác nhận hoàn thành.",
                        c.module_code, c.issuer_name
                    ),
                },
            },
        },
    })
}

/// The certificate as a signed Open Badges 3.0 credential whose `id` is `verify_url`, issued by
/// `issuer_id` (a URL or DID of the university), proof created at `created`.
pub fn issue(c: &CertificateData, verify_url: &str, issuer_id: &str, key: &IssuerKey, created: DateTime<Utc>) -> Value {
    let document = unsigned_credential(c, verify_url, issuer_id);
    let options = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created.to_rfc3339_opts(SecondsFormat::Secs, true),
        "verificationMethod": format!("{issuer_id}#{KEY_FRAGMENT}"),
        "proofPurpose": PROOF_PURPOSE,
        "@context": document["@context"].clone(),
    });
    add_proof(document, options, key)
}

/// Signs `document` with proof options `options` (eddsa-jcs-2022) and returns it with its proof.
fn add_proof(mut document: Value, mut options: Value, key: &IssuerKey) -> Value {
    let hash = hash_data(&options, &document).expect("a JSON value always canonicalizes");
    let signature = key.signing.sign(&hash);
    options["proofValue"] = Value::String(format!("z{}", bs58::encode(signature.to_bytes()).into_string()));
    document["proof"] = options;
    document
}

/// SHA-256(JCS(proof options)) ‖ SHA-256(JCS(document)).
fn hash_data(options: &Value, document: &Value) -> Result<[u8; 64], VerifyError> {
    let canon = |v: &Value| serde_jcs::to_vec(v).map_err(|e| VerifyError::Malformed(format!("JCS: {e}")));
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(canon(options)?));
    out[32..].copy_from_slice(&Sha256::digest(canon(document)?));
    Ok(out)
}

fn str_field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, VerifyError> {
    obj.get(name).and_then(Value::as_str).ok_or_else(|| VerifyError::Malformed(format!("proof.{name}")))
}

/// The issuer's id: `issuer` is either a string or an object with `id`.
fn issuer_id(doc: &Map<String, Value>) -> Option<&str> {
    match doc.get("issuer")? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id")?.as_str(),
        _ => None,
    }
}

/// Checks a credential made by [`issue`] (or any single `eddsa-jcs-2022` proof) against the
/// issuer's published key. Never panics, whatever the input.
pub fn verify(vc: &Value, public_key_multibase: &str) -> Result<(), VerifyError> {
    let key = public_key_from_multibase(public_key_multibase)?;
    let doc = vc.as_object().ok_or_else(|| VerifyError::Malformed("không phải đối tượng JSON".into()))?;
    let proof = match doc.get("proof") {
        None => return Err(VerifyError::Malformed("thiếu proof".into())),
        Some(Value::Array(_)) => return Err(VerifyError::Unsupported("nhiều proof".into())),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(VerifyError::Malformed("proof".into())),
    };
    let proof_type = str_field(proof, "type")?;
    if proof_type != PROOF_TYPE {
        return Err(VerifyError::Unsupported(format!("proof.type {proof_type}")));
    }
    let suite = str_field(proof, "cryptosuite")?;
    if suite != CRYPTOSUITE {
        return Err(VerifyError::Unsupported(format!("cryptosuite {suite}")));
    }
    let purpose = str_field(proof, "proofPurpose")?;
    if purpose != PROOF_PURPOSE {
        return Err(VerifyError::Unsupported(format!("proofPurpose {purpose}")));
    }
    if let Some(created) = proof.get("created") {
        let created = created.as_str().ok_or_else(|| VerifyError::Malformed("proof.created".into()))?;
        DateTime::parse_from_rfc3339(created).map_err(|_| VerifyError::Malformed("proof.created".into()))?;
    }
    let method = str_field(proof, "verificationMethod")?;
    let signature = decode_signature(str_field(proof, "proofValue")?)?;

    // The proof must name the issuer's key: a method of the issuer, and if its fragment is itself
    // a key (`…#z6Mk…`, `did:key:…`), that key.
    let (controller, fragment) = method.split_once('#').unwrap_or((method, ""));
    if fragment.starts_with("z6Mk") && fragment != public_key_multibase.trim() {
        return Err(VerifyError::WrongKey);
    }
    if let Some(did_key) = controller.strip_prefix("did:key:")
        && did_key != public_key_multibase.trim()
    {
        return Err(VerifyError::WrongKey);
    }
    match issuer_id(doc) {
        Some(issuer) if issuer == controller => {}
        Some(_) => return Err(VerifyError::WrongKey),
        None => return Err(VerifyError::Malformed("issuer".into())),
    }

    let mut document = doc.clone();
    document.remove("proof");
    let mut options = proof.clone();
    options.remove("proofValue");
    // eddsa-jcs-2022: the proof's @context must be a prefix of the document's, and is what gets
    // hashed with the document.
    if let Some(proof_context) = options.get("@context") {
        if !context_starts_with(document.get("@context"), proof_context) {
            return Err(VerifyError::BadSignature);
        }
        document.insert("@context".into(), proof_context.clone());
    }
    let hash = hash_data(&Value::Object(options), &Value::Object(document))?;
    key.verify_strict(&hash, &signature).map_err(|_| VerifyError::BadSignature)
}

fn context_starts_with(document: Option<&Value>, proof: &Value) -> bool {
    let as_list = |v: &Value| match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let Some(document) = document else { return false };
    let (document, proof) = (as_list(document), as_list(proof));
    document.len() >= proof.len() && document.iter().zip(&proof).all(|(a, b)| a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    const URL: &str = "https://bdtx.moet.gov.vn/verify/abcdefghjkmnpqrstuvw";
    const ISSUER: &str = "https://bdtx.moet.gov.vn/issuers/HNUE2";

    fn sample() -> CertificateData {
        CertificateData {
            number: "HNUE2-2026-000123".into(),
            code: "abcdefghjkmnpqrstuvw".into(),
            holder_name: "Nguyễn Thị Thu Hà".into(),
            holder_birth_date: NaiveDate::from_ymd_opt(1985, 3, 7),
            module_code: "GVPT02".into(),
            module_title: "Sử dụng phương pháp dạy học".into(),
            periods: Some(40),
            round_title: "Đợt 1 năm 2026".into(),
            issuer_name: "Trường Đại học Sư phạm Hà Nội 2".into(),
            issuer_unit_code: "HNUE2".into(),
            province_name: "Phú Thọ".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(),
            signer_name: "Trần Văn A".into(),
            signer_title: "Hiệu trưởng".into(),
        }
    }

    fn key() -> IssuerKey {
        IssuerKey::from_seed(&[7u8; 32])
    }

    fn created() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 20, 3, 15, 0).unwrap()
    }

    fn issued() -> Value {
        issue(&sample(), URL, ISSUER, &key(), created())
    }

    #[test]
    fn round_trip_verifies() {
        let vc = issued();
        assert_eq!(verify(&vc, &key().public_multibase()), Ok(()));
        // Through text and back, with keys in another order and indentation, it still verifies.
        let text = serde_json::to_string_pretty(&vc).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(verify(&back, &key().public_multibase()), Ok(()));
    }

    #[test]
    fn the_credential_has_the_open_badges_shape() {
        let vc = issued();
        assert_eq!(vc["@context"], json!([CONTEXT_VC2, CONTEXT_OB3]));
        assert_eq!(vc["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert_eq!(vc["id"], URL);
        assert_eq!(vc["issuer"]["id"], ISSUER);
        assert_eq!(vc["issuer"]["type"], json!(["Profile"]));
        assert_eq!(vc["issuer"]["name"], "Trường Đại học Sư phạm Hà Nội 2");
        assert_eq!(vc["validFrom"], "2026-05-20T00:00:00+07:00");
        let subject = &vc["credentialSubject"];
        assert_eq!(subject["type"], json!(["AchievementSubject"]));
        assert_eq!(subject["name"], "Nguyễn Thị Thu Hà");
        let achievement = &subject["achievement"];
        assert_eq!(achievement["id"], format!("{ISSUER}/achievements/GVPT02"));
        assert_eq!(achievement["type"], json!(["Achievement"]));
        assert_eq!(achievement["name"], "Sử dụng phương pháp dạy học");
        assert!(achievement["description"].as_str().unwrap().contains("40 tiết"));
        assert!(achievement["criteria"]["narrative"].as_str().unwrap().contains("GVPT02"));
        let proof = &vc["proof"];
        assert_eq!(proof["type"], "DataIntegrityProof");
        assert_eq!(proof["cryptosuite"], "eddsa-jcs-2022");
        assert_eq!(proof["created"], "2026-05-20T03:15:00Z");
        assert_eq!(proof["verificationMethod"], format!("{ISSUER}#key-1"));
        assert_eq!(proof["proofPurpose"], "assertionMethod");
        assert_eq!(proof["@context"], vc["@context"]);
        let value = proof["proofValue"].as_str().unwrap();
        assert!(value.starts_with('z'));
        assert_eq!(bs58::decode(&value[1..]).into_vec().unwrap().len(), 64);
        // No birth date in the credential.
        assert!(!vc.to_string().contains("1985"));
    }

    #[test]
    fn odd_module_codes_make_a_valid_achievement_id() {
        let mut c = sample();
        c.module_code = "Mô đun 2/THCS".into();
        let vc = issue(&c, URL, &format!("{ISSUER}/"), &key(), created());
        assert_eq!(
            vc["credentialSubject"]["achievement"]["id"],
            format!("{ISSUER}/achievements/M%C3%B4%20%C4%91un%202%2FTHCS")
        );
    }

    #[test]
    fn issuing_is_deterministic() {
        assert_eq!(issued(), issued());
    }

    /// Changes one thing in a signed credential and expects `bad_signature`.
    fn tampered(change: impl FnOnce(&mut Value)) -> Result<(), VerifyError> {
        let mut vc = issued();
        change(&mut vc);
        verify(&vc, &key().public_multibase())
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let bad = Err(VerifyError::BadSignature);
        assert_eq!(tampered(|vc| vc["credentialSubject"]["name"] = json!("Nguyễn Thị Thu Hằng")), bad);
        assert_eq!(tampered(|vc| vc["credentialSubject"]["achievement"]["name"] = json!("Khác")), bad);
        assert_eq!(tampered(|vc| vc["credentialSubject"]["achievement"]["humanCode"] = json!("GVPT03")), bad);
        assert_eq!(tampered(|vc| vc["validFrom"] = json!("2025-05-20T00:00:00+07:00")), bad);
        assert_eq!(tampered(|vc| vc["proof"]["created"] = json!("2026-05-21T03:15:00Z")), bad);
        assert_eq!(tampered(|vc| vc["id"] = json!("https://evil.example/verify/x")), bad);
        assert_eq!(tampered(|vc| vc["issuer"]["name"] = json!("Trường khác")), bad);
        assert_eq!(tampered(|vc| vc["extra"] = json!(1)), bad);
        assert_eq!(tampered(|vc| vc["proof"]["extra"] = json!(1)), bad);
        assert_eq!(
            tampered(|vc| {
                vc["credentialSubject"].as_object_mut().unwrap().remove("term");
            }),
            bad
        );
        // A different but equivalent Unicode form is a different text: it does not verify.
        use unicode_normalization::UnicodeNormalization;
        assert_eq!(
            tampered(|vc| vc["credentialSubject"]["name"] = json!("Nguyễn Thị Thu Hà".nfd().collect::<String>())),
            bad
        );
        // The proof's @context must lead the document's.
        assert_eq!(tampered(|vc| vc["@context"] = json!([CONTEXT_VC2])), bad);
        assert_eq!(tampered(|vc| vc["proof"]["@context"] = json!([CONTEXT_OB3])), bad);
    }

    #[test]
    fn another_key_fails() {
        let other = IssuerKey::from_seed(&[8u8; 32]);
        assert_eq!(verify(&issued(), &other.public_multibase()), Err(VerifyError::BadSignature));
        let generated = IssuerKey::generate();
        assert!(verify(&issued(), &generated.public_multibase()).is_err());
        // Signed by another key altogether.
        let forged = issue(&sample(), URL, ISSUER, &other, created());
        assert_eq!(verify(&forged, &key().public_multibase()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn a_proof_naming_another_key_or_controller_is_wrong_key() {
        let other = IssuerKey::from_seed(&[8u8; 32]);
        let mut vc = issued();
        vc["proof"]["verificationMethod"] = json!(format!("{ISSUER}#{}", other.public_multibase()));
        assert_eq!(verify(&vc, &key().public_multibase()), Err(VerifyError::WrongKey));
        let mut vc = issued();
        vc["proof"]["verificationMethod"] = json!("https://someone.else/issuers/1#key-1");
        assert_eq!(verify(&vc, &key().public_multibase()), Err(VerifyError::WrongKey));
        let mut vc = issued();
        vc["proof"]["verificationMethod"] = json!(format!("{}#{}", other.did_key(), other.public_multibase()));
        assert_eq!(verify(&vc, &key().public_multibase()), Err(VerifyError::WrongKey));
    }

    #[test]
    fn did_key_issuers_verify() {
        let k = key();
        let vc = issue(&sample(), URL, &k.did_key(), &k, created());
        assert_eq!(verify(&vc, &k.public_multibase()), Ok(()));
    }

    #[test]
    fn malformed_documents_fail_cleanly() {
        let pk = key().public_multibase();
        let cases: Vec<Value> = vec![
            json!(null),
            json!(42),
            json!("text"),
            json!([]),
            json!({}),
            json!({"proof": null}),
            json!({"proof": "z123"}),
            json!({"proof": {}}),
            json!({"proof": {"type": "DataIntegrityProof"}}),
            json!({"proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022"}}),
        ];
        for vc in cases {
            let err = verify(&vc, &pk).unwrap_err();
            assert_eq!(err.code(), "malformed", "{vc}: {err}");
        }
        type Mutation = Box<dyn Fn(&mut Value)>;
        let mutations: Vec<(&str, Mutation)> = vec![
            (
                "no proofValue",
                Box::new(|vc| {
                    vc["proof"].as_object_mut().unwrap().remove("proofValue");
                }),
            ),
            ("not base58", Box::new(|vc| vc["proof"]["proofValue"] = json!("z0OIl"))),
            ("no multibase prefix", Box::new(|vc| vc["proof"]["proofValue"] = json!("abc"))),
            ("short signature", Box::new(|vc| vc["proof"]["proofValue"] = json!("z3yZe7d"))),
            ("empty", Box::new(|vc| vc["proof"]["proofValue"] = json!(""))),
            ("number", Box::new(|vc| vc["proof"]["proofValue"] = json!(12))),
            ("bad created", Box::new(|vc| vc["proof"]["created"] = json!("yesterday"))),
            ("no method", Box::new(|vc| vc["proof"]["verificationMethod"] = json!(null))),
            (
                "no issuer",
                Box::new(|vc| {
                    vc.as_object_mut().unwrap().remove("issuer");
                }),
            ),
            ("issuer number", Box::new(|vc| vc["issuer"] = json!(5))),
        ];
        for (what, change) in mutations {
            let mut vc = issued();
            change(&mut vc);
            let err = verify(&vc, &pk).unwrap_err();
            assert_eq!(err.code(), "malformed", "{what}: {err}");
        }
        // A key that is not a key.
        for bad_key in ["", "z", "zzzz", "6Mk", "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do", "did:key:x"] {
            assert_eq!(verify(&issued(), bad_key).unwrap_err().code(), "malformed", "{bad_key}");
        }
    }

    #[test]
    fn unsupported_proofs_are_named() {
        let pk = key().public_multibase();
        let mut vc = issued();
        vc["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022");
        assert_eq!(verify(&vc, &pk).unwrap_err().code(), "unsupported");
        let mut vc = issued();
        vc["proof"]["type"] = json!("Ed25519Signature2020");
        assert_eq!(verify(&vc, &pk).unwrap_err().code(), "unsupported");
        let mut vc = issued();
        vc["proof"]["proofPurpose"] = json!("authentication");
        assert_eq!(verify(&vc, &pk).unwrap_err().code(), "unsupported");
        let mut vc = issued();
        vc["proof"] = json!([vc["proof"].clone()]);
        assert_eq!(verify(&vc, &pk).unwrap_err().code(), "unsupported");
    }

    #[test]
    fn verify_never_panics_on_random_json() {
        // Deterministic pseudo-random documents built from pieces of a real one.
        let vc = issued();
        let pk = key().public_multibase();
        let pieces = [
            json!(null),
            json!(true),
            json!(-1.5e300),
            json!("z"),
            json!([1, "a", {}]),
            json!({"@context": 1}),
            vc["proof"].clone(),
        ];
        let fields =
            ["proof", "@context", "issuer", "type", "cryptosuite", "proofValue", "created", "verificationMethod"];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for _ in 0..400 {
            let mut doc = vc.clone();
            for _ in 0..(next() % 4 + 1) {
                let field = fields[next() % fields.len()];
                let piece = pieces[next() % pieces.len()].clone();
                if next() % 2 == 0 {
                    doc[field] = piece;
                } else if let Some(proof) = doc.get_mut("proof").and_then(Value::as_object_mut) {
                    proof.insert(field.to_string(), piece);
                }
            }
            let _ = verify(&doc, &pk);
        }
    }

    #[test]
    fn keys_round_trip() {
        let k = IssuerKey::generate();
        assert_eq!(IssuerKey::from_seed(&k.seed()).public_multibase(), k.public_multibase());
        let secret = k.to_secret_multibase();
        assert!(secret.starts_with("z3u2"), "{secret}");
        let back = IssuerKey::from_secret_multibase(&secret).unwrap();
        assert_eq!(back.seed(), k.seed());
        let public = k.public_multibase();
        assert!(public.starts_with("z6Mk"), "{public}");
        assert_eq!(public_key_from_multibase(&public).unwrap().to_bytes(), k.public_bytes());
        assert!(k.did_key().starts_with("did:key:z6Mk"));
        // The secret never shows in Debug.
        let debug = format!("{k:?}");
        assert!(debug.contains(&public) && !debug.contains(&secret), "{debug}");
        // A public key is not a secret key, nor the reverse.
        assert!(IssuerKey::from_secret_multibase(&public).is_err());
        assert!(public_key_from_multibase(&secret).is_err());
        assert_ne!(IssuerKey::generate().seed(), IssuerKey::generate().seed());
    }

    #[test]
    fn detached_signatures() {
        let k = key();
        let data = b"%PDF-1.7 ...";
        let sig = sign_detached(&k, data);
        assert_eq!(verify_detached(&k.public_multibase(), data, &sig), Ok(()));
        assert_eq!(verify_detached(&k.public_multibase(), b"%PDF-1.7 ..,", &sig), Err(VerifyError::BadSignature));
        let other = IssuerKey::from_seed(&[9; 32]).public_multibase();
        assert_eq!(verify_detached(&other, data, &sig), Err(VerifyError::BadSignature));
        assert_eq!(verify_detached(&k.public_multibase(), data, "zz").unwrap_err().code(), "malformed");
    }

    /// The example in `docs/certificates.md` is real output and verifies as printed.
    #[test]
    fn the_documented_example_is_true() {
        let doc = include_str!("../../../docs/certificates.md");
        let json = doc.split("```json\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap();
        let documented: Value = serde_json::from_str(json).unwrap();
        let key = IssuerKey::from_seed(&[0x2a; 32]);
        assert_eq!(key.public_multibase(), "z6MkgAnvkP45uNxwCKeNdt6wrYkEjpYX4f7Nrd8MQqFL8Fbn");
        assert!(doc.contains(&key.public_multibase()));
        assert_eq!(verify(&documented, &key.public_multibase()), Ok(()));
        let c = CertificateData {
            code: "k7q2m9xw4hc8tz3vbn6p".into(),
            module_title: "Sử dụng phương pháp dạy học và giáo dục phát triển phẩm chất, năng lực học sinh".into(),
            round_title: "Bồi dưỡng thường xuyên giáo viên phổ thông, đợt 1 năm 2026".into(),
            ..sample()
        };
        let issued = issue(
            &c,
            "https://bdtx.example.vn/verify/k7q2m9xw4hc8tz3vbn6p",
            "https://bdtx.example.vn/issuers/HNUE2",
            &key,
            created(),
        );
        assert_eq!(issued, documented);
    }

    /// The W3C test vector of eddsa-jcs-2022 (vc-di-eddsa, `TestVectors/keyPair.json` and
    /// `TestVectors/eddsa-jcs-2022/signedJCS.json`): our signer reproduces its proof byte for byte,
    /// and our verifier accepts it.
    #[test]
    fn w3c_eddsa_jcs_2022_test_vector() {
        let key = IssuerKey::from_secret_multibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq").unwrap();
        assert_eq!(key.public_multibase(), "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
        let signed: Value = serde_json::from_str(
            r#"{
              "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
              "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
              "type": ["VerifiableCredential", "AlumniCredential"],
              "name": "Alumni Credential",
              "description": "A minimum viable example of an Alumni Credential.",
              "issuer": "https://vc.example/issuers/5678",
              "validFrom": "2023-01-01T00:00:00Z",
              "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
              "proof": {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-jcs-2022",
                "created": "2023-02-24T23:36:38Z",
                "verificationMethod": "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
                "proofPurpose": "assertionMethod",
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
                "proofValue": "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"
              }
            }"#,
        )
        .unwrap();
        assert_eq!(verify(&signed, &key.public_multibase()), Ok(()));
        let mut unsigned = signed.clone();
        let mut options = unsigned.as_object_mut().unwrap().remove("proof").unwrap();
        options.as_object_mut().unwrap().remove("proofValue");
        assert_eq!(add_proof(unsigned, options, &key), signed);
    }
}
