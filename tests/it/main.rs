//! Integration tests: the built binary, driven as CI jobs and SDKs drive it, against the strict
//! STS emulator on loopback. One test binary (one link) for all of them.

// The test harness drives the real binary on the real clock and finds its tools through the real
// environment; clippy.toml's rule (only env.rs, clock.rs, context.rs read them) is for the product.
#![allow(clippy::disallowed_methods)]

mod support;

// The modules marked `cfg(unix)` drive the binary through `sh` helpers, file modes, symlinks,
// signals or uids on every other test; Windows's own behaviour there is tested by the unit tests
// under `src/sys/windows` and tests/windows/run.sh (see docs/building.md).

mod architecture;
#[cfg(unix)]
mod cache;
#[cfg(unix)] // not yet run on Windows
mod chain;
#[cfg(unix)] // not yet run on Windows
mod chain_commands;
#[cfg(unix)]
mod ci_sources;
mod credential_mode;
mod demo;
#[cfg(unix)] // not yet run on Windows
mod docs;
#[cfg(unix)]
mod doctor;
#[cfg(unix)]
mod exec;
#[cfg(unix)]
mod expired;
mod export;
#[cfg(unix)]
mod faults;
mod help_env;
mod manual;
mod network;
#[cfg(unix)] // not yet run on Windows
mod profile_line;
mod sdk;
mod secrets;
#[cfg(unix)]
mod serve;
#[cfg(unix)]
mod serve_sdk;
#[cfg(unix)]
mod setup;
#[cfg(unix)] // not yet run on Windows
mod setup_again;
mod trust_policy;
