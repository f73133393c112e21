//! Certificates of completing a training module (giấy chứng nhận hoàn thành mô đun bồi dưỡng):
//! the data ([`model`]), the printable PDF with a QR code ([`pdf`]), a signed Open Badges 3.0
//! credential anyone can verify offline ([`credential`]), and ZIP bundles of many ([`zip`]).
//!
//! Pure: no database, no HTTP. See `docs/certificates.md`.

pub mod credential;
mod dehint;
pub mod error;
pub mod model;
pub mod pdf;
mod qr;
pub mod zip;

pub use credential::{IssuerKey, VerifyError, issue, verify};
pub use error::CertError;
pub use model::{CertificateData, mask_name, new_code, parse_code};
pub use pdf::render_pdf;
pub use zip::bundle;
