//! Passwords: argon2id (the crate's default algorithm and parameters), hashed at activation
//! only, never at import. Verification runs on a blocking thread so the server stays responsive.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub const MIN_LEN: usize = 8;

pub fn hash(password: &str) -> String {
    Argon2::default().hash_password(password.as_bytes()).expect("argon2 hashing").to_string()
}

pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

pub async fn hash_async(password: String) -> String {
    tokio::task::spawn_blocking(move || hash(&password)).await.expect("hash task")
}

pub async fn verify_async(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc)).await.unwrap_or(false)
}

/// A password policy users can meet: at least 8 characters, not only digits.
pub fn acceptable(password: &str) -> bool {
    password.chars().count() >= MIN_LEN && !password.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn argon2id_roundtrip() {
        let h = super::hash("mật khẩu dài");
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("mật khẩu dài", &h));
        assert!(!super::verify("sai", &h));
    }
}
