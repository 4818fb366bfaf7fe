//! `cargo fuzz run client_certificate`: see `import_job_service_fuzzing::client_certificate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| import_job_service_fuzzing::client_certificate(data));
