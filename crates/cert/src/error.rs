//! The crate's error for making documents (PDF, ZIP). Verifying a credential has its own
//! [`crate::credential::VerifyError`].

/// Something went wrong while making a certificate's PDF or a ZIP of certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The PDF library refused the document.
    #[error("không tạo được tệp PDF: {0}")]
    Pdf(String),
    /// The verification URL does not fit in a QR code.
    #[error("không tạo được mã QR: {0}")]
    Qr(String),
    /// A file name that cannot go into a ZIP (empty, a path, a duplicate…).
    #[error("tên tệp không hợp lệ trong tệp nén: {0}")]
    FileName(String),
    /// The ZIP writer failed.
    #[error("không tạo được tệp nén: {0}")]
    Zip(String),
}

impl CertError {
    /// A stable code for logs and API answers.
    pub fn code(&self) -> &'static str {
        match self {
            CertError::Pdf(_) => "pdf",
            CertError::Qr(_) => "qr",
            CertError::FileName(_) => "file_name",
            CertError::Zip(_) => "zip",
        }
    }
}
