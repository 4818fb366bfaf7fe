//! What importjobctl and the AWS CLI print before calling anything, for
//! every command: skeletons, argparse's and Python's complaints about the
//! flags, and botocore's checks of the parameters. Neither reaches a
//! server, so both point at a port nothing listens on.

use std::process::Output;

use crate::aws_cli::{aws_at, importjobctl, text};

/// Where nothing listens: a command that got as far as calling would fail
/// to connect, and say so.
const NOWHERE: &str = "http://127.0.0.1:9";

const ROLE: &str = "arn:aws:iam::123456789012:role/CognitoImportLogs";
const ALGORITHMS: [&str; 4] = ["BCRYPT", "SCRYPT", "ARGON2ID", "PBKDF2_SHA256"];

async fn ours(args: &[&str]) -> Output {
    importjobctl(NOWHERE, args, &[]).await
}

async fn theirs(args: &[&str]) -> Output {
    aws_at(NOWHERE, "", args, &[]).await
}

/// A command with every required flag, valid as botocore sees it.
fn valid(command: &str) -> Vec<&str> {
    let flags: &[&str] = match command {
        "create-user-import-job" => &[
            "--job-name",
            "nightly",
            "--user-pool-id",
            "us-east-1_A",
            "--cloud-watch-logs-role-arn",
            ROLE,
        ],
        "get-csv-header" => &["--user-pool-id", "us-east-1_A"],
        "list-user-import-jobs" => &["--user-pool-id", "us-east-1_A", "--max-results", "5"],
        _ => &["--user-pool-id", "us-east-1_A", "--job-id", "import-a"],
    };
    [&[command][..], flags].concat()
}

const COMMANDS: [&str; 6] = [
    "create-user-import-job",
    "get-csv-header",
    "start-user-import-job",
    "describe-user-import-job",
    "list-user-import-jobs",
    "stop-user-import-job",
];

#[tokio::test]
async fn input_skeletons_are_the_aws_clis() {
    for command in COMMANDS {
        for skeleton in [
            &["--generate-cli-skeleton"][..],
            &["--generate-cli-skeleton", "input"],
        ] {
            let args = [&[command][..], skeleton].concat();
            let (ours, theirs) = (ours(&args).await, theirs(&args).await);
            assert!(ours.status.success(), "{args:?}: {}", text(&ours.stderr));
            // The AWS CLI shows one of an enum's values at random; importjobctl
            // the first.
            let mut theirs = text(&theirs.stdout);
            for algorithm in ALGORITHMS {
                theirs = theirs.replace(&format!("\"{algorithm}\""), "\"BCRYPT\"");
            }
            assert_eq!(text(&ours.stdout), theirs, "{args:?}");
        }
    }
}

#[tokio::test]
async fn output_skeletons_are_the_aws_clis_in_every_format() {
    let formats: [&[&str]; 5] = [
        &[],
        &["--output", "text"],
        &["--output", "table"],
        &[
            "--query",
            "{T: PaginationToken, J: UserImportJob.JobName, H: CSVHeader[0]}",
        ],
        &[
            "--output",
            "text",
            "--query",
            "[UserImportJob.Status, UserImportJobs[0].JobId, CSVHeader]",
        ],
    ];
    for command in COMMANDS {
        for format in formats {
            let args = [
                format,
                &valid(command),
                &["--generate-cli-skeleton", "output"],
            ]
            .concat();
            let (ours, theirs) = (ours(&args).await, theirs(&args).await);
            assert!(ours.status.success(), "{args:?}: {}", text(&ours.stderr));
            assert!(
                theirs.status.success(),
                "{args:?}: {}",
                text(&theirs.stderr)
            );
            assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{args:?}");
        }
    }
}

#[tokio::test]
async fn botocores_checks_print_the_aws_clis_lines() {
    let list = |document: &'static str| vec!["list-user-import-jobs", "--cli-input-json", document];
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "create-user-import-job",
            "--job-name",
            "",
            "--user-pool-id",
            "",
            "--cloud-watch-logs-role-arn",
            "arn:aws:iam::1:role",
        ],
        vec![
            "create-user-import-job",
            "--cli-input-json",
            r#"{"PasswordHashingAlgorithm": 5, "JobName": ["it's", "a\"b"], "UserPoolId": null, "Extra": {}}"#,
        ],
        vec![
            "create-user-import-job",
            "--cli-input-json",
            r#"{"JobName": "n", "UserPoolId": "us-east-1_A"}"#,
            "--cloud-watch-logs-role-arn",
            "",
        ],
        vec!["get-csv-header", "--user-pool-id", ""],
        vec![
            "get-csv-header",
            "--cli-input-json",
            r#"{"UserPoolId": {"a": 1.5}}"#,
        ],
        vec![
            "start-user-import-job",
            "--user-pool-id",
            "",
            "--job-id",
            "",
        ],
        vec![
            "describe-user-import-job",
            "--cli-input-json",
            r#"{"JobId": true, "UserPoolId": "us-east-1_A"}"#,
        ],
        vec![
            "list-user-import-jobs",
            "--pagination-token",
            "",
            "--max-results",
            "-3",
            "--user-pool-id",
            "us-east-1_A",
        ],
        list(r#"{"PaginationToken": 7, "MaxResults": false, "UserPoolId": 3}"#),
        list(r#"{"MaxResults": 5.0}"#),
        list(r#"{"MaxResults": 1e20, "UserPoolId": "us-east-1_A"}"#),
        list(r#"{"MaxResults": "60", "UserPoolId": "us-east-1_A", "NextToken": "x"}"#),
        [
            list(r#"{"UserPoolId": "us-east-1_A", "MaxResults": "5"}"#),
            vec!["--max-results", "0"],
        ]
        .concat(),
    ];
    for args in cases {
        let (ours, theirs) = (ours(&args).await, theirs(&args).await);
        let theirs_err = text(&theirs.stderr);
        assert!(
            theirs_err.starts_with("\nParameter validation failed:\n"),
            "{args:?}: {theirs_err}"
        );
        assert_eq!(text(&ours.stderr), theirs_err, "{args:?}");
        assert_eq!(ours.status.code(), Some(252), "{args:?}");
        assert!(ours.stdout.is_empty());
    }
}

#[tokio::test]
async fn number_flags_are_read_as_python_reads_them() {
    for value in ["abc", "1.5", "0x10", "1__0", "", "\"5\"", "tab\tnew\nline"] {
        let args = [
            "list-user-import-jobs",
            "--user-pool-id",
            "us-east-1_A",
            "--max-results",
            value,
        ];
        let (ours, theirs) = (ours(&args).await, theirs(&args).await);
        let theirs_err = text(&theirs.stderr);
        assert!(
            theirs_err.starts_with("\ninvalid literal for int() with base 10: "),
            "{value:?}: {theirs_err}"
        );
        assert_eq!(text(&ours.stderr), theirs_err, "{value:?}");
        // AWS CLI version 2 lets Python's error through as any other: 255.
        assert_eq!(ours.status.code(), Some(255), "{value:?}");
    }
    // What int() takes, whitespace and underscores included, goes on to the
    // call (here the output skeleton, which calls nothing).
    for value in [" 1_0 ", "+007", "99999999999999999999999"] {
        let args = [
            "--query",
            "UserImportJobs[0].Status",
            "list-user-import-jobs",
            "--user-pool-id",
            "us-east-1_A",
            "--max-results",
            value,
            "--generate-cli-skeleton",
            "output",
        ];
        let (ours, theirs) = (ours(&args).await, theirs(&args).await);
        assert!(ours.status.success(), "{value:?}: {}", text(&ours.stderr));
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{value:?}");
    }
}

#[tokio::test]
async fn required_flags_are_argparses_and_a_document_or_input_skeleton_lifts_them() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["create-user-import-job", "--user-pool-id", "us-east-1_A"],
            "--job-name, --cloud-watch-logs-role-arn",
        ),
        (&["get-csv-header"], "--user-pool-id"),
        (
            &["start-user-import-job", "--user-pool-id", "us-east-1_A"],
            "--job-id",
        ),
        (
            &["list-user-import-jobs", "--max-results", "abc"],
            "--user-pool-id",
        ),
        (
            &[
                "describe-user-import-job",
                "--generate-cli-skeleton",
                "output",
            ],
            "--user-pool-id, --job-id",
        ),
    ];
    for (args, flags) in cases {
        let (ours, theirs) = (ours(args).await, theirs(args).await);
        let complaint = format!("the following arguments are required: {flags}");
        assert!(
            text(&theirs.stderr).contains(&complaint),
            "{args:?}: {}",
            text(&theirs.stderr)
        );
        assert_eq!(text(&ours.stderr), format!("\n{complaint}\n"), "{args:?}");
        assert_eq!(ours.status.code(), Some(252), "{args:?}");
    }
    let lifted = [
        "list-user-import-jobs",
        "--cli-input-json",
        r#"{"UserPoolId": "us-east-1_A", "MaxResults": 2}"#,
        "--generate-cli-skeleton",
        "output",
    ];
    let (ours, theirs) = (ours(&lifted).await, theirs(&lifted).await);
    assert!(ours.status.success(), "{}", text(&ours.stderr));
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
}
