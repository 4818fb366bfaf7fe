//! What a job imports: the CSV file uploaded to its pre-signed URL, kept as
//! its outcome (counts, and a fingerprint of each user that passed its
//! checks, never the file), and the usernames each pool has so far.

use std::{
    collections::HashSet,
    hash::{BuildHasher, RandomState},
    time::SystemTime,
};

use cognito_csv::{CsvCheck, MAX_ROWS, UserRow};

use super::{JobStatus, NO_CSV_MESSAGE, SUCCEEDED_MESSAGE, UNREADABLE_CSV_MESSAGE};

/// Most usernames a pool remembers (about 19 MB of fingerprints): past them,
/// a user imported is counted but not remembered, so a later job importing
/// it again counts it imported rather than skipped.
pub const MAX_POOL_USERNAMES: usize = 1_000_000;

/// What the emulator keeps of a file uploaded to a job's pre-signed URL:
/// counts, not the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSummary {
    /// The bytes stored: the request's whole Content-Length.
    pub bytes: u64,
    /// The rows after the header.
    pub rows: u64,
    /// The rows with at least one problem: the users a job fails.
    pub failed_rows: u64,
    /// The problems in no user's row: in the header or the file as a whole.
    pub file_problems: u64,
    /// The ETag the upload was answered with.
    pub etag: String,
    pub uploaded_at: SystemTime,
}

impl UploadSummary {
    /// Whether Cognito can read the file at all: its header is the pool's,
    /// nothing else is wrong with it as a whole, and it holds at most
    /// [`MAX_ROWS`] users. A job importing a file it cannot read fails.
    pub fn is_readable(&self) -> bool {
        self.file_problems == 0 && self.rows <= MAX_ROWS
    }
}

/// A stored upload: its summary, and the users a job would import.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) summary: UploadSummary,
    /// A fingerprint of the username of each user that passed, in the
    /// file's order: at most [`MAX_ROWS`] (4 MB), none for a file Cognito
    /// cannot read.
    passed: Vec<u64>,
}

impl Upload {
    /// The users a job takes when it starts with this file; the upload keeps
    /// its summary only.
    pub(crate) fn take_for_import(&mut self) -> Upload {
        Upload {
            summary: self.summary.clone(),
            passed: std::mem::take(&mut self.passed),
        }
    }

    /// Forgets the users: no job will import them.
    pub(crate) fn forget_users(&mut self) {
        self.passed = Vec::new();
    }
}

/// Usernames as keyed hashes: 8 bytes each, whatever their length. Two
/// usernames collide with a chance of about n²/2^65, under keys drawn per
/// emulator.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fingerprints(RandomState);

impl Fingerprints {
    fn of(&self, username: &str) -> u64 {
        self.0.hash_one(username)
    }
}

/// An upload as its body arrives: the file checked against the pool's
/// header, and the users that passed.
pub(crate) struct Reading {
    check: CsvCheck,
    keys: Fingerprints,
    passed: Vec<u64>,
    bytes: u64,
}

impl Reading {
    pub(crate) fn new(header: &[String], keys: Fingerprints, content_length: u64) -> Self {
        Self {
            check: CsvCheck::new(header, content_length),
            keys,
            passed: Vec::new(),
            bytes: 0,
        }
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        let Self {
            check,
            keys,
            passed,
            ..
        } = self;
        check.feed_rows(chunk, &mut |row| keep(row, keys, passed));
    }

    /// The whole body arrived: what is stored.
    pub(crate) fn finish(self, etag: String, at: SystemTime) -> Upload {
        let Self {
            check,
            keys,
            mut passed,
            ..
        } = self;
        let report = check.finish_rows(&mut |row| keep(row, &keys, &mut passed));
        let summary = UploadSummary {
            bytes: report.bytes,
            rows: report.rows,
            failed_rows: report.failed_rows,
            file_problems: report.file_problems,
            etag,
            uploaded_at: at,
        };
        if summary.is_readable() {
            passed.shrink_to_fit();
        } else {
            passed = Vec::new();
        }
        Upload { summary, passed }
    }
}

/// Notes a user that passed, up to the most a file may hold.
fn keep(row: UserRow<'_>, keys: &Fingerprints, passed: &mut Vec<u64>) {
    if let (true, Some(username)) = (row.passed, row.username)
        && passed.len() < MAX_ROWS as usize
    {
        passed.push(keys.of(username));
    }
}

/// The usernames a pool has: imported by its jobs, or added by a test.
#[derive(Debug, Default)]
pub(crate) struct PoolUsers {
    known: HashSet<u64>,
}

impl PoolUsers {
    /// Whether the user is new to the pool (then remembered, if there is
    /// room).
    fn import(&mut self, fingerprint: u64) -> bool {
        if self.known.contains(&fingerprint) {
            return false;
        }
        if self.known.len() < MAX_POOL_USERNAMES {
            self.known.insert(fingerprint);
        }
        true
    }

    pub(crate) fn add(&mut self, keys: &Fingerprints, username: &str) {
        self.import(keys.of(username));
    }

    pub(crate) fn len(&self) -> usize {
        self.known.len()
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) status: JobStatus,
    pub(crate) message: &'static str,
    pub(crate) imported: i64,
    pub(crate) skipped: i64,
    pub(crate) failed: i64,
}

/// Runs the import of `file` into the pool: no file, or one Cognito cannot
/// read, fails the job with no user counted; otherwise each user that passed
/// is imported, or skipped when the pool has it, and each row with a problem
/// fails, the job succeeding all the same (as Cognito's guide says: a user
/// that cannot be imported does not stop the job).
pub(crate) fn import(file: Option<Upload>, users: &mut PoolUsers) -> Outcome {
    let failed = |message| Outcome {
        status: JobStatus::Failed,
        message,
        imported: 0,
        skipped: 0,
        failed: 0,
    };
    let Some(file) = file else {
        return failed(NO_CSV_MESSAGE);
    };
    if !file.summary.is_readable() {
        return failed(UNREADABLE_CSV_MESSAGE);
    }
    let imported = file
        .passed
        .iter()
        .filter(|&&user| users.import(user))
        .count();
    let imported = i64::try_from(imported).unwrap_or(i64::MAX);
    let passed = i64::try_from(file.passed.len()).unwrap_or(i64::MAX);
    Outcome {
        status: JobStatus::Succeeded,
        message: SUCCEEDED_MESSAGE,
        imported,
        skipped: passed - imported,
        failed: i64::try_from(file.summary.failed_rows).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(header: &[&str], csv: &str, keys: &Fingerprints) -> Upload {
        let header: Vec<String> = header.iter().map(|c| (*c).to_owned()).collect();
        let mut reading = Reading::new(&header, keys.clone(), csv.len() as u64);
        for chunk in csv.as_bytes().chunks(3) {
            reading.feed(chunk);
        }
        assert_eq!(reading.bytes(), csv.len() as u64);
        reading.finish("\"e\"".to_owned(), SystemTime::now())
    }

    const HEADER: [&str; 3] = ["cognito:username", "email_verified", "cognito:mfa_enabled"];

    #[test]
    fn users_that_pass_are_imported_once_per_pool_and_rows_with_problems_fail() {
        let keys = Fingerprints::default();
        let mut users = PoolUsers::default();
        users.add(&keys, "carol");
        let csv = "cognito:username,email_verified,cognito:mfa_enabled\n\
                   alice,true,false\nbob,maybe,false\ncarol,true,false\n dave ,true,false\n";
        let first = upload(&HEADER, csv, &keys);
        assert_eq!(first.summary.rows, 4);
        assert_eq!(first.summary.failed_rows, 1);
        let outcome = import(Some(first), &mut users);
        assert_eq!(outcome.status, JobStatus::Succeeded);
        assert_eq!(outcome.message, SUCCEEDED_MESSAGE);
        assert_eq!(
            (outcome.imported, outcome.skipped, outcome.failed),
            (2, 1, 1)
        );
        // The same file again: every user that passed is in the pool now.
        let again = import(Some(upload(&HEADER, csv, &keys)), &mut users);
        assert_eq!((again.imported, again.skipped, again.failed), (0, 3, 1));
        assert_eq!(users.len(), 3);
    }

    #[test]
    fn a_job_with_no_file_or_one_cognito_cannot_read_fails_counting_no_one() {
        let keys = Fingerprints::default();
        let mut users = PoolUsers::default();
        let outcome = import(None, &mut users);
        assert_eq!(outcome.message, NO_CSV_MESSAGE);
        let wrong_header = upload(&HEADER, "cognito:username,email\nalice,true\n", &keys);
        assert!(!wrong_header.summary.is_readable());
        assert!(wrong_header.passed.is_empty());
        let outcome = import(Some(wrong_header), &mut users);
        assert_eq!(outcome.status, JobStatus::Failed);
        assert_eq!(outcome.message, UNREADABLE_CSV_MESSAGE);
        assert_eq!(
            (outcome.imported, outcome.skipped, outcome.failed),
            (0, 0, 0)
        );
        assert_eq!(users.len(), 0);
    }

    #[test]
    fn a_file_whose_every_row_fails_still_succeeds() {
        let keys = Fingerprints::default();
        let csv = "cognito:username,email_verified,cognito:mfa_enabled\na,no,false\nb,,\n";
        let outcome = import(Some(upload(&HEADER, csv, &keys)), &mut PoolUsers::default());
        assert_eq!(outcome.status, JobStatus::Succeeded);
        assert_eq!(
            (outcome.imported, outcome.skipped, outcome.failed),
            (0, 0, 2)
        );
    }

    #[test]
    fn a_pool_remembers_at_most_its_bound_and_counts_the_rest_imported() {
        let mut users = PoolUsers::default();
        for user in 0..MAX_POOL_USERNAMES as u64 {
            assert!(users.import(user));
        }
        assert!(users.import(u64::MAX));
        assert!(users.import(u64::MAX), "not remembered past the bound");
        assert!(!users.import(0));
        assert_eq!(users.len(), MAX_POOL_USERNAMES);
    }
}
