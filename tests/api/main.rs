//! Integration tests: the real server on an ephemeral port, the real AWS SDK
//! talking HTTP to the embedded Cognito emulator, and a client generated from
//! the proto. One binary, so the AWS SDK links once.

mod auth;
mod binary;
mod connections;
mod errors;
mod faults;
mod goodput;
mod helpers;
mod lifecycle;
mod limits;
mod log_reader;
mod logs;
mod metrics;
mod operations;
mod redis_server;
mod shared_rate;
mod stop;
mod traces;
mod upload;
mod validation;
mod validation_cases;
mod watch;

#[global_allocator]
static ALLOCATOR: helpers::CountingAllocator = helpers::CountingAllocator;
