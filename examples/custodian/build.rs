//! Compiles the custodian's own API (`proto/example/assets/v1`); the Roster protos it
//! implements and calls come from `roster-proto`.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("proto");
    let descriptors = protox::compile(["example/assets/v1/assets.proto"], [&root])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
