//! Integration tests: the built binary, driven as CI jobs and SDKs drive it, against the strict
//! STS emulator on loopback. One test binary (one link) for all of them.

mod support;

mod credential_mode;
mod demo;
