//! The one page layout and the small components every page is built from.

pub mod errors;
pub mod format;
pub mod layout;
pub mod subject_export;
