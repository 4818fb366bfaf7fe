//! `cargo fuzz run stop_request`: see `import_job_service_fuzzing::stop_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| import_job_service_fuzzing::stop_request(data));
