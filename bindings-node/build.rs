//! napi-rs build glue (link arguments for Node addons).
fn main() {
    napi_build::setup();
}
