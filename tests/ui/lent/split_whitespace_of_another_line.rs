use beam::prelude::*;

// A macro whose closure splits a `line` of its own, not the parameter it was
// given the name of (hygiene keeps the two apart): the pipeline runs such a
// closure as `beam::text::words` on its lines, so this is an error rather than
// a count of other words.
macro_rules! count_words {
    ($path:expr, $param:ident) => {{
        let line = "fixed text";
        pipeline! {
            counts = read_text($path) -> flat_map(|$param: &str| line.split_whitespace()) -> count_per_element() -> collect();
        }
    }};
}

fn main() {
    let _ = count_words!("in.txt", line);
}
