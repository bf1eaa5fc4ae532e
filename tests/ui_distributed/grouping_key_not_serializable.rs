use beam::prelude::*;

#[derive(Clone, Hash, PartialEq, Eq)]
struct Sensor(u32);

fn main() {
    let readings: Vec<(Sensor, u64)> = vec![(Sensor(1), 20)];
    let _p = pipeline! {
        readings = from_iter(readings);
        totals = readings -> sum_per_key() -> map(|(_, total): (Sensor, u64)| total) -> collect();
    };
}
