//! Compiles the API contract in `proto/` with protox, a pure-Rust protobuf
//! compiler, so a fresh machine needs no system `protoc`.
//!
//! The encoded descriptor set (our API plus `google.rpc` error details and
//! their imports) is written to `OUT_DIR` for server reflection: it lets
//! grpcurl describe the service and decode the error details we send.

use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "importjob/v1/import_job_service.proto",
    "google/rpc/error_details.proto",
    "google/rpc/status.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(PROTOS)?;
    fs::write(
        out_dir.join("import_job_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
