use clap::Parser;
use import_job_service::{
    configuration::Settings,
    startup::{Application, shutdown_signal},
    telemetry,
};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = Settings::parse();
    if let Err(error) = telemetry::init(&settings.log, std::io::stderr) {
        eprintln!("import-job-service: cannot set up logging: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let application = match Application::build(&settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, listen = %settings.listen, "cannot start");
            return std::process::ExitCode::FAILURE;
        }
    };
    application.announce();
    match application.run_until(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
