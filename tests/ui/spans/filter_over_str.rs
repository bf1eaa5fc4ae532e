use beam::prelude::*;

fn main() {
    let text = "a bb ccc";
    let _ = pipeline! {
        words = from_iter(text.split(' '));
        long = words -> filter(|w: &str| w.len() > 1) -> collect();
    };
}
