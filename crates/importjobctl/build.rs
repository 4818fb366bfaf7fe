//! The client stubs, compiled from the API's protos in `../../proto` by
//! protox (no `protoc`): importjobctl shares the contract with the service,
//! not its code.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    let mut compiler = protox::Compiler::new(["../../proto"])?;
    compiler.include_imports(true);
    compiler.open_files(["importjob/v1/import_job_service.proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
