//! Errors the service answers, for every command: importjobctl prints the
//! AWS CLI's line for the same call on the same state, whichever side
//! refused it (the service's own checks, or Cognito's), and exits 254.

use import_job_service::emulator::DEMO_POOL;

use crate::{
    aws_cli::{aws, endpoint, importjobctl},
    both::{ROLE, assert_same_error, spawn_frozen_app},
};

#[tokio::test]
async fn service_errors_print_the_aws_clis_line_for_every_command() {
    let app = spawn_frozen_app().await;
    let job = |command, pool, job| vec![command, "--user-pool-id", pool, "--job-id", job];
    let list = |pool, max, token: Option<&'static str>| {
        let mut args = vec![
            "list-user-import-jobs",
            "--user-pool-id",
            pool,
            "--max-results",
            max,
        ];
        args.extend(
            token
                .map(|token| ["--pagination-token", token])
                .into_iter()
                .flatten(),
        );
        args
    };
    let create = |pool, name, role, algorithm: Option<&'static str>| {
        let mut args = vec![
            "create-user-import-job",
            "--user-pool-id",
            pool,
            "--job-name",
            name,
            "--cloud-watch-logs-role-arn",
            role,
        ];
        args.extend(
            algorithm
                .map(|algorithm| ["--password-hashing-algorithm", algorithm])
                .into_iter()
                .flatten(),
        );
        args
    };
    let long_name: &'static str = "n".repeat(129).leak();
    let cases: Vec<Vec<&str>> = vec![
        // Not found: the job, the pool.
        job(
            "describe-user-import-job",
            DEMO_POOL,
            "import-does-not-exist",
        ),
        job("describe-user-import-job", "us-east-1_Nope1", "import-a"),
        job("start-user-import-job", DEMO_POOL, "import-does-not-exist"),
        vec!["get-csv-header", "--user-pool-id", "us-east-1_Nope1"],
        list("us-east-1_Nope1", "5", None),
        create("us-east-1_Nope1", "users", ROLE, None),
        // Preconditions: only a created job starts, only a running one stops.
        job("start-user-import-job", DEMO_POOL, "import-pending"),
        job("start-user-import-job", DEMO_POOL, "import-expired"),
        job("stop-user-import-job", DEMO_POOL, "import-succeeded"),
        // Cognito's constraints, which botocore does not check.
        job("describe-user-import-job", DEMO_POOL, "import_bad"),
        job("start-user-import-job", "us-east-1_bad-pool", "import-a"),
        vec!["get-csv-header", "--user-pool-id", "us-east-1_bad-pool"],
        list(DEMO_POOL, "61", None),
        list(DEMO_POOL, "5", Some("not a token")),
        list(DEMO_POOL, "5", Some("forged")),
        create(DEMO_POOL, "bad/name", ROLE, None),
        create(DEMO_POOL, long_name, ROLE, None),
        create(
            DEMO_POOL,
            "users",
            "arn:aws:iam::123456789012:role with spaces",
            None,
        ),
        create(DEMO_POOL, "bad/name", "not-an-arn-but-long-enough", None),
        create(DEMO_POOL, "users", ROLE, Some("MD5")),
    ];
    for args in &cases {
        let ours = importjobctl(&endpoint(&app), args, &[]).await;
        let theirs = aws(&app, "", args, &[]).await;
        assert_same_error(&ours, &theirs, 254, &format!("{args:?}"));
        let line = crate::aws_cli::text(&ours.stderr);
        assert!(
            line.starts_with("\nAn error occurred ("),
            "{args:?}: {line}"
        );
    }

    // A pool with as many jobs as it may hold refuses one more.
    let jobs = app.emulator.jobs(DEMO_POOL).unwrap().len();
    app.emulator.set_job_limit(jobs);
    let args = create(DEMO_POOL, "one too many", ROLE, None);
    let ours = importjobctl(&endpoint(&app), &args, &[]).await;
    let theirs = aws(&app, "", &args, &[]).await;
    assert_same_error(&ours, &theirs, 254, "over the limit");
    assert!(
        crate::aws_cli::text(&ours.stderr).contains("(LimitExceededException)"),
        "{}",
        crate::aws_cli::text(&ours.stderr)
    );
    assert_eq!(app.emulator.jobs(DEMO_POOL).unwrap().len(), jobs);
}
