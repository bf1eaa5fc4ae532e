use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        names = from_iter(vec!["ann", "bob"]);
        _total = names -> sum() -> collect();
    };
}
