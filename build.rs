//! Compiles the API contract in `proto/` with protox, a pure-Rust protobuf
//! compiler, so a fresh machine needs no system `protoc`.
//!
//! The encoded descriptor set (our API plus `google.rpc` error details and
//! every file they import, `buf/validate/validate.proto` among them) is
//! written to `OUT_DIR` for server reflection: it lets grpcurl describe the
//! service and decode the error details we send.
//!
//! When `IMPORT_JOB_SERVICE_PROTOSET` names a file (absolute, or relative to
//! the crate root), the same descriptor set is also written there, for
//! `grpcurl -protoset` and JSON-transcoding proxies: the Docker build uses it
//! to ship the set in the image.

use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "importjob/v1/import_job_service.proto",
    "google/rpc/error_details.proto",
    "google/rpc/status.proto",
];

/// Where to write a copy of the descriptor set, if anywhere.
const PROTOSET_ENV: &str = "IMPORT_JOB_SERVICE_PROTOSET";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-env-changed={PROTOSET_ENV}");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(PROTOS)?;
    let descriptor_set = compiler.encode_file_descriptor_set();
    fs::write(out_dir.join("import_job_descriptor.bin"), &descriptor_set)?;
    if let Some(protoset) = env::var_os(PROTOSET_ENV).filter(|path| !path.is_empty()) {
        let protoset = PathBuf::from(protoset);
        if let Some(parent) = protoset.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        fs::write(&protoset, &descriptor_set)?;
    }

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
