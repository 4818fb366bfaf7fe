//! import-users and upload-user-import-csv: a file checked by the service as
//! it streams, its problems printed by line and column, the jobs created,
//! started and left; the progress shown only on a terminal.

use std::{path::Path, process::Output};

use import_job_service::emulator::{JobStatus, Timings};
use serde_json::Value;

use crate::{
    aws_cli::{endpoint, importjobctl, text},
    both::ROLE,
    helpers::TestApp,
    watch::{Running, documents, spawn_watching_app},
};

/// A pool whose CSV header is short enough to write by hand.
const POOL: &str = "us-east-1_Csv1";
const HEADER: [&str; 6] = [
    "cognito:username",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "cognito:mfa_enabled",
];

const GOOD: &str = "cognito:username,email,email_verified,phone_number,phone_number_verified,cognito:mfa_enabled\n\
                    alice,alice@example.com,true,,false,false\n\
                    bob,,false,+15555550100,true,false\n";

/// Line 3's MFA flag is neither true nor false, and line 4 says its email
/// is verified without one.
const BAD: &str = "cognito:username,email,email_verified,phone_number,phone_number_verified,cognito:mfa_enabled\n\
                   alice,alice@example.com,true,,false,false\n\
                   bob,bob@example.com,true,,false,maybe\n\
                   carol,,true,,false,false\n";

async fn spawn_csv_app() -> TestApp {
    let app = spawn_watching_app().await;
    app.emulator.set_csv_header(POOL, &HEADER);
    app
}

fn csv(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

async fn run(app: &TestApp, args: &[&str]) -> Output {
    importjobctl(&endpoint(app), args, &[]).await
}

fn import<'a>(file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["import-users", "--user-pool-id", POOL, "--csv-file", file];
    args.extend_from_slice(extra);
    args
}

fn one_document(output: &Output) -> Value {
    let mut documents = documents(&output.stdout);
    assert_eq!(documents.len(), 1, "{}", text(&output.stdout));
    documents.pop().unwrap()
}

fn jobs(app: &TestApp) -> Vec<import_job_service::emulator::Job> {
    app.emulator.jobs(POOL).unwrap_or_default()
}

#[tokio::test]
async fn validate_only_creates_a_job_checks_the_file_and_leaves_the_job_created() {
    let app = spawn_csv_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "users.csv", GOOD);
    let args = import(
        &file,
        &["--cloud-watch-logs-role-arn", ROLE, "--validate-only"],
    );
    let checked = run(&app, &args).await;
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    // Not on a terminal: no progress, no note; the summary alone.
    assert!(checked.stderr.is_empty(), "{}", text(&checked.stderr));
    let summary = one_document(&checked);
    assert_eq!(summary["Bytes"], GOOD.len());
    assert_eq!(summary["Rows"], 2);
    assert_eq!(summary["Uploaded"], false);
    let keys: Vec<&String> = summary.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["Bytes", "Rows", "Uploaded", "UserImportJob"]);
    let jobs = jobs(&app);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "Created");
    assert_eq!(jobs[0].job_name, "users.csv");
    assert_eq!(summary["UserImportJob"]["JobId"], jobs[0].job_id.as_str());

    // The job it left is checked against again, and no other is created.
    let job = jobs[0].job_id.clone();
    let again = run(
        &app,
        &import(
            &file,
            &["--job-id", &job, "--validate-only", "--output", "text"],
        ),
    )
    .await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).starts_with(&format!("{}\t2\tFalse\n", GOOD.len())));
    assert_eq!(self::jobs(&app).len(), 1);
}

#[tokio::test]
async fn a_bad_file_prints_its_problems_by_line_and_column_and_exits_254() {
    let app = spawn_csv_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "bad.csv", BAD);
    for extra in [&["--validate-only"][..], &[]] {
        let args = import(
            &file,
            &[
                &["--cloud-watch-logs-role-arn", ROLE, "--job-name", "bad"][..],
                extra,
            ]
            .concat(),
        );
        let refused = run(&app, &args).await;
        assert_eq!(
            refused.status.code(),
            Some(254),
            "{extra:?}: {}",
            text(&refused.stderr)
        );
        assert!(refused.stdout.is_empty());
        let stderr = text(&refused.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines[0], "", "{stderr}");
        assert!(
            lines[1].starts_with(
                "An error occurred (CSV_INVALID) when calling the UploadUserImportCsv operation: "
            ),
            "{stderr}"
        );
        assert_eq!(
            lines[2],
            "line 3, column cognito:mfa_enabled: not true or false"
        );
        assert!(lines[3].starts_with("line 4, column email: "), "{stderr}");
        let job = self::jobs(&app).pop().unwrap();
        assert_eq!(job.status, "Created", "{extra:?}: nothing was started");
        assert_eq!(
            lines[4],
            format!(
                "Import job {} was created and is left Created: once the file is fixed, \
                 import-users --job-id {} uploads it to that job.",
                job.job_id, job.job_id
            )
        );
    }
    assert_eq!(self::jobs(&app).len(), 2);
}

#[tokio::test]
async fn upload_user_import_csv_checks_a_created_job_s_file() {
    let app = spawn_csv_app().await;
    let dir = tempfile::tempdir().unwrap();
    let job = app.job_in(POOL, JobStatus::Created).job_id;
    let upload = |file: String, extra: &'static [&'static str]| {
        let job = job.clone();
        let app = &app;
        async move {
            let args = [
                &[
                    "upload-user-import-csv",
                    "--user-pool-id",
                    POOL,
                    "--job-id",
                    &job,
                    "--csv-file",
                    &file,
                ][..],
                extra,
            ]
            .concat();
            run(app, &args).await
        }
    };
    let good = upload(csv(dir.path(), "good.csv", GOOD), &["--validate-only"]).await;
    assert!(good.status.success(), "{}", text(&good.stderr));
    let answer = one_document(&good);
    assert_eq!(answer["Rows"], 2);
    assert_eq!(answer["Uploaded"], false);
    assert_eq!(answer["UserImportJob"]["Status"], "Created");

    let bad = upload(csv(dir.path(), "bad.csv", BAD), &["--validate-only"]).await;
    assert_eq!(bad.status.code(), Some(254));
    let stderr = text(&bad.stderr);
    assert!(
        stderr.contains("\nline 3, column cognito:mfa_enabled: not true or false\n"),
        "{stderr}"
    );

    // A file bigger than one chunk goes in several.
    let mut big = String::from(GOOD.lines().next().unwrap());
    big.push('\n');
    for n in 0..3000 {
        big.push_str(&format!("user{n},user{n}@example.com,true,,false,false\n"));
    }
    assert!(big.len() as u64 > 2 * 64 * 1024);
    let many = upload(csv(dir.path(), "big.csv", &big), &["--validate-only"]).await;
    assert!(many.status.success(), "{}", text(&many.stderr));
    assert_eq!(one_document(&many)["Bytes"], big.len());

    let started = app.job_in(POOL, JobStatus::Pending).job_id;
    let args = [
        "upload-user-import-csv",
        "--user-pool-id",
        POOL,
        "--job-id",
        &started,
        "--csv-file",
        &csv(dir.path(), "again.csv", GOOD),
    ];
    let refused = run(&app, &args).await;
    assert_eq!(refused.status.code(), Some(254));
    assert!(
        text(&refused.stderr).contains("(JOB_NOT_CREATED) when calling the UploadUserImportCsv"),
        "{}",
        text(&refused.stderr)
    );
}

#[tokio::test]
async fn a_file_that_cannot_be_read_is_refused_before_any_job_is_created() {
    let app = spawn_csv_app().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.csv").display().to_string();
    let empty = csv(dir.path(), "empty.csv", "");
    for file in [&missing, &empty] {
        let refused = run(&app, &import(file, &["--cloud-watch-logs-role-arn", ROLE])).await;
        assert_eq!(
            refused.status.code(),
            Some(252),
            "{}",
            text(&refused.stderr)
        );
        assert!(
            text(&refused.stderr).starts_with(&format!("\n--csv-file {file}: ")),
            "{}",
            text(&refused.stderr)
        );
    }
    let no_role = run(&app, &import(&empty, &[])).await;
    assert_eq!(no_role.status.code(), Some(252));
    assert!(jobs(&app).is_empty());
}

#[tokio::test]
async fn progress_shows_on_a_terminal_only() {
    let app = spawn_csv_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "users.csv", GOOD);
    let command = format!(
        "{} --endpoint {} import-users --user-pool-id {POOL} --csv-file {file} \
         --cloud-watch-logs-role-arn {ROLE} --validate-only",
        env!("CARGO_BIN_EXE_importjobctl"),
        endpoint(&app)
    );
    // `script` runs the command on a pseudo-terminal, and prints what it
    // wrote there.
    let on_terminal = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .await
        .expect("script (util-linux) runs");
    assert!(
        on_terminal.status.success(),
        "{}",
        text(&on_terminal.stdout)
    );
    let shown = text(&on_terminal.stdout);
    assert!(shown.contains("Uploading users.csv"), "{shown}");
    assert!(shown.contains("\"Uploaded\": false"), "{shown}");
}

#[tokio::test]
async fn no_wait_creates_uploads_and_starts() {
    let app = spawn_csv_app().await;
    app.emulator.set_timings(Timings {
        pending: std::time::Duration::from_secs(3600),
        ..Timings::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "users.csv", GOOD);
    let args = import(&file, &["--cloud-watch-logs-role-arn", ROLE, "--no-wait"]);
    let started = run(&app, &args).await;
    assert!(started.status.success(), "{}", text(&started.stderr));
    assert!(started.stderr.is_empty(), "{}", text(&started.stderr));
    let summary = one_document(&started);
    assert_eq!(summary["Uploaded"], true);
    assert_eq!(summary["UserImportJob"]["Status"], "Pending");
    let jobs = jobs(&app);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "Pending");
}

#[tokio::test]
async fn an_import_runs_to_the_end_and_prints_its_summary() {
    let app = spawn_csv_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "users.csv", GOOD);
    let args = import(&file, &["--cloud-watch-logs-role-arn", ROLE]);
    let imported = run(&app, &args).await;
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert!(imported.stderr.is_empty(), "{}", text(&imported.stderr));
    let summary = one_document(&imported);
    assert_eq!(summary["Uploaded"], true);
    assert_eq!(summary["Rows"], 2);
    assert_eq!(summary["UserImportJob"]["Status"], "Succeeded");

    let text_args = import(
        &file,
        &["--cloud-watch-logs-role-arn", ROLE, "--output", "text"],
    );
    let imported = run(&app, &text_args).await;
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let lines: Vec<String> = text(&imported.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], format!("{}\t2\tTrue", GOOD.len()));
    assert!(lines[1].starts_with("USERIMPORTJOB\t"), "{lines:?}");
    assert!(lines[1].contains("\tSucceeded\t"), "{lines:?}");
}

#[tokio::test]
async fn ctrl_c_with_stop_on_interrupt_stops_the_import() {
    let app = spawn_csv_app().await;
    app.emulator.set_timings(Timings {
        pending: std::time::Duration::from_secs(3600),
        ..Timings::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = csv(dir.path(), "users.csv", GOOD);
    let args = import(
        &file,
        &["--cloud-watch-logs-role-arn", ROLE, "--stop-on-interrupt"],
    );
    let running = Running::spawn(&app, &args);
    // Watching: the service polls the started job (the upload described
    // it twice before: a poll is a third Describe).
    let watching = || {
        let jobs = jobs(&app);
        jobs.first().is_some_and(|job| job.status == "Pending")
            && app
                .emulator
                .calls()
                .iter()
                .filter(|call| call.operation == "DescribeUserImportJob")
                .count()
                > 2
    };
    let started = std::time::Instant::now();
    while !watching() {
        assert!(started.elapsed().as_secs() < 10, "the job never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    running.interrupt();
    let (code, printed, stderr) = running.finish().await;
    assert_eq!(code, Some(130), "{stderr}");
    let summary: Value = serde_json::from_str(&printed.join("\n")).unwrap();
    assert_eq!(summary["UserImportJob"]["Status"], "Stopped");
    assert_eq!(jobs(&app)[0].status, "Stopped");
}
