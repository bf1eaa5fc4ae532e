//! Shows a pipeline's plan without running it: which stages fuse into one loop and
//! where data is shuffled, as text and as Graphviz DOT.
//!
//!     cargo run --example plan
//!     cargo run --example plan -- --dot | dot -Tsvg > plan.svg

use beam::prelude::*;

fn main() {
    let text = "the quick brown fox\njumps over the lazy dog";
    let pipeline = pipeline! {
        words  = from_iter(text.lines()) -> split: flat_map(|l: &str| l.split_whitespace());
        counts = words -> count_per_element();
        top    = counts -> top(3, |(_, n): &(&str, u64)| *n) -> collect();
        total  = words -> count() -> collect();
    };
    if std::env::args().any(|a| a == "--dot") {
        print!("{}", pipeline.to_dot());
    } else {
        print!("{}", pipeline.explain());
    }
}
