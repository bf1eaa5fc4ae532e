use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        lines = read_text("in.txt");
        total = lines -> map(|l: &str| l.len() as u64) -> sum();
        shares = lines -> map_with(as_singleton(total), |l: &str, t: &u64| l.len() as u64 * 100 / t) -> collect();
    };
}
