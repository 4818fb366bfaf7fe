//! The whole benchmark set in one run, so that every ratio compares rows
//! measured minutes apart on the same machine: the stateless backend and the
//! service as their own processes, the direct SDK in this one, the
//! scenarios, the baselines, the targets, and a summary for BENCHMARKS.md.
//! Two comparisons beside: the peer (examples/peer, the Python service a
//! team would write instead) under the same load, and rows driven by h2load,
//! a load generator that costs the machine less than this one.

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use clap::Args;
use futures_util::future::join_all;
use import_job_service::proto::{STOP_PATH, StopUserImportJobRequest};
use jsonwebtoken::Algorithm;
use prost::Message;
use serde::Serialize;
use serde_json::json;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{
    drive::{self, Call, Client, Length, Plan, Report, Watched},
    fixtures::{self, Files, Pki, Signer},
    h2load::{self, H2loadReport},
    procfs,
};

#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// The service's binary [default: import-job-service in the directory
    /// above this one, as cargo lays out target/release]
    #[arg(long)]
    service: Option<PathBuf>,
    /// How long each run measures, after its warm-up.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warm_up: Duration,
    /// Connections held open in the idle-memory scenario.
    #[arg(long, default_value_t = 10_000)]
    idle_connections: usize,
    /// Starts timed in the cold-start scenario.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    cold_starts: u16,
    /// Also write every number as JSON to this file (the h2load rows'
    /// request bodies go beside it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The Python that runs the peer (examples/peer/server.py), with
    /// examples/peer/requirements.txt installed; without it the peer's rows
    /// are skipped.
    #[arg(long)]
    peer_python: Option<PathBuf>,
    /// Idle connections held to the peer, and to a fresh service beside it.
    #[arg(long, default_value_t = 1_000)]
    peer_idle_connections: usize,
    /// h2load (Debian's nghttp2-client); its rows are skipped when it does
    /// not run.
    #[arg(long, default_value = "h2load")]
    h2load: PathBuf,
}

/// Concurrencies with the instant backend.
const CONCURRENCIES: [usize; 3] = [1, 16, 256];
/// Calls per HTTP/2 connection: well under the service's 100 streams.
const CALLS_PER_CONNECTION: usize = 32;
const SLOW_BACKEND: Duration = Duration::from_millis(50);
const SLOW_CONCURRENCY: usize = 200;
/// Concurrencies of the h2load rows: the load generator's c=16 and its
/// saturation.
const H2LOAD_CONCURRENCIES: [usize; 2] = [16, 256];
const HEALTH_CHECK_PATH: &str = "/grpc.health.v1.Health/Check";
/// The peer, found in this repository wherever the load generator runs.
const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/peer/server.py");

/// Who the runs with authorization on are, and the policy allowing them.
const SPIFFE_ID: &str = "spiffe://bench.test/loadgen";
const POLICY: &str = r#"{
  "name": "bench",
  "allow_rules": [{
    "name": "loadgen",
    "source": { "principals": ["spiffe://bench.test/loadgen", "loadgen"] },
    "request": {
      "paths": ["/importjob.v1.ImportJobService/StopUserImportJob"],
      "user_pools": ["us-east-1_Bench"]
    }
  }]
}"#;

/// A child process, killed when dropped.
struct Process {
    child: Child,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Backend {
    process: Process,
    url: String,
}

/// The stateless emulator as a process of its own (`loadgen backend`).
fn spawn_backend(latency: Duration) -> Result<Backend, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["backend", "--latency"])
        .arg(humantime::format_duration(latency).to_string())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the backend: {e}"))?;
    let mut url = String::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    BufReader::new(stdout)
        .read_line(&mut url)
        .map_err(|e| format!("the backend said nothing: {e}"))?;
    Ok(Backend {
        process: Process { child },
        url: url.trim().to_owned(),
    })
}

struct Service {
    process: Process,
    addr: SocketAddr,
    /// From spawning the process to its first answer SERVING (or, for a TLS
    /// service, to accepting a connection).
    ready_after: Duration,
}

/// How the service under test is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Off,
    Jwt,
    Mtls,
}

impl Auth {
    fn name(self) -> &'static str {
        match self {
            Auth::Off => "off",
            Auth::Jwt => "JWT",
            Auth::Mtls => "mTLS",
        }
    }
}

/// Everything the runs with authorization on need, in files.
struct Credentials {
    files: Files,
    token: String,
    tls: ClientTlsConfig,
}

impl Credentials {
    fn new() -> Self {
        let files = Files::new();
        let pki = Pki::new("Bench CA");
        let server = pki.server();
        let client = pki.client(&[SPIFFE_ID], None);
        files.write("server.pem", &server.cert);
        files.write("server.key", &server.key);
        files.write("ca.pem", &pki.ca_pem());
        files.write("policy.json", POLICY);
        let signer = Signer::new("bench-1", Algorithm::ES256);
        files.write("jwks.json", &fixtures::jwks(&[&signer]));
        let token = signer.sign(&fixtures::claims("loadgen"));
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pki.ca_pem()))
            .identity(Identity::from_pem(client.cert, client.key))
            .domain_name("localhost");
        Self { files, token, tls }
    }

    fn flags(&self, auth: Auth) -> Vec<String> {
        let path = |name| self.files.path(name);
        match auth {
            Auth::Off => vec!["--insecure-allow-unauthenticated".to_owned()],
            Auth::Jwt => vec![
                "--auth-policy".to_owned(),
                path("policy.json"),
                "--jwks".to_owned(),
                path("jwks.json"),
                "--jwt-issuer".to_owned(),
                fixtures::ISSUER.to_owned(),
                "--jwt-audience".to_owned(),
                fixtures::AUDIENCE.to_owned(),
            ],
            Auth::Mtls => vec![
                "--auth-policy".to_owned(),
                path("policy.json"),
                "--tls-cert".to_owned(),
                path("server.pem"),
                "--tls-key".to_owned(),
                path("server.key"),
                "--client-ca".to_owned(),
                path("ca.pem"),
            ],
        }
    }

    async fn clients(
        &self,
        auth: Auth,
        service: &Service,
        connections: usize,
    ) -> Result<Vec<Client>, String> {
        match auth {
            Auth::Off => Client::grpc(&service.url(), connections, None, None).await,
            Auth::Jwt => Client::grpc(&service.url(), connections, None, Some(&self.token)).await,
            Auth::Mtls => {
                let url = format!("https://{}", service.addr);
                Client::grpc(&url, connections, Some(self.tls.clone()), None).await
            }
        }
    }
}

impl Service {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the service on a free loopback port, calling Cognito at
    /// `backend` with static credentials from the environment (so nothing
    /// is fetched), with the limits that protect Cognito and share the
    /// service between callers raised out of the way: one load generator is
    /// one caller, and the backend is not Cognito. It logs as in
    /// production, one JSON line per call, to `log`; with `metrics`, it
    /// serves Prometheus metrics there.
    async fn spawn(
        binary: &Path,
        backend: &str,
        credentials: &Credentials,
        auth: Auth,
        log: &Path,
        metrics: Option<SocketAddr>,
    ) -> Result<Service, String> {
        let addr = free_port()?;
        let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let started = Instant::now();
        let child = Command::new(binary)
            .args(["--listen", &addr.to_string(), "--log-format", "json"])
            .args(["--max-calls-in-flight", "100000"])
            .args(["--max-calls-in-flight-per-caller", "100000"])
            .args(["--cognito-rate", "1000000", "--cognito-burst", "1000000"])
            .args(credentials.flags(auth))
            .args(metrics.map(|addr| format!("--metrics-listen={addr}")))
            .env("AWS_ENDPOINT_URL", backend)
            .env("AWS_ACCESS_KEY_ID", "AKIALOADGEN")
            .env("AWS_SECRET_ACCESS_KEY", "loadgen-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let process = Process { child };
        let ready_after = wait_until_ready(addr, started, auth != Auth::Mtls)
            .await
            .map_err(|e| format!("{e}; see {}", log.display()))?;
        Ok(Service {
            process,
            addr,
            ready_after,
        })
    }
}

/// The peer on a free loopback port, calling Cognito at `backend` as the
/// service does (endpoint and static credentials from the environment),
/// logging one JSON line per call to `log`.
async fn spawn_peer(python: &Path, backend: &str, log: &Path) -> Result<Service, String> {
    let addr = free_port()?;
    let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let started = Instant::now();
    let child = Command::new(python)
        .arg(PEER_SCRIPT)
        .args(["--listen", &addr.to_string()])
        .env("AWS_ENDPOINT_URL", backend)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIALOADGEN")
        .env("AWS_SECRET_ACCESS_KEY", "loadgen-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot start the peer with {}: {e}", python.display()))?;
    let process = Process { child };
    let ready_after = wait_until_ready(addr, started, true)
        .await
        .map_err(|e| format!("the peer: {e}; see {}", log.display()))?;
    Ok(Service {
        process,
        addr,
        ready_after,
    })
}

fn free_port() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// Waits for the listener, then (with `health`) for Health/Check to answer
/// SERVING; polls every 200 µs, so the time it gives is that close.
async fn wait_until_ready(
    addr: SocketAddr,
    started: Instant,
    health: bool,
) -> Result<Duration, String> {
    let url = format!("http://{addr}");
    while started.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(addr).is_ok() {
            if !health {
                return Ok(started.elapsed());
            }
            if let Ok(channel) = Channel::from_shared(url.clone())
                .expect("a valid URL")
                .connect()
                .await
            {
                let answer = HealthClient::new(channel)
                    .check(HealthCheckRequest::default())
                    .await;
                if answer.is_ok_and(|a| a.get_ref().status() == ServingStatus::Serving) {
                    return Ok(started.elapsed());
                }
            }
        }
        // A blocking sleep: nothing else runs meanwhile, and Tokio's timer
        // would round up to a millisecond.
        std::thread::sleep(Duration::from_micros(200));
    }
    Err(format!("the service at {addr} was not ready within 10 s"))
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub connections: usize,
    pub rss_before_mib: f64,
    pub rss_after_mib: f64,
    pub kib_per_connection: f64,
}

/// Opens `connections` HTTP/2 connections to `target`, makes one
/// Health/Check on each (so each is a connection a client has used), then
/// leaves them idle and reads the server's memory.
pub async fn hold_idle(
    target: &str,
    connections: usize,
    server_pid: u32,
) -> Result<IdleReport, String> {
    let rss = || procfs::rss_bytes(&server_pid.to_string()).map_err(|e| e.to_string());
    let before = rss()?;
    let mut held = Vec::with_capacity(connections);
    let mut left = connections;
    while left > 0 {
        let batch = left.min(200);
        left -= batch;
        let opened = join_all((0..batch).map(|_| async {
            let channel = Channel::from_shared(target.to_owned())
                .map_err(|e| e.to_string())?
                .connect()
                .await
                .map_err(|e| format!("connection {} failed: {e}", connections - left))?;
            let mut health = HealthClient::new(channel);
            health
                .check(HealthCheckRequest::default())
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(health)
        }))
        .await;
        for connection in opened {
            held.push(connection?);
        }
    }
    // Let the server finish with what the handshakes left behind.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss()?;
    drop(held);
    Ok(IdleReport {
        connections,
        rss_before_mib: mib(before),
        rss_after_mib: mib(after),
        kib_per_connection: after.saturating_sub(before) as f64 / 1024.0 / connections as f64,
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

#[derive(Debug, Clone, Serialize)]
struct Row {
    name: String,
    report: Report,
}

#[derive(Debug, Clone, Serialize)]
struct H2loadRow {
    name: String,
    report: H2loadReport,
}

/// Memory per idle connection, the service's beside the peer's, at the
/// same count.
#[derive(Debug, Clone, Serialize)]
struct IdleCompared {
    service: IdleReport,
    peer: IdleReport,
}

#[derive(Debug, Clone, Serialize)]
struct ColdStart {
    runs: usize,
    ready_ms: Summary,
    rss_at_ready_mib: Summary,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct Summary {
    median: f64,
    p90: f64,
    max: f64,
}

impl Summary {
    fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let at = |q| drive::nearest_rank(&values, q);
        Self {
            median: at(0.5),
            p90: at(0.9),
            max: at(1.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct Target {
    name: String,
    goal: String,
    measured: String,
    met: bool,
}

pub async fn run(args: SuiteArgs) -> Result<ExitCode, String> {
    let files_limit = procfs::raise_open_file_limit()
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    // The service, a child, inherits the limit; each end needs one
    // descriptor per connection.
    let most_idle = args.idle_connections.max(args.peer_idle_connections);
    if files_limit < most_idle as u64 + 1000 {
        return Err(format!(
            "the open-file limit is {files_limit}: too low for {most_idle} idle connections (raise `ulimit -Hn`)"
        ));
    }
    let binary = match args.service {
        Some(path) => path,
        None => default_service_binary()?,
    };
    let credentials = Credentials::new();
    let log = |name: &str| PathBuf::from(credentials.files.path(&format!("{name}.log")));
    let plan = |call, concurrency| Plan {
        call,
        concurrency,
        warm_up: args.warm_up,
        length: Length::Duration(args.duration),
    };
    let mut rows = Vec::new();
    let machine = machine();
    println!("{machine}\nservice: {}\n", binary.display());

    let backend = spawn_backend(Duration::ZERO)?;
    // Every service under load serves its metrics, to show it lost no line.
    let mut lines_lost = 0;
    let mut services = Vec::new();
    for auth in [Auth::Off, Auth::Jwt, Auth::Mtls] {
        let metrics = free_port()?;
        let service = Service::spawn(
            &binary,
            &backend.url,
            &credentials,
            auth,
            &log(&format!("service-{}", auth.name())),
            Some(metrics),
        )
        .await?;
        services.push((auth, service, metrics));
    }
    let direct = crate::direct_clients(&backend.url).await?;
    for concurrency in CONCURRENCIES {
        let connections = concurrency.div_ceil(CALLS_PER_CONNECTION);
        let backend_only = Watched {
            server: None,
            backend: Some(backend.process.pid()),
        };
        let report = drive::drive(&direct, &plan(Call::Direct, concurrency), &backend_only).await;
        record(&mut rows, format!("direct SDK, c={concurrency}"), report);
        for (auth, service, _) in &services {
            let clients = credentials.clients(*auth, service, connections).await?;
            let watched = Watched {
                server: Some(service.process.pid()),
                backend: Some(backend.process.pid()),
            };
            let report = drive::drive(&clients, &plan(Call::Stop, concurrency), &watched).await;
            record(
                &mut rows,
                format!("Stop, auth {}, c={concurrency}", auth.name()),
                report,
            );
            if *auth == Auth::Off {
                let report =
                    drive::drive(&clients, &plan(Call::Health, concurrency), &watched).await;
                record(&mut rows, format!("Health, c={concurrency}"), report);
            }
        }
    }
    for (_, _, metrics) in &services {
        lines_lost += h2load::lines_lost(*metrics)?;
    }
    drop(services);

    let peer_log = log("peer");
    let peer = match &args.peer_python {
        Some(python) => Some(spawn_peer(python, &backend.url, &peer_log).await?),
        None => {
            println!("no --peer-python: the peer's rows are skipped\n");
            None
        }
    };
    if let Some(peer) = &peer {
        for concurrency in CONCURRENCIES {
            let connections = concurrency.div_ceil(CALLS_PER_CONNECTION);
            let clients = Client::grpc(&peer.url(), connections, None, None).await?;
            let watched = Watched {
                server: Some(peer.process.pid()),
                backend: Some(backend.process.pid()),
            };
            let report = drive::drive(&clients, &plan(Call::Stop, concurrency), &watched).await;
            record(&mut rows, format!("peer: Stop, c={concurrency}"), report);
        }
    }

    let mut h2load_rows = Vec::new();
    if h2load::available(&args.h2load) {
        let dir = match args.out.as_deref().and_then(Path::parent) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from(credentials.files.path("")),
        };
        let stop = StopUserImportJobRequest {
            user_pool_id: drive::POOL.to_owned(),
            job_id: drive::JOB.to_owned(),
        };
        let stop_body = h2load::write_body(&dir, "h2load-stop.bin", &stop.encode_to_vec())?;
        let health_body = h2load::write_body(&dir, "h2load-health.bin", &[])?;
        let metrics = free_port()?;
        let service = Service::spawn(
            &binary,
            &backend.url,
            &credentials,
            Auth::Off,
            &log("service-h2load"),
            Some(metrics),
        )
        .await?;
        for concurrency in H2LOAD_CONCURRENCIES {
            let connections = concurrency.div_ceil(CALLS_PER_CONNECTION);
            let load = |addr, path, body| h2load::Load {
                h2load: &args.h2load,
                addr,
                path,
                body,
                connections,
                streams: concurrency / connections,
                warm_up: args.warm_up,
                duration: args.duration,
            };
            for (name, path, body) in [
                ("Stop, auth off", STOP_PATH, &stop_body),
                ("Health", HEALTH_CHECK_PATH, &health_body),
            ] {
                let report = h2load::run(
                    &load(service.addr, path, body),
                    service.process.pid(),
                    backend.process.pid(),
                    &|| h2load::service_codes(metrics, path),
                )?;
                record_h2load(
                    &mut h2load_rows,
                    format!("h2load: {name}, c={concurrency}"),
                    report,
                );
            }
            if let Some(peer) = &peer {
                let report = h2load::run(
                    &load(peer.addr, STOP_PATH, &stop_body),
                    peer.process.pid(),
                    backend.process.pid(),
                    &|| h2load::peer_codes(&peer_log, STOP_PATH),
                )?;
                record_h2load(
                    &mut h2load_rows,
                    format!("h2load: peer, Stop, c={concurrency}"),
                    report,
                );
            }
        }
        lines_lost += h2load::lines_lost(metrics)?;
    } else {
        println!(
            "{} does not run: the h2load rows are skipped\n",
            args.h2load.display()
        );
    }
    drop(peer);

    let slow = spawn_backend(SLOW_BACKEND)?;
    let slow_metrics = free_port()?;
    let service = Service::spawn(
        &binary,
        &slow.url,
        &credentials,
        Auth::Off,
        &log("service-slow"),
        Some(slow_metrics),
    )
    .await?;
    let connections = SLOW_CONCURRENCY.div_ceil(CALLS_PER_CONNECTION);
    let clients = credentials
        .clients(Auth::Off, &service, connections)
        .await?;
    let watched = Watched {
        server: Some(service.process.pid()),
        backend: Some(slow.process.pid()),
    };
    let report = drive::drive(&clients, &plan(Call::Stop, SLOW_CONCURRENCY), &watched).await;
    record(
        &mut rows,
        format!("Stop, 50 ms backend, c={SLOW_CONCURRENCY}"),
        report,
    );
    let direct_slow = crate::direct_clients(&slow.url).await?;
    let watched = Watched {
        server: None,
        backend: Some(slow.process.pid()),
    };
    let report = drive::drive(
        &direct_slow,
        &plan(Call::Direct, SLOW_CONCURRENCY),
        &watched,
    )
    .await;
    record(
        &mut rows,
        format!("direct SDK, 50 ms backend, c={SLOW_CONCURRENCY}"),
        report,
    );
    if let Some(python) = &args.peer_python {
        let peer = spawn_peer(python, &slow.url, &log("peer-slow")).await?;
        let clients = Client::grpc(&peer.url(), connections, None, None).await?;
        let watched = Watched {
            server: Some(peer.process.pid()),
            backend: Some(slow.process.pid()),
        };
        let report = drive::drive(&clients, &plan(Call::Stop, SLOW_CONCURRENCY), &watched).await;
        record(
            &mut rows,
            format!("peer: Stop, 50 ms backend, c={SLOW_CONCURRENCY}"),
            report,
        );
    }
    lines_lost += h2load::lines_lost(slow_metrics)?;
    drop((clients, direct_slow, service, slow));

    let mut ready_ms = Vec::new();
    let mut rss_at_ready = Vec::new();
    for _ in 0..args.cold_starts {
        let service = Service::spawn(
            &binary,
            &backend.url,
            &credentials,
            Auth::Off,
            &log("service-cold"),
            None,
        )
        .await?;
        ready_ms.push(service.ready_after.as_secs_f64() * 1e3);
        rss_at_ready.push(mib(
            procfs::rss_bytes(&service.process.pid().to_string()).map_err(|e| e.to_string())?
        ));
    }
    let cold_start = ColdStart {
        runs: args.cold_starts.into(),
        ready_ms: Summary::of(ready_ms),
        rss_at_ready_mib: Summary::of(rss_at_ready),
    };
    println!(
        "cold start, {} runs: ready (health SERVING) after {:.1} ms median, {:.1} p90, {:.1} max; RSS then {:.1} MiB median",
        cold_start.runs,
        cold_start.ready_ms.median,
        cold_start.ready_ms.p90,
        cold_start.ready_ms.max,
        cold_start.rss_at_ready_mib.median
    );

    let service = Service::spawn(
        &binary,
        &backend.url,
        &credentials,
        Auth::Off,
        &log("service-idle"),
        None,
    )
    .await?;
    let idle = hold_idle(&service.url(), args.idle_connections, service.process.pid()).await?;
    println!(
        "{} idle connections: server RSS {:.1} MiB before, {:.1} MiB after ({:.1} KiB each)\n",
        idle.connections, idle.rss_before_mib, idle.rss_after_mib, idle.kib_per_connection
    );
    drop(service);

    let idle_compared = match &args.peer_python {
        Some(python) => {
            let connections = args.peer_idle_connections;
            let service = Service::spawn(
                &binary,
                &backend.url,
                &credentials,
                Auth::Off,
                &log("service-idle-compared"),
                None,
            )
            .await?;
            let service_idle =
                hold_idle(&service.url(), connections, service.process.pid()).await?;
            drop(service);
            let peer = spawn_peer(python, &backend.url, &log("peer-idle")).await?;
            let peer_idle = hold_idle(&peer.url(), connections, peer.process.pid()).await?;
            drop(peer);
            println!(
                "{connections} idle connections, service beside peer: service {:.1} KiB each ({:.1} MiB before, {:.1} after), peer {:.1} KiB each ({:.1} MiB before, {:.1} after)\n",
                service_idle.kib_per_connection,
                service_idle.rss_before_mib,
                service_idle.rss_after_mib,
                peer_idle.kib_per_connection,
                peer_idle.rss_before_mib,
                peer_idle.rss_after_mib,
            );
            Some(IdleCompared {
                service: service_idle,
                peer: peer_idle,
            })
        }
        None => None,
    };

    let targets = targets(&rows, &h2load_rows, &cold_start, &idle, lines_lost);
    let summary = summary(&rows, &h2load_rows, &targets);
    println!("{summary}");
    if let Some(out) = &args.out {
        let all = json!({
            "machine": machine,
            "runs": rows,
            "cold_start": cold_start,
            "idle_connections": idle,
            "idle_connections_compared": idle_compared,
            "h2load_runs": h2load_rows,
            "targets": targets,
        });
        std::fs::write(
            out,
            serde_json::to_string_pretty(&all).expect("reports serialize"),
        )
        .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let failed: u64 = rows.iter().map(|row| row.report.failures()).sum();
    if failed > 0 {
        eprintln!("loadgen: {failed} calls did not end OK: the numbers above are not valid");
        return Ok(ExitCode::FAILURE);
    }
    let unverified: Vec<&str> = h2load_rows
        .iter()
        .filter(|row| !row.report.verified)
        .map(|row| row.name.as_str())
        .collect();
    if !unverified.is_empty() {
        eprintln!(
            "loadgen: the answers of {} are not all OK: their numbers are not valid",
            unverified.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn record(rows: &mut Vec<Row>, name: String, report: Report) {
    println!("{}\n", report.human(&name));
    rows.push(Row { name, report });
}

fn record_h2load(rows: &mut Vec<H2loadRow>, name: String, report: H2loadReport) {
    let r = &report;
    let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    println!(
        "{name}: {} x{} streams, {:.1} s: {} calls, {:.0} calls/s\n  \
         latency µs (h2load gives no percentiles): mean {:.0}  min {:.0}  max {:.0}  sd {:.0}\n  \
         answers: {}\n  \
         CPU µs/call: server {}  backend {}  h2load {}\n",
        r.connections,
        r.streams_per_connection,
        r.seconds,
        r.succeeded,
        r.calls_per_second,
        r.latency_us.mean,
        r.latency_us.min,
        r.latency_us.max,
        r.latency_us.sd,
        r.verdict,
        show(r.cpu_us_per_call.server),
        show(r.cpu_us_per_call.backend),
        show(r.cpu_us_per_call.loadgen),
    );
    rows.push(H2loadRow { name, report });
}

fn default_service_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("import-job-service"))
        .filter(|path| path.exists())
        .ok_or_else(|| {
            "no import-job-service beside target/<profile>/examples; build it or pass --service"
                .to_owned()
        })?;
    Ok(binary)
}

/// CPUs and their model, as the record needs them.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("machine: {cpus} CPUs, {model}")
}

fn find<'a>(rows: &'a [Row], name: &str) -> Option<&'a Report> {
    rows.iter()
        .find(|row| row.name == name)
        .map(|row| &row.report)
}

fn find_h2load<'a>(rows: &'a [H2loadRow], name: &str) -> Option<&'a H2loadReport> {
    rows.iter()
        .find(|row| row.name == name)
        .map(|row| &row.report)
}

/// The loadgen rows each peer row is compared with: the service's, at the
/// same concurrency and backend.
fn peer_pairs() -> Vec<(String, String, String)> {
    let mut pairs: Vec<_> = CONCURRENCIES
        .iter()
        .map(|c| {
            (
                format!("c={c}"),
                format!("Stop, auth off, c={c}"),
                format!("peer: Stop, c={c}"),
            )
        })
        .collect();
    pairs.push((
        format!("50 ms backend, c={SLOW_CONCURRENCY}"),
        format!("Stop, 50 ms backend, c={SLOW_CONCURRENCY}"),
        format!("peer: Stop, 50 ms backend, c={SLOW_CONCURRENCY}"),
    ));
    pairs
}

fn targets(
    rows: &[Row],
    h2load_rows: &[H2loadRow],
    cold: &ColdStart,
    idle: &IdleReport,
    lines_lost: u64,
) -> Vec<Target> {
    let mut targets = Vec::new();
    let mut add = |name: &str, goal: &str, measured: String, met: bool| {
        targets.push(Target {
            name: name.to_owned(),
            goal: goal.to_owned(),
            measured,
            met,
        })
    };
    let best = |prefix: &str| {
        CONCURRENCIES
            .iter()
            .filter_map(|c| find(rows, &format!("{prefix}, c={c}")))
            .map(|r| r.calls_per_second)
            .fold(0.0, f64::max)
    };
    let (stop, direct) = (best("Stop, auth off"), best("direct SDK"));
    let ratio = stop / direct;
    add(
        "Stop throughput at saturation / direct SDK throughput",
        ">= 0.8",
        format!("{ratio:.2} ({stop:.0} / {direct:.0} calls/s)"),
        ratio >= 0.8,
    );
    let h2load_stop = H2LOAD_CONCURRENCIES
        .iter()
        .filter_map(|c| find_h2load(h2load_rows, &format!("h2load: Stop, auth off, c={c}")))
        .map(|r| r.calls_per_second)
        .fold(0.0, f64::max);
    if h2load_stop > 0.0 {
        let ratio = h2load_stop / direct;
        add(
            "Stop throughput at saturation, driven by h2load / direct SDK throughput",
            ">= 0.8",
            format!("{ratio:.2} ({h2load_stop:.0} / {direct:.0} calls/s)"),
            ratio >= 0.8,
        );
    }
    let peer = best("peer: Stop");
    if peer > 0.0 {
        let ratio = stop / peer;
        add(
            "service throughput at saturation / the peer's",
            ">= 20",
            format!("{ratio:.1} ({stop:.0} / {peer:.0} calls/s)"),
            ratio >= 20.0,
        );
        let p99s: Vec<(String, f64)> = peer_pairs()
            .into_iter()
            .filter_map(|(label, service, peer)| {
                let (s, p) = (find(rows, &service)?, find(rows, &peer)?);
                Some((label, s.latency_us.p99 / p.latency_us.p99))
            })
            .collect();
        let worst = p99s.iter().map(|(_, r)| *r).fold(0.0, f64::max);
        let each: Vec<String> = p99s.iter().map(|(l, r)| format!("{l}: {r:.2}")).collect();
        add(
            "service p99 / the peer's p99, at each concurrency",
            "<= 0.10",
            each.join(", "),
            worst <= 0.1,
        );
    }
    // The SDK's own cost is the load generator's in a direct row: what the
    // service spends beyond it is the gRPC hop, the layers and the log line.
    let ours: Vec<String> = CONCURRENCIES
        .iter()
        .filter_map(|c| {
            let stop = find(rows, &format!("Stop, auth off, c={c}"))?;
            let direct = find(rows, &format!("direct SDK, c={c}"))?;
            let ours = stop.cpu_us_per_call.server? - direct.cpu_us_per_call.loadgen?;
            Some((c, ours))
        })
        .map(|(c, ours)| format!("c={c}: {ours:.0} µs"))
        .collect();
    let saturated: Vec<f64> = CONCURRENCIES[1..]
        .iter()
        .filter_map(|c| {
            let stop = find(rows, &format!("Stop, auth off, c={c}"))?;
            let direct = find(rows, &format!("direct SDK, c={c}"))?;
            Some(stop.cpu_us_per_call.server? - direct.cpu_us_per_call.loadgen?)
        })
        .collect();
    if !saturated.is_empty() {
        add(
            "service CPU per Stop - SDK CPU per direct call, under load (c >= 16)",
            "<= 60 µs",
            ours.join(", "),
            saturated.iter().all(|ours| *ours <= 60.0),
        );
    }
    add(
        "log lines lost (one JSON line per call, at info)",
        "0",
        lines_lost.to_string(),
        lines_lost == 0,
    );
    if let (Some(s), Some(d)) = (
        find(rows, "Stop, auth off, c=1"),
        find(rows, "direct SDK, c=1"),
    ) {
        let p50 = s.latency_us.p50 - d.latency_us.p50;
        let p99 = s.latency_us.p99 - d.latency_us.p99;
        add(
            "latency added at c=1, median",
            "<= 100 µs",
            format!("{p50:.0} µs"),
            p50 <= 100.0,
        );
        add(
            "latency added at c=1, p99",
            "<= 500 µs",
            format!("{p99:.0} µs"),
            p99 <= 500.0,
        );
    }
    if let Some(slow) = find(rows, &format!("Stop, 50 ms backend, c={SLOW_CONCURRENCY}")) {
        let bound = SLOW_CONCURRENCY as f64 / SLOW_BACKEND.as_secs_f64();
        let share = slow.calls_per_second / bound;
        add(
            "50 ms backend, 200 in flight: share of Little's law bound",
            ">= 0.90",
            format!(
                "{share:.3} ({:.0} of {bound:.0} calls/s)",
                slow.calls_per_second
            ),
            share >= 0.9,
        );
    }
    add(
        "idle resident memory",
        "< 20 MiB",
        format!("{:.1} MiB", idle.rss_before_mib),
        idle.rss_before_mib < 20.0,
    );
    add(
        &format!("resident memory with {} idle connections", idle.connections),
        "< 64 MiB",
        format!("{:.1} MiB", idle.rss_after_mib),
        idle.rss_after_mib < 64.0,
    );
    add(
        "cold start to health SERVING, median",
        "< 100 ms",
        format!(
            "{:.1} ms (max {:.1})",
            cold.ready_ms.median, cold.ready_ms.max
        ),
        cold.ready_ms.median < 100.0,
    );
    targets
}

/// The tables BENCHMARKS.md records.
fn summary(rows: &[Row], h2load_rows: &[H2loadRow], targets: &[Target]) -> String {
    let mut out = String::from(
        "| run | calls/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | CPU µs/call: server | backend | loadgen |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let show = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
    for row in rows {
        let r = &row.report;
        let l = &r.latency_us;
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {} |\n",
            row.name,
            r.calls_per_second,
            l.p50,
            l.p90,
            l.p99,
            l.p99_9,
            l.max,
            show(r.cpu_us_per_call.server),
            show(r.cpu_us_per_call.backend),
            show(r.cpu_us_per_call.loadgen),
        ));
    }
    out.push_str(
        "\n| c | Stop / direct calls/s | Stop p50 − direct p50 | Stop / Health calls/s | JWT / off | mTLS / off | service CPU per Stop / SDK CPU per direct call |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for c in CONCURRENCIES {
        let get = |name: &str| find(rows, &format!("{name}, c={c}"));
        let (Some(stop), Some(direct), Some(health), Some(jwt), Some(mtls)) = (
            get("Stop, auth off"),
            get("direct SDK"),
            get("Health"),
            get("Stop, auth JWT"),
            get("Stop, auth mTLS"),
        ) else {
            continue;
        };
        let cpu_ratio = match (stop.cpu_us_per_call.server, direct.cpu_us_per_call.loadgen) {
            (Some(s), Some(d)) if d > 0.0 => format!("{:.2}", s / d),
            _ => "–".to_owned(),
        };
        out.push_str(&format!(
            "| {c} | {:.2} | {:.0} µs | {:.2} | {:.2} | {:.2} | {cpu_ratio} |\n",
            stop.calls_per_second / direct.calls_per_second,
            stop.latency_us.p50 - direct.latency_us.p50,
            stop.calls_per_second / health.calls_per_second,
            jwt.calls_per_second / stop.calls_per_second,
            mtls.calls_per_second / stop.calls_per_second,
        ));
    }
    out.push_str(&peer_summary(rows));
    out.push_str(&h2load_summary(rows, h2load_rows));
    out.push_str("\n| target | goal | measured | met |\n|---|---|---|---|\n");
    for t in targets {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            t.name,
            t.goal,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        ));
    }
    out
}

/// The service beside the peer, each row at the same load.
fn peer_summary(rows: &[Row]) -> String {
    let mut out = String::from(
        "\n| load | service / peer calls/s | peer p99 / service p99 | peer CPU per call / service CPU per call |\n\
         |---|---:|---:|---:|\n",
    );
    let mut any = false;
    for (label, service, peer) in peer_pairs() {
        let (Some(s), Some(p)) = (find(rows, &service), find(rows, &peer)) else {
            continue;
        };
        any = true;
        let cpu = match (s.cpu_us_per_call.server, p.cpu_us_per_call.server) {
            (Some(s), Some(p)) if s > 0.0 => format!("{:.1}", p / s),
            _ => "–".to_owned(),
        };
        out.push_str(&format!(
            "| {label} | {:.1} | {:.1} | {cpu} |\n",
            s.calls_per_second / p.calls_per_second,
            p.latency_us.p99 / s.latency_us.p99,
        ));
    }
    if any { out } else { String::new() }
}

/// The h2load rows, and how they compare with the same loads driven by this
/// load generator.
fn h2load_summary(rows: &[Row], h2load_rows: &[H2loadRow]) -> String {
    if h2load_rows.is_empty() {
        return String::new();
    }
    let show = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
    let mut out = String::from(
        "\n| h2load run (no percentiles) | connections × streams | calls/s | mean µs | max µs | CPU µs/call: server | backend | h2load | answers |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for row in h2load_rows {
        let r = &row.report;
        let answers = if r.verified {
            let list = |codes: &h2load::Codes| {
                let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
                if codes.is_empty() {
                    "nothing".to_owned()
                } else {
                    codes.join(", ")
                }
            };
            format!(
                "all OK (server counted {}; as h2load ended {})",
                list(&r.server_codes),
                list(&r.server_codes_at_end)
            )
        } else {
            format!("**not all OK**: {}", r.verdict)
        };
        out.push_str(&format!(
            "| {} | {} × {} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {answers} |\n",
            row.name,
            r.connections,
            r.streams_per_connection,
            r.calls_per_second,
            r.latency_us.mean,
            r.latency_us.max,
            show(r.cpu_us_per_call.server),
            show(r.cpu_us_per_call.backend),
            show(r.cpu_us_per_call.loadgen),
        ));
    }
    out.push_str(
        "\n| c | h2load Stop / loadgen Stop calls/s | h2load Stop / direct SDK | h2load Health / loadgen Health | service / peer, both by h2load |\n\
         |---:|---:|---:|---:|---:|\n",
    );
    for c in H2LOAD_CONCURRENCIES {
        let h2 = |name: &str| find_h2load(h2load_rows, &format!("h2load: {name}, c={c}"));
        let lg = |name: &str| find(rows, &format!("{name}, c={c}"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "–".to_owned(),
        };
        let h2_stop = h2("Stop, auth off").map(|r| r.calls_per_second);
        out.push_str(&format!(
            "| {c} | {} | {} | {} | {} |\n",
            ratio(h2_stop, lg("Stop, auth off").map(|r| r.calls_per_second)),
            ratio(h2_stop, lg("direct SDK").map(|r| r.calls_per_second)),
            ratio(
                h2("Health").map(|r| r.calls_per_second),
                lg("Health").map(|r| r.calls_per_second)
            ),
            ratio(h2_stop, h2("peer, Stop").map(|r| r.calls_per_second)),
        ));
    }
    out
}
