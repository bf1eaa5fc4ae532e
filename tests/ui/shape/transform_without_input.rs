use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = map(|x: u32| x + 1);
        _out = xs -> collect();
    };
}
