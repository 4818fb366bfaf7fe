//! # import-job-service
//!
//! A gRPC service that controls Amazon Cognito user import jobs (create, CSV
//! header, start, describe, list, stop) on behalf of internal callers, so
//! that none of them needs AWS credentials or AWS's error model.
//!
//! A call to an `importjob.v1.ImportJobService` method ([`operation`] lists
//! them) passes through the tower layers in [`layers`] (its log span, its
//! deadline, authentication, limits, authorization), reaches the handler in
//! [`service`], which checks the request against Cognito's own constraints
//! ([`validation`]), sends it to the user pool's region through the AWS SDK
//! ([`cognito`], the only module that knows the SDK), and answers with
//! Cognito's data, or with the status the error table in [`error`] gives.
//!
//! [`startup`] wires it all and serves it with health and reflection;
//! [`configuration`] holds the flags, [`telemetry`] the logs and traces, and
//! [`emulator`] a Cognito emulator for running without an AWS account.

pub mod audit;
pub mod auth;
pub mod cognito;
pub mod configuration;
pub(crate) mod connections;
pub mod error;
pub(crate) mod health;
pub mod layers;
pub(crate) mod local_cognito;
pub mod metrics;
pub mod operation;
pub mod proto;
pub(crate) mod rate_limit;
pub(crate) mod regions;
pub mod reload;
pub(crate) mod service;
pub mod startup;
pub mod telemetry;
pub mod tls;
pub mod upload;
pub(crate) mod watch;

/// Cognito's constraints on user pool and job ids, shared with the emulator.
pub use cognito_constraints as validation;
/// The embedded Cognito emulator of `--local-cognito`.
#[cfg(feature = "local-cognito")]
pub use cognito_emulator as emulator;
