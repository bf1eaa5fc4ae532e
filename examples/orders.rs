//! Orders enriched with customers (a join), converted with a rates table read whole
//! (a side input), and split by size (a partition); prints the plan, and with
//! `--dot` prints it as Graphviz DOT:
//!
//!     cargo run --example orders
//!     cargo run --example orders -- --dot | dot -Tsvg > docs/orders-plan.svg

use beam::prelude::*;

fn main() -> Result<(), beam::Error> {
    // (customer, currency, amount), (customer, segment), (currency, rate to EUR).
    // Names are `Word`s (owned inline strings), so the same pipeline also runs on
    // several processes (`--features timely`), where keys must be owned to cross.
    let word = Word::from;
    let orders: Vec<(u32, Word, f64)> =
        (0..10_000).map(|i| (i % 500, word(if i % 4 == 0 { "usd" } else { "eur" }), (i % 97) as f64)).collect();
    let customers: Vec<(u32, Word)> = (0..500).map(|c| (c, word(if c % 5 == 0 { "gold" } else { "basic" }))).collect();
    let rates = vec![(word("eur"), 1.0), (word("usd"), 0.9)];

    let pipeline = pipeline! {
        orders    = from_iter(orders);
        customers = from_iter(customers);
        rates     = from_iter(rates);
        in_eur    = orders
                    -> to_eur: map_with(as_map(rates), |(c, cur, amount): (u32, Word, f64), rates: &SideMap<Word, f64>| {
                           (c, amount * rates[&cur])
                       });
        (small, large) = in_eur -> by_size: partition(2, |(_, amount): &(u32, f64)| usize::from(*amount >= 50.0));
        per_segment = (large, customers)
                    -> join()
                    -> map(|(_, (amount, segment)): (u32, (f64, Word))| (segment, amount))
                    -> sum_per_key()
                    -> collect();
        small_orders = small -> count() -> collect();
    };
    if std::env::args().any(|a| a == "--dot") {
        print!("{}", pipeline.to_dot());
        return Ok(());
    }
    println!("{}", pipeline.explain());
    let out = pipeline.run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group: process 0 has the results
    }
    println!("large orders per segment (EUR): {:?}", out.per_segment);
    println!("small orders: {}", out.small_orders[0]);
    Ok(())
}
