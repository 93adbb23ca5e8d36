//! Integration tests: the built binary, driven as CI jobs and SDKs drive it, against the strict
//! STS emulator on loopback. One test binary (one link) for all of them.

// The test harness drives the real binary on the real clock and finds its tools through the real
// environment; clippy.toml's rule (only env.rs, clock.rs, context.rs read them) is for the product.
#![allow(clippy::disallowed_methods)]

mod support;

mod architecture;
mod cache;
mod chain;
mod chain_commands;
mod ci_sources;
mod credential_mode;
mod demo;
mod docs;
mod doctor;
mod exec;
mod expired;
mod export;
mod faults;
mod help_env;
mod manual;
mod network;
mod profile_line;
mod sdk;
mod secrets;
mod serve;
mod serve_sdk;
mod setup;
mod setup_again;
mod trust_policy;
