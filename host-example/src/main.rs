//! host example
fn main() {}
