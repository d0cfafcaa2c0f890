//! Compiles Roster's protos with protox (pure Rust, no protoc on the machine) and
//! generates tonic clients and servers plus the descriptor set served by reflection.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files: Vec<PathBuf> = [
        "roster/type/v1/bounds.proto",
        "roster/type/v1/error_reason.proto",
        "roster/type/v1/audit.proto",
        "roster/custodian/v1/custodian_service.proto",
        "roster/identity/v1/user.proto",
        "roster/identity/v1/impersonation.proto",
        "roster/identity/v1/identity_service.proto",
        "roster/membership/v1/membership.proto",
        "roster/membership/v1/membership_service.proto",
        "roster/invitation/v1/invitation.proto",
        "roster/invitation/v1/invitation_service.proto",
        "roster/notification/v1/notification.proto",
        "roster/notification/v1/notification_service.proto",
    ]
    .iter()
    .map(|file| proto_root.join(file))
    .collect();
    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?;

    // Encoded by protox itself: prost's types would drop the field options Roster declares
    // (`roster.type.v1.max_length` ...), which the servers read back at run time.
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("roster_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let descriptors = compiler.file_descriptor_set();
    tonic_prost_build::configure().compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed={}", proto_root.display());
    Ok(())
}
