//! Command-line flags, each with an environment fallback, parsed and checked
//! before anything binds or connects: a bad value is a clear error that names
//! the flag, and the process exits with code 2 (clap's usage error).

use std::{net::SocketAddr, str::FromStr, time::Duration};

use clap::{Args, Parser, ValueEnum};
use tracing_subscriber::EnvFilter;

/// gRPC service that stops Amazon Cognito user import jobs on behalf of
/// internal callers.
///
/// It forwards ImportJobService.StopUserImportJob to Cognito with the AWS SDK's
/// default credentials chain, sending each call to the region of its user
/// pool. With --local-cognito it runs against an embedded Cognito emulator and
/// needs no AWS account.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "import-job-service",
    version,
    about,
    long_about,
    args_override_self = true
)]
pub struct Settings {
    /// Address the gRPC server listens on.
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_LISTEN",
        default_value = "0.0.0.0:50051"
    )]
    pub listen: SocketAddr,

    /// Run against an embedded Cognito emulator on a loopback port, seeded
    /// with a demo user pool, instead of AWS. For trying the service out and
    /// for tests: nothing leaves the machine.
    #[arg(long, env = "IMPORT_JOB_SERVICE_LOCAL_COGNITO")]
    pub local_cognito: bool,

    /// How long in-flight calls may take to finish after SIGTERM or SIGINT
    /// before the process exits anyway.
    #[arg(long, env = "IMPORT_JOB_SERVICE_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    #[command(flatten)]
    pub aws: AwsSettings,

    #[command(flatten)]
    pub log: LogSettings,
}

/// How the service calls Cognito.
#[derive(Debug, Clone, Args)]
pub struct AwsSettings {
    /// Send every call to this AWS region instead of the region a user pool id
    /// begins with (`us-east-1` in `us-east-1_AbC123`).
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_REGION", value_parser = crate::cognito::Cognito::parse_region)]
    pub aws_region: Option<String>,

    /// Longest time one call to Cognito may take, retries included. The
    /// caller's gRPC deadline bounds it too, whichever is shorter.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_OPERATION_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub aws_operation_timeout: Duration,

    /// Longest time one attempt of a call to Cognito may take.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_ATTEMPT_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub aws_attempt_timeout: Duration,

    /// Attempts per call to Cognito, the first included (the SDK's standard
    /// retry mode: throttling, 5xx and transport errors are retried with
    /// jittered exponential backoff).
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_MAX_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub aws_max_attempts: u32,

    /// Upper bound of the first retry's random backoff; later retries double it.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_INITIAL_BACKOFF", default_value = "1s", value_parser = parse_duration)]
    pub aws_initial_backoff: Duration,
}

/// Where and how the service logs.
#[derive(Debug, Clone, Args)]
pub struct LogSettings {
    /// Log format: json (one object per line), text, or auto (text on a
    /// terminal, json otherwise).
    #[arg(long, env = "IMPORT_JOB_SERVICE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,

    /// Log level or filter directives, for example `info` or
    /// `info,import_job_service=debug`.
    #[arg(long, env = "IMPORT_JOB_SERVICE_LOG_LEVEL", default_value = "info", value_parser = parse_log_filter)]
    pub log_level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Json,
    Text,
}

/// Durations such as `250ms`, `10s` or `2m`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .map_err(|e| format!("{e} (expected a duration such as 250ms, 10s or 2m)"))
}

fn parse_log_filter(value: &str) -> Result<String, String> {
    EnvFilter::from_str(value)
        .map(|_| value.to_owned())
        .map_err(|e| {
            format!("{e} (expected a level such as info or directives such as info,h2=warn)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Settings::command().debug_assert();
    }

    #[test]
    fn bad_values_name_their_flag() {
        for (flag, value) in [
            ("--listen", "nowhere"),
            ("--aws-max-attempts", "0"),
            ("--aws-operation-timeout", "soon"),
            ("--log-level", "info,=,"),
            ("--log-format", "xml"),
            ("--aws-region", "Moon Base"),
        ] {
            let err = Settings::try_parse_from(["import-job-service", flag, value]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{flag}");
            assert!(err.to_string().contains(flag), "{flag}: {err}");
        }
    }
}
