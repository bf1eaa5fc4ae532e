use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        rates = from_iter(vec![("eur".to_owned(), 1.0f64)]);
        orders = from_iter(vec![(1u32, 10.0f64)]);
        _enriched = orders -> map_with(as_list(rates), |(_, amount): (u32, f64), rates: &Vec<f64>| amount * rates[0]) -> collect();
    };
}
