//! Reconciliation service tests.
