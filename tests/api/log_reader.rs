//! The service's log reader crawls, then stops, then the service is told to
//! stop: calls, health and metrics answer as fast as with a reader that
//! keeps up; lines are shed but every one is accounted for; exit is bounded
//! and cuts no line.

use std::{
    io::Read,
    process::ExitStatus,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use import_job_service::{
    emulator::DEMO_POOL, proto::import_job_service_client::ImportJobServiceClient,
};
use serde_json::Value;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    binary::{Running, free_port},
    helpers::{channel, request},
    metrics,
};

/// Reads the service's stderr at a rate the test sets, as a log shipper
/// would: at full speed, slowly, or not at all.
struct Reader {
    /// Bytes per second; 0 stops reading, `u64::MAX` reads as fast as it can.
    rate: Arc<AtomicU64>,
    read: Arc<Mutex<Vec<u8>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Reader {
    fn start(mut stderr: impl Read + Send + 'static) -> Self {
        let rate = Arc::new(AtomicU64::new(u64::MAX));
        let read = Arc::new(Mutex::new(Vec::new()));
        let (thread_rate, thread_read) = (Arc::clone(&rate), Arc::clone(&read));
        let thread = std::thread::spawn(move || {
            loop {
                let rate = thread_rate.load(Ordering::SeqCst);
                if rate == 0 {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                // Slices of 20 ms at the set rate.
                let mut buffer = vec![0; (rate / 50).clamp(1, 1 << 16) as usize];
                let n = stderr.read(&mut buffer).unwrap();
                if n == 0 {
                    return;
                }
                thread_read.lock().unwrap().extend_from_slice(&buffer[..n]);
                if rate != u64::MAX {
                    std::thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
                }
            }
        });
        Self { rate, read, thread }
    }

    fn set_rate(&self, bytes_per_second: u64) {
        self.rate.store(bytes_per_second, Ordering::SeqCst);
    }

    /// Everything read, once the service has exited and the pipe is empty.
    fn into_everything(self) -> String {
        self.set_rate(u64::MAX);
        self.thread.join().unwrap();
        String::from_utf8(Arc::try_unwrap(self.read).unwrap().into_inner().unwrap()).unwrap()
    }
}

/// What is probed: its health, a call that goes to Cognito (the emulator)
/// and back, and its metrics.
const PROBED: [&str; 3] = ["health", "a valid call", "metrics"];

/// Each probe's latencies, in seconds, in the order of [`PROBED`].
type Latencies = [Vec<f64>; 3];

/// The 90th percentile. Not the 99th: a phase has 40 to 300 samples, so the
/// 99th is about its slowest one, which the other tests of this binary,
/// running at once on the same cores, decide as much as the log reader
/// does. A thread waiting on the reader would slow most calls of the phase,
/// by seconds, which the 90th shows as plainly.
fn p90(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)]
}

/// The service's clients, and the count of calls they made.
struct Probes {
    client: ImportJobServiceClient<Channel>,
    health: HealthClient<Channel>,
    metrics_addr: std::net::SocketAddr,
    calls: Arc<AtomicU64>,
}

impl Probes {
    /// Asks each of [`PROBED`] every 100 ms for `period`. Each must answer
    /// within 5 s, or the test fails.
    async fn run(&mut self, period: Duration) -> Latencies {
        const LIMIT: Duration = Duration::from_secs(5);
        let mut latencies = Latencies::default();
        let end = Instant::now() + period;
        while Instant::now() < end {
            let started = Instant::now();
            tokio::time::timeout(LIMIT, self.health.check(HealthCheckRequest::default()))
                .await
                .expect("health answers")
                .unwrap();
            latencies[0].push(started.elapsed().as_secs_f64());

            let started = Instant::now();
            let answer = tokio::time::timeout(
                LIMIT,
                self.client
                    .stop_user_import_job(request(DEMO_POOL, "import-probe")),
            )
            .await
            .expect("a valid call answers");
            self.calls.fetch_add(1, Ordering::SeqCst);
            assert_eq!(answer.unwrap_err().code(), tonic::Code::NotFound);
            latencies[1].push(started.elapsed().as_secs_f64());

            let started = Instant::now();
            tokio::time::timeout(LIMIT, metrics::get(self.metrics_addr, "/metrics"))
                .await
                .expect("metrics answer");
            latencies[2].push(started.elapsed().as_secs_f64());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        latencies
    }
}

/// Calls refused by validation as fast as `workers` clients can make
/// them: each writes an audit event and a call line, and none waits on
/// Cognito.
fn flood(
    client: &ImportJobServiceClient<Channel>,
    workers: usize,
    calls: &Arc<AtomicU64>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            let (mut client, calls, stop) = (client.clone(), Arc::clone(calls), Arc::clone(stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let refused = client
                        .stop_user_import_job(request(DEMO_POOL, "not a job id!"))
                        .await
                        .unwrap_err();
                    calls.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
                }
            })
        })
        .collect()
}

/// The sum of `field` over the writer's reports of lines it lost.
fn lost(lines: &[Value], field: &str) -> u64 {
    lines
        .iter()
        .filter(|line| line["fields"]["message"] == "log lines lost: the log reader was behind")
        .map(|line| line["fields"][field].as_u64().unwrap())
        .sum()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_reader_that_crawls_or_stalls_slows_no_call_and_exit_counts_what_it_lost() {
    const GRACE: Duration = Duration::from_secs(5);
    let metrics_addr = free_port();
    let metrics_arg = metrics_addr.to_string();
    let mut running = Running::start(&[
        "--insecure-allow-unauthenticated",
        "--metrics-listen",
        &metrics_arg,
        "--shutdown-grace",
        "5s",
    ]);
    let reader = Reader::start(running.take_stderr());
    let client = ImportJobServiceClient::new(channel(running.addr).await);
    let (calls, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let flooding = flood(&client, 4, &calls, &stop);
    let mut probes = Probes {
        client,
        health: HealthClient::new(channel(running.addr).await),
        metrics_addr,
        calls: Arc::clone(&calls),
    };

    // Warmed up first: connections made, the flood under way.
    probes.run(Duration::from_secs(1)).await;
    let fast = probes.run(Duration::from_secs(4)).await;
    reader.set_rate(80_000);
    let slow = probes.run(Duration::from_secs(8)).await;
    reader.set_rate(0);
    let stalled = probes.run(Duration::from_secs(30)).await;
    let (_, text) = metrics::get(metrics_addr, "/metrics").await;
    let shed = metrics::sample(
        &text,
        r#"log_lines_lost_total{kind="call",reason="queue_full"}"#,
    );

    stop.store(true, Ordering::SeqCst);
    for worker in flooding {
        worker.await.unwrap();
    }
    // Told to stop with its queues full; the reader crawls on.
    running.signal("-TERM");
    let signalled = Instant::now();
    reader.set_rate(40_000);
    let (exit, exited_in): (ExitStatus, Duration) = tokio::task::spawn_blocking(move || {
        let exit = running.child.wait().unwrap();
        (exit, signalled.elapsed())
    })
    .await
    .unwrap();
    let written = reader.into_everything();

    for (i, what) in PROBED.iter().enumerate() {
        let (fast, slow, stalled) = (p90(&fast[i]), p90(&slow[i]), p90(&stalled[i]));
        eprintln!(
            "{what}: p90 {:.1} ms with a reader that keeps up, {:.1} ms crawling, {:.1} ms stalled",
            fast * 1e3,
            slow * 1e3,
            stalled * 1e3
        );
        // Twice the p90 with a reader that keeps up, or 20 ms more where
        // that is within the machine's noise.
        let bound = (2.0 * fast).max(fast + 0.020);
        assert!(slow <= bound && stalled <= bound, "{what}");
    }
    assert!(
        shed.is_some_and(|n| n > 0.0),
        "the stalled reader made the service shed call lines"
    );
    assert_eq!(exit.code(), Some(0));
    assert!(
        exited_in < GRACE + Duration::from_millis(250),
        "exited {exited_in:?} after SIGTERM"
    );

    // Whole lines only: JSON objects, and the emulator's banner.
    assert!(written.ends_with('\n'));
    let lines: Vec<Value> = written
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("a cut line: {line}")))
        .collect();
    for line in written.lines().filter(|line| !line.starts_with('{')) {
        assert!(
            line.is_empty()
                || line.starts_with("  ")
                || line.starts_with("Local Cognito emulator")
                || line.starts_with("Stop a running job"),
            "neither JSON nor the banner: {line}"
        );
    }
    // Every call line and audit event was written, or counted as lost.
    let calls = calls.load(Ordering::SeqCst);
    let message = |text: &str| {
        lines
            .iter()
            .filter(|line| line["fields"]["message"] == text)
            .count() as u64
    };
    assert_eq!(message("call finished") + lost(&lines, "call"), calls);
    assert_eq!(
        message("authorization decision") + lost(&lines, "audit"),
        calls
    );
    assert_eq!(
        message("SIGTERM received"),
        1,
        "the service's own lines go first"
    );
    let last = lines.last().unwrap();
    assert_eq!(
        last["fields"]["exit"], true,
        "the last line counts what exit left: {last}"
    );
    assert!(lost(&lines, "call") > 0);
}
