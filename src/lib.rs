#![doc = include_str!("../README.md")]

/// Declares a pipeline; evaluates to a [`Pipeline`] that runs it.
///
/// ```
/// use beam::prelude::*;
///
/// let text = "the cat\nthe hat";
/// let out = pipeline! {
///     words  = from_iter(text.lines()) -> flat_map(|l: &str| l.split(' '));
///     counts = words -> count_per_element() -> collect();
///     total  = words -> count() -> collect();
/// }
/// .run()?;
/// assert_eq!(out.total, vec![4]);
/// # Ok::<(), beam::Error>(())
/// ```
///
/// # The language
///
/// A pipeline is a list of statements, each ending in `;`:
///
/// - `name = chain;` defines the collection `name`: the output of the chain's last
///   stage. Statements may come in any order; a collection may be read by several
///   later chains (fan-out) and is computed once, its elements cloned for all readers
///   but the last (so they must be `Clone`).
/// - `chain;` without a name ends in a sink that produces nothing (`for_each`,
///   `write_text`).
/// - `name = ... -> collect();` makes `name` a public field of the struct `run()`
///   returns: a `Vec` of the elements.
///
/// A chain starts with a source call (`from_iter(..)`, `read_text(..)`,
/// `read_csv::<T>(..)`), a collection's name, or a tuple of names for a multi-input
/// transform (`(a, b) -> flatten()`, `(orders, customers) -> join()`), followed by
/// `-> stage` steps. A stage is `transform(args)` or `label: transform(args)`; the
/// label names the stage in errors, the plan and the metrics. Arguments are ordinary
/// Rust expressions and closures, which capture local variables as usual.
///
/// - `(rows, bad) = read_csv::<T>(..);` names a source's records and its bad
///   records (a dead-letter collection of [`BadRecord`]s).
/// - `(small, big) = xs -> partition(2, |x| index);` names each output of a
///   partition.
/// - `map_with(as_map(rates), |x, rates| ..)` reads another collection whole, as a
///   map, multimap, list or single value (a side input).
/// - `name!(args)` calls a reusable transform defined with [`transform!`].
///
/// # Checked when your crate compiles
///
/// Unknown transforms (with the nearest name suggested), wrong argument counts,
/// wrong input counts, undefined or twice-defined collections, collections never
/// used (prefix the name with `_` to allow that), cycles, `collect()` without a name;
/// and, through rustc, every type: a closure that declares an input type other than
/// what the stage before produces, a keyed transform on elements that are not
/// `(K, V)`, a key that is not `Hash + Eq`, a combiner that does not take the values,
/// `flatten` over collections of different types, fan-out of elements that are not
/// `Clone`, closures that cannot be shared between threads. Each error points at the
/// stage in your source.
///
/// # Running
///
/// [`Pipeline::run`] uses rayon's global pool (one thread per core);
/// [`Pipeline::threads`] sets another size. [`Pipeline::explain`] and
/// [`Pipeline::to_dot`] show the plan without running. The struct `run()` returns
/// also has a `metrics` field ([`Metrics`]).
pub use beam_macros::pipeline;
pub use beam_runtime::assert_that;
pub use beam_runtime::*;

/// Everything a pipeline's author needs: `use beam::prelude::*;`.
pub mod prelude {
    pub use beam_macros::pipeline;
    pub use beam_runtime::prelude::*;
}

/// Defines a reusable transform: a named chain of stages, used in `pipeline!` like a
/// built-in but written with `!`, and checked and fused exactly as if written inline
/// (Beam's composite `PTransform`).
///
/// ```
/// use beam::prelude::*;
///
/// beam::transform! {
///     /// The `n` most frequent words of lines of text.
///     top_words(n) = flat_map(beam::text::words)
///         -> count_per_element()
///         -> top($n, |(_, count): &(beam::text::Word, u64)| *count)
/// }
///
/// let out = pipeline! {
///     lines = from_iter(vec!["a b a".to_owned(), "b a c".to_owned()]);
///     best = lines -> top_words!(2) -> collect();
/// }
/// .run()?;
/// assert_eq!(out.best[0].0, "a");
/// assert_eq!(out.best.len(), 2);
/// # Ok::<(), beam::Error>(())
/// ```
///
/// The transform is a `macro_rules!` macro, so it is in scope after its definition
/// in the same module (or where `#[macro_use]` brings it). Its parameters are Rust
/// expressions given in the call, `top_words!(10)`, and used as `$n` in the chain, as
/// in any `macro_rules!` macro.
#[macro_export]
macro_rules! transform {
    ($(#[$meta:meta])* $name:ident ( $($param:ident),* ) = $($body:tt)+) => {
        $crate::transform! { @define ($) $(#[$meta])* $name ( $($param),* ) = $($body)+ }
    };
    (@define ($d:tt) $(#[$meta:meta])* $name:ident ( $($param:ident),* ) = $($body:tt)+) => {
        $(#[$meta])*
        #[allow(unused_macros)]
        macro_rules! $name {
            (@beam_inline { $d($d before:tt)* } ( $($d $param:expr),* ) { $d($d after:tt)* }) => {
                $crate::pipeline! { $d($d before)* $($body)+ $d($d after)* }
            };
        }
    };
}
