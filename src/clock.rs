//! Time comes in through a [`Clock`], never from the ambient system clock, so expiry and refresh
//! decisions are unit-tested with fixed instants.

use chrono::{DateTime, Utc};

/// The source of "now" for every expiry and refresh decision.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        #[allow(clippy::disallowed_methods)] // the one place the real clock is read
        Utc::now()
    }
}

/// A clock stopped at one instant, for tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

#[cfg(test)]
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
