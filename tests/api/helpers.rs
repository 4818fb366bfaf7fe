//! Spawns the real application on an ephemeral port and talks to it as a
//! client would, with the client generated from the proto.

use std::{
    io::Write,
    net::SocketAddr,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use clap::Parser;
use import_job_service::{
    cognito::Connection,
    configuration::Settings,
    emulator::{Emulator, Fault, Job, JobStatus},
    proto::{
        DescribeUserImportJobRequest, StopUserImportJobRequest, StopUserImportJobResponse,
        UserImportJob, import_job_service_client::ImportJobServiceClient,
    },
    startup::Application,
    telemetry,
};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{Code, Request, Response, Status, transport::Channel};
use tonic_types::{ErrorDetails, StatusExt};

/// Everything the service logged while the tests ran, as JSON lines.
pub static LOGS: LazyLock<CapturedLogs> = LazyLock::new(|| {
    let logs = CapturedLogs::default();
    let settings = Settings::parse_from([
        "import-job-service",
        "--insecure-allow-unauthenticated",
        "--log-format",
        "json",
        "--log-level",
        "trace",
    ]);
    telemetry::init(&settings.log, true, logs.clone())
        .expect("the test binary installs one subscriber");
    logs
});

#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// The log lines that mention `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .filter(|line| line.contains(needle))
            .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The HTTP/2 client of [`TestApp::server_deadline_client`].
pub type HyperClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    tonic::body::Body,
>;

pub struct TestApp {
    pub addr: SocketAddr,
    /// Where metrics are served, when the test asked for them.
    pub metrics_addr: Option<SocketAddr>,
    /// Where health alone is served, when the test asked for it.
    pub health_addr: Option<SocketAddr>,
    pub client: ImportJobServiceClient<Channel>,
    pub emulator: Emulator,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// Arguments every test app gets: an ephemeral port, and one attempt per AWS
/// call so that an injected fault is seen at once (tests of retries ask for
/// more).
const BASE_ARGS: &[&str] = &[
    "import-job-service",
    "--listen",
    "127.0.0.1:0",
    "--aws-max-attempts",
    "1",
];

/// The service with `--local-cognito`, as a newcomer runs it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The service with `--local-cognito` and extra flags.
pub async fn spawn_app_with(args: &[&str]) -> TestApp {
    let settings = settings(&[&["--local-cognito"], args].concat());
    let app = Application::build(&settings).await.expect("the app builds");
    let emulator = app
        .emulator()
        .expect("--local-cognito runs the emulator")
        .clone();
    start(app, emulator).await
}

/// The service pointed at Cognito through `connection`; `emulator` is
/// started for the test to steer and count calls on, whether or not
/// `connection` reaches it.
pub async fn spawn_app_connected(
    args: &[&str],
    connection: impl FnOnce(&Emulator) -> Connection,
) -> TestApp {
    let emulator = Emulator::start().await.expect("the emulator starts");
    let app = Application::build_with(
        &settings(args),
        connection(&emulator),
        Some(emulator.clone()),
    )
    .await
    .expect("the app builds");
    start(app, emulator).await
}

/// The settings for `args`, without authorization unless they name a policy.
pub fn settings(args: &[&str]) -> Settings {
    LazyLock::force(&LOGS);
    let auth: &[&str] = if args.contains(&"--auth-policy") {
        &[]
    } else {
        &["--insecure-allow-unauthenticated"]
    };
    // A test that names its own address (a replica taking over another's)
    // gets it instead of an ephemeral port.
    let base: Vec<&str> = match args.contains(&"--listen") {
        true => BASE_ARGS
            .iter()
            .copied()
            .filter(|arg| !["--listen", "127.0.0.1:0"].contains(arg))
            .collect(),
        false => BASE_ARGS.to_vec(),
    };
    Settings::try_parse_from([&base, auth, args].concat()).expect("test flags are valid")
}

async fn start(app: Application, emulator: Emulator) -> TestApp {
    let addr = app.local_addr();
    let metrics_addr = app.metrics_addr();
    let health_addr = app.health_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    // Lazy: a TLS server refuses a plaintext handshake; tests of TLS make
    // their own channels.
    let client = ImportJobServiceClient::new(
        Channel::from_shared(format!("http://{addr}"))
            .expect("a valid URI")
            .connect_lazy(),
    );
    TestApp {
        addr,
        metrics_addr,
        health_addr,
        client,
        emulator,
        stop: Some(stop),
        server: Some(server),
    }
}

/// Credentials the SDK signs with; the emulator checks no signature.
pub fn static_credentials() -> Option<SharedCredentialsProvider> {
    Some(SharedCredentialsProvider::new(Credentials::new(
        "AKIATEST",
        "test-secret",
        None,
        None,
        "test",
    )))
}

pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("a valid URI")
        .connect()
        .await
        .expect("the server accepts connections")
}

pub fn request(user_pool_id: &str, job_id: &str) -> StopUserImportJobRequest {
    StopUserImportJobRequest {
        user_pool_id: user_pool_id.to_owned(),
        job_id: job_id.to_owned(),
    }
}

impl TestApp {
    pub async fn stop_job(
        &self,
        user_pool_id: &str,
        job_id: &str,
    ) -> Result<Response<StopUserImportJobResponse>, Status> {
        self.client
            .clone()
            .stop_user_import_job(request(user_pool_id, job_id))
            .await
    }

    /// The job as the service describes it; the call must succeed.
    pub async fn describe_job(&self, user_pool_id: &str, job_id: &str) -> UserImportJob {
        self.client
            .clone()
            .describe_user_import_job(DescribeUserImportJobRequest {
                user_pool_id: user_pool_id.to_owned(),
                job_id: job_id.to_owned(),
            })
            .await
            .expect("the job is described")
            .into_inner()
            .user_import_job
            .expect("the answer holds the job")
    }

    /// Stops a job sending `grpc-timeout` (see [`TestApp::server_deadline_client`]).
    pub async fn stop_job_with_server_deadline(
        &self,
        user_pool_id: &str,
        job_id: &str,
        deadline: Duration,
    ) -> Result<Response<StopUserImportJobResponse>, Status> {
        let mut request = Request::new(request(user_pool_id, job_id));
        request.set_timeout(deadline);
        self.server_deadline_client()
            .stop_user_import_job(request)
            .await
    }

    /// A client over a plain HTTP/2 client that, unlike tonic's channel,
    /// does not enforce a call's `grpc-timeout` itself: what comes back is
    /// what the server answered.
    pub fn server_deadline_client(&self) -> ImportJobServiceClient<HyperClient> {
        let http2 =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .build_http::<tonic::body::Body>();
        let origin = format!("http://{}", self.addr).parse().unwrap();
        ImportJobServiceClient::with_origin(http2, origin)
    }

    /// A fresh job in `status`, in a pool of the emulator's: unique ids keep
    /// tests apart in the shared logs.
    pub fn job_in(&self, user_pool_id: &str, status: JobStatus) -> Job {
        let id = format!(
            "import-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut job = Job::in_status(user_pool_id, &id, status);
        // Its file goes to the emulator, as a created job's does.
        job.pre_signed_url = self.emulator.pre_signed_url(user_pool_id, &id);
        self.emulator.put_job(job.clone());
        job
    }

    pub fn inject(&self, fault: Fault, times: usize) {
        self.emulator.inject(fault, times);
    }

    /// StopUserImportJob calls Cognito received.
    pub fn cognito_stop_calls(&self) -> usize {
        self.emulator
            .calls()
            .iter()
            .filter(|c| c.operation == "StopUserImportJob")
            .count()
    }

    /// Sends the shutdown signal; the server drains and stops.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// The server's task, to await its end.
    pub fn server_task(&mut self) -> JoinHandle<()> {
        self.server.take().expect("not yet taken")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// The status's decoded error details, asserting there is exactly one
/// ErrorInfo with the given reason and domain.
pub fn details(status: &Status, code: Code, reason: &str, domain: &str) -> ErrorDetails {
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason);
    assert_eq!(info.domain, domain);
    let error_infos = status
        .get_error_details_vec()
        .into_iter()
        .filter(|d| matches!(d, tonic_types::ErrorDetail::ErrorInfo(_)))
        .count();
    assert_eq!(error_infos, 1, "exactly one ErrorInfo");
    details
}

/// The `x-amzn-requestid` response metadata.
pub fn request_id_of(metadata: &tonic::metadata::MetadataMap) -> Option<String> {
    metadata
        .get("x-amzn-requestid")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// A process's resident memory, from `/proc/PROCESS/status` (`self`, or a
/// child's pid).
pub fn resident_bytes(process: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).expect("Linux's /proc");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// Waits up to two seconds for `condition`.
pub async fn wait_for(condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "condition not met within 2s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

std::thread_local! {
    /// What this thread has allocated less what it has freed, whatever the
    /// allocator keeps resident (unlike RSS, which malloc's per-thread arenas
    /// swell when tests run side by side). A test on a current-thread
    /// runtime runs its app, its client and the emulator on its own thread,
    /// so this counts what that test holds, not what the tests beside it
    /// allocate meanwhile.
    static THREAD_BYTES: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

/// This thread's allocations less its frees, in bytes (see `THREAD_BYTES`).
pub fn thread_bytes() -> isize {
    THREAD_BYTES.with(std::cell::Cell::get)
}

fn count_on_thread(bytes: isize) {
    // Never fails for a const-initialised cell; ignored if it ever did.
    let _ = THREAD_BYTES.try_with(|count| count.set(count.get() + bytes));
}

/// The system allocator, counting each thread's bytes in use.
pub struct CountingAllocator;

// SAFETY: every call is passed to the system allocator as made; the count
// is a side effect.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_on_thread(layout.size() as isize);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count_on_thread(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count_on_thread(new_size as isize - layout.size() as isize);
        // SAFETY: as above.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}
