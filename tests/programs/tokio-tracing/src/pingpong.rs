//! ../../src/bin/pingpong.rs, with every tracing span and event recorded.
#[path = "../../src/bin/pingpong.rs"]
mod workload;
mod record_layer;

fn main() {
    record_layer::install();
    workload::main();
    record_layer::report();
}
