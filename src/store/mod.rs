//! All SQL lives here, one module per aggregate. Functions take a
//! `&Connection` (a `Transaction` derefs to one) and return the
//! application's [`crate::Error`], with "not found" and "already exists"
//! told apart from everything else.

pub mod activity;
pub mod clients;
pub mod facts;
pub mod progress;
pub mod snapshot;
pub mod templates;
pub mod users;
