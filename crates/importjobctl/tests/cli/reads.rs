//! The commands that change nothing (describe-user-import-job,
//! list-user-import-jobs, get-csv-header): importjobctl and the AWS CLI read
//! the same state and must print the same, in every format, with the same
//! input documents, one page at a time.

use import_job_service::emulator::{DEMO_POOL, Job, JobStatus};
use serde_json::Value;

use crate::{
    aws_cli::{aws, endpoint, importjobctl, text},
    both::{FORMATS, Format, assert_same, ours, spawn_frozen_app, theirs},
    helpers::TestApp,
};

const HEADERS_POOL: &str = "us-east-1_Headers1";

/// Each read, with a query of its own.
fn reads() -> Vec<(Vec<&'static str>, &'static str)> {
    let describe = |job| {
        vec![
            "describe-user-import-job",
            "--user-pool-id",
            DEMO_POOL,
            "--job-id",
            job,
        ]
    };
    let list = |max| {
        vec![
            "list-user-import-jobs",
            "--user-pool-id",
            DEMO_POOL,
            "--max-results",
            max,
        ]
    };
    let header = |pool| vec!["get-csv-header", "--user-pool-id", pool];
    let job_query =
        "UserImportJob.{Id: JobId, Done: CompletionDate, Users: [ImportedUsers, FailedUsers]}";
    let list_query = "{Jobs: UserImportJobs[].[JobId, Status, StartDate], Next: PaginationToken}";
    vec![
        (describe("import-succeeded"), job_query),
        (describe("import-created"), "UserImportJob"),
        (describe("import-stopping"), job_query),
        (list("60"), list_query),
        (list("3"), "PaginationToken"),
        (list("1"), "UserImportJobs[0]"),
        (header(DEMO_POOL), "CSVHeader[1:3]"),
        (
            header(HEADERS_POOL),
            "{Pool: UserPoolId, First: CSVHeader[0]}",
        ),
    ]
}

/// The service on a frozen emulator with a pool whose CSV header has custom
/// attributes.
async fn spawn_reads_app() -> TestApp {
    let app = spawn_frozen_app().await;
    app.emulator.set_csv_header(
        HEADERS_POOL,
        &[
            "cognito:username",
            "email",
            "custom:team",
            "cognito:mfa_enabled",
        ],
    );
    app
}

#[tokio::test]
async fn reads_print_as_the_aws_cli_prints_them_in_every_format() {
    let app = spawn_reads_app().await;
    for (args, query) in reads() {
        for format in &FORMATS {
            let what = format!("{:?} {args:?}", format.ours);
            let ours = ours(&app, format, &[], &args).await;
            let theirs = theirs(&app, format, &[], &args).await;
            assert_same(&ours, &theirs, "", &what);
        }
        let queried = ["--query", query];
        for format in &FORMATS[..2] {
            let what = format!("{:?} {query} {args:?}", format.ours);
            let ours = ours(&app, format, &queried, &args).await;
            let theirs = theirs(&app, format, &queried, &args).await;
            assert_same(&ours, &theirs, "", &what);
        }
    }
}

#[tokio::test]
async fn yaml_holds_what_the_aws_clis_json_holds_with_keys_sorted() {
    // The AWS CLI on PyPI (version 1) has no YAML output: the YAML must read
    // as its JSON does, with every object's keys sorted as version 2 writes
    // them.
    let app = spawn_reads_app().await;
    let json = Format {
        config: "",
        ours: &[],
        theirs: &[],
        env: &[],
    };
    let yaml = Format {
        ours: &["--output", "yaml"],
        ..json
    };
    for (args, query) in reads() {
        for extra in [&[][..], &["--query", query]] {
            let ours = ours(&app, &yaml, extra, &args).await;
            let theirs = theirs(&app, &json, extra, &args).await;
            assert!(ours.status.success(), "{args:?}: {}", text(&ours.stderr));
            let ours_yaml = text(&ours.stdout);
            let read: Value = serde_yaml_ng::from_str(&ours_yaml).unwrap();
            let expected: Value = serde_json::from_slice(&theirs.stdout).unwrap();
            assert_eq!(read, expected, "{args:?} {extra:?}");
            let top: Vec<&str> = ours_yaml
                .lines()
                .filter(|line| !line.starts_with([' ', '-']))
                .filter_map(|line| line.split_once(':').map(|(key, _)| key))
                .collect();
            assert!(top.is_sorted(), "{top:?}");
        }
    }
}

#[tokio::test]
async fn pages_go_round_trip_one_call_each_as_the_aws_cli_pages() {
    let app = spawn_frozen_app().await;
    let pool = "us-east-1_Pages1";
    app.emulator.add_pool(pool);
    for (i, status) in JobStatus::ALL.iter().take(7).enumerate() {
        let id = format!("import-page{i}");
        app.emulator.put_job(Job::in_status(pool, &id, *status));
    }
    let everything = [
        "list-user-import-jobs",
        "--user-pool-id",
        pool,
        "--max-results",
        "60",
        "--query",
        "UserImportJobs[].JobId",
    ];
    let all: Value = serde_json::from_slice(&aws(&app, "", &everything, &[]).await.stdout).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(7));

    // The token each page gives, passed back by flag, by document, or read
    // from text output; the AWS CLI fetches one page per call and prints its
    // PaginationToken, and so must importjobctl.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for page in 0.. {
        let json_document;
        let args: Vec<&str> = match (&token, page % 2) {
            (None, _) => vec![
                "list-user-import-jobs",
                "--user-pool-id",
                pool,
                "--max-results",
                "3",
            ],
            (Some(token), 1) => vec![
                "list-user-import-jobs",
                "--user-pool-id",
                pool,
                "--max-results",
                "3",
                "--pagination-token",
                token,
            ],
            (Some(token), _) => {
                json_document = format!(
                    r#"{{"UserPoolId": "{pool}", "MaxResults": 3, "PaginationToken": "{token}"}}"#
                );
                vec!["list-user-import-jobs", "--cli-input-json", &json_document]
            }
        };
        let ours = importjobctl(&endpoint(&app), &args, &[]).await;
        let theirs = aws(&app, "", &args, &[]).await;
        assert!(ours.status.success(), "{args:?}: {}", text(&ours.stderr));
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{args:?}");
        let answer: Value = serde_json::from_slice(&ours.stdout).unwrap();
        let jobs = answer["UserImportJobs"].as_array().unwrap();
        assert!(jobs.len() <= 3, "one page, not all of them: {answer}");
        seen.extend(jobs.iter().map(|job| job["JobId"].clone()));

        let as_text = [
            &["--output", "text", "--query", "PaginationToken"][..],
            &args,
        ]
        .concat();
        let printed = text(&importjobctl(&endpoint(&app), &as_text, &[]).await.stdout);
        assert_eq!(printed, text(&aws(&app, "", &as_text, &[]).await.stdout));
        match answer.get("PaginationToken").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(printed, format!("{next}\n"));
                token = Some(next.to_owned());
            }
            None => {
                assert_eq!(printed, "None\n");
                assert_eq!(page, 2, "7 jobs, 3 a page");
                break;
            }
        }
    }
    assert_eq!(Value::Array(seen), all);
}

#[tokio::test]
async fn input_documents_name_what_flags_would() {
    let app = spawn_frozen_app().await;
    let cases = [
        (
            "list-user-import-jobs",
            format!(r#"{{"UserPoolId": "{DEMO_POOL}", "MaxResults": 2}}"#),
            format!("UserPoolId: {DEMO_POOL}\nMaxResults: 2\n"),
        ),
        (
            "describe-user-import-job",
            format!(r#"{{"UserPoolId": "{DEMO_POOL}", "JobId": "import-failed"}}"#),
            format!("UserPoolId: {DEMO_POOL}\nJobId: import-failed\n"),
        ),
        (
            "get-csv-header",
            format!(r#"{{"UserPoolId": "{DEMO_POOL}"}}"#),
            format!("UserPoolId: {DEMO_POOL}\n"),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (command, json, yaml) in cases {
        let theirs = aws(&app, "", &[command, "--cli-input-json", &json], &[]).await;
        let inline =
            importjobctl(&endpoint(&app), &[command, "--cli-input-json", &json], &[]).await;
        let yaml_file = dir.path().join(format!("{command}.yaml"));
        std::fs::write(&yaml_file, &yaml).unwrap();
        let from_file = format!("file://{}", yaml_file.display());
        let yaml = importjobctl(
            &endpoint(&app),
            &[command, "--cli-input-yaml", &from_file],
            &[],
        )
        .await;
        for ours in [inline, yaml] {
            assert!(ours.status.success(), "{command}: {}", text(&ours.stderr));
            assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{command}");
        }
    }
    // A flag overrides the document's member, for both.
    let overridden = [
        "describe-user-import-job",
        "--cli-input-json",
        r#"{"UserPoolId": "us-east-1_Other1", "JobId": "import-expired"}"#,
        "--user-pool-id",
        DEMO_POOL,
    ];
    let ours = importjobctl(&endpoint(&app), &overridden, &[]).await;
    let theirs = aws(&app, "", &overridden, &[]).await;
    assert_same(&ours, &theirs, "", "overridden");
}
