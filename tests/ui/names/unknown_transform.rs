use beam::prelude::*;

fn main() {
    let text = "a b\nc";
    let _p = pipeline! {
        lines = from_iter(text.lines());
        _words = lines -> flatmap(|l: &str| l.split(' ')) -> collect();
    };
}
