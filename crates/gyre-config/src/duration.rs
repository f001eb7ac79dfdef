//! Go-compatible durations (`"300s"`, `"1m30s"`, `"1.5h"`, a bare number = nanoseconds).
//! CONTRACT: the config work package implements the full `time.ParseDuration` grammar and tests it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the Go way in config files and env vars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(s: u64) -> Duration {
        Duration(std::time::Duration::from_secs(s))
    }
    pub const fn from_millis(ms: u64) -> Duration {
        Duration(std::time::Duration::from_millis(ms))
    }
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);
    pub fn as_std(self) -> std::time::Duration {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let _ = s;
        todo!("config work package: format like Go's Duration.String()")
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let _ = d;
        todo!("config work package: Go time.ParseDuration grammar")
    }
}
