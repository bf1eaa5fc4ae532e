use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        _all = () -> flatten() -> collect();
    };
}
