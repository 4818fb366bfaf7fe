//! Load generator for import-job-service: drives StopUserImportJob (or a
//! baseline) at a fixed concurrency over a chosen number of connections, and
//! reports throughput, latency percentiles, calls by status code, and the CPU
//! time per call and resident memory of the server and the backend, read
//! from `/proc` (Linux only). Not a test: see BENCHMARKS.md, whose numbers
//! `scripts/bench.sh` reproduces with `loadgen suite`.
//!
//! ```sh
//! cargo build --release --locked --bin import-job-service --example loadgen
//! target/release/examples/loadgen backend &        # prints its URL
//! target/release/examples/loadgen run --call stop --target http://127.0.0.1:50051 --concurrency 16
//! target/release/examples/loadgen suite            # every scenario, baseline and target
//! ```

mod drive;
mod h2load;
mod procfs;
mod suite;

// The tests' certificates and tokens, for the runs with authorization on.
#[allow(dead_code)]
#[path = "../../tests/api/auth/fixtures.rs"]
mod fixtures;

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::{Args, Parser, Subcommand};
use import_job_service::{
    cognito::{Cognito, Connection},
    configuration::Settings,
    emulator::Emulator,
    metrics::Metrics,
    validation::JobRequest,
};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::drive::{Call, Client, Length, Plan, Watched};

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "Load generator for import-job-service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the stateless Cognito emulator in this process, so that its CPU is
    /// counted apart from the service's; prints its URL, serves until killed.
    Backend {
        /// How long each answer waits: the backend's own latency.
        #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
        latency: Duration,
    },
    /// One load run against a running service (or, with `--call direct`, a
    /// Cognito endpoint such as the backend's).
    Run(RunArgs),
    /// Hold idle connections open to a service and report its memory.
    Idle(IdleArgs),
    /// Every scenario, baseline and target of BENCHMARKS.md, in one run.
    Suite(suite::SuiteArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    #[arg(long, value_enum, default_value_t = Call::Stop)]
    call: Call,
    /// The service's URL (http:// or https://); with `--call direct`, the
    /// Cognito endpoint the SDK calls.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// Calls in flight at once, each worker starting its next call when its
    /// last one ends.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// HTTP/2 connections the workers share (default: one per 32 workers).
    #[arg(long)]
    connections: Option<usize>,
    /// How long to measure, after the warm-up.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, conflicts_with = "calls")]
    duration: Duration,
    /// Measure this many calls instead of a duration.
    #[arg(long)]
    calls: Option<u64>,
    /// Calls made before measuring, to open connections and warm caches.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warm_up: Duration,
    /// The service's pid, for its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The backend's pid, for its CPU time and memory.
    #[arg(long)]
    backend_pid: Option<u32>,
    #[command(flatten)]
    credentials: CredentialArgs,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// How the load generator authenticates, as importjobctl does.
#[derive(Debug, Args)]
struct CredentialArgs {
    /// A file holding a bearer token, sent as `authorization: Bearer`.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// CAs to trust for an https:// target (PEM).
    #[arg(long)]
    ca_bundle: Option<PathBuf>,
    /// A client certificate (PEM), for mTLS.
    #[arg(long, requires = "client_key")]
    client_cert: Option<PathBuf>,
    #[arg(long, requires = "client_cert")]
    client_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct IdleArgs {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// The service's pid, for its memory.
    #[arg(long)]
    server_pid: u32,
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Backend { latency } => backend(latency).await,
            Command::Run(args) => run(args).await,
            Command::Idle(args) => idle(args).await,
            Command::Suite(args) => suite::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn backend(latency: Duration) -> Result<ExitCode, String> {
    let emulator = Emulator::start_for_benchmarks(latency)
        .await
        .map_err(|e| format!("cannot start the backend: {e}"))?;
    println!("{}", emulator.url());
    std::future::pending::<()>().await;
    Ok(ExitCode::SUCCESS)
}

async fn run(args: RunArgs) -> Result<ExitCode, String> {
    let connections = args
        .connections
        .unwrap_or_else(|| args.concurrency.div_ceil(32))
        .max(1);
    let clients = match args.call {
        Call::Direct => direct_clients(&args.target).await?,
        Call::Stop | Call::Health => {
            let token = match &args.credentials.token_file {
                Some(path) => Some(read(path)?.trim().to_owned()),
                None => None,
            };
            let tls = tls_config(&args.credentials)?;
            Client::grpc(&args.target, connections, tls, token.as_deref()).await?
        }
    };
    let plan = Plan {
        call: args.call,
        concurrency: args.concurrency,
        warm_up: args.warm_up,
        length: args
            .calls
            .map_or(Length::Duration(args.duration), Length::Calls),
    };
    let watched = Watched {
        server: args.server_pid,
        backend: args.backend_pid,
    };
    let report = drive::drive(&clients, &plan, &watched).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        );
    } else {
        println!("{}", report.human(&args.target));
    }
    Ok(if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn idle(args: IdleArgs) -> Result<ExitCode, String> {
    procfs::raise_open_file_limit()
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let report = suite::hold_idle(&args.target, args.connections, args.server_pid).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        );
    } else {
        println!(
            "{} idle connections: server RSS {:.1} MiB before, {:.1} MiB after ({:.1} KiB each)",
            report.connections,
            report.rss_before_mib,
            report.rss_after_mib,
            report.kib_per_connection
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The SDK as the service builds it, with its default flags, calling
/// `endpoint`: one client shared by every worker, as in the service, whose
/// pool opens a connection per call in flight.
pub async fn direct_clients(endpoint: &str) -> Result<Vec<Client>, String> {
    let settings = Settings::try_parse_from(["loadgen", "--insecure-allow-unauthenticated"])
        .map_err(|e| e.to_string())?;
    let connection = Connection {
        endpoint_url: Some(endpoint.to_owned()),
        credentials: Some(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    "AKIALOADGEN",
                    "loadgen",
                    None,
                    None,
                    "loadgen",
                ),
            ),
        ),
    };
    let cognito = Cognito::connect(&settings.aws, connection, Arc::new(Metrics::default())).await;
    let request = JobRequest::parse(drive::POOL, drive::JOB)
        .map_err(|_| "the benchmark's ids are valid".to_owned())?;
    Ok(vec![Client::Direct(cognito, Arc::new(request))])
}

fn tls_config(credentials: &CredentialArgs) -> Result<Option<ClientTlsConfig>, String> {
    let Some(ca) = &credentials.ca_bundle else {
        return Ok(None);
    };
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(ca)?))
        .domain_name("localhost");
    if let (Some(cert), Some(key)) = (&credentials.client_cert, &credentials.client_key) {
        tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(Some(tls))
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}
