use beam::prelude::*;

beam::transform! {
    count_words() = flat_map(beam::text::words) -> count_per_element()
}

fn main() {
    let _p = pipeline! {
        numbers = from_iter(0..10u32);
        _counts = numbers -> count_words!() -> collect();
    };
}
