use beam::prelude::*;

#[derive(serde::Deserialize)]
struct Sale {
    amount: u64,
}

fn main() {
    let _p = pipeline! {
        (sales, bad) = read_jsonl::<Sale>("sales.jsonl");
        _total = sales -> map(|s: Sale| s.amount) -> combine_globally(Sum) -> collect();
    };
}
