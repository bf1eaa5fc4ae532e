//! Window functions: which windows an element at a timestamp belongs to.

use crate::exchange::Exchangeable;
use std::time::Duration;

use super::{Accumulate, Late, Strategy};
use super::{IntervalWindow, Timestamp, Windowed, millis_of, positive_millis};
use crate::barrier::{KeyedCombine, Leaf};
use crate::transform::timed::{BoundedWindows, LateOutput, SessionBarrier, WindowedBarrier};

/// Assigns each timestamp the windows it belongs to: Beam's (non-merging)
/// `WindowFn`. Implement it for windows of your own:
///
/// ```
/// use beam::prelude::*;
/// use beam::window::{IntervalWindow, Timestamp, WindowFn};
///
/// /// Calendar days in a time zone `offset_hours` east of UTC.
/// struct LocalDays {
///     offset_hours: i64,
/// }
///
/// impl WindowFn for LocalDays {
///     fn assign_windows(&self, timestamp: Timestamp, window: &mut impl FnMut(IntervalWindow)) {
///         const DAY: i64 = 86_400_000;
///         let shift = self.offset_hours * 3_600_000;
///         let start = (timestamp.millis() + shift).div_euclid(DAY) * DAY - shift;
///         window(IntervalWindow::new(Timestamp::from_millis(start), Timestamp::from_millis(start + DAY)));
///     }
/// }
///
/// const HOUR: u64 = 3_600_000;
/// let out = pipeline! {
///     days = from_iter([1 * HOUR, 20 * HOUR, 23 * HOUR])
///         -> with_timestamps(|t: &u64| *t)
///         -> window(LocalDays { offset_hours: 2 })
///         -> count();
///     counts = days -> collect();
/// }
/// .run()?;
/// let mut counts = out.counts;
/// counts.sort();
/// assert_eq!(counts, [1, 2]); // 01:00 and 22:00 local on day one, 01:00 on day two
/// # Ok::<(), beam::Error>(())
/// ```
pub trait WindowFn: Send + Sync + 'static {
    /// Calls `window` once for every window an element at `timestamp` belongs to.
    fn assign_windows(&self, timestamp: Timestamp, window: &mut impl FnMut(IntervalWindow));
}

/// What `window(..)` needs of a window function: the windows of a timestamp, and
/// the barrier of a grouping per window: a table entry per window and key (every
/// [`WindowFn`]), or, for [`Sessions`], per key a list of windows that merge as they
/// come to overlap.
#[doc(hidden)]
pub trait AssignWindows: Send + Sync + 'static {
    /// Whether the windows of one key merge when they overlap (sessions).
    const MERGING: bool = false;

    fn assign(&self, timestamp: Timestamp, window: &mut impl FnMut(IntervalWindow));

    /// The barrier of a keyed barrier `C` per window. (Keys are `Clone`: a key may
    /// have results in several windows.)
    type Leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>: Leaf<In = Windowed<C::In>, Out = Windowed<C::Out>>
        + LateOutput<Late = Late<C::In>>;
    fn leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>(
        combine: C,
        strategy: &Strategy,
    ) -> Self::Leaf<C, M>;

    /// The same, for a bounded input: each window fires once, when it has been read.
    type BoundedLeaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>: Leaf<In = Windowed<C::In>, Out = Windowed<C::Out>>;
    fn bounded_leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>(
        combine: C,
        strategy: &Strategy,
    ) -> Self::BoundedLeaf<C, M>;
}

impl<W: WindowFn> AssignWindows for W {
    #[inline(always)]
    fn assign(&self, timestamp: Timestamp, window: &mut impl FnMut(IntervalWindow)) {
        self.assign_windows(timestamp, window)
    }

    type Leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>> =
        WindowedBarrier<C, M>;
    fn leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>(
        combine: C,
        strategy: &Strategy,
    ) -> WindowedBarrier<C, M> {
        WindowedBarrier::new(combine, strategy)
    }

    type BoundedLeaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>> =
        BoundedWindows<C, M>;
    fn bounded_leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>(
        combine: C,
        strategy: &Strategy,
    ) -> BoundedWindows<C, M> {
        BoundedWindows::new(combine, strategy)
    }
}

/// Windows that follow bursts of activity: Beam's `Sessions`. Each element opens
/// a window `[t, t + gap)`; a grouping merges the windows of one key that overlap,
/// and their accumulators with the combiner's `merge_accumulators`, so that a
/// session ends after `gap` without an element of its key.
///
/// ```
/// use beam::prelude::*;
/// use std::time::Duration;
///
/// // (user, click time in seconds)
/// let clicks = vec![("ann", 0u64), ("ann", 4), ("ann", 30), ("bob", 2), ("ann", 8)];
/// let out = pipeline! {
///     sessions = from_iter(clicks)
///         -> with_timestamps(|c: &(&str, u64)| c.1 * 1000)
///         -> window(Sessions::with_gap(Duration::from_secs(10)))
///         -> map(|(user, _): (&str, u64)| (user, 1u64))
///         -> sum_per_key()
///         -> reify()
///         -> collect();
/// }
/// .run()?;
/// let mut got: Vec<(&str, i64, i64, u64)> = out.sessions.iter()
///     .map(|w| (w.value.0, w.window.start.millis() / 1000, w.window.end.millis() / 1000, w.value.1))
///     .collect();
/// got.sort();
/// assert_eq!(got, [("ann", 0, 18, 3), ("ann", 30, 40, 1), ("bob", 2, 12, 1)]);
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sessions {
    gap: i64,
}

impl Sessions {
    /// Sessions that end after `gap` (at least a millisecond) without an element.
    pub fn with_gap(gap: Duration) -> Sessions {
        Sessions { gap: positive_millis("gap", gap) }
    }
}

impl AssignWindows for Sessions {
    const MERGING: bool = true;

    #[inline(always)]
    fn assign(&self, timestamp: Timestamp, window: &mut impl FnMut(IntervalWindow)) {
        let start = timestamp.millis();
        window(IntervalWindow::new(timestamp, Timestamp::from_millis(start.saturating_add(self.gap))))
    }

    type Leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>> =
        SessionBarrier<C, M>;
    fn leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>(
        combine: C,
        strategy: &Strategy,
    ) -> SessionBarrier<C, M> {
        SessionBarrier::new(combine, strategy)
    }

    type BoundedLeaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>> =
        SessionBarrier<C, M>;
    fn bounded_leaf<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, M: Accumulate<C::Acc>>(
        combine: C,
        strategy: &Strategy,
    ) -> SessionBarrier<C, M> {
        SessionBarrier::new(combine, strategy)
    }
}

/// Windows of one fixed size that tile time: Beam's `FixedWindows` (tumbling
/// windows). `FixedWindows::of(Duration::from_secs(10))` puts 0..10 s in one
/// window, 10..20 s in the next; `.with_offset(d)` shifts them by `d`.
///
/// ```
/// use beam::window::{FixedWindows, IntervalWindow, Timestamp, WindowFn};
/// use std::time::Duration;
///
/// let windows = FixedWindows::of(Duration::from_secs(10)).with_offset(Duration::from_secs(2));
/// let mut got = Vec::new();
/// windows.assign_windows(Timestamp::from(1_000u64), &mut |w| got.push(w));
/// assert_eq!(got, [IntervalWindow::new(Timestamp::from(-8_000i64), Timestamp::from(2_000u64))]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedWindows {
    size: Modulus,
    offset: i64,
}

impl FixedWindows {
    /// Windows of `size` (at least a millisecond), starting at the epoch.
    pub fn of(size: Duration) -> FixedWindows {
        FixedWindows { size: Modulus::new(positive_millis("size", size)), offset: 0 }
    }

    /// The same windows, starting `offset` after the epoch (modulo the size).
    pub fn with_offset(self, offset: Duration) -> FixedWindows {
        FixedWindows { offset: self.size.rem_euclid(millis_of(offset)), ..self }
    }
}

impl WindowFn for FixedWindows {
    #[inline]
    fn assign_windows(&self, timestamp: Timestamp, window: &mut impl FnMut(IntervalWindow)) {
        let t = timestamp.millis();
        let start = t - self.size.rem_euclid(t - self.offset);
        window(IntervalWindow::new(Timestamp::from_millis(start), Timestamp::from_millis(start + self.size.get())));
    }
}

/// A window size or period, with what it takes to find `t mod size` by
/// multiplying instead of dividing: every element is assigned its windows, and a
/// 64-bit division (epoch milliseconds need 41 bits) costs tens of cycles where a
/// hand-written `ts / 10_000` costs a multiply. Lemire, Kaser and Kurz, "Faster
/// remainder by direct computation" (2019): with `m = ceil(2^128 / d)`, `n mod d`
/// is the top 64 bits of `(m * n mod 2^128) * d`, exact for every 64-bit `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Modulus {
    d: i64,
    m: u128,
}

impl Modulus {
    /// `d` must be positive.
    fn new(d: i64) -> Modulus {
        // For d = 1, m wraps to 0, and every remainder is 0, as it should be.
        Modulus { d, m: (u128::MAX / d as u128).wrapping_add(1) }
    }

    fn get(&self) -> i64 {
        self.d
    }

    #[inline(always)]
    fn rem(&self, n: u64) -> u64 {
        let low = self.m.wrapping_mul(u128::from(n));
        let d = self.d as u128;
        // The top 64 bits of the 192-bit `low * d`, in 128-bit pieces.
        (((low >> 64) * d + (((low as u64) as u128 * d) >> 64)) >> 64) as u64
    }

    /// `t.rem_euclid(d)`.
    #[inline(always)]
    fn rem_euclid(&self, t: i64) -> i64 {
        if t >= 0 {
            self.rem(t as u64) as i64
        } else {
            // t = -(u + 1) with u >= 0, whose remainder counts down from d - 1.
            self.d - 1 - self.rem((-(t + 1)) as u64) as i64
        }
    }
}

/// Windows of one size that start every `period`, so that they overlap when the
/// period is shorter than the size: Beam's `SlidingWindows`. An element belongs to
/// every window that contains it, `size / period` of them.
///
/// ```
/// use beam::window::{IntervalWindow, SlidingWindows, Timestamp, WindowFn};
/// use std::time::Duration;
///
/// let windows = SlidingWindows::of(Duration::from_secs(10)).every(Duration::from_secs(5));
/// let mut starts = Vec::new();
/// windows.assign_windows(Timestamp::from(7_000u64), &mut |w| starts.push(w.start.millis()));
/// assert_eq!(starts, [5_000, 0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlidingWindows {
    size: i64,
    period: Modulus,
    offset: i64,
}

impl SlidingWindows {
    /// Windows of `size`, one starting every `size` until [`every`](Self::every)
    /// says how often.
    pub fn of(size: Duration) -> SlidingWindows {
        let size = positive_millis("size", size);
        SlidingWindows { size, period: Modulus::new(size), offset: 0 }
    }

    /// A window starts every `period` (at least a millisecond).
    pub fn every(self, period: Duration) -> SlidingWindows {
        let period = Modulus::new(positive_millis("period", period));
        SlidingWindows { period, offset: period.rem_euclid(self.offset), ..self }
    }

    /// The windows start `offset` after the epoch (modulo the period).
    pub fn with_offset(self, offset: Duration) -> SlidingWindows {
        SlidingWindows { offset: self.period.rem_euclid(millis_of(offset)), ..self }
    }
}

impl WindowFn for SlidingWindows {
    #[inline]
    fn assign_windows(&self, timestamp: Timestamp, window: &mut impl FnMut(IntervalWindow)) {
        let t = timestamp.millis();
        let last_start = t - self.period.rem_euclid(t - self.offset);
        let mut start = last_start;
        // Latest window first, as Beam assigns them.
        while start > t - self.size {
            window(IntervalWindow::new(Timestamp::from_millis(start), Timestamp::from_millis(start + self.size)));
            start -= self.period.get();
        }
    }
}

/// The one window of all time, which every element is in until windowed otherwise:
/// Beam's `GlobalWindows`. `window(GlobalWindows)` puts windowed elements back in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalWindows;

impl WindowFn for GlobalWindows {
    #[inline]
    fn assign_windows(&self, _: Timestamp, window: &mut impl FnMut(IntervalWindow)) {
        window(IntervalWindow::GLOBAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows_of(f: &impl WindowFn, t: i64) -> Vec<(i64, i64)> {
        let mut got = Vec::new();
        f.assign_windows(Timestamp::from_millis(t), &mut |w| got.push((w.start.millis(), w.end.millis())));
        got
    }

    #[test]
    fn fixed_windows_tile_time_around_zero_and_at_edges() {
        let f = FixedWindows::of(Duration::from_millis(10));
        assert_eq!(windows_of(&f, 0), [(0, 10)]);
        assert_eq!(windows_of(&f, 9), [(0, 10)]);
        assert_eq!(windows_of(&f, 10), [(10, 20)]);
        assert_eq!(windows_of(&f, -1), [(-10, 0)]);
        let shifted = f.with_offset(Duration::from_millis(13));
        assert_eq!(windows_of(&shifted, 2), [(-7, 3)]);
        assert_eq!(windows_of(&shifted, 3), [(3, 13)]);
    }

    #[test]
    fn a_modulus_finds_the_euclidean_remainder_of_every_i64() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let divisors = [1, 2, 3, 7, 1000, 10_000, 86_400_000, (1 << 32) + 1, i64::MAX / 3, i64::MAX];
        let random: Vec<i64> = (0..200).map(|_| (next() >> (next() % 63 + 1)).max(1) as i64).collect();
        for d in divisors.into_iter().chain(random) {
            let modulus = Modulus::new(d);
            let edges = [0, 1, -1, d - 1, d, d.saturating_add(1), -d, -d - 1, -d + 1, i64::MAX, i64::MIN, i64::MIN + 1];
            let random = (0..200).map(|_| (next() as i64) >> (next() % 64));
            for t in edges.into_iter().chain(random) {
                assert_eq!(modulus.rem_euclid(t), t.rem_euclid(d), "{t} mod {d}");
            }
        }
    }

    #[test]
    fn sliding_windows_cover_each_timestamp_size_over_period_times() {
        let f = SlidingWindows::of(Duration::from_millis(10)).every(Duration::from_millis(3));
        for t in -20..20 {
            let windows = windows_of(&f, t);
            assert!(windows.iter().all(|&(s, e)| s <= t && t < e && e - s == 10 && s.rem_euclid(3) == 0), "{t}");
            // Every start ≡ 0 (mod 3) in (t - 10, t] once.
            let expected = (t - 9..=t).filter(|s| s.rem_euclid(3) == 0).count();
            assert_eq!(windows.len(), expected, "{t}: {windows:?}");
        }
    }
}
