//! effpath-cli: The effpath command-line tool.
fn main() {}
