//! The commands that change a job (create-user-import-job,
//! start-user-import-job): a job changes once, so each side's answer is
//! compared with the other side's description of the same job right after,
//! which is the same body while the job stays put. Both ways round: what
//! importjobctl created or started, the AWS CLI describes, and the other way.

use import_job_service::emulator::DEMO_POOL;

use crate::{
    both::{FORMATS, Format, ROLE, assert_same, ours, spawn_frozen_app, theirs},
    helpers::TestApp,
};

/// Which side changes the job; the other describes it.
#[derive(Clone, Copy, Debug)]
enum Side {
    Ours,
    Theirs,
}

async fn run(app: &TestApp, side: Side, format: &Format, args: &[&str]) -> std::process::Output {
    match side {
        Side::Ours => ours(app, format, &[], args).await,
        Side::Theirs => theirs(app, format, &[], args).await,
    }
}

async fn describe(
    app: &TestApp,
    side: Side,
    format: &Format,
    pool: &str,
    job: &str,
) -> std::process::Output {
    let args = [
        "describe-user-import-job",
        "--user-pool-id",
        pool,
        "--job-id",
        job,
    ];
    match side {
        Side::Ours => theirs(app, format, &[], &args).await,
        Side::Theirs => ours(app, format, &[], &args).await,
    }
}

/// Asserts what `side` printed for `operation` is what the other side's
/// description printed.
fn assert_described(
    side: Side,
    changed: &std::process::Output,
    described: &std::process::Output,
    operation: &str,
    what: &str,
) {
    match side {
        Side::Ours => assert_same(changed, described, operation, what),
        Side::Theirs => assert_same(described, changed, "DescribeUserImportJob", what),
    }
}

#[tokio::test]
async fn created_and_started_jobs_print_as_the_aws_cli_prints_them() {
    let app = spawn_frozen_app().await;
    for (i, format) in FORMATS.iter().enumerate() {
        for side in [Side::Ours, Side::Theirs] {
            let what = format!("{side:?} {:?}", format.ours);
            // A pool of its own, so that the job created is its only one.
            let pool = format!("us-east-1_Fresh{i}{side:?}");
            app.emulator.add_pool(&pool);
            let mut create = vec![
                "create-user-import-job",
                "--job-name",
                "nightly import",
                "--user-pool-id",
                &pool,
                "--cloud-watch-logs-role-arn",
                ROLE,
            ];
            if i % 2 == 0 {
                create.extend(["--password-hashing-algorithm", "SCRYPT"]);
            }
            let created = run(&app, side, format, &create).await;
            let jobs = app.emulator.jobs(&pool).unwrap();
            assert_eq!(jobs.len(), 1, "{what}");
            let job = jobs[0].job_id.clone();
            let described = describe(&app, side, format, &pool, &job).await;
            assert_described(side, &created, &described, "CreateUserImportJob", &what);

            let start = [
                "start-user-import-job",
                "--user-pool-id",
                &pool,
                "--job-id",
                &job,
            ];
            let started = run(&app, side, format, &start).await;
            assert_eq!(app.emulator.job(&pool, &job).unwrap().status, "Pending");
            let described = describe(&app, side, format, &pool, &job).await;
            assert_described(side, &started, &described, "StartUserImportJob", &what);
        }
    }
}

#[tokio::test]
async fn queries_and_documents_apply_to_changes_too() {
    let app = spawn_frozen_app().await;
    let json = &FORMATS[0];
    let query = [
        "--query",
        "UserImportJob.{Name: JobName, Algorithm: PasswordHashingAlgorithm, Status: Status}",
    ];
    let document = format!(
        r#"{{"JobName": "from a document", "UserPoolId": "{DEMO_POOL}", "CloudWatchLogsRoleArn": "{ROLE}", "PasswordHashingAlgorithm": "BCRYPT"}}"#
    );
    // The flag overrides the document's name.
    let create = [
        "create-user-import-job",
        "--cli-input-json",
        &document,
        "--job-name",
        "from a flag",
    ];
    let ours = ours(&app, json, &query, &create).await;
    let theirs = theirs(&app, json, &query, &create).await;
    assert_same(&ours, &theirs, "", "create");
    assert!(
        crate::aws_cli::text(&ours.stdout).contains("\"Name\": \"from a flag\""),
        "{}",
        crate::aws_cli::text(&ours.stdout)
    );
}
