//! ../../src/bin/echo_server.rs, with every tracing span and event recorded.
#[path = "../../src/bin/echo_server.rs"]
mod workload;
mod record_layer;

fn main() {
    record_layer::install();
    workload::main();
    record_layer::report();
}
