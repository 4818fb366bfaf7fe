//! watch-user-import-job: each answer printed as it comes, to the job's
//! final status, the exit code saying how the job ended; and Ctrl-C, which
//! leaves the job alone, or stops it with --stop-on-interrupt.

use std::{
    process::{Output, Stdio},
    time::Duration,
};

use import_job_service::emulator::{DEMO_POOL, JobStatus, Timings};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    aws_cli::{endpoint, importjobctl, text},
    helpers::{TestApp, spawn_app_with},
};

const IMPORTJOBCTL: &str = env!("CARGO_BIN_EXE_importjobctl");

/// The service polling watched jobs every 20 ms, on an emulator whose
/// started jobs move on within half a second.
pub async fn spawn_watching_app() -> TestApp {
    let app = spawn_app_with(&[
        "--watch-poll-interval",
        "20ms",
        "--watch-poll-max-interval",
        "20ms",
    ])
    .await;
    app.emulator.set_timings(Timings {
        pending: Duration::from_millis(150),
        in_progress: Duration::from_millis(300),
        stopping: Duration::from_millis(150),
        ..Timings::default()
    });
    app
}

/// Every JSON document in `output`, one after the other.
pub fn documents(output: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(output)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("{error}: {}", text(output)))
}

fn statuses(output: &Output) -> Vec<String> {
    documents(&output.stdout)
        .iter()
        .map(|answer| {
            answer["UserImportJob"]["Status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn watch(app: &TestApp, job_id: &str, extra: &[&str]) -> Output {
    let args = [
        &[
            "watch-user-import-job",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            job_id,
        ][..],
        extra,
    ]
    .concat();
    importjobctl(&endpoint(app), &args, &[]).await
}

#[tokio::test]
async fn a_watch_prints_each_change_to_the_final_status() {
    let app = spawn_watching_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let start = importjobctl(
        &endpoint(&app),
        &[
            "start-user-import-job",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            &job,
        ],
        &[],
    )
    .await;
    assert!(start.status.success(), "{}", text(&start.stderr));

    let watched = watch(&app, &job, &[]).await;
    // The emulator takes no upload: a started job fails for want of one,
    // and the watch says so with exit 1.
    assert_eq!(watched.status.code(), Some(1), "{}", text(&watched.stderr));
    assert!(watched.stderr.is_empty(), "{}", text(&watched.stderr));
    let statuses = statuses(&watched);
    assert_eq!(statuses.last().map(String::as_str), Some("Failed"));
    assert!(statuses.contains(&"InProgress".to_owned()), "{statuses:?}");
    let mut seen = statuses.clone();
    seen.dedup();
    assert_eq!(seen, statuses, "one answer per change");
    let last = documents(&watched.stdout).pop().unwrap();
    assert_eq!(last["UserImportJob"]["JobId"], job.as_str());
    assert!(last["UserImportJob"]["CompletionDate"].is_number());
}

#[tokio::test]
async fn a_watch_of_a_succeeded_job_prints_it_once_in_the_format_asked_for() {
    let app = spawn_watching_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Succeeded).job_id;
    let query = [
        "--output",
        "text",
        "--query",
        "UserImportJob.[JobId, Status]",
    ];
    let watched = watch(&app, &job, &query).await;
    assert!(watched.status.success(), "{}", text(&watched.stderr));
    assert_eq!(text(&watched.stdout), format!("{job}\tSucceeded\n"));

    let yaml = watch(&app, &job, &["--output", "yaml"]).await;
    assert!(yaml.status.success(), "{}", text(&yaml.stderr));
    assert!(
        text(&yaml.stdout).starts_with("UserImportJob:\n"),
        "{}",
        text(&yaml.stdout)
    );
}

#[tokio::test]
async fn a_watch_of_a_missing_job_prints_the_error_line() {
    let app = spawn_watching_app().await;
    let watched = watch(&app, "import-does-not-exist", &[]).await;
    assert_eq!(watched.status.code(), Some(254));
    assert_eq!(
        text(&watched.stderr),
        "\nAn error occurred (ResourceNotFoundException) when calling the WatchUserImportJob \
         operation: Import job import-does-not-exist does not exist.\n"
    );
}

/// A command whose stdout is read line by line, for a signal to be sent at
/// the right moment.
pub struct Running {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    pub printed: Vec<String>,
}

impl Running {
    pub fn spawn(app: &TestApp, args: &[&str]) -> Self {
        let mut child = tokio::process::Command::new(IMPORTJOBCTL)
            .env_clear()
            .envs(std::env::vars().filter(|(key, _)| key == "PATH"))
            .args(["--endpoint", &endpoint(app)])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("importjobctl runs");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            lines,
            printed: Vec::new(),
        }
    }

    /// The next line it prints.
    pub async fn line(&mut self) -> String {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("a line before the end");
        self.printed.push(line.clone());
        line
    }

    /// Sends it SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let kill = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    /// Its exit code, what else it printed, and its stderr.
    pub async fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        while let Ok(Some(line)) = self.lines.next_line().await {
            self.printed.push(line);
        }
        let output = tokio::time::timeout(Duration::from_secs(10), self.child.wait_with_output())
            .await
            .expect("it ends within 10 s")
            .unwrap();
        (output.status.code(), self.printed, text(&output.stderr))
    }
}

fn held_running_job(app: &TestApp) -> String {
    // Put in place, the job stays InProgress until an operation moves it.
    app.job_in(DEMO_POOL, JobStatus::InProgress).job_id
}

fn watch_args<'a>(job: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "watch-user-import-job",
        "--user-pool-id",
        DEMO_POOL,
        "--job-id",
        job,
        "--output",
        "text",
        "--query",
        "UserImportJob.Status",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn ctrl_c_with_stop_on_interrupt_stops_the_job_and_watches_it_to_stopped() {
    let app = spawn_watching_app().await;
    let job = held_running_job(&app);
    let mut running = Running::spawn(&app, &watch_args(&job, &["--stop-on-interrupt"]));
    assert_eq!(running.line().await, "InProgress");
    running.interrupt();
    let (code, printed, stderr) = running.finish().await;
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        printed.last().map(String::as_str),
        Some("Stopped"),
        "{printed:?}"
    );
    assert!(
        stderr.contains(&format!("Stopping import job {job}")),
        "{stderr}"
    );
    let stopped = app.emulator.job(DEMO_POOL, &job).unwrap();
    assert_eq!(stopped.status, "Stopped");
}

#[tokio::test]
async fn ctrl_c_alone_leaves_the_job_running() {
    let app = spawn_watching_app().await;
    let job = held_running_job(&app);
    let mut running = Running::spawn(&app, &watch_args(&job, &[]));
    assert_eq!(running.line().await, "InProgress");
    running.interrupt();
    let (code, printed, stderr) = running.finish().await;
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(printed, ["InProgress"]);
    assert_eq!(
        app.emulator.job(DEMO_POOL, &job).unwrap().status,
        "InProgress"
    );
    assert!(
        !app.emulator
            .calls()
            .iter()
            .any(|call| call.operation == "StopUserImportJob")
    );
}

/// A watch the service ends because it drains is resumed, as the service
/// asks, on whatever answers at the same address next: here a second
/// replica on the same Cognito, which the watch follows to the job's end.
#[tokio::test]
async fn a_watch_resumes_when_its_replica_drains() {
    let shared = import_job_service::emulator::Emulator::start()
        .await
        .unwrap();
    let connect = |_: &import_job_service::emulator::Emulator| {
        import_job_service::cognito::Connection::emulator(shared.url())
    };
    let polls = [
        "--watch-poll-interval",
        "20ms",
        "--watch-poll-max-interval",
        "20ms",
    ];
    let mut first = crate::helpers::spawn_app_connected(&polls, connect).await;
    let job = import_job_service::emulator::Job::in_status(
        DEMO_POOL,
        "import-resumed",
        JobStatus::InProgress,
    );
    shared.put_job(job);
    let mut child = tokio::process::Command::new(IMPORTJOBCTL)
        .args([
            "watch-user-import-job",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            "import-resumed",
        ])
        .args(["--endpoint", &endpoint(&first)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The first answer: the job running.
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("InProgress") {
            break;
        }
    }
    let addr = first.addr.to_string();
    first.begin_shutdown();
    first.server_task().await.unwrap();
    let args = [&polls[..], &["--listen", &addr]].concat();
    let _second = crate::helpers::spawn_app_connected(&args, connect).await;
    // Meanwhile the job ends.
    shared.put_job(import_job_service::emulator::Job::in_status(
        DEMO_POOL,
        "import-resumed",
        JobStatus::Stopped,
    ));
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push_str(&line);
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the watch ends")
        .unwrap();
    assert!(rest.contains("\"Stopped\""), "{rest}");
    assert_eq!(status.code(), Some(1), "a job that ended Stopped exits 1");
}
