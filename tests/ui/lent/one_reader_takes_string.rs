use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        lines = read_text("in.txt");
        words = lines -> flat_map(|line: &str| line.split(' ')) -> count_per_element() -> collect();
        upper = lines -> map(|line: String| line.to_uppercase()) -> collect();
        lengths = lines -> map(|line| line.len()) -> collect();
    };
}
