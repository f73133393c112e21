//! Validation errors: a list of (field, code) pairs. The code is a stable machine name; the web
//! layer turns it into Vietnamese or English text.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
}

/// Input rejected by a domain rule; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid input: {errors:?}")]
pub struct Invalid {
    pub errors: Vec<FieldError>,
}

impl Invalid {
    pub fn one(field: &str, code: &'static str) -> Self {
        Invalid { errors: vec![FieldError { field: field.to_string(), code }] }
    }
}

/// Collects field errors while validating a whole form, so the user sees all of them at once.
#[derive(Default, Debug)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub fn add(&mut self, field: &str, code: &'static str) {
        self.errors.push(FieldError { field: field.to_string(), code });
    }
    pub fn finish(self) -> Result<(), Invalid> {
        if self.errors.is_empty() { Ok(()) } else { Err(Invalid { errors: self.errors }) }
    }
}
