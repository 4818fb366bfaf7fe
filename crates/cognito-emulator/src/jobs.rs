//! Import jobs as Cognito describes them: their statuses, their members and
//! their JSON. How a job moves between statuses is `lifecycle`; what it
//! imports, `imports`; where jobs are kept, and the pages they are listed
//! in, `pools` and `pagination`.

mod imports;
mod lifecycle;
mod pagination;
mod pools;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::presigned;
pub use imports::{MAX_POOL_USERNAMES, UploadSummary};
pub(crate) use imports::{Reading, Upload};
pub use lifecycle::Timings;
pub use pools::{DEFAULT_JOB_LIMIT, Pools, STANDARD_CSV_HEADER};

/// The message Cognito gives a stopped job.
pub const STOPPED_MESSAGE: &str = "The Import Job was stopped by the developer.";
/// The message of a job that was never started in time.
pub const EXPIRED_MESSAGE: &str = "The Import Job expired before it was started.";
/// The message of a job started before any CSV file was uploaded: the
/// emulator's own wording (see the crate doc).
pub const NO_CSV_MESSAGE: &str =
    "The Import Job failed: no CSV file was uploaded to its pre-signed URL.";
/// The message of a job whose file Cognito cannot read (its header is not
/// the pool's, or the file as a whole is wrong): the emulator's own wording.
pub const UNREADABLE_CSV_MESSAGE: &str =
    "The Import Job failed: the CSV file could not be read as the user pool's.";
/// The message of a job that ran through its file.
pub const SUCCEEDED_MESSAGE: &str = "Import Job Completed Successfully.";

/// A job's status, spelled as Cognito spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Created,
    Pending,
    InProgress,
    Stopping,
    Stopped,
    Succeeded,
    Failed,
    Expired,
}

impl JobStatus {
    pub const ALL: [JobStatus; 8] = [
        JobStatus::Created,
        JobStatus::Pending,
        JobStatus::InProgress,
        JobStatus::Stopping,
        JobStatus::Stopped,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "Created",
            JobStatus::Pending => "Pending",
            JobStatus::InProgress => "InProgress",
            JobStatus::Stopping => "Stopping",
            JobStatus::Stopped => "Stopped",
            JobStatus::Succeeded => "Succeeded",
            JobStatus::Failed => "Failed",
            JobStatus::Expired => "Expired",
        }
    }

    /// The status Cognito spells `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// One import job, with every member of Cognito's UserImportJobType.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub job_name: String,
    pub job_id: String,
    pub user_pool_id: String,
    pub pre_signed_url: String,
    pub creation_date: SystemTime,
    pub start_date: Option<SystemTime>,
    pub completion_date: Option<SystemTime>,
    /// A status as Cognito spells it; a test may set one Cognito does not send
    /// yet.
    pub status: String,
    pub cloud_watch_logs_role_arn: String,
    pub imported_users: i64,
    pub skipped_users: i64,
    pub failed_users: i64,
    pub completion_message: Option<String>,
    pub password_hashing_algorithm: Option<String>,
}

impl Job {
    /// A freshly created job in `user_pool_id`, as CreateUserImportJob makes it.
    pub fn new(user_pool_id: &str, job_id: &str, job_name: &str) -> Self {
        let now = SystemTime::now();
        Self {
            job_name: job_name.to_owned(),
            job_id: job_id.to_owned(),
            user_pool_id: user_pool_id.to_owned(),
            pre_signed_url: presigned::url(presigned::S3_BUCKET, user_pool_id, job_id, now),
            creation_date: now,
            start_date: None,
            completion_date: None,
            status: JobStatus::Created.as_str().to_owned(),
            cloud_watch_logs_role_arn: "arn:aws:iam::123456789012:role/CognitoImportJobLogs"
                .to_owned(),
            imported_users: 0,
            skipped_users: 0,
            failed_users: 0,
            completion_message: None,
            password_hashing_algorithm: None,
        }
    }

    /// The job as it would be after living through the statuses that lead to
    /// `status`, with plausible dates and counts.
    pub fn in_status(user_pool_id: &str, job_id: &str, status: JobStatus) -> Self {
        let mut job = Self::new(user_pool_id, job_id, &format!("{} demo", status.as_str()));
        job.creation_date = SystemTime::now() - Duration::from_secs(3600);
        let started = job.creation_date + Duration::from_secs(60);
        let finished = started + Duration::from_secs(300);
        match status {
            JobStatus::Created => {}
            JobStatus::Expired => {
                job.creation_date = SystemTime::now() - Duration::from_secs(3 * 24 * 3600);
                job.completion_date = Some(job.creation_date + Duration::from_secs(24 * 3600));
                job.completion_message = Some(EXPIRED_MESSAGE.to_owned());
            }
            JobStatus::Pending => job.start_date = Some(started),
            JobStatus::InProgress | JobStatus::Stopping => {
                job.start_date = Some(started);
                job.imported_users = 120;
                job.skipped_users = 3;
                job.failed_users = 1;
            }
            JobStatus::Stopped | JobStatus::Succeeded | JobStatus::Failed => {
                job.start_date = Some(started);
                job.completion_date = Some(finished);
                job.imported_users = 1000;
                job.skipped_users = 12;
                job.failed_users = if status == JobStatus::Failed { 250 } else { 2 };
                job.completion_message = Some(
                    match status {
                        JobStatus::Stopped => STOPPED_MESSAGE,
                        JobStatus::Failed => "Too many users failed to import.",
                        _ => SUCCEEDED_MESSAGE,
                    }
                    .to_owned(),
                );
            }
        }
        job.status = status.as_str().to_owned();
        job
    }

    /// UserImportJobType in Cognito's JSON: dates as epoch seconds with
    /// milliseconds, absent members left out.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        let mut put = |key: &str, value: Value| {
            object.insert(key.to_owned(), value);
        };
        put("JobName", json!(self.job_name));
        put("JobId", json!(self.job_id));
        put("UserPoolId", json!(self.user_pool_id));
        put("PreSignedUrl", json!(self.pre_signed_url));
        put("CreationDate", epoch_seconds(self.creation_date));
        if let Some(date) = self.start_date {
            put("StartDate", epoch_seconds(date));
        }
        if let Some(date) = self.completion_date {
            put("CompletionDate", epoch_seconds(date));
        }
        put("Status", json!(self.status));
        put(
            "CloudWatchLogsRoleArn",
            json!(self.cloud_watch_logs_role_arn),
        );
        put("ImportedUsers", json!(self.imported_users));
        put("SkippedUsers", json!(self.skipped_users));
        put("FailedUsers", json!(self.failed_users));
        if let Some(message) = &self.completion_message {
            put("CompletionMessage", json!(message));
        }
        if let Some(algorithm) = &self.password_hashing_algorithm {
            put("PasswordHashingAlgorithm", json!(algorithm));
        }
        Value::Object(object)
    }
}

fn epoch_seconds(time: SystemTime) -> Value {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    json!(millis as f64 / 1000.0)
}

/// Why an operation on the state failed, as the Cognito exception it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub error_type: &'static str,
    pub message: String,
}

impl Rejection {
    pub(crate) fn not_found(message: String) -> Self {
        Self {
            error_type: "ResourceNotFoundException",
            message,
        }
    }

    pub(crate) fn precondition(message: String) -> Self {
        Self {
            error_type: "PreconditionNotMetException",
            message,
        }
    }

    pub(crate) fn invalid(message: String) -> Self {
        Self {
            error_type: "InvalidParameterException",
            message,
        }
    }

    pub(crate) fn limit_exceeded(message: String) -> Self {
        Self {
            error_type: "LimitExceededException",
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_leaves_out_absent_members() {
        let json = Job::in_status("us-east-1_Test", "import-a", JobStatus::Created).to_json();
        assert!(json.get("StartDate").is_none());
        assert!(json.get("CompletionMessage").is_none());
        assert_eq!(json["Status"], "Created");
        assert!(json["CreationDate"].is_f64());
    }

    #[test]
    fn statuses_parse_as_cognito_spells_them() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(JobStatus::parse("inprogress"), None);
    }
}
