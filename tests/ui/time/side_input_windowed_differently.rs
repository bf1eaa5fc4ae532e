use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        orders = from_iter(vec![(1u32, 5u64)])
            -> with_timestamps(|o: &(u32, u64)| o.1)
            -> window(FixedWindows::of(std::time::Duration::from_secs(10)));
        rates = from_iter(vec![(1u32, 2u64)])
            -> with_timestamps(|r: &(u32, u64)| r.1)
            -> window(FixedWindows::of(std::time::Duration::from_secs(60)));
        _scaled = orders
            -> map_with(as_map(rates), |o: (u32, u64), r: &SideMap<u32, u64>| o.1 * r[&o.0])
            -> collect();
    };
}
