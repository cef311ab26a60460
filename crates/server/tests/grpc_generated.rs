//! The committed Rust code of `proto/worker.proto` is what the proto gives:
//! regenerated with protox (a protobuf compiler written in Rust, so no
//! `protoc` is needed) and tonic-prost-build, and compared byte for byte.
//! After changing the proto, copy the files this test writes (it prints
//! where) over the committed ones.

use std::path::Path;

fn generate(out: &Path, client: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fds = protox::compile(["worker.proto"], [root.join("proto")]).expect("proto compiles");
    tonic_prost_build::configure()
        .build_client(client)
        .build_server(!client)
        .out_dir(out)
        .compile_fds(fds)
        .expect("code generation");
}

#[test]
fn the_generated_code_is_what_the_proto_gives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (client, committed) in [
        (false, "src/grpc/generated/windlass.worker.v1.rs"),
        (true, "tests/grpc_client/windlass.worker.v1.rs"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        generate(dir.path(), client);
        let fresh = std::fs::read_to_string(dir.path().join("windlass.worker.v1.rs"))
            .expect("generated file");
        let kept = std::fs::read_to_string(root.join(committed)).expect("committed file");
        if fresh != kept {
            let keep = dir.keep();
            panic!(
                "{committed} is not what proto/worker.proto gives; the fresh code is in {}",
                keep.display()
            );
        }
    }
}
