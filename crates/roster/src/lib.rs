//! The national roster: reading the lists offices keep (CSV, .xlsx), cleaning Vietnamese data on
//! the way in, planning an import against what is on record and applying it unit by unit,
//! streaming exports, and a generator of a realistic synthetic national roster.

pub mod columns;
pub mod export;
pub mod forms;
pub mod generate;
pub mod import;
pub mod read;
pub mod row;
pub mod xlsx;
