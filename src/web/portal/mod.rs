//! The citizen portal's pages.

pub mod home;
