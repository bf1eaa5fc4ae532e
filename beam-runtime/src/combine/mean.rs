use super::CombineFn;

/// The arithmetic mean of numeric inputs, as `f64`.
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     xs = from_iter(vec![("a", 1u32), ("a", 2), ("b", 7)]);
///     avg = xs -> combine_per_key(Mean) -> collect();
/// }
/// .run()
/// .unwrap();
/// let mut avg = out.avg;
/// avg.sort_by(|a, b| a.0.cmp(b.0));
/// assert_eq!(avg, vec![("a", 1.5), ("b", 7.0)]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Mean;

/// Numbers that [`Mean`] can average (converted with `as f64`): every primitive
/// integer and float type.
///
/// ```
/// use beam::combine::AsF64;
///
/// assert_eq!(7u8.as_f64(), 7.0);
/// assert_eq!((-2i64).as_f64(), -2.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`Mean` averages numbers, but the values are `{Self}`",
    label = "not a number"
)]
pub trait AsF64 {
    /// The value as `f64`. See [`AsF64`].
    #[allow(clippy::wrong_self_convention)]
    fn as_f64(self) -> f64;
}

macro_rules! as_f64 {
    ($($t:ty),*) => {$(
        impl AsF64 for $t {
            #[inline]
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
as_f64!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

impl<V: AsF64> CombineFn<V> for Mean {
    type Acc = (f64, u64);
    type Out = f64;

    #[inline]
    fn create_accumulator(&self) -> (f64, u64) {
        (0.0, 0)
    }
    #[inline]
    fn add_input(&self, acc: &mut (f64, u64), input: V) {
        acc.0 += input.as_f64();
        acc.1 += 1;
    }
    fn merge_accumulators(&self, acc: &mut (f64, u64), other: (f64, u64)) {
        acc.0 += other.0;
        acc.1 += other.1;
    }
    fn extract_output(&self, acc: (f64, u64)) -> f64 {
        acc.0 / acc.1 as f64
    }
}
