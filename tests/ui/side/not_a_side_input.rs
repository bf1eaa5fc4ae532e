use beam::prelude::*;

fn main() {
    let rates = vec![(1u32, 2.0f64)];
    let _p = pipeline! {
        orders = from_iter(vec![(1u32, 10.0f64)]);
        _enriched = orders -> map_with(rates, |(_, amount): (u32, f64), _r: &Vec<(u32, f64)>| amount) -> collect();
    };
}
