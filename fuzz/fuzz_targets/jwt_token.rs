//! `cargo fuzz run jwt_token`: see `import_job_service_fuzzing::jwt_token`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| import_job_service_fuzzing::jwt_token(data));
