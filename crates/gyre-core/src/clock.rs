//! Wall-clock time as the core sees it.
//!
//! Expiry times arrive as unix seconds (JWT `exp`, proxy `expire_at`) but every timer runs on
//! `tokio::time`. Deriving unix time from `tokio::time::Instant` keeps the two consistent, and lets
//! tests with paused tokio time move "now" forward for expiry checks too. The anchor is taken once
//! per process; drift against the system clock over the process lifetime is bounded by the
//! monotonic clock's accuracy, which is far below the one-second resolution expiries use.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

struct Anchor {
    instant: Instant,
    unix: Duration,
}

fn anchor() -> &'static Anchor {
    static ANCHOR: OnceLock<Anchor> = OnceLock::new();
    ANCHOR.get_or_init(|| Anchor {
        instant: Instant::now(),
        unix: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
    })
}

/// Time since the unix epoch.
pub(crate) fn unix_now() -> Duration {
    let a = anchor();
    // `saturating_duration_since` guards a test that pauses time before the anchor exists.
    a.unix + Instant::now().saturating_duration_since(a.instant)
}

/// Unix seconds.
pub(crate) fn unix_secs() -> i64 {
    unix_now().as_secs() as i64
}

/// Unix milliseconds.
pub(crate) fn unix_millis() -> i64 {
    unix_now().as_millis() as i64
}

/// The tokio instant at which unix second `at` is reached (now when it already passed).
pub(crate) fn instant_at_unix(at: i64) -> Instant {
    let now = unix_now();
    let target = Duration::from_secs(at.max(0) as u64);
    Instant::now() + target.saturating_sub(now)
}

/// A deadline so far away that it never fires in practice; used when no timer is armed.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}
