//! importjobctl's tests: the built command against the real service on its
//! embedded Cognito emulator, over a real socket, and against the AWS CLI
//! pointed at the same emulator, for every command (`offline` for what
//! neither calls anything for); importjobctl's own commands, which the AWS
//! CLI lacks, against the service alone (`watch`, `import`). The service's own test helpers and
//! credentials are shared with its API tests.

// Each shared file serves more tests than these.
#[allow(dead_code)]
#[path = "../../../../tests/api/auth/fixtures.rs"]
mod fixtures;
#[allow(dead_code)]
#[path = "../../../../tests/api/helpers.rs"]
mod helpers;

mod auth;
mod aws_cli;
mod both;
mod import;
mod offline;
mod reads;
mod service_errors;
mod watch;
mod writes;
