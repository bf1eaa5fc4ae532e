use beam::prelude::*;

fn main() {
    // The unknown transform is the only error: using the outputs does not add more.
    let out = pipeline! {
        xs = from_iter(0..10u32);
        doubled = xs -> mapp(|x: u32| x * 2) -> collect();
        n = xs -> count() -> collect();
    }
    .run()
    .unwrap();
    let doubled: Vec<u32> = out.doubled;
    let n: Vec<u64> = out.n;
    println!("{doubled:?} {n:?}");
}
