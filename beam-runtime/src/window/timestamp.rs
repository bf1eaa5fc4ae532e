//! Event time: a point on the time line, in milliseconds since the Unix epoch.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in event time: milliseconds since the Unix epoch (negative before it),
/// as Beam's Java SDK counts. Made from integer milliseconds or a `SystemTime`:
///
/// ```
/// use beam::window::Timestamp;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let t = Timestamp::from(10_000u64);
/// assert_eq!(t.millis(), 10_000);
/// assert_eq!(t, Timestamp::from(UNIX_EPOCH + Duration::from_secs(10)));
/// assert_eq!(t + Duration::from_secs(5), Timestamp::from_millis(15_000));
/// assert_eq!(t.to_string(), "1970-01-01T00:00:10.000Z");
/// assert!(Timestamp::MIN < t && t < Timestamp::MAX);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

const MILLIS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The earliest timestamp, Beam's `TIMESTAMP_MIN_VALUE`: elements without a
    /// timestamp of their own have it.
    pub const MIN: Timestamp = Timestamp(i64::MIN / 1000);
    /// The latest timestamp, Beam's `TIMESTAMP_MAX_VALUE`: the end of time, which a
    /// bounded input's watermark reaches when it has been read.
    pub const MAX: Timestamp = Timestamp(i64::MAX / 1000);
    /// The last timestamp of the global window: a day before the end of time, as in
    /// Beam, so that it fires before the watermark reaches the end.
    pub const END_OF_GLOBAL_WINDOW: Timestamp = Timestamp(i64::MAX / 1000 - MILLIS_PER_DAY);

    /// `millis` milliseconds after the Unix epoch, clamped to [`MIN`](Self::MIN) ..=
    /// [`MAX`](Self::MAX).
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(if millis < Self::MIN.0 {
            Self::MIN.0
        } else if millis > Self::MAX.0 {
            Self::MAX.0
        } else {
            millis
        })
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }
}

impl From<i64> for Timestamp {
    fn from(millis: i64) -> Self {
        Timestamp::from_millis(millis)
    }
}

/// So that an integer literal (`timestamped(x, 1)`) is milliseconds.
impl From<i32> for Timestamp {
    fn from(millis: i32) -> Self {
        Timestamp::from_millis(i64::from(millis))
    }
}

impl From<u64> for Timestamp {
    fn from(millis: u64) -> Self {
        Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp::from_millis(i64::try_from(after.as_millis()).unwrap_or(i64::MAX)),
            Err(before) => Timestamp::from_millis(-i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

/// Whole milliseconds of a duration, as event time counts them.
pub(crate) fn millis_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, duration: Duration) -> Timestamp {
        Timestamp::from_millis(self.0.saturating_add(millis_of(duration)))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, duration: Duration) -> Timestamp {
        Timestamp::from_millis(self.0.saturating_sub(millis_of(duration)))
    }
}

/// ISO 8601 in UTC, `1970-01-01T00:00:10.000Z`; the ends of time by name.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Timestamp::MIN {
            return write!(f, "-infinity");
        }
        if *self == Timestamp::MAX {
            return write!(f, "+infinity");
        }
        let (days, millis) = (self.0.div_euclid(MILLIS_PER_DAY), self.0.rem_euclid(MILLIS_PER_DAY));
        let (year, month, day) = civil_from_days(days);
        let (secs, ms) = (millis / 1000, millis % 1000);
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_shown_in_utc() {
        assert_eq!(Timestamp::from_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::from_millis(-1).to_string(), "1969-12-31T23:59:59.999Z");
        // 2024-02-29T12:34:56.789Z, a leap day.
        assert_eq!(Timestamp::from_millis(1_709_210_096_789).to_string(), "2024-02-29T12:34:56.789Z");
    }

    #[test]
    fn conversions_clamp_to_the_ends_of_time() {
        assert_eq!(Timestamp::from(u64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::from(i64::MIN), Timestamp::MIN);
        assert_eq!(Timestamp::MAX + Duration::from_secs(1), Timestamp::MAX);
        assert_eq!(Timestamp::from(UNIX_EPOCH - Duration::from_millis(5)), Timestamp::from_millis(-5));
    }
}
