//! What the comparisons of every command share: the output formats to
//! compare in, an emulator whose jobs stay put, and importjobctl and the
//! AWS CLI run side by side.

use std::{process::Output, time::Duration};

use import_job_service::emulator::Timings;

use crate::{
    aws_cli::{aws, endpoint, importjobctl, spawn_app_timed, text},
    helpers::TestApp,
};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/CognitoImportLogs";

/// An output format: the AWS CLI's config file, importjobctl's flags and
/// the AWS CLI's (which takes the date format from its config only), and
/// the environment.
pub struct Format {
    pub config: &'static str,
    pub ours: &'static [&'static str],
    pub theirs: &'static [&'static str],
    pub env: &'static [(&'static str, &'static str)],
}

const ISO: &str = "cli_timestamp_format = iso8601\n";

/// JSON, text, a table, ISO 8601 dates in a zone with a half-hour offset,
/// and in UTC as text.
pub const FORMATS: [Format; 5] = [
    Format {
        config: "",
        ours: &[],
        theirs: &[],
        env: &[],
    },
    Format {
        config: "",
        ours: &["--output", "text"],
        theirs: &["--output", "text"],
        env: &[],
    },
    Format {
        config: "",
        ours: &["--output", "table"],
        theirs: &["--output", "table"],
        env: &[],
    },
    Format {
        config: ISO,
        ours: &["--cli-timestamp-format", "iso8601"],
        theirs: &[],
        env: &[("TZ", "Asia/Kolkata")],
    },
    Format {
        config: ISO,
        ours: &["--cli-timestamp-format", "iso8601", "--output", "text"],
        theirs: &["--output", "text"],
        env: &[("TZ", "UTC")],
    },
];

/// The service on an emulator where no job changes status by itself during
/// a test, so that two commands read the same state.
pub async fn spawn_frozen_app() -> TestApp {
    let hour = Duration::from_secs(3600);
    spawn_app_timed(Timings {
        pending: hour,
        in_progress: hour,
        stopping: hour,
        expire_after: Timings::EXPIRE_AFTER,
    })
    .await
}

/// importjobctl with `args` in `format`, with `extra` flags (`--query`).
pub async fn ours(app: &TestApp, format: &Format, extra: &[&str], args: &[&str]) -> Output {
    let all = [format.ours, extra, args].concat();
    importjobctl(&endpoint(app), &all, format.env).await
}

/// The AWS CLI with `args` in `format`, with `extra` flags (`--query`).
pub async fn theirs(app: &TestApp, format: &Format, extra: &[&str], args: &[&str]) -> Output {
    let all = [format.theirs, extra, args].concat();
    aws(app, format.config, &all, format.env).await
}

/// Asserts both succeeded and printed the same, but for a table's title,
/// which is the operation's name: `ours_title` for importjobctl's.
pub fn assert_same(ours: &Output, theirs: &Output, ours_title: &str, what: &str) {
    assert!(ours.status.success(), "{what}: {}", text(&ours.stderr));
    assert!(theirs.status.success(), "{what}: {}", text(&theirs.stderr));
    let (ours, theirs) = (text(&ours.stdout), text(&theirs.stdout));
    let title = |table: &str| {
        let line = table.lines().nth(1).unwrap_or_default();
        line.trim_matches(['|', ' ']).to_owned()
    };
    if ours.starts_with("---") && title(&ours) != title(&theirs) {
        assert_eq!(title(&ours), ours_title, "{what}");
        let body = |table: &str| {
            let mut lines: Vec<String> = table.lines().map(str::to_owned).collect();
            lines.remove(1);
            lines
        };
        assert_eq!(body(&ours), body(&theirs), "{what}");
    } else {
        assert_eq!(ours, theirs, "{what}");
    }
}

/// Asserts both failed with the same lines on stderr, importjobctl with
/// exit code `code` (the AWS CLI on PyPI, version 1, exits 255 for all).
/// A message may name its call's request id, which differs from call to
/// call.
pub fn assert_same_error(ours: &Output, theirs: &Output, code: i32, what: &str) {
    let (ours_err, theirs_err) = (text(&ours.stderr), text(&theirs.stderr));
    assert!(!theirs.status.success(), "{what}: {}", text(&theirs.stdout));
    assert_eq!(without_ids(&ours_err), without_ids(&theirs_err), "{what}");
    assert_eq!(ours.status.code(), Some(code), "{what}: {ours_err}");
    assert!(ours.stdout.is_empty(), "{what}");
}

/// `text` with each UUID in it replaced by `<id>`.
fn without_ids(text: &str) -> String {
    let is_uuid = |word: &str| {
        let groups: Vec<&str> = word.split('-').collect();
        groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups
                .iter()
                .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
    };
    let mut out = String::new();
    let mut word = String::new();
    for c in text.chars().chain(['\n']) {
        if c.is_ascii_hexdigit() || c == '-' {
            word.push(c);
            continue;
        }
        out.push_str(if is_uuid(&word) { "<id>" } else { &word });
        word.clear();
        out.push(c);
    }
    out.pop();
    out
}
