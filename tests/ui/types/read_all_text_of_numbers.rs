use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        ids = from_iter(0..3u32);
        _lines = ids -> read_all_text() -> collect();
    };
}
