use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        orders = from_iter(vec![(1u32, 5u64)]) -> with_timestamps(|o: &(u32, u64)| o.1);
        customers = from_iter(vec![(1u32, "ann")]);
        // A table without timestamps serves every window: fine.
        enriched = (orders, customers) -> join() -> collect();
        // The other way round, the left input has no timestamps to window by.
        backwards = (customers, orders) -> join() -> collect();
        // Windowed differently.
        windowed = orders -> window(FixedWindows::of(std::time::Duration::from_secs(10)));
        mixed = (windowed, orders) -> left_join() -> collect();
        // A side input with timestamps in the global window is read whole: fine.
        totals = from_iter(vec![(1u32, 2u64)]) -> with_timestamps(|o: &(u32, u64)| o.1);
        scaled = orders -> map_with(as_map(totals), |o: (u32, u64), r: &SideMap<u32, u64>| o.1 * r[&o.0]) -> collect();
        // An unbounded collection joined with a bounded table: two kinds of source.
        live = test_stream(TestStream::new().add_elements([timestamped((1u32, 1u64), 1)]))
            -> window(FixedWindows::of(std::time::Duration::from_secs(10)));
        live_joined = (live, customers) -> join() -> collect();
    };
}
