use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        lines = read_text("in.txt");
        words = lines -> flat_map(|line: &str| line.split(' ')) -> count_per_element() -> collect();
        all = lines -> collect();
    };
}
