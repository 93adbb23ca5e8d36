//! Integration tests: the built binary, driven as CI jobs and SDKs drive it, against the strict
//! STS emulator on loopback. One test binary (one link) for all of them.

mod support;

mod cache;
mod ci_sources;
mod credential_mode;
mod demo;
mod doctor;
mod exec;
mod faults;
mod manual;
mod network;
mod sdk;
mod secrets;
mod setup;
mod trust_policy;
