//! Cognito's state machine for one job: Created -> Pending (Start) ->
//! InProgress -> Succeeded or Failed; Pending or InProgress -> Stopping
//! (Stop) -> Stopped; Created -> Expired when not started in time.
//!
//! Time moves a job only when it is read: its status is worked out from when
//! it entered it and the [`Timings`], so an idle emulator does nothing and
//! the same reads at the same times give the same answers.
//!
//! The end of InProgress imports the job's file into its pool, whose users
//! other jobs import too: the pool ends its jobs in the order they end
//! ([`Tracked::advance`] says when, [`Tracked::end`] ends one).

use std::time::{Duration, SystemTime};

use super::{
    EXPIRED_MESSAGE, Job, JobStatus, Rejection, STOPPED_MESSAGE,
    imports::{self, PoolUsers, Upload},
};

/// How long each status that time ends lasts. A change applies to jobs
/// already in that status too: they are measured against it when next read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// From StartUserImportJob to InProgress.
    pub pending: Duration,
    /// From InProgress to Succeeded or Failed.
    pub in_progress: Duration,
    /// From StopUserImportJob to Stopped.
    pub stopping: Duration,
    /// From CreateUserImportJob to Expired, unless started before.
    pub expire_after: Duration,
}

impl Timings {
    /// Cognito expires a job not started within 24 to 48 hours: the
    /// emulator takes the earliest.
    pub const EXPIRE_AFTER: Duration = Duration::from_secs(24 * 3600);

    /// Every status but Created ends as soon as it begins: Start answers the
    /// job finished and Stop answers it Stopped. Expiry stays as it is by
    /// default.
    pub fn immediate() -> Self {
        Self {
            pending: Duration::ZERO,
            in_progress: Duration::ZERO,
            stopping: Duration::ZERO,
            expire_after: Self::EXPIRE_AFTER,
        }
    }
}

impl Default for Timings {
    /// A few seconds each, so that someone polling DescribeUserImportJob by
    /// hand sees every status go by.
    fn default() -> Self {
        Self {
            pending: Duration::from_secs(2),
            in_progress: Duration::from_secs(5),
            stopping: Duration::from_secs(2),
            expire_after: Self::EXPIRE_AFTER,
        }
    }
}

/// A job and its place in the machine.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub(crate) job: Job,
    /// When the job entered its status, if time is to end it. A job put in
    /// place by a test or the demo is held (`None`) in the status it was
    /// given until an operation moves it.
    since: Option<SystemTime>,
    /// The file last uploaded to the job's pre-signed URL.
    upload: Option<Upload>,
    /// The file the job imports: the one uploaded when it was started.
    file: Option<Upload>,
}

impl Tracked {
    pub(crate) fn held(job: Job) -> Self {
        Self {
            job,
            since: None,
            upload: None,
            file: None,
        }
    }

    /// A job CreateUserImportJob made at `now`: its expiry is counted from then.
    pub(crate) fn created(job: Job, now: SystemTime) -> Self {
        Self {
            since: Some(now),
            ..Self::held(job)
        }
    }

    /// Moves the job through every status that ended by `now`, each ending
    /// at the moment its duration ran out, but for the end of InProgress:
    /// when that is due by `now`, the job stays InProgress and the moment is
    /// returned, for the pool to [`Tracked::end`] it in turn.
    pub(crate) fn advance(&mut self, now: SystemTime, timings: &Timings) -> Option<SystemTime> {
        while let Some(since) = self.since {
            let next = JobStatus::parse(&self.job.status).and_then(|s| next(s, timings));
            let Some((lasts, next)) = next else {
                self.since = None;
                return None;
            };
            let ends = since.checked_add(lasts).filter(|ends| *ends <= now)?;
            match next {
                Next::Enter(status) => self.enter(status, ends),
                Next::Import => return Some(ends),
            }
        }
        None
    }

    /// Ends InProgress at `at`: the job imports its file into the pool.
    pub(crate) fn end(&mut self, at: SystemTime, users: &mut PoolUsers) {
        let outcome = imports::import(self.file.take(), users);
        self.job.imported_users = outcome.imported;
        self.job.skipped_users = outcome.skipped;
        self.job.failed_users = outcome.failed;
        self.finish(outcome.status, at, outcome.message);
    }

    /// StartUserImportJob: Created -> Pending, with the file uploaded by
    /// now. The job must have been advanced to `now`.
    pub(crate) fn start(&mut self, now: SystemTime) -> Result<(), Rejection> {
        if self.job.status != JobStatus::Created.as_str() {
            return Err(self.wrong_status("started"));
        }
        self.job.start_date = Some(now);
        self.file = self.upload.as_mut().map(Upload::take_for_import);
        self.enter(JobStatus::Pending, now);
        Ok(())
    }

    /// StopUserImportJob: Pending or InProgress -> Stopping; the job imports
    /// nothing. The job must have been advanced to `now`.
    pub(crate) fn stop(&mut self, now: SystemTime) -> Result<(), Rejection> {
        let stoppable = [JobStatus::Pending.as_str(), JobStatus::InProgress.as_str()];
        if !stoppable.contains(&self.job.status.as_str()) {
            return Err(self.wrong_status("stopped"));
        }
        self.file = None;
        self.enter(JobStatus::Stopping, now);
        Ok(())
    }

    /// Expires the job now if it is Created; whether it did. The job must
    /// have been advanced to `now`.
    pub(crate) fn expire(&mut self, now: SystemTime) -> bool {
        let created = self.job.status == JobStatus::Created.as_str();
        if created {
            self.finish(JobStatus::Expired, now, EXPIRED_MESSAGE);
        }
        created
    }

    /// Stores a file uploaded to the job's URL in place of any before. Only
    /// a job not started yet can import it: another keeps its summary only.
    pub(crate) fn store_upload(&mut self, mut upload: Upload) {
        if self.job.status != JobStatus::Created.as_str() {
            upload.forget_users();
        }
        self.upload = Some(upload);
    }

    pub(crate) fn upload(&self) -> Option<&Upload> {
        self.upload.as_ref()
    }

    fn enter(&mut self, status: JobStatus, at: SystemTime) {
        match status {
            JobStatus::Expired => self.finish(status, at, EXPIRED_MESSAGE),
            JobStatus::Stopped => self.finish(status, at, STOPPED_MESSAGE),
            _ => {
                self.job.status = status.as_str().to_owned();
                self.since = Some(at);
            }
        }
    }

    /// Enters a final status.
    fn finish(&mut self, status: JobStatus, at: SystemTime, message: &str) {
        self.job.status = status.as_str().to_owned();
        self.job.completion_date = Some(at);
        self.job.completion_message = Some(message.to_owned());
        self.since = None;
        self.file = None;
        if let Some(upload) = &mut self.upload {
            upload.forget_users();
        }
    }

    fn wrong_status(&self, verb: &str) -> Rejection {
        Rejection::precondition(format!(
            "Import job {} cannot be {verb}: its status is {}.",
            self.job.job_id, self.job.status
        ))
    }
}

/// What follows a status when time ends it.
enum Next {
    Enter(JobStatus),
    /// The import, which ends the job Succeeded or Failed.
    Import,
}

/// How long `status` lasts and what follows it, if time ends it.
fn next(status: JobStatus, timings: &Timings) -> Option<(Duration, Next)> {
    match status {
        JobStatus::Created => Some((timings.expire_after, Next::Enter(JobStatus::Expired))),
        JobStatus::Pending => Some((timings.pending, Next::Enter(JobStatus::InProgress))),
        JobStatus::InProgress => Some((timings.in_progress, Next::Import)),
        JobStatus::Stopping => Some((timings.stopping, Next::Enter(JobStatus::Stopped))),
        JobStatus::Stopped | JobStatus::Succeeded | JobStatus::Failed | JobStatus::Expired => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::NO_CSV_MESSAGE;

    const SECOND: Duration = Duration::from_secs(1);

    fn timings() -> Timings {
        Timings {
            pending: 2 * SECOND,
            in_progress: 5 * SECOND,
            stopping: 3 * SECOND,
            expire_after: 100 * SECOND,
        }
    }

    /// Advances the job to `at` as its pool does, ending it if due.
    fn settle(tracked: &mut Tracked, at: SystemTime, timings: &Timings) {
        if let Some(ends) = tracked.advance(at, timings) {
            tracked.end(ends, &mut PoolUsers::default());
        }
    }

    fn start(tracked: &mut Tracked, at: SystemTime, timings: &Timings) -> Result<(), Rejection> {
        settle(tracked, at, timings);
        tracked.start(at)?;
        settle(tracked, at, timings);
        Ok(())
    }

    fn stop(tracked: &mut Tracked, at: SystemTime, timings: &Timings) -> Result<(), Rejection> {
        settle(tracked, at, timings);
        tracked.stop(at)?;
        settle(tracked, at, timings);
        Ok(())
    }

    fn expire(tracked: &mut Tracked, at: SystemTime, timings: &Timings) -> bool {
        settle(tracked, at, timings);
        tracked.expire(at)
    }

    fn created(at: SystemTime) -> Tracked {
        let mut job = Job::new("us-east-1_Test", "import-a", "users");
        job.creation_date = at;
        Tracked::created(job, at)
    }

    /// The job's status after advancing to `at`.
    fn status_at(tracked: &mut Tracked, at: SystemTime) -> String {
        settle(tracked, at, &timings());
        tracked.job.status.clone()
    }

    #[test]
    fn a_started_job_goes_through_pending_and_in_progress_and_fails_without_a_csv() {
        let t0 = SystemTime::now();
        let mut job = created(t0);
        start(&mut job, t0 + SECOND, &timings()).unwrap();
        assert_eq!(job.job.status, "Pending");
        assert_eq!(job.job.start_date, Some(t0 + SECOND));
        assert_eq!(status_at(&mut job, t0 + 2 * SECOND), "Pending");
        assert_eq!(status_at(&mut job, t0 + 3 * SECOND), "InProgress");
        assert_eq!(status_at(&mut job, t0 + 7 * SECOND), "InProgress");
        assert_eq!(job.job.completion_date, None);
        assert_eq!(status_at(&mut job, t0 + 8 * SECOND), "Failed");
        assert_eq!(job.job.completion_date, Some(t0 + 8 * SECOND));
        assert_eq!(job.job.completion_message.as_deref(), Some(NO_CSV_MESSAGE));
        assert_eq!(status_at(&mut job, t0 + 1000 * SECOND), "Failed");
    }

    #[test]
    fn a_read_long_after_passes_every_status_at_its_own_time() {
        let t0 = SystemTime::now();
        let mut job = created(t0);
        start(&mut job, t0, &timings()).unwrap();
        assert_eq!(status_at(&mut job, t0 + 60 * SECOND), "Failed");
        assert_eq!(job.job.completion_date, Some(t0 + 7 * SECOND));
    }

    #[test]
    fn a_stop_goes_through_stopping_to_stopped_with_cognitos_message() {
        let t0 = SystemTime::now();
        for stop_at in [t0 + SECOND, t0 + 4 * SECOND] {
            let mut job = created(t0);
            start(&mut job, t0, &timings()).unwrap();
            stop(&mut job, stop_at, &timings()).unwrap();
            assert_eq!(job.job.status, "Stopping");
            assert_eq!(job.job.completion_message, None);
            assert_eq!(status_at(&mut job, stop_at + 2 * SECOND), "Stopping");
            assert_eq!(status_at(&mut job, stop_at + 3 * SECOND), "Stopped");
            assert_eq!(job.job.completion_date, Some(stop_at + 3 * SECOND));
            assert_eq!(job.job.completion_message.as_deref(), Some(STOPPED_MESSAGE));
        }
    }

    #[test]
    fn only_pending_and_in_progress_jobs_stop() {
        let now = SystemTime::now();
        for status in JobStatus::ALL {
            let mut job = Tracked::held(Job::in_status("us-east-1_Test", "import-a", status));
            let result = stop(&mut job, now, &timings());
            if matches!(status, JobStatus::Pending | JobStatus::InProgress) {
                result.unwrap();
                assert_eq!(job.job.status, "Stopping");
            } else {
                let rejection = result.unwrap_err();
                assert_eq!(rejection.error_type, "PreconditionNotMetException");
                assert_eq!(
                    rejection.message,
                    format!(
                        "Import job import-a cannot be stopped: its status is {}.",
                        status.as_str()
                    )
                );
                assert_eq!(job.job.status, status.as_str());
            }
        }
    }

    #[test]
    fn only_created_jobs_start() {
        let now = SystemTime::now();
        for status in JobStatus::ALL {
            let mut job = Tracked::held(Job::in_status("us-east-1_Test", "import-a", status));
            let result = start(&mut job, now, &timings());
            assert_eq!(result.is_ok(), status == JobStatus::Created, "{status:?}");
        }
    }

    #[test]
    fn zero_timings_end_each_status_at_once() {
        let now = SystemTime::now();
        let mut job = created(now);
        start(&mut job, now, &Timings::immediate()).unwrap();
        assert_eq!(job.job.status, "Failed");
        let mut held = Tracked::held(Job::in_status(
            "us-east-1_T",
            "import-b",
            JobStatus::InProgress,
        ));
        stop(&mut held, now, &Timings::immediate()).unwrap();
        assert_eq!(held.job.status, "Stopped");
        assert_eq!(held.job.completion_date, Some(now));
        assert_eq!(held.job.imported_users, 120, "the counts so far stay");
    }

    #[test]
    fn a_created_job_expires_when_not_started_in_time() {
        let t0 = SystemTime::now();
        let mut job = created(t0);
        assert_eq!(status_at(&mut job, t0 + 99 * SECOND), "Created");
        assert_eq!(status_at(&mut job, t0 + 100 * SECOND), "Expired");
        assert_eq!(job.job.completion_date, Some(t0 + 100 * SECOND));
        assert_eq!(job.job.completion_message.as_deref(), Some(EXPIRED_MESSAGE));
        let late = start(&mut job, t0 + 101 * SECOND, &timings()).unwrap_err();
        assert_eq!(late.error_type, "PreconditionNotMetException");
    }

    #[test]
    fn a_started_job_does_not_expire() {
        let t0 = SystemTime::now();
        let mut job = created(t0);
        start(&mut job, t0 + 99 * SECOND, &timings()).unwrap();
        assert_eq!(status_at(&mut job, t0 + 100 * SECOND), "Pending");
    }

    #[test]
    fn expiring_now_applies_to_created_jobs_held_or_not() {
        let now = SystemTime::now();
        let mut held = Tracked::held(Job::in_status(
            "us-east-1_T",
            "import-c",
            JobStatus::Created,
        ));
        assert!(expire(&mut held, now, &timings()));
        assert_eq!(held.job.status, "Expired");
        assert_eq!(held.job.completion_date, Some(now));
        let mut running = created(now);
        start(&mut running, now, &timings()).unwrap();
        assert!(!expire(&mut running, now, &timings()));
        assert_eq!(running.job.status, "Pending");
    }

    #[test]
    fn held_jobs_stay_until_an_operation_moves_them() {
        let now = SystemTime::now();
        let mut held = Tracked::held(Job::in_status(
            "us-east-1_T",
            "import-d",
            JobStatus::Pending,
        ));
        settle(&mut held, now + 1_000_000 * SECOND, &timings());
        assert_eq!(held.job.status, "Pending");
        let mut odd = Tracked::held(Job::in_status(
            "us-east-1_T",
            "import-e",
            JobStatus::Created,
        ));
        odd.job.status = "Archived".to_owned();
        settle(&mut odd, now + 1_000_000 * SECOND, &timings());
        assert_eq!(odd.job.status, "Archived");
    }

    #[test]
    fn shorter_timings_apply_to_jobs_already_waiting() {
        let t0 = SystemTime::now();
        let mut job = created(t0);
        start(&mut job, t0, &timings()).unwrap();
        settle(&mut job, t0 + SECOND, &Timings::immediate());
        assert_eq!(job.job.status, "Failed");
        assert_eq!(job.job.completion_date, Some(t0));
    }
}
