//! `cargo fuzz run policy_file`: see `import_job_service_fuzzing::policy_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| import_job_service_fuzzing::policy_file(data));
