use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        (small, text) = xs -> multi_output(|x: String, out| { out.0.emit(x.len()); out.1.emit(x) });
        _small = small -> collect();
        _text = text -> collect();
    };
}
