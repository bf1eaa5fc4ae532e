use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        (a, b) = xs -> multi_output(|x: u32, out| { out.0.emit(x); out.2.emit(x) });
        _a = a -> collect();
        _b = b -> collect();
    };
}
