//! The user pools the emulator hosts: their jobs, their CSV headers, their
//! users, the limit on jobs, and the order and pages ListUserImportJobs
//! gives them in.

use std::{
    collections::BTreeMap,
    time::{SystemTime, UNIX_EPOCH},
};

use super::{
    Job, Rejection, UploadSummary,
    imports::{Fingerprints, PoolUsers, Upload},
    lifecycle::{Timings, Tracked},
    pagination::{Position, Tokens},
};
use crate::presigned;

/// How many jobs a pool holds before CreateUserImportJob answers
/// LimitExceededException, unless set otherwise: the emulator's own figure,
/// room for a demo or a test suite's worth.
pub const DEFAULT_JOB_LIMIT: usize = 100;

/// GetCSVHeader's answer for a pool with the standard attributes only: the
/// developer guide's example, in its order.
pub const STANDARD_CSV_HEADER: [&str; 21] = [
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "cognito:mfa_enabled",
    "cognito:username",
];

/// User pools (by id) and their jobs (by job id).
#[derive(Debug)]
pub struct Pools {
    pools: BTreeMap<String, Pool>,
    pub(crate) timings: Timings,
    /// Most jobs a pool may hold for CreateUserImportJob to add one.
    pub(crate) job_limit: usize,
    /// Where the pre-signed URLs of jobs created here point.
    upload_bucket: String,
    tokens: Tokens,
    /// How usernames are kept, in uploads and in pools alike.
    keys: Fingerprints,
}

#[derive(Debug)]
struct Pool {
    jobs: BTreeMap<String, Tracked>,
    csv_header: Vec<String>,
    users: PoolUsers,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            jobs: BTreeMap::new(),
            csv_header: STANDARD_CSV_HEADER.map(str::to_owned).to_vec(),
            users: PoolUsers::default(),
        }
    }
}

impl Pool {
    /// Moves every job through the statuses that ended by `now`; the jobs
    /// whose import is due end in the order they are due (then by job id),
    /// so that of two jobs importing one user, the first to end imports it.
    fn advance(&mut self, now: SystemTime, timings: &Timings) {
        let mut ending: Vec<(SystemTime, String)> = self
            .jobs
            .iter_mut()
            .filter_map(|(id, tracked)| Some((tracked.advance(now, timings)?, id.clone())))
            .collect();
        ending.sort();
        for (at, id) in ending {
            if let Some(tracked) = self.jobs.get_mut(&id) {
                tracked.end(at, &mut self.users);
            }
        }
    }

    /// Applies `operation` to the job after advancing the pool to `now`,
    /// and advances the pool again: a status the operation enters may end at
    /// once.
    fn operate(
        &mut self,
        job_id: &str,
        now: SystemTime,
        timings: &Timings,
        operation: impl FnOnce(&mut Tracked) -> Result<(), Rejection>,
    ) -> Result<&Job, Rejection> {
        self.advance(now, timings);
        let tracked = self
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| job_not_found(job_id))?;
        operation(tracked)?;
        self.advance(now, timings);
        Ok(&self.jobs[job_id].job)
    }
}

impl Default for Pools {
    fn default() -> Self {
        Self {
            pools: BTreeMap::new(),
            timings: Timings::default(),
            job_limit: DEFAULT_JOB_LIMIT,
            upload_bucket: presigned::S3_BUCKET.to_owned(),
            tokens: Tokens::default(),
            keys: Fingerprints::default(),
        }
    }
}

/// One page of ListUserImportJobs.
pub(crate) struct Page<'a> {
    pub(crate) jobs: Vec<&'a Job>,
    pub(crate) next: Option<String>,
}

impl Pools {
    /// Adds a pool with no jobs and the standard CSV header, if it is not
    /// there yet.
    pub fn add_pool(&mut self, user_pool_id: &str) {
        self.pools.entry(user_pool_id.to_owned()).or_default();
    }

    /// Adds or replaces a job, creating its pool if needed. The job keeps
    /// the status it was given until an operation moves it.
    pub fn put_job(&mut self, job: Job) {
        self.pools
            .entry(job.user_pool_id.clone())
            .or_default()
            .jobs
            .insert(job.job_id.clone(), Tracked::held(job));
    }

    pub fn pool_ids(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }

    /// The pool's jobs by job id, as they were when last read.
    pub fn jobs(&self, user_pool_id: &str) -> Result<impl Iterator<Item = &Job>, Rejection> {
        Ok(self.pool(user_pool_id)?.jobs.values().map(|t| &t.job))
    }

    /// The job as it was when last read.
    pub fn job(&self, user_pool_id: &str, job_id: &str) -> Result<&Job, Rejection> {
        Ok(&self.tracked(user_pool_id, job_id)?.job)
    }

    /// CreateUserImportJob, now.
    pub fn create(
        &mut self,
        user_pool_id: &str,
        job_name: &str,
        role_arn: &str,
    ) -> Result<&Job, Rejection> {
        self.create_at(user_pool_id, job_name, role_arn, None, SystemTime::now())
    }

    /// StartUserImportJob, now.
    pub fn start(&mut self, user_pool_id: &str, job_id: &str) -> Result<&Job, Rejection> {
        self.start_at(user_pool_id, job_id, SystemTime::now())
    }

    /// StopUserImportJob, now.
    pub fn stop(&mut self, user_pool_id: &str, job_id: &str) -> Result<&Job, Rejection> {
        self.stop_at(user_pool_id, job_id, SystemTime::now())
    }

    pub(crate) fn set_upload_origin(&mut self, origin: &str) {
        self.upload_bucket = format!("{origin}{}", presigned::UPLOAD_PATH);
    }

    /// A pre-signed URL for the job, on the emulator once it is listening.
    pub(crate) fn pre_signed_url(
        &self,
        user_pool_id: &str,
        job_id: &str,
        at: SystemTime,
    ) -> String {
        presigned::url(&self.upload_bucket, user_pool_id, job_id, at)
    }

    pub(crate) fn create_at(
        &mut self,
        user_pool_id: &str,
        job_name: &str,
        role_arn: &str,
        password_hashing_algorithm: Option<&str>,
        now: SystemTime,
    ) -> Result<&Job, Rejection> {
        let held = self.pool(user_pool_id)?.jobs.len();
        if held >= self.job_limit {
            return Err(Rejection::limit_exceeded(format!(
                "User pool {user_pool_id} has reached its limit of {} import jobs.",
                self.job_limit
            )));
        }
        let job_id = loop {
            let id = format!(
                "import-{}",
                presigned::random_string(presigned::ALPHANUMERIC, 10)
            );
            if !self.pool(user_pool_id)?.jobs.contains_key(&id) {
                break id;
            }
        };
        let mut job = Job::new(user_pool_id, &job_id, job_name);
        job.creation_date = now;
        job.pre_signed_url = self.pre_signed_url(user_pool_id, &job_id, now);
        job.cloud_watch_logs_role_arn = role_arn.to_owned();
        job.password_hashing_algorithm = password_hashing_algorithm.map(str::to_owned);
        let timings = self.timings;
        let pool = self.pool_mut(user_pool_id)?;
        pool.jobs.insert(job_id.clone(), Tracked::created(job, now));
        pool.operate(&job_id, now, &timings, |_| Ok(()))
    }

    pub(crate) fn job_at(
        &mut self,
        user_pool_id: &str,
        job_id: &str,
        now: SystemTime,
    ) -> Result<&Job, Rejection> {
        let timings = self.timings;
        self.pool_mut(user_pool_id)?
            .operate(job_id, now, &timings, |_| Ok(()))
    }

    pub(crate) fn start_at(
        &mut self,
        user_pool_id: &str,
        job_id: &str,
        now: SystemTime,
    ) -> Result<&Job, Rejection> {
        let timings = self.timings;
        self.pool_mut(user_pool_id)?
            .operate(job_id, now, &timings, |tracked| tracked.start(now))
    }

    pub(crate) fn stop_at(
        &mut self,
        user_pool_id: &str,
        job_id: &str,
        now: SystemTime,
    ) -> Result<&Job, Rejection> {
        let timings = self.timings;
        self.pool_mut(user_pool_id)?
            .operate(job_id, now, &timings, |tracked| tracked.stop(now))
    }

    /// Expires the job now if it is Created (held or not); the job after.
    pub(crate) fn expire_at(
        &mut self,
        user_pool_id: &str,
        job_id: &str,
        now: SystemTime,
    ) -> Result<&Job, Rejection> {
        let timings = self.timings;
        self.pool_mut(user_pool_id)?
            .operate(job_id, now, &timings, |tracked| {
                tracked.expire(now);
                Ok(())
            })
    }

    /// Where an upload for the job is checked against: the job's pre-signed
    /// URL and the pool's CSV header, with the keys usernames are kept
    /// under; `None` if there is no such job.
    pub(crate) fn upload_target(
        &self,
        user_pool_id: &str,
        job_id: &str,
    ) -> Option<(String, Vec<String>, Fingerprints)> {
        let pool = self.pools.get(user_pool_id)?;
        let tracked = pool.jobs.get(job_id)?;
        Some((
            tracked.job.pre_signed_url.clone(),
            pool.csv_header.clone(),
            self.keys.clone(),
        ))
    }

    /// Stores a file uploaded for the job, in place of any before; whether
    /// the job is there to take it.
    pub(crate) fn store_upload(
        &mut self,
        user_pool_id: &str,
        job_id: &str,
        upload: Upload,
    ) -> bool {
        let Ok(tracked) = self.tracked_mut(user_pool_id, job_id) else {
            return false;
        };
        tracked.store_upload(upload);
        true
    }

    /// What is kept of the file last uploaded for the job, if one was.
    pub fn upload(&self, user_pool_id: &str, job_id: &str) -> Option<&UploadSummary> {
        let tracked = self.tracked(user_pool_id, job_id).ok()?;
        tracked.upload().map(|upload| &upload.summary)
    }

    /// Gives the pool these users, as if imported already: a job importing
    /// one skips it. The pool is created if needed.
    pub fn add_users<'a>(
        &mut self,
        user_pool_id: &str,
        usernames: impl IntoIterator<Item = &'a str>,
    ) {
        let pool = self.pools.entry(user_pool_id.to_owned()).or_default();
        for username in usernames {
            pool.users.add(&self.keys, username);
        }
    }

    /// How many usernames the pool has (at most
    /// [`super::MAX_POOL_USERNAMES`]), if there is such a pool.
    pub fn user_count(&self, user_pool_id: &str) -> Option<usize> {
        Some(self.pools.get(user_pool_id)?.users.len())
    }

    /// Every job of the pool as of `now`, in the list's order: by creation
    /// date, then by job id. New jobs come last, so paging while jobs are
    /// created neither skips nor repeats one.
    pub(crate) fn jobs_at(
        &mut self,
        user_pool_id: &str,
        now: SystemTime,
    ) -> Result<Vec<&Job>, Rejection> {
        let timings = self.timings;
        let pool = self.pool_mut(user_pool_id)?;
        pool.advance(now, &timings);
        let mut jobs: Vec<&Job> = pool.jobs.values().map(|t| &t.job).collect();
        jobs.sort_by_cached_key(|job| position(job));
        Ok(jobs)
    }

    /// Every job of every pool as of `now`.
    pub(crate) fn advance_all(&mut self, now: SystemTime) {
        let timings = self.timings;
        for pool in self.pools.values_mut() {
            pool.advance(now, &timings);
        }
    }

    /// ListUserImportJobs: up to `max` jobs after the position `token`
    /// names, and a token for the next page if any job is left.
    pub(crate) fn list_at(
        &mut self,
        user_pool_id: &str,
        max: usize,
        token: Option<&str>,
        request_id: &str,
        now: SystemTime,
    ) -> Result<Page<'_>, Rejection> {
        self.pool(user_pool_id)?;
        let after = match token {
            None => None,
            Some(token) => Some(self.tokens.redeem(user_pool_id, token).ok_or_else(|| {
                Rejection::invalid(format!(
                    "Paging marker {token} is invalid for request {request_id}"
                ))
            })?),
        };
        let tokens = &self.tokens;
        let timings = self.timings;
        let pool = self.pools.get_mut(user_pool_id).expect("checked above");
        pool.advance(now, &timings);
        let mut rest: Vec<(Position, &Job)> = pool
            .jobs
            .values()
            .map(|t| (position(&t.job), &t.job))
            .filter(|(at, _)| after.as_ref().is_none_or(|after| at > after))
            .collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        let more = rest.len() > max;
        rest.truncate(max);
        let next = match rest.last() {
            Some((last, _)) if more => Some(tokens.issue(user_pool_id, last)),
            _ => None,
        };
        Ok(Page {
            jobs: rest.into_iter().map(|(_, job)| job).collect(),
            next,
        })
    }

    pub(crate) fn csv_header(&self, user_pool_id: &str) -> Result<&[String], Rejection> {
        Ok(&self.pool(user_pool_id)?.csv_header)
    }

    /// Sets the pool's CSV header, creating the pool if needed.
    pub(crate) fn set_csv_header(&mut self, user_pool_id: &str, header: Vec<String>) {
        self.pools
            .entry(user_pool_id.to_owned())
            .or_default()
            .csv_header = header;
    }

    fn pool(&self, user_pool_id: &str) -> Result<&Pool, Rejection> {
        self.pools
            .get(user_pool_id)
            .ok_or_else(|| pool_not_found(user_pool_id))
    }

    fn pool_mut(&mut self, user_pool_id: &str) -> Result<&mut Pool, Rejection> {
        self.pools
            .get_mut(user_pool_id)
            .ok_or_else(|| pool_not_found(user_pool_id))
    }

    fn tracked(&self, user_pool_id: &str, job_id: &str) -> Result<&Tracked, Rejection> {
        self.pool(user_pool_id)?
            .jobs
            .get(job_id)
            .ok_or_else(|| job_not_found(job_id))
    }

    fn tracked_mut(&mut self, user_pool_id: &str, job_id: &str) -> Result<&mut Tracked, Rejection> {
        self.pool_mut(user_pool_id)?
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| job_not_found(job_id))
    }
}

fn position(job: &Job) -> Position {
    Position {
        created_nanos: job
            .creation_date
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
        job_id: job.job_id.clone(),
    }
}

fn pool_not_found(user_pool_id: &str) -> Rejection {
    Rejection::not_found(format!("User pool {user_pool_id} does not exist."))
}

fn job_not_found(job_id: &str) -> Rejection {
    Rejection::not_found(format!("Import job {job_id} does not exist."))
}

#[cfg(test)]
mod tests;
