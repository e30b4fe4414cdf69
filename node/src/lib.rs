//! ILM Network node: the `ilm` daemon and CLI. It owns storage, networking, workflow and
//! the admin API; record formats and rules come from `ilm-protocol`.
// No unsafe code but one call (`memory::trim`), allowed there and nowhere else.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod aggregates;
pub mod api;
pub mod app;
pub mod backup;
pub mod cases;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod config;
pub mod contact_list;
pub mod core;
pub mod csv;
pub mod daemon;
pub mod datadir;
pub mod demo;
pub mod edge;
pub mod i18n;
pub mod inbox;
pub mod intake;
pub mod membership;
pub mod memory;
pub mod metrics;
pub mod net;
pub mod operators;
pub mod outbox;
pub mod output;
pub mod portal;
pub mod ratings;
pub mod records;
pub mod register;
pub mod retention;
pub mod schema;
pub mod scorecard;
pub mod secrets;
pub mod statistics;
pub mod store;
#[cfg(test)]
mod tidy;
pub mod ui;
pub mod vault;
pub mod views;
pub mod worklist;
