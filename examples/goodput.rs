//! Goodput of the Cognito rate limit under overload: the service on its
//! embedded emulator, in this process, offered StopUserImportJob calls at a
//! multiple of `--cognito-rate` (open loop, each call with a deadline), and
//! what reached Cognito each second, against the rate. See BENCHMARKS.md.
//!
//! Run: `cargo run --release --example goodput -- --overload 2,10,100`

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::Parser;
use import_job_service::{
    configuration::Settings,
    emulator::{DEMO_POOL, Emulator},
    error::code_name,
    proto::{StopUserImportJobRequest, import_job_service_client::ImportJobServiceClient},
    startup::Application,
    telemetry,
};
use tokio::sync::oneshot;
use tonic::{Code, Request, transport::Channel};

#[derive(Parser)]
struct Args {
    /// Offered load, as multiples of the rate, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,10,100")]
    overload: Vec<f64>,
    /// `--cognito-rate`, calls per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// `--cognito-burst`.
    #[arg(long, default_value_t = 10)]
    burst: u32,
    /// Each call's deadline.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    deadline: Duration,
    /// How long each load runs.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let rate = args.rate.to_string();
    let burst = args.burst.to_string();
    let settings = Settings::parse_from([
        "import-job-service",
        "--local-cognito",
        "--insecure-allow-unauthenticated",
        "--listen",
        "127.0.0.1:0",
        "--cognito-rate",
        &rate,
        "--cognito-burst",
        &burst,
        "--max-calls-in-flight",
        "100000",
        "--max-calls-in-flight-per-caller",
        "100000",
        "--log-format",
        "json",
    ]);
    // Logged as in production, into nothing.
    telemetry::init(&settings.log, false, std::io::sink).expect("one subscriber");
    println!(
        "goodput: rate {} calls/s, burst {}, deadline {:?}, {:?} per load; open loop, one job stopped again and again (FAILED_PRECONDITION from Cognito counts as reaching it)",
        args.rate, args.burst, args.deadline, args.duration
    );
    println!(
        "{:>8} {:>9} {:>12} {:>12} {:>12} {:>10}   answers",
        "overload", "offered/s", "cognito/s", "min 1s", "max 1s", "goodput"
    );
    for factor in &args.overload {
        run(&settings, &args, *factor).await;
    }
}

async fn run(settings: &Settings, args: &Args, factor: f64) {
    let app = Application::build(settings)
        .await
        .expect("the service builds");
    let emulator: Emulator = app.emulator().expect("the emulator").clone();
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = ImportJobServiceClient::new(channel);

    let offered = args.rate * factor;
    let interval = Duration::from_secs_f64(1.0 / offered);
    let answers: Arc<Mutex<BTreeMap<&'static str, usize>>> = Arc::default();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = Vec::new();
    while started.elapsed() < args.duration {
        ticks.tick().await;
        let (mut client, answers, deadline) = (client.clone(), Arc::clone(&answers), args.deadline);
        calls.push(tokio::spawn(async move {
            let mut request = Request::new(StopUserImportJobRequest {
                user_pool_id: DEMO_POOL.to_owned(),
                job_id: "import-pending".to_owned(),
            });
            request.set_timeout(deadline);
            let code = match client.stop_user_import_job(request).await {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            };
            *answers.lock().unwrap().entry(code_name(code)).or_default() += 1;
        }));
    }
    for call in calls {
        let _ = call.await;
    }

    // Calls Cognito received in each whole second, the first (the burst)
    // left out.
    let times: Vec<Instant> = emulator.calls().iter().map(|c| c.received_at).collect();
    let seconds = args.duration.as_secs() as usize;
    let mut per_second = vec![0usize; seconds];
    if let Some(first) = times.first() {
        for time in &times {
            let second = time.duration_since(*first).as_secs() as usize;
            if second < seconds {
                per_second[second] += 1;
            }
        }
    }
    let steady = &per_second[1..];
    let mean = steady.iter().sum::<usize>() as f64 / steady.len() as f64;
    let answers: Vec<String> = answers
        .lock()
        .unwrap()
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    println!(
        "{:>7}x {:>9.0} {:>12.1} {:>12} {:>12} {:>9.2}x   {}",
        factor,
        offered,
        mean,
        steady.iter().min().unwrap(),
        steady.iter().max().unwrap(),
        mean / args.rate,
        answers.join(", ")
    );
    let _ = stop.send(());
    let _ = server.await;
}
