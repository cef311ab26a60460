//! The `windlass` binary.

fn main() {
    println!("windlass: not implemented yet");
}
