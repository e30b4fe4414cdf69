//! ILM Network node: the `ilm` daemon and CLI. It owns storage, networking, workflow and
//! the admin API; record formats and rules come from `ilm-protocol`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod datadir;
pub mod net;
pub mod output;
pub mod store;
