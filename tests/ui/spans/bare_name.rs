use beam::prelude::*;

fn main() {
    let _ = pipeline! { b };
}
