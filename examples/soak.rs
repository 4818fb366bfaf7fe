//! Soak: the service under steady load for a bounded time, with about 1% of
//! calls meeting a Cognito fault. Not a test CI runs; see SOAK.md.
//!
//! ```sh
//! cargo run --release --example soak -- --duration 5m
//! ```
//!
//! It builds the service in this process on the embedded emulator (as
//! `--local-cognito` does), calls it with the generated client over a real
//! socket, and, for each call, decides whether Cognito misbehaves for it:
//! the fault is injected for that call's job only, so every answer can be
//! judged against what is right for its fault. At the end it reports calls
//! by status and by fault, wrong answers, hung calls and memory, and exits 1
//! if any answer was wrong, any call hung or was left in flight at the
//! emulator, the server did not shut down cleanly, or memory in use at rest
//! grew by 10% or more after the warm-up.

use std::{
    collections::BTreeMap,
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::Parser;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use import_job_service::{
    configuration::Settings,
    emulator::{DEMO_POOL, Emulator, Fault, Job, JobStatus, Timings},
    error::code_name,
    proto::{
        StopUserImportJobRequest, UserImportJobStatus,
        import_job_service_client::ImportJobServiceClient,
    },
    startup::Application,
    telemetry,
};
use tokio::{sync::oneshot, time::MissedTickBehavior};
use tonic::{Code, Request};
use tonic_types::StatusExt;

/// Runs the service under steady load with injected Cognito faults and
/// reports what callers got.
#[derive(Debug, Parser)]
#[command(name = "soak")]
struct Args {
    /// How long to run, warm-up included.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    duration: Duration,

    /// How long to run before taking the starting memory measurement.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    warm_up: Duration,

    /// Calls per second, all callers together.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,

    /// Callers, each with one call in flight at most.
    #[arg(long, default_value_t = 16)]
    callers: usize,

    /// Share of calls that meet a Cognito fault.
    #[arg(long, default_value_t = 0.01)]
    fault_rate: f64,

    /// Each call's deadline (grpc-timeout).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    deadline: Duration,

    /// How long past its deadline a call may go unanswered before it counts
    /// as hung.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    margin: Duration,

    /// Seed for choosing faults (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,

    /// How often to print progress.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    report_every: Duration,

    /// Leave glibc's allocator as it is by default, which keeps a large
    /// block freed at the top of a thread's arena for later (see SOAK.md);
    /// without this flag, blocks of 1 MiB and more are mapped and unmapped
    /// on their own, so that memory measured is memory in use.
    #[arg(long)]
    default_malloc: bool,

    /// Flags for the service, after `--` (they override the soak's own).
    #[arg(last = true)]
    service_flags: Vec<String>,
}

/// The service's flags: retries on (3 attempts, as by default) with a short
/// backoff, so that a fault that persists through every attempt is answered
/// well within the deadline; and the limits that would refuse part of this
/// load on purpose (`--cognito-rate` is 10 calls a second by default) raised,
/// so that every call reaches Cognito.
const SERVICE_FLAGS: &[&str] = &[
    "import-job-service",
    "--local-cognito",
    "--insecure-allow-unauthenticated",
    "--listen",
    "127.0.0.1:0",
    "--log-format",
    "json",
    "--aws-max-attempts",
    "3",
    "--aws-initial-backoff",
    "50ms",
    "--cognito-rate",
    "100000",
    "--cognito-burst",
    "100000",
    "--max-calls-in-flight-per-caller",
    "1024",
];

/// What Cognito does to a call, and what answer is right for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Healthy,
    Slow,
    Hang,
    Reset,
    Dropped,
    Http500,
    Throttled,
    MalformedJson,
    Truncated,
    WrongContentType,
    Oversized,
    UnknownError,
}

const FAULTS: [Kind; 11] = [
    Kind::Slow,
    Kind::Hang,
    Kind::Reset,
    Kind::Dropped,
    Kind::Http500,
    Kind::Throttled,
    Kind::MalformedJson,
    Kind::Truncated,
    Kind::WrongContentType,
    Kind::Oversized,
    Kind::UnknownError,
];

/// The right answer: the stopped job, or this code and ErrorInfo reason
/// with the job left running.
type Expected = Result<(), (Code, &'static str)>;

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Healthy => "none",
            Kind::Slow => "slow answer (300 ms)",
            Kind::Hang => "no answer",
            Kind::Reset => "connection reset",
            Kind::Dropped => "connection closed",
            Kind::Http500 => "HTTP 500",
            Kind::Throttled => "throttled",
            Kind::MalformedJson => "malformed JSON",
            Kind::Truncated => "truncated body",
            Kind::WrongContentType => "HTML, not JSON",
            Kind::Oversized => "10 MiB answer",
            Kind::UnknownError => "unknown AWS error",
        }
    }

    /// The fault, which every attempt of the call meets (the SDK retries).
    fn fault(self) -> Option<Fault> {
        Some(match self {
            Kind::Healthy => return None,
            Kind::Slow => Fault::Delay(Duration::from_millis(300)),
            Kind::Hang => Fault::Hang,
            Kind::Reset => Fault::ResetConnection,
            Kind::Dropped => Fault::DropConnection,
            Kind::Http500 => Fault::error("InternalErrorException", "Internal error."),
            Kind::Throttled => Fault::error("TooManyRequestsException", "Rate exceeded"),
            Kind::MalformedJson => Fault::MalformedBody,
            Kind::Truncated => Fault::TruncatedBody,
            Kind::WrongContentType => Fault::html_page(200),
            Kind::Oversized => Fault::OversizedBody {
                bytes: 10 * 1024 * 1024,
                chunked: false,
            },
            Kind::UnknownError => Fault::error("QuantumEntanglementException", "Spooky."),
        })
    }

    /// The job's status at Cognito after the error answer: untouched,
    /// unless Cognito did stop it and only its answer failed to arrive.
    fn job_after_error(self) -> &'static str {
        match self {
            Kind::Oversized => "Stopped",
            _ => "InProgress",
        }
    }

    /// The error table's answer (README, src/error.rs).
    fn expected(self) -> Expected {
        match self {
            Kind::Healthy | Kind::Slow => Ok(()),
            // Over the 1 MiB the service reads of an answer (cognito.rs).
            Kind::Oversized => Err((Code::Unavailable, "COGNITO_RESPONSE_TOO_LARGE")),
            Kind::Hang => Err((Code::DeadlineExceeded, "DEADLINE_EXCEEDED")),
            // A connection that closes mid-answer is a transport failure
            // (cognito.rs), however much of the answer came first.
            Kind::Reset | Kind::Dropped | Kind::Truncated => {
                Err((Code::Unavailable, "COGNITO_UNREACHABLE"))
            }
            Kind::Http500 => Err((Code::Unavailable, "COGNITO_UNAVAILABLE")),
            Kind::Throttled => Err((Code::ResourceExhausted, "THROTTLED")),
            Kind::MalformedJson | Kind::WrongContentType => {
                Err((Code::Unavailable, "COGNITO_RESPONSE_UNPARSEABLE"))
            }
            Kind::UnknownError => Err((Code::Unknown, "UNKNOWN_AWS_ERROR")),
        }
    }
}

type Http2 = Client<HttpConnector, tonic::body::Body>;

/// What one caller needs.
#[derive(Clone)]
struct Rig {
    emulator: Emulator,
    client: ImportJobServiceClient<Http2>,
    deadline: Duration,
    margin: Duration,
    stats: Arc<Mutex<Stats>>,
    /// Held shared by every call; held exclusively to measure memory at
    /// rest, with no call in flight.
    gate: Arc<tokio::sync::RwLock<()>>,
}

#[derive(Default)]
struct Stats {
    by_code: BTreeMap<String, u64>,
    by_kind: BTreeMap<Kind, KindStats>,
    wrong: u64,
    wrong_examples: Vec<String>,
    hung: u64,
    cognito_attempts: u64,
}

#[derive(Default)]
struct KindStats {
    calls: u64,
    wrong: u64,
    total_latency: Duration,
    max_latency: Duration,
}

impl Stats {
    fn calls(&self) -> u64 {
        self.by_kind.values().map(|k| k.calls).sum()
    }

    fn faults(&self) -> u64 {
        self.by_kind
            .iter()
            .filter(|(kind, _)| **kind != Kind::Healthy)
            .map(|(_, k)| k.calls)
            .sum()
    }
}

impl Rig {
    /// One call on `job_id` meeting `kind`, judged and counted.
    async fn call(&self, job_id: &str, kind: Kind) {
        let _running = self.gate.read().await;
        self.emulator
            .put_job(Job::in_status(DEMO_POOL, job_id, JobStatus::InProgress));
        if let Some(fault) = kind.fault() {
            self.emulator.inject_for_job(job_id, fault);
        }
        let mut request = Request::new(StopUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: job_id.to_owned(),
        });
        request.set_timeout(self.deadline);
        let mut client = self.client.clone();
        let started = Instant::now();
        let answer = tokio::time::timeout(
            self.deadline + self.margin,
            client.stop_user_import_job(request),
        )
        .await;
        let latency = started.elapsed();
        self.emulator.clear_job_fault(job_id);

        let (code, verdict) = match answer {
            Err(_) => ("HUNG".to_owned(), Err("no answer".to_owned())),
            Ok(answer) => {
                let code = match &answer {
                    Ok(_) => Code::Ok,
                    Err(status) => status.code(),
                };
                let job_status = self
                    .emulator
                    .job(DEMO_POOL, job_id)
                    .map(|job| job.status)
                    .unwrap_or_default();
                let verdict = match (kind.expected(), answer) {
                    (Ok(()), Ok(response)) => {
                        let job = response.into_inner().user_import_job.unwrap_or_default();
                        if job.job_id == job_id
                            && job.status() == UserImportJobStatus::Stopped
                            && job_status == "Stopped"
                        {
                            Ok(())
                        } else {
                            Err(format!(
                                "answered job {:?} status {:?}, Cognito holds {job_status}",
                                job.job_id,
                                job.status()
                            ))
                        }
                    }
                    (Err((code, reason)), Err(status)) => {
                        let details = status.get_error_details();
                        let got = details.error_info().map(|i| i.reason.as_str());
                        if status.code() == code
                            && got == Some(reason)
                            && job_status == kind.job_after_error()
                        {
                            Ok(())
                        } else {
                            Err(format!(
                                "answered {:?} {got:?} ({}), Cognito holds {job_status}",
                                status.code(),
                                status.message()
                            ))
                        }
                    }
                    (_, Ok(_)) => Err("answered the job".to_owned()),
                    (_, Err(status)) => Err(format!(
                        "answered {:?}: {}",
                        status.code(),
                        status.message()
                    )),
                };
                (code_name(code).to_owned(), verdict)
            }
        };

        let mut stats = self.stats.lock().unwrap();
        *stats.by_code.entry(code.clone()).or_default() += 1;
        let per_kind = stats.by_kind.entry(kind).or_default();
        per_kind.calls += 1;
        per_kind.total_latency += latency;
        per_kind.max_latency = per_kind.max_latency.max(latency);
        if code == "HUNG" {
            stats.hung += 1;
        }
        if let Err(why) = verdict {
            stats.by_kind.entry(kind).or_default().wrong += 1;
            stats.wrong += 1;
            if stats.wrong_examples.len() < 20 {
                stats.wrong_examples.push(format!(
                    "{job_id} with {}: {why} after {latency:?}",
                    kind.name()
                ));
            }
        }
    }
}

/// xorshift64*: enough to pick faults, and repeatable with `--seed`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// This process's resident memory, from `/proc/self/status`.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Has glibc's allocator map every block of 1 MiB or more on its own and
/// unmap it when freed, instead of raising that threshold as large blocks
/// come and go and keeping them in its arenas. False where there is no such
/// setting.
fn unmap_large_blocks() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_MMAP_THRESHOLD: i32 = -3;
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: glibc's mallopt takes no pointer; called before any thread
        // of ours allocates.
        unsafe { mallopt(M_MMAP_THRESHOLD, 1024 * 1024) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// Hands the memory the allocator holds free back to the system (glibc's
/// `malloc_trim`), so that resident memory measured right after counts what
/// is in use, not what the allocator keeps for later. False where there is
/// no such call.
fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim takes no pointer and is thread-safe.
        unsafe { malloc_trim(0) };
        true
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// Resident memory as measured (`resident`), and right after the allocator
/// handed back what it held free (`in_use`).
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    resident: u64,
    in_use: u64,
}

fn measure_memory() -> Memory {
    let resident = resident_bytes().unwrap_or_default();
    let in_use = if release_free_memory() {
        resident_bytes().unwrap_or_default()
    } else {
        resident
    };
    Memory { resident, in_use }
}

/// Memory at rest: the calls in flight answered, new ones held back
/// while it is measured.
async fn at_rest(rig: &Rig) -> Memory {
    let _pause = rig.gate.write().await;
    // Let the connections' tasks finish with the last answers.
    tokio::time::sleep(Duration::from_millis(100)).await;
    measure_memory()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The service's settings: the soak's flags, then the caller's.
fn settings(extra: &[String]) -> Result<Settings, clap::Error> {
    Settings::try_parse_from(
        SERVICE_FLAGS
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str)),
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    let allocator = if args.default_malloc {
        "glibc's defaults"
    } else if unmap_large_blocks() {
        "blocks of 1 MiB and more unmapped when freed"
    } else {
        "as it is (no glibc)"
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(soak(args, allocator))
}

async fn soak(args: Args, allocator: &str) -> ExitCode {
    let settings = match settings(&args.service_flags) {
        Ok(settings) => settings,
        Err(error) => error.exit(),
    };
    // The service logs every call as it would in production, into nothing.
    telemetry::init(&settings.log, false, std::io::sink).expect("one subscriber");
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });

    let app = Application::build(&settings)
        .await
        .expect("the service starts");
    let emulator = app.emulator().expect("--local-cognito").clone();
    // Stops answer the final job (Stopped), which the verdicts check.
    emulator.set_timings(Timings::immediate());
    let addr = app.local_addr();
    let (stop_server, server_stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = server_stopped.await;
    }));

    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let http2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(connector);
    let origin = format!("http://{addr}").parse().expect("a valid origin");
    let rig = Rig {
        emulator: emulator.clone(),
        client: ImportJobServiceClient::with_origin(http2, origin),
        deadline: args.deadline,
        margin: args.margin,
        stats: Arc::default(),
        gate: Arc::default(),
    };

    println!(
        "soak: {} at {} calls/s from {} callers, deadline {}, {}% of calls with a Cognito fault, seed {seed}",
        humantime::format_duration(args.duration),
        args.rate,
        args.callers,
        humantime::format_duration(args.deadline),
        args.fault_rate * 100.0,
    );
    println!("  faults: {}", FAULTS.map(Kind::name).join(", "));
    println!("  allocator: {allocator}");

    // Every fault twice before the clock starts, so that what a first
    // meeting allocates once is in the baseline; then the largest answers
    // from every caller at once, twice, so that each of the allocator's
    // arenas has held one (glibc keeps what it freed for the next time).
    for kind in FAULTS.iter().chain(&FAULTS) {
        rig.call("import-soak-primer", *kind).await;
    }
    for _ in 0..2 {
        let primers: Vec<_> = (0..args.callers)
            .map(|caller| {
                let rig = rig.clone();
                tokio::spawn(async move {
                    rig.call(&format!("import-soak-{caller}"), Kind::Oversized)
                        .await
                })
            })
            .collect();
        for primer in primers {
            primer.await.expect("a primer call ran");
        }
    }
    let primed = std::mem::take(&mut *rig.stats.lock().unwrap());
    println!(
        "  primed: {} calls, every fault twice and the 10 MiB answer from every caller at once, twice; {} wrong, {} hung",
        primed.calls(),
        primed.wrong,
        primed.hung
    );
    for example in &primed.wrong_examples {
        println!("    {example}");
    }

    let started = Instant::now();
    let end = started + args.duration;
    let period = Duration::from_secs_f64(args.callers as f64 / args.rate);
    let callers: Vec<_> = (0..args.callers)
        .map(|caller| {
            let rig = rig.clone();
            let mut rng = Rng::new(seed.wrapping_add(caller as u64 * 0x9e37_79b9));
            let fault_rate = args.fault_rate;
            // Callers start spread over one period.
            let first =
                tokio::time::Instant::now() + period.mul_f64(caller as f64 / args.callers as f64);
            tokio::spawn(async move {
                let job_id = format!("import-soak-{caller}");
                let mut ticks = tokio::time::interval_at(first, period);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    if Instant::now() >= end {
                        break;
                    }
                    let kind = if rng.unit() < fault_rate {
                        FAULTS[(rng.next() % FAULTS.len() as u64) as usize]
                    } else {
                        Kind::Healthy
                    };
                    rig.call(&job_id, kind).await;
                }
            })
        })
        .collect();

    // Progress, the memory measurements, and the emulator's call record
    // kept from growing.
    let mut start_memory: Option<Memory> = None;
    let mut peak_resident = 0;
    let mut next_report = started + args.report_every;
    let warm_up_end = started + args.warm_up.min(args.duration);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = Instant::now();
        let attempts = emulator.take_calls().len() as u64;
        rig.stats.lock().unwrap().cognito_attempts += attempts;
        peak_resident = peak_resident.max(resident_bytes().unwrap_or_default());
        if start_memory.is_none() && now >= warm_up_end {
            let memory = at_rest(&rig).await;
            start_memory = Some(memory);
            println!(
                "  {:>5.0}s  warm-up over, at rest: resident {:.1} MiB, in use {:.1} MiB",
                (now - started).as_secs_f64(),
                mib(memory.resident),
                mib(memory.in_use)
            );
        }
        if now >= next_report || now >= end {
            next_report += args.report_every;
            let memory = measure_memory();
            let stats = rig.stats.lock().unwrap();
            let elapsed = (now - started).as_secs_f64();
            println!(
                "  {elapsed:>5.0}s  calls {:>6} ({:.1}/s)  faults {:>4}  wrong {}  hung {}  resident {:.1} MiB, in use {:.1} MiB",
                stats.calls(),
                stats.calls() as f64 / elapsed,
                stats.faults(),
                stats.wrong,
                stats.hung,
                mib(memory.resident),
                mib(memory.in_use)
            );
        }
        if now >= end {
            break;
        }
    }
    for caller in callers {
        caller.await.expect("a caller ran to the end");
    }
    let end_memory = at_rest(&rig).await;
    let attempts = emulator.take_calls().len() as u64;
    // Calls the service dropped, or a connection left open, would show here.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let in_flight = emulator.calls_in_flight();
    let _ = stop_server.send(());
    let server_result = tokio::time::timeout(Duration::from_secs(5), server).await;

    let mut stats = rig.stats.lock().unwrap();
    stats.cognito_attempts += attempts;
    let elapsed = started.elapsed().as_secs_f64();
    println!();
    println!(
        "{} calls in {elapsed:.0} s ({:.1}/s), {} with a fault ({:.2}%); Cognito received {} attempts (retries included)",
        stats.calls(),
        stats.calls() as f64 / elapsed,
        stats.faults(),
        100.0 * stats.faults() as f64 / stats.calls().max(1) as f64,
        stats.cognito_attempts
    );
    println!("\ncalls by status:");
    for (code, count) in &stats.by_code {
        println!("  {code:<20} {count:>8}");
    }
    println!("\ncalls by fault:          calls   wrong   mean ms    max ms");
    for (kind, k) in &stats.by_kind {
        println!(
            "  {:<20} {:>8} {:>7} {:>9.1} {:>9.1}",
            kind.name(),
            k.calls,
            k.wrong,
            k.total_latency.as_secs_f64() * 1000.0 / k.calls.max(1) as f64,
            k.max_latency.as_secs_f64() * 1000.0
        );
    }
    println!();
    println!("wrong answers: {}", stats.wrong);
    for example in &stats.wrong_examples {
        println!("  {example}");
    }
    println!(
        "hung calls (no answer by the deadline + {}): {}",
        humantime::format_duration(args.margin),
        stats.hung
    );
    let start_memory = start_memory.unwrap_or(end_memory);
    let growth = |start: u64, end: u64| 100.0 * (end as f64 - start as f64) / start.max(1) as f64;
    let in_use_growth = growth(start_memory.in_use, end_memory.in_use);
    println!(
        "memory in use at rest (resident after malloc_trim, no call in flight; service, emulator and callers in one process): \
         {:.1} MiB after warm-up, {:.1} MiB at the end ({in_use_growth:+.1}%, limit +10%)",
        mib(start_memory.in_use),
        mib(end_memory.in_use),
    );
    println!(
        "resident memory as the system saw it: {:.1} MiB after warm-up, {:.1} MiB at the end ({:+.1}%), {:.1} MiB at most",
        mib(start_memory.resident),
        mib(end_memory.resident),
        growth(start_memory.resident, end_memory.resident),
        mib(peak_resident.max(end_memory.resident)),
    );
    println!("calls still in flight at the emulator after the last answer: {in_flight}");
    let server_ok = matches!(server_result, Ok(Ok(())));
    println!(
        "server shut down cleanly: {}",
        if server_ok { "yes" } else { "no" }
    );

    let pass = primed.wrong == 0
        && primed.hung == 0
        && stats.wrong == 0
        && stats.hung == 0
        && in_use_growth < 10.0
        && in_flight == 0
        && server_ok;
    println!("\nresult: {}", if pass { "PASS" } else { "FAIL" });
    if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
