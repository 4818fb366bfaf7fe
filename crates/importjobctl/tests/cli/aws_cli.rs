//! importjobctl against the AWS CLI: for the same job and the same errors,
//! it prints what `aws cognito-idp` prints when pointed at the emulator.
//!
//! Needs the AWS CLI on PATH (`pip install -r requirements-dev.txt`). It is
//! version 1 on PyPI, which exits 255 on a service error where importjobctl
//! exits 254, as version 2 does.

use std::{
    process::{Output, Stdio},
    time::Duration,
};

use import_job_service::emulator::{DEMO_POOL, Fault, JobStatus, Timings};

use crate::helpers::{TestApp, spawn_app, wait_for};

const IMPORTJOBCTL: &str = env!("CARGO_BIN_EXE_importjobctl");

/// Environment variables a command runs with.
type Env<'a> = &'a [(&'a str, &'a str)];

/// Runs importjobctl against `app`, with `env` set and nothing inherited but
/// PATH and TZ.
pub async fn importjobctl(app_endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(IMPORTJOBCTL);
    command
        .env_clear()
        .envs(std::env::vars().filter(|(key, _)| key == "PATH"))
        .args(["--endpoint", app_endpoint])
        .args(args)
        .envs(env.iter().copied());
    command.output().await.expect("importjobctl runs")
}

/// The service on an emulator whose jobs move only as `timings` say: a test
/// that compares two commands' answers about one job needs it to stay put
/// between them.
pub async fn spawn_app_timed(timings: Timings) -> TestApp {
    let app = spawn_app().await;
    app.emulator.set_timings(timings);
    app
}

/// Runs `aws cognito-idp` against the emulator, with made-up credentials and
/// a config file holding `config`.
pub async fn aws(app: &TestApp, config: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    aws_at(&app.emulator.url(), config, args, env).await
}

/// Runs `aws cognito-idp` against `endpoint_url`, with made-up credentials
/// and a config file holding `config`.
pub async fn aws_at(
    endpoint_url: &str,
    config: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("config");
    std::fs::write(&config_file, format!("[default]\n{config}")).unwrap();
    let mut command = tokio::process::Command::new("aws");
    command
        .env_clear()
        .envs(std::env::vars().filter(|(key, _)| key == "PATH" || key == "HOME"))
        .env("AWS_CONFIG_FILE", &config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .envs(env.iter().copied())
        .args(["--endpoint-url", endpoint_url, "cognito-idp"])
        .args(args);
    command.output().await.unwrap_or_else(|error| {
        panic!("the AWS CLI must be on PATH (pip install -r requirements-dev.txt): {error}")
    })
}

pub fn endpoint(app: &TestApp) -> String {
    format!("http://{}", app.addr)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The job a stop left behind, as `aws cognito-idp describe-user-import-job`
/// prints it: the same body StopUserImportJob answered with.
pub async fn described(
    app: &TestApp,
    job_id: &str,
    config: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    let mut all = vec![
        "describe-user-import-job",
        "--user-pool-id",
        DEMO_POOL,
        "--job-id",
        job_id,
    ];
    all.extend_from_slice(args);
    let output = aws(app, config, &all, env).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[tokio::test]
async fn a_stopped_job_prints_as_the_aws_cli_prints_it() {
    let app = spawn_app_timed(Timings::immediate()).await;
    // The AWS CLI's config key and importjobctl's flag for ISO 8601 dates,
    // in a zone with a half-hour offset.
    let iso = (
        "cli_timestamp_format = iso8601\n",
        ["--cli-timestamp-format", "iso8601"],
    );
    // (AWS CLI config, flags, environment)
    let cases: [(&str, &[&str], Env); 5] = [
        ("", &[], &[]),
        ("", &["--output", "text"], &[]),
        (
            "",
            &[
                "--query",
                "UserImportJob.{Id: JobId, Done: CompletionDate, Users: [ImportedUsers, FailedUsers]}",
            ],
            &[],
        ),
        (iso.0, &iso.1, &[("TZ", "Asia/Kolkata")]),
        (
            iso.0,
            &["--cli-timestamp-format", "iso8601", "--output", "text"],
            &[("TZ", "UTC")],
        ),
    ];
    for (config, args, env) in cases {
        let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
        let mut ctl_args = args.to_vec();
        ctl_args.extend([
            "stop-user-import-job",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            &job.job_id,
        ]);
        let ours = importjobctl(&endpoint(&app), &ctl_args, env).await;
        assert!(ours.status.success(), "{args:?}: {}", text(&ours.stderr));
        // The AWS CLI takes the date format from its config file only.
        let aws_args: Vec<&str> = args
            .iter()
            .copied()
            .filter(|arg| !["--cli-timestamp-format", "iso8601"].contains(arg))
            .collect();
        let theirs = described(&app, &job.job_id, config, &aws_args, env).await;
        assert_eq!(text(&ours.stdout), theirs, "{args:?}");
    }
}

#[tokio::test]
async fn a_table_is_the_aws_clis_under_the_operations_title() {
    let app = spawn_app_timed(Timings::immediate()).await;
    let job = app.job_in(DEMO_POOL, JobStatus::Pending);
    let ours = importjobctl(
        &endpoint(&app),
        &[
            "--output",
            "table",
            "stop-user-import-job",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            &job.job_id,
        ],
        &[],
    )
    .await;
    let theirs = described(&app, &job.job_id, "", &["--output", "table"], &[]).await;
    let (ours, theirs) = (text(&ours.stdout), theirs);
    // Only the title differs: the operation's name.
    let title = |table: &str| {
        let line = table.lines().nth(1).unwrap_or_default();
        line.trim_matches(['|', ' ']).to_owned()
    };
    assert_eq!(title(&ours), "StopUserImportJob");
    assert_eq!(title(&theirs), "DescribeUserImportJob");
    let body = |table: &str| {
        table
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| l.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&ours), body(&theirs));
    assert!(
        ours.contains("StopUserImportJob") && ours.contains("|  Stopped "),
        "{ours}"
    );
}

#[tokio::test]
async fn errors_print_the_aws_clis_line_and_exit_254() {
    let app = spawn_app().await;
    for (pool, job) in [
        (DEMO_POOL, "import-does-not-exist"),
        (DEMO_POOL, "import_bad"),
        ("us-east-1_bad-pool", "bad"),
    ] {
        let args = [
            "stop-user-import-job",
            "--user-pool-id",
            pool,
            "--job-id",
            job,
        ];
        let ours = importjobctl(&endpoint(&app), &args, &[]).await;
        let theirs = aws(&app, "", &args, &[]).await;
        let (ours_err, theirs_err) = (text(&ours.stderr), text(&theirs.stderr));
        assert!(
            theirs_err.starts_with("\nAn error occurred ("),
            "{theirs_err}"
        );
        assert_eq!(ours_err, theirs_err, "{pool} {job}");
        assert_eq!(ours.status.code(), Some(254), "{ours_err}");
        assert!(ours.stdout.is_empty());
    }
}

#[tokio::test]
async fn input_documents_and_skeletons_are_the_aws_clis() {
    let app = spawn_app_timed(Timings::immediate()).await;
    let skeleton = ["stop-user-import-job", "--generate-cli-skeleton"];
    let ours = importjobctl(&endpoint(&app), &skeleton, &[]).await;
    assert_eq!(
        text(&ours.stdout),
        text(&aws(&app, "", &skeleton, &[]).await.stdout)
    );

    // The output skeleton, after checking the input.
    let output_skeleton = [
        &skeleton[..],
        &[
            "output",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            "import-x",
        ],
    ]
    .concat();
    let ours = text(
        &importjobctl(&endpoint(&app), &output_skeleton, &[])
            .await
            .stdout,
    );
    let theirs = text(&aws(&app, "", &output_skeleton, &[]).await.stdout);
    assert_eq!(ours, theirs);
    assert_eq!(app.cognito_stop_calls(), 0, "skeletons call nothing");

    // A document names the job; a flag overrides its pool.
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        format!(
            r#"{{"UserPoolId": "us-east-1_Other", "JobId": "{}"}}"#,
            job.job_id
        ),
    )
    .unwrap();
    let document = format!("file://{}", input.display());
    let args = [
        "stop-user-import-job",
        "--cli-input-json",
        &document,
        "--user-pool-id",
        DEMO_POOL,
    ];
    let ours = importjobctl(&endpoint(&app), &args, &[]).await;
    assert!(ours.status.success(), "{}", text(&ours.stderr));
    assert_eq!(
        text(&ours.stdout),
        described(&app, &job.job_id, "", &[], &[]).await
    );
}

#[tokio::test]
async fn exit_codes_follow_the_aws_cli_version_2() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-token");
    let stop = [
        "stop-user-import-job",
        "--user-pool-id",
        DEMO_POOL,
        "--job-id",
        "import-in-progress",
    ];
    let cases: Vec<(String, Vec<&str>, u8, &str)> = vec![
        (
            endpoint(&app),
            vec!["stop-user-import-job", "--job-id", "import-x"],
            252,
            "--user-pool-id",
        ),
        (
            endpoint(&app),
            vec![
                "stop-user-import-job",
                "--user-pool-id",
                DEMO_POOL,
                "--job-id",
                "",
            ],
            252,
            "valid min length: 1",
        ),
        (
            endpoint(&app),
            vec!["--output", "xml", "stop-user-import-job"],
            252,
            "xml",
        ),
        (
            endpoint(&app),
            vec!["--query", "UserImportJob.[", "stop-user-import-job"],
            252,
            "--query",
        ),
        (
            endpoint(&app),
            [&["--token-file", missing.to_str().unwrap()][..], &stop].concat(),
            253,
            "--token-file",
        ),
        (
            "http://user:s3cret@127.0.0.1:1".to_owned(),
            stop.to_vec(),
            252,
            "the endpoint may not hold credentials",
        ),
        (
            format!("https://{}", app.addr),
            [&["--ca-bundle", missing.to_str().unwrap()][..], &stop].concat(),
            253,
            "--ca-bundle",
        ),
        (
            "http://192.0.2.1:50051".to_owned(),
            stop.to_vec(),
            253,
            "refusing to send the bearer token in plaintext",
        ),
        (
            "http://127.0.0.1:1".to_owned(),
            stop.to_vec(),
            255,
            "Could not connect to the endpoint URL: \"http://127.0.0.1:1/\"",
        ),
    ];
    for (endpoint, args, code, says) in cases {
        let output = importjobctl(&endpoint, &args, &[("IMPORTJOBCTL_TOKEN", "t0ken")]).await;
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(i32::from(code)),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("s3cret") && !stderr.contains("t0ken"),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(app.cognito_stop_calls(), 0, "none of these reached Cognito");
    let help = importjobctl(&endpoint(&app), &["stop-user-import-job", "--help"], &[]).await;
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("--cli-input-json"));
}

#[tokio::test]
async fn ctrl_c_exits_130_and_a_slow_answer_meets_the_read_timeout() {
    let app = spawn_app().await;
    app.inject(Fault::Delay(Duration::from_secs(5)), 2);
    let job = app.job_in(DEMO_POOL, JobStatus::InProgress);
    let stop = [
        "stop-user-import-job",
        "--user-pool-id",
        DEMO_POOL,
        "--job-id",
        &job.job_id,
    ];

    let child = tokio::process::Command::new(IMPORTJOBCTL)
        .args(["--endpoint", &endpoint(&app)])
        .args(stop)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(|| app.cognito_stop_calls() == 1).await;
    let kill = tokio::process::Command::new("kill")
        .args(["-INT", &child.id().unwrap().to_string()])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
    let interrupted = child.wait_with_output().await.unwrap();
    assert_eq!(interrupted.status.code(), Some(130));
    assert!(interrupted.stdout.is_empty());

    let with_timeout = [&["--cli-read-timeout", "1"][..], &stop].concat();
    let late = importjobctl(&endpoint(&app), &with_timeout, &[]).await;
    let stderr = text(&late.stderr);
    // The service's DEADLINE_EXCEEDED and the client's own timer, whichever
    // comes first, are the AWS CLI's read timeout.
    assert_eq!(late.status.code(), Some(255), "{stderr}");
    assert!(stderr.contains("Read timeout on endpoint URL"), "{stderr}");
}
