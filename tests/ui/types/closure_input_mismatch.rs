use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        lines = read_text("input.txt");
        _lengths = lines -> map(|l: u32| l + 1) -> collect();
    };
}
