use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        xs = from_iter(0..10u32);
        ys = xs -> partition(2, |x: &u32| (*x % 2) as usize) -> map(|x: u32| x + 1) -> collect();
        xs -> partition(2, |x: &u32| (*x % 2) as usize) -> write_text("out", |x: &u32| *x);
    };
}
