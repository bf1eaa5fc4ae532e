use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        (lines, bad) = read_text("in.txt");
        _all = lines -> collect();
        _bad = bad -> collect();
    };
}
