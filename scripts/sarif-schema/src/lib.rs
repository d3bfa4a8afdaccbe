//! Empty: this package only exists so that `cargo fetch` downloads serde-sarif.
