//! BDTX domain rules: pure types and decisions with no I/O (no database, no HTTP).
//!
//! - [`activity`]: professional-activity sessions: default dates, checks, QR check-in tokens.
//! - [`text`]: Vietnamese text cleaning, accent folding, name sort keys.
//! - [`org`]: organisation units, their kinds and school levels, restructuring rules.
//! - [`people`]: people, identity keys and field validation.
//! - [`authz`]: roles scoped to a subtree and the single authorization decision.
//! - [`catalog`]: the module catalog shipped as data.
//! - [`dates`]: dd/mm/yyyy parsing and Asia/Ho_Chi_Minh formatting.
//! - [`completion`]: the three sign-offs of an enrollment, in order.
//! - [`round`]: training rounds, windows, personal windows and locking, the automatic assessment.
//! - [`stipend`]: converted periods of core people and who pays them.
//! - [`scoring`]: yearly BDTX scores classified by a versioned policy (`policies/*.yaml`), plan checks.
//! - [`standards`]: the 2018 teacher and principal standards, levels and the overall-level rule.

pub mod activity;
pub mod authz;
pub mod catalog;
pub mod clean;
pub mod completion;
pub mod dates;
pub mod error;
mod letters;
pub mod org;
pub mod people;
pub mod round;
pub mod scoring;
pub mod standards;
pub mod stipend;
pub mod text;

pub use error::{FieldError, Invalid};
