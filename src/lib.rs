//! Client onboarding service: one binary, one SQLite file, a JSON API.
//!
//! The library holds the whole application so that `main.rs` and the tests
//! build the very same thing:
//!
//! - [`settings`] reads flags, environment and the config file;
//! - [`db`] owns the connection pool, migrations and the blocking-work helper;
//! - [`store`] holds all SQL, one module per aggregate;
//! - [`onboarding`] holds the rules: current stage, percentage, stuck;
//! - [`http`] maps requests to store calls and errors to JSON, and serves
//!   the dashboard;
//! - [`auth`] and [`input`] hold token and input checks shared by both;
//! - [`transfer`] moves all data in and out; [`demo`] seeds the demo;
//! - [`cli`] runs the subcommands.

#![forbid(unsafe_code)]

pub mod auth;
pub mod cli;
pub mod db;
pub mod demo;
pub mod error;
pub mod http;
pub mod input;
pub mod onboarding;
pub mod settings;
pub mod store;
pub mod timestamp;
pub mod transfer;

pub use error::{Error, Result};
