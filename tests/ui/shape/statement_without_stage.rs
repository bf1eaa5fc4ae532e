use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        ys = xs;
        _out = ys -> collect();
    };
}
