use beam::prelude::*;

fn main() -> Result<(), beam::Error> {
    let text = "the quick brown fox jumps over the lazy dog\nthe dog sleeps\n";
    let pipeline = pipeline! {
        words  = from_iter(text.lines())
                 -> flat_map(|l: &str| l.split_whitespace());
        counts = words -> count_per_element();
        top    = counts -> top(3, |(_, n): &(&str, u64)| *n) -> collect();
        total  = words -> count() -> collect();
    };
    println!("{}", pipeline.explain());
    let out = pipeline.run()?;
    println!("top: {:?}", out.top);
    println!("total: {:?}", out.total);
    Ok(())
}
