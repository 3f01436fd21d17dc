//! Benchmarks of ferrysync: criterion benches in `benches/`, peer comparisons in `peers/`.
