use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        _lens = xs -> map(|x| x.len()) -> collect();
    };
}
