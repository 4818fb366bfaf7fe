//! The closed loop: `concurrency` workers, each with one call in flight at a
//! time, spread over the connections given, for a warm-up and then a measured
//! window. Every answer is checked, not only counted.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use import_job_service::{
    cognito::Cognito,
    error::code_name,
    proto::{
        StopUserImportJobRequest, UserImportJobStatus,
        import_job_service_client::ImportJobServiceClient,
    },
    validation::JobRequest,
};
use serde::Serialize;
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    transport::{Channel, ClientTlsConfig},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::procfs;

/// The pool and job every call names; the benchmark backend stops any job.
pub const POOL: &str = "us-east-1_Bench";
pub const JOB: &str = "import-bench";

/// What each call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Call {
    /// ImportJobService/StopUserImportJob through the service.
    Stop,
    /// grpc.health.v1.Health/Check on the same server: the stack's floor.
    Health,
    /// The AWS SDK stopping the job at the backend itself, no gRPC hop.
    Direct,
}

/// One connection's worth of client.
#[derive(Clone)]
pub enum Client {
    Grpc {
        stop: ImportJobServiceClient<Channel>,
        health: HealthClient<Channel>,
        authorization: Option<MetadataValue<Ascii>>,
    },
    /// The SDK, built as the service builds it, with its own connection pool.
    Direct(Cognito, Arc<JobRequest>),
}

impl Client {
    /// `connections` HTTP/2 connections to `target`, each opened now.
    pub async fn grpc(
        target: &str,
        connections: usize,
        tls: Option<ClientTlsConfig>,
        token: Option<&str>,
    ) -> Result<Vec<Self>, String> {
        let authorization = token
            .map(|token| format!("Bearer {token}").parse())
            .transpose()
            .map_err(|_| "the token is not a valid header value".to_owned())?;
        let mut clients = Vec::with_capacity(connections);
        for _ in 0..connections {
            let mut endpoint =
                Channel::from_shared(target.to_owned()).map_err(|e| format!("{target}: {e}"))?;
            if let Some(tls) = &tls {
                endpoint = endpoint
                    .tls_config(tls.clone())
                    .map_err(|e| format!("TLS: {e}"))?;
            }
            let channel = endpoint
                .connect()
                .await
                .map_err(|e| format!("cannot connect to {target}: {e}"))?;
            clients.push(Client::Grpc {
                stop: ImportJobServiceClient::new(channel.clone()),
                health: HealthClient::new(channel),
                authorization: authorization.clone(),
            });
        }
        Ok(clients)
    }

    /// Makes one call; answers the code it ended with, or `WRONG_ANSWER`
    /// for a success that did not say what it should.
    async fn call(&mut self, call: Call) -> &'static str {
        match (self, call) {
            (
                Client::Grpc {
                    stop,
                    authorization,
                    ..
                },
                Call::Stop,
            ) => {
                let mut request = Request::new(StopUserImportJobRequest {
                    user_pool_id: POOL.to_owned(),
                    job_id: JOB.to_owned(),
                });
                if let Some(authorization) = authorization {
                    request
                        .metadata_mut()
                        .insert("authorization", authorization.clone());
                }
                match stop.stop_user_import_job(request).await {
                    Ok(response) => stopped(
                        response
                            .into_inner()
                            .user_import_job
                            .map(|job| job.status()),
                    ),
                    Err(status) => code_name(status.code()),
                }
            }
            (Client::Grpc { health, .. }, Call::Health) => {
                match health.check(HealthCheckRequest::default()).await {
                    Ok(response) if response.get_ref().status() == ServingStatus::Serving => "OK",
                    Ok(_) => "NOT_SERVING",
                    Err(status) => code_name(status.code()),
                }
            }
            (Client::Direct(cognito, request), Call::Direct) => {
                match cognito
                    .stop_user_import_job(request.user_pool_id.region_prefix().to_owned(), request)
                    .await
                {
                    Ok(stopped_job) => stopped(Some(stopped_job.answer.status())),
                    Err(error) => error.failure.name(),
                }
            }
            _ => "CLIENT_MISMATCH",
        }
    }
}

fn stopped(status: Option<UserImportJobStatus>) -> &'static str {
    if status == Some(UserImportJobStatus::Stopped) {
        "OK"
    } else {
        "WRONG_ANSWER"
    }
}

/// How long, and how many at once.
#[derive(Debug, Clone)]
pub struct Plan {
    pub call: Call,
    pub concurrency: usize,
    pub warm_up: Duration,
    pub length: Length,
}

/// When the measured window ends.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    Duration(Duration),
    /// After this many calls have started in it.
    Calls(u64),
}

/// The processes whose CPU and memory the report gives, by pid.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    pub server: Option<u32>,
    pub backend: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub call: Call,
    pub concurrency: usize,
    pub connections: usize,
    pub seconds: f64,
    pub calls: u64,
    pub calls_per_second: f64,
    pub latency_us: Latency,
    pub codes: BTreeMap<String, u64>,
    /// CPU time per call in the measured window, in microseconds.
    pub cpu_us_per_call: PerProcess,
    /// Resident memory at the end of the window, in MiB.
    pub rss_mib: PerProcess,
    /// Share of all the machine's CPUs busy in the window, any process.
    pub machine_busy_percent: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PerProcess {
    pub server: Option<f64>,
    pub backend: Option<f64>,
    pub loadgen: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// From latencies in nanoseconds.
    fn of(mut nanos: Vec<u64>) -> Self {
        if nanos.is_empty() {
            return Self::default();
        }
        nanos.sort_unstable();
        let at = |q| nearest_rank(&nanos, q) as f64 / 1e3;
        Self {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p99_9: at(0.999),
            max: at(1.0),
            mean: nanos.iter().sum::<u64>() as f64 / nanos.len() as f64 / 1e3,
        }
    }
}

/// The value at quantile `q` of `sorted`, which is not empty: the nearest
/// rank, so every percentile reported is a value that was measured.
pub fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A reading of everything watched.
struct Snapshot {
    at: Instant,
    server: Option<procfs::Usage>,
    backend: Option<procfs::Usage>,
    loadgen: Option<procfs::Usage>,
    machine: Option<(u64, u64)>,
}

impl Snapshot {
    fn take(watched: &Watched) -> Self {
        let of = |pid: Option<u32>| pid.and_then(|pid| procfs::usage(&pid.to_string()).ok());
        Self {
            at: Instant::now(),
            server: of(watched.server),
            backend: of(watched.backend),
            loadgen: procfs::usage("self").ok(),
            machine: procfs::machine_ticks().ok(),
        }
    }
}

/// Runs `plan` over `clients` (workers take them in turn) and reports on
/// the measured window.
pub async fn drive(clients: &[Client], plan: &Plan, watched: &Watched) -> Report {
    let started = Instant::now();
    let measure_from = started + plan.warm_up;
    let (end, budget) = match plan.length {
        Length::Duration(duration) => (measure_from + duration, u64::MAX),
        // A day: the budget ends it first.
        Length::Calls(calls) => (measure_from + Duration::from_secs(86_400), calls),
    };
    let started_in_window = Arc::new(AtomicU64::new(0));
    let mut workers: Vec<_> = (0..plan.concurrency)
        .map(|i| {
            let mut client = clients[i % clients.len()].clone();
            let call = plan.call;
            let started_in_window = Arc::clone(&started_in_window);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut codes = BTreeMap::<&'static str, u64>::new();
                loop {
                    let began = Instant::now();
                    if began >= end
                        || (began >= measure_from
                            && started_in_window.fetch_add(1, Ordering::Relaxed) >= budget)
                    {
                        break;
                    }
                    let code = client.call(call).await;
                    if began >= measure_from {
                        latencies.push(began.elapsed().as_nanos() as u64);
                        *codes.entry(code).or_default() += 1;
                    }
                }
                (latencies, codes)
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let first = Snapshot::take(watched);
    let mut finished = Vec::with_capacity(workers.len());
    if let Length::Calls(_) = plan.length {
        for worker in workers.drain(..) {
            finished.push(worker.await.expect("workers do not panic"));
        }
    } else {
        tokio::time::sleep_until(end.into()).await;
    }
    let last = Snapshot::take(watched);
    for worker in workers {
        finished.push(worker.await.expect("workers do not panic"));
    }

    let mut latencies = Vec::new();
    let mut codes = BTreeMap::new();
    for (worker_latencies, worker_codes) in finished {
        latencies.extend(worker_latencies);
        for (code, n) in worker_codes {
            *codes.entry(code.to_owned()).or_default() += n;
        }
    }
    let calls = latencies.len() as u64;
    let seconds = (last.at - first.at).as_secs_f64();
    let per_call = |a: Option<procfs::Usage>, b: Option<procfs::Usage>| {
        let (a, b) = (a?, b?);
        (calls > 0).then(|| (b.cpu - a.cpu).as_secs_f64() * 1e6 / calls as f64)
    };
    let mib = |usage: Option<procfs::Usage>| usage.map(|u| u.rss_bytes as f64 / 1048576.0);
    let machine_busy_percent = match (first.machine, last.machine) {
        (Some((busy_a, total_a)), Some((busy_b, total_b))) if total_b > total_a => {
            100.0 * (busy_b - busy_a) as f64 / (total_b - total_a) as f64
        }
        _ => 0.0,
    };
    Report {
        call: plan.call,
        concurrency: plan.concurrency,
        connections: clients.len(),
        seconds,
        calls,
        calls_per_second: calls as f64 / seconds,
        latency_us: Latency::of(latencies),
        codes,
        cpu_us_per_call: PerProcess {
            server: per_call(first.server, last.server),
            backend: per_call(first.backend, last.backend),
            loadgen: per_call(first.loadgen, last.loadgen),
        },
        rss_mib: PerProcess {
            server: mib(last.server),
            backend: mib(last.backend),
            loadgen: mib(last.loadgen),
        },
        machine_busy_percent,
    }
}

impl Report {
    /// Two lines and a half for a person.
    pub fn human(&self, label: &str) -> String {
        let l = &self.latency_us;
        let codes: Vec<String> = self.codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        format!(
            "{label}: {:?} x{} over {} connection(s), {:.1} s: {} calls, {:.0} calls/s\n  \
             latency µs: p50 {:.0}  p90 {:.0}  p99 {:.0}  p99.9 {:.0}  max {:.0}\n  \
             codes: {}\n  \
             CPU µs/call: server {}  backend {}  loadgen {};  RSS MiB: server {}  backend {};  machine busy {:.0}%",
            self.call,
            self.concurrency,
            self.connections,
            self.seconds,
            self.calls,
            self.calls_per_second,
            l.p50,
            l.p90,
            l.p99,
            l.p99_9,
            l.max,
            codes.join(", "),
            show(self.cpu_us_per_call.server),
            show(self.cpu_us_per_call.backend),
            show(self.cpu_us_per_call.loadgen),
            show(self.rss_mib.server),
            show(self.rss_mib.backend),
            self.machine_busy_percent,
        )
    }

    /// Calls that did not end OK.
    pub fn failures(&self) -> u64 {
        self.codes
            .iter()
            .filter(|(code, _)| *code != "OK")
            .map(|(_, n)| n)
            .sum()
    }
}
