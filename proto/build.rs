//! Generates the gRPC code from proto/herald.proto with protox (pure Rust: no system
//! protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/herald.proto");
    println!("cargo:rerun-if-changed=build.rs");
    let fds = protox::compile(["herald.proto"], ["proto"])?;
    // `bytes` fields as `bytes::Bytes`: a framed SIP message is handed over without a copy.
    tonic_prost_build::configure()
        .build_transport(false)
        .bytes(".")
        .compile_fds(fds)?;
    Ok(())
}
