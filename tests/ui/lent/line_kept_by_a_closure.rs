use std::sync::Mutex;

use beam::prelude::*;

fn main() {
    let seen: Mutex<Vec<&str>> = Mutex::new(Vec::new());
    let _ = pipeline! {
        lengths = read_text("in.txt")
            -> map(|line: &str| { seen.lock().unwrap().push(line); line.len() })
            -> collect();
    };
}
