use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        xs = from_iter(0..3u32);
        metrics = xs -> collect();
    };
}
