use clap::Parser;
use import_job_service::{
    configuration::Settings,
    startup::{Application, StartupError, shutdown_signal},
    telemetry,
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = Settings::parse();
    // Held to the end of main: dropping it writes out the lines still queued.
    let (log_writer, _flush_logs) = telemetry::stderr_in_background();
    if let Err(error) = telemetry::init(&settings.log, log_writer) {
        eprintln!("import-job-service: cannot set up logging: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("import-job-service: cannot catch shutdown signals: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let application = match Application::build(&settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, listen = %settings.listen, "cannot start");
            eprintln!("import-job-service: cannot start: {error}");
            return match error {
                StartupError::Configuration(_) => std::process::ExitCode::from(2),
                StartupError::Io(_) => std::process::ExitCode::FAILURE,
            };
        }
    };
    application.announce();
    match application.run_until(shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
