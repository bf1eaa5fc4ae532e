use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        evens = xs -> multi_output(|x: u32, out| out.0.emit(x));
        _all = evens -> collect();
    };
}
