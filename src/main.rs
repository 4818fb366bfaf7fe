use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use clap::Parser;
use import_job_service::{
    configuration::Settings,
    startup::{Application, StartupError, shutdown_signal},
    telemetry,
};

/// jemalloc: per-thread caches cut the time the service spends in
/// malloc and free (BENCHMARKS.md). Two arenas, one per worker on the
/// two-CPU pods the service runs in, and freed pages handed back to the
/// system within a second, keep its memory at rest where glibc's was.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol at its first allocation.
#[repr(transparent)]
struct MallocConf(*const u8);
// SAFETY: the pointer is to a static, immutable C string.
unsafe impl Sync for MallocConf {}

#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: MallocConf = MallocConf(
    c"narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0"
        .as_ptr()
        .cast(),
);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = Settings::parse();
    let (log_writer, logs) = match telemetry::writer::stderr() {
        Ok(writer) => writer,
        Err(error) => {
            eprintln!("import-job-service: cannot start the log writer: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Err(error) = telemetry::init(
        &settings.log,
        settings.traces.otlp_endpoint.is_some(),
        log_writer,
    ) {
        eprintln!("import-job-service: cannot set up logging: {error}");
        return std::process::ExitCode::FAILURE;
    }
    telemetry::log_panics();
    let exit = run(&settings).await;
    logs.finish(exit.logs_written_by);
    exit.code
}

struct Exit {
    code: std::process::ExitCode,
    /// Until when queued log lines may still be written.
    logs_written_by: Instant,
}

/// After the drain, the log lines still queued get what is left of the
/// grace, at least [`LOG_TIME_MIN`] and at most [`LOG_TIME_MAX`].
const LOG_TIME_MIN: Duration = Duration::from_secs(1);
const LOG_TIME_MAX: Duration = Duration::from_secs(5);

async fn run(settings: &Settings) -> Exit {
    let failed = |code: std::process::ExitCode| Exit {
        code,
        logs_written_by: Instant::now() + LOG_TIME_MIN,
    };
    let signal = match shutdown_signal() {
        Ok(signal) => signal,
        Err(error) => {
            tracing::error!(%error, "cannot catch shutdown signals");
            return failed(std::process::ExitCode::FAILURE);
        }
    };
    let signalled = Arc::new(OnceLock::new());
    let shutdown = {
        let signalled = Arc::clone(&signalled);
        async move {
            signal.await;
            let _ = signalled.set(Instant::now());
        }
    };
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, listen = %settings.listen, "cannot start");
            return failed(match error {
                StartupError::Configuration(_) => std::process::ExitCode::from(2),
                StartupError::Io(_) => std::process::ExitCode::FAILURE,
            });
        }
    };
    application.announce();
    application.run_until(shutdown).await;
    let drained = Instant::now();
    let grace_ends = signalled
        .get()
        .map_or(drained, |at| *at + settings.shutdown_grace);
    Exit {
        code: std::process::ExitCode::SUCCESS,
        logs_written_by: grace_ends.clamp(drained + LOG_TIME_MIN, drained + LOG_TIME_MAX),
    }
}
