use beam::prelude::*;

fn main() {
    let stop = String::from("the");
    let _ = pipeline! {
        words = read_text("in.txt") -> flat_map(move |line: &str| line.split(' ').filter(move |w| *w != stop));
        counts = words -> count_per_element() -> collect();
    };
}
