//! Compiles the CSI protocol (proto/csi.proto at the top of the repository) into Rust with
//! protox, a protobuf compiler written in Rust, so that building Strata needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto/csi.proto");
    let descriptors = protox::compile(["../../proto/csi.proto"], ["../../proto"])?;
    tonic_prost_build::configure()
        // RPCs Strata does not serve (snapshots, publish, health) answer Unimplemented.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
