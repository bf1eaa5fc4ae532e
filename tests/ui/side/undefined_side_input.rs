use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        orders = from_iter(vec![(1u32, 10.0f64)]);
        _enriched = orders
            -> map_with(as_map(rates), |(id, amount): (u32, f64), rates: &SideMap<u32, f64>| amount * rates[&id])
            -> collect();
    };
}
