//! The emulator's import-job state, with Cognito's rules for moving between
//! statuses: Created -> Pending -> InProgress -> Succeeded or Failed; Created
//! -> Expired; a stop only from Pending or InProgress, giving Stopped.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Map, Value, json};

/// The message Cognito gives a stopped job.
pub const STOPPED_MESSAGE: &str = "The Import Job was stopped by the developer.";

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
        Self {
            job_name: job_name.to_owned(),
            job_id: job_id.to_owned(),
            user_pool_id: user_pool_id.to_owned(),
            pre_signed_url: format!(
                "https://cognito-import-jobs.s3.amazonaws.com/{user_pool_id}/{job_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900&X-Amz-Signature={}",
                uuid::Uuid::new_v4().simple()
            ),
            creation_date: SystemTime::now(),
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
                job.completion_message =
                    Some("The Import Job expired before it was started.".to_owned());
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
                        _ => "Import Job Completed Successfully.",
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
    fn not_found(message: String) -> Self {
        Self {
            error_type: "ResourceNotFoundException",
            message,
        }
    }

    fn precondition(message: String) -> Self {
        Self {
            error_type: "PreconditionNotMetException",
            message,
        }
    }
}

/// User pools (by id) and their jobs (by job id).
#[derive(Debug, Default)]
pub struct Pools {
    pools: BTreeMap<String, BTreeMap<String, Job>>,
}

impl Pools {
    pub fn add_pool(&mut self, user_pool_id: &str) {
        self.pools.entry(user_pool_id.to_owned()).or_default();
    }

    /// Adds or replaces a job, creating its pool if needed.
    pub fn put_job(&mut self, job: Job) {
        self.pools
            .entry(job.user_pool_id.clone())
            .or_default()
            .insert(job.job_id.clone(), job);
    }

    pub fn pool_ids(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }

    pub fn jobs(&self, user_pool_id: &str) -> Result<impl Iterator<Item = &Job>, Rejection> {
        Ok(self.pool(user_pool_id)?.values())
    }

    pub fn job(&self, user_pool_id: &str, job_id: &str) -> Result<&Job, Rejection> {
        self.pool(user_pool_id)?
            .get(job_id)
            .ok_or_else(|| Rejection::not_found(format!("Import job {job_id} does not exist.")))
    }

    pub fn create(
        &mut self,
        user_pool_id: &str,
        job_name: &str,
        role_arn: &str,
    ) -> Result<&Job, Rejection> {
        self.pool(user_pool_id)?;
        let job_id = format!(
            "import-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let mut job = Job::new(user_pool_id, &job_id, job_name);
        job.cloud_watch_logs_role_arn = role_arn.to_owned();
        self.put_job(job);
        self.job(user_pool_id, &job_id)
    }

    /// Created -> Pending.
    pub fn start(&mut self, user_pool_id: &str, job_id: &str) -> Result<&Job, Rejection> {
        let job = self.job_mut(user_pool_id, job_id)?;
        if job.status != JobStatus::Created.as_str() {
            return Err(Rejection::precondition(format!(
                "Import job {job_id} cannot be started: its status is {}.",
                job.status
            )));
        }
        job.status = JobStatus::Pending.as_str().to_owned();
        job.start_date = Some(SystemTime::now());
        Ok(job)
    }

    /// Pending or InProgress -> Stopped.
    pub fn stop(&mut self, user_pool_id: &str, job_id: &str) -> Result<&Job, Rejection> {
        let job = self.job_mut(user_pool_id, job_id)?;
        let stoppable = [JobStatus::Pending.as_str(), JobStatus::InProgress.as_str()];
        if !stoppable.contains(&job.status.as_str()) {
            return Err(Rejection::precondition(format!(
                "Import job {job_id} cannot be stopped: its status is {}.",
                job.status
            )));
        }
        job.status = JobStatus::Stopped.as_str().to_owned();
        job.completion_date = Some(SystemTime::now());
        job.completion_message = Some(STOPPED_MESSAGE.to_owned());
        Ok(job)
    }

    fn pool(&self, user_pool_id: &str) -> Result<&BTreeMap<String, Job>, Rejection> {
        self.pools.get(user_pool_id).ok_or_else(|| {
            Rejection::not_found(format!("User pool {user_pool_id} does not exist."))
        })
    }

    fn job_mut(&mut self, user_pool_id: &str, job_id: &str) -> Result<&mut Job, Rejection> {
        self.pools
            .get_mut(user_pool_id)
            .ok_or_else(|| {
                Rejection::not_found(format!("User pool {user_pool_id} does not exist."))
            })?
            .get_mut(job_id)
            .ok_or_else(|| Rejection::not_found(format!("Import job {job_id} does not exist.")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "us-east-1_Test";

    fn pools_with(status: JobStatus) -> Pools {
        let mut pools = Pools::default();
        pools.put_job(Job::in_status(POOL, "import-a", status));
        pools
    }

    #[test]
    fn only_pending_and_in_progress_jobs_stop() {
        for status in JobStatus::ALL {
            let mut pools = pools_with(status);
            let result = pools.stop(POOL, "import-a").cloned();
            if matches!(status, JobStatus::Pending | JobStatus::InProgress) {
                let job = result.unwrap();
                assert_eq!(job.status, "Stopped");
                assert_eq!(job.completion_message.as_deref(), Some(STOPPED_MESSAGE));
                assert!(job.completion_date.is_some());
            } else {
                let rejection = result.unwrap_err();
                assert_eq!(
                    rejection.error_type, "PreconditionNotMetException",
                    "{status:?}"
                );
                assert_eq!(pools.job(POOL, "import-a").unwrap().status, status.as_str());
            }
        }
    }

    #[test]
    fn a_created_job_starts_once() {
        let mut pools = Pools::default();
        pools.add_pool(POOL);
        let id = pools
            .create(POOL, "users", "arn:aws:iam::1:role/r")
            .unwrap()
            .job_id
            .clone();
        assert_eq!(pools.start(POOL, &id).unwrap().status, "Pending");
        assert_eq!(
            pools.start(POOL, &id).unwrap_err().error_type,
            "PreconditionNotMetException"
        );
    }

    #[test]
    fn unknown_pools_and_jobs_are_not_found() {
        let mut pools = pools_with(JobStatus::Pending);
        assert!(
            pools
                .stop("us-east-1_Other", "import-a")
                .unwrap_err()
                .message
                .contains("User pool")
        );
        assert!(
            pools
                .stop(POOL, "import-b")
                .unwrap_err()
                .message
                .contains("Import job")
        );
    }

    #[test]
    fn json_leaves_out_absent_members() {
        let json = Job::in_status(POOL, "import-a", JobStatus::Created).to_json();
        assert!(json.get("StartDate").is_none());
        assert!(json.get("CompletionMessage").is_none());
        assert_eq!(json["Status"], "Created");
        assert!(json["CreationDate"].is_f64());
    }
}
