//! WatchUserImportJob's polls: one per job, shared by every caller watching
//! it, so that N watchers cost Cognito what one does.
//!
//! A poll is a task that describes the job (through the same path as a
//! DescribeUserImportJob call: its region, a turn under the read rate,
//! metrics, the error table), publishes what it saw on a `watch` channel,
//! and sleeps, longer each time nothing changed. Watchers subscribe to the
//! channel: a new one sees the latest answer at once. The task ends when the
//! job's status is final, when no watcher is left (a watcher that leaves
//! costs nothing), or when the server drains.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::watch, time::Instant};
use tonic::Status;

use crate::{
    connections::GoingAway,
    error::ApiError,
    proto::{UserImportJob, UserImportJobStatus},
};

/// What a poll saw last: the job, or the status that ended the poll. `None`
/// until its first answer.
pub(crate) type Seen = Option<Result<UserImportJob, Status>>;

/// How often a poll describes its job: `first` after a change, growing by
/// half each time nothing changed, up to `longest`.
#[derive(Debug, Clone, Copy)]
pub struct PollIntervals {
    pub first: Duration,
    pub longest: Duration,
}

/// The polls in progress, by job.
pub(crate) struct Polls {
    intervals: PollIntervals,
    /// Past this many jobs followed at once, a watch of another job is
    /// refused: each poll spends turns of the read rate.
    max_polls: usize,
    polls: Mutex<HashMap<(String, String), watch::Sender<Seen>>>,
}

/// Why a watch could not begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManyPolls;

impl Polls {
    pub(crate) fn new(intervals: PollIntervals, max_polls: usize) -> Self {
        Self {
            intervals,
            max_polls,
            polls: Mutex::default(),
        }
    }

    /// Subscribes to the poll of `job` in `pool`, starting one with
    /// `start` when none runs. `start` gets the sender to publish on and
    /// the intervals; the poll ends when the future it returns does.
    pub(crate) fn follow<F>(
        self: &Arc<Self>,
        pool: &str,
        job: &str,
        start: impl FnOnce(watch::Sender<Seen>, PollIntervals) -> F,
    ) -> Result<watch::Receiver<Seen>, TooManyPolls>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let key = (pool.to_owned(), job.to_owned());
        let mut polls = self.polls.lock().unwrap_or_else(|e| e.into_inner());
        // A poll whose task ended has closed its sender's channel to new
        // answers; it is replaced.
        polls.retain(|_, sender| !is_over(sender));
        if let Some(sender) = polls.get(&key) {
            return Ok(sender.subscribe());
        }
        if polls.len() >= self.max_polls {
            return Err(TooManyPolls);
        }
        let (sender, receiver) = watch::channel(None);
        polls.insert(key.clone(), sender.clone());
        let poll = start(sender.clone(), self.intervals);
        // However the poll ends (a panic included), its entry goes, and
        // only its own: a later poll of the same job may have replaced it.
        let entry = Entry {
            polls: Arc::clone(self),
            key,
            sender,
        };
        tokio::spawn(async move {
            let _entry = entry;
            poll.await;
        });
        Ok(receiver)
    }

    /// Whether the poll publishing on `sender` may end for want of
    /// watchers: decided under the lock that [`Polls::follow`] subscribes
    /// under, so that no watcher joins a poll that is ending.
    pub(crate) fn unwatched(&self, sender: &watch::Sender<Seen>) -> bool {
        let _polls = self.polls.lock().unwrap_or_else(|e| e.into_inner());
        sender.receiver_count() == 0
    }

    /// How many jobs are followed now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.polls.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A poll's place in the map, given up when the poll's task ends.
struct Entry {
    polls: Arc<Polls>,
    key: (String, String),
    sender: watch::Sender<Seen>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        let mut polls = self.polls.polls.lock().unwrap_or_else(|e| e.into_inner());
        if polls
            .get(&self.key)
            .is_some_and(|sender| sender.same_channel(&self.sender))
        {
            polls.remove(&self.key);
        }
    }
}

/// Whether a poll has published its last answer (a final status or an
/// error): a new watcher must not join it.
fn is_over(sender: &watch::Sender<Seen>) -> bool {
    match &*sender.borrow() {
        Some(Ok(job)) => is_final(job),
        Some(Err(_)) => true,
        None => false,
    }
}

/// Whether the job's status can no longer change.
pub(crate) fn is_final(job: &UserImportJob) -> bool {
    matches!(
        job.status(),
        UserImportJobStatus::Succeeded
            | UserImportJobStatus::Failed
            | UserImportJobStatus::Stopped
            | UserImportJobStatus::Expired
    )
}

/// Whether a watcher would see `now` as news after `before`: its status or
/// its counts moved.
pub(crate) fn changed(before: &UserImportJob, now: &UserImportJob) -> bool {
    (
        before.status,
        before.imported_users,
        before.skipped_users,
        before.failed_users,
    ) != (
        now.status,
        now.imported_users,
        now.skipped_users,
        now.failed_users,
    )
}

impl PollIntervals {
    /// The wait after one of `unchanged` answers in a row that brought no
    /// news.
    pub(crate) fn after(&self, unchanged: u32) -> Duration {
        let grown = self.first.mul_f64(1.5_f64.powi(unchanged.min(32) as i32));
        grown.min(self.longest)
    }
}

async fn connection_aged(connection: &mut Option<GoingAway>) {
    match connection {
        Some(connection) => connection.aged().await,
        None => std::future::pending().await,
    }
}

/// What a watcher sends next, given what it sent last: the news, the
/// status that ends its stream, or nothing more.
pub(crate) struct Watcher {
    pub(crate) seen: watch::Receiver<Seen>,
    pub(crate) draining: watch::Receiver<bool>,
    /// The watcher's connection, past its age, asks its streams to end.
    pub(crate) connection: Option<GoingAway>,
    pub(crate) deadline: Option<Instant>,
    /// What the watcher sent last; `None` before its first answer.
    pub(crate) sent: Option<UserImportJob>,
    pub(crate) done: bool,
}

impl Watcher {
    /// The next answer, or the status that ends the stream, or `None` once
    /// it has ended.
    pub(crate) async fn next(&mut self) -> Option<Result<UserImportJob, Status>> {
        if self.done {
            return None;
        }
        let outcome = loop {
            if let Some(outcome) = self.news() {
                break outcome;
            }
            let deadline = async {
                match self.deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = self.seen.changed() => if changed.is_err() {
                    // The poll ended without a final answer: the server is
                    // draining.
                    break Err(ApiError::Draining.into());
                },
                _ = self.draining.wait_for(|draining| *draining) => break Err(ApiError::Draining.into()),
                () = deadline => break Err(ApiError::DeadlineExceeded.into()),
                () = connection_aged(&mut self.connection) => break Err(ApiError::ConnectionAged.into()),
            }
        };
        match &outcome {
            Ok(job) => {
                self.done = is_final(job);
                self.sent = Some(job.clone());
            }
            Err(_) => self.done = true,
        }
        Some(outcome)
    }

    /// The poll's latest answer, if it is news to this watcher.
    fn news(&mut self) -> Option<Result<UserImportJob, Status>> {
        match &*self.seen.borrow_and_update() {
            Some(Ok(job)) if self.sent.as_ref().is_none_or(|sent| changed(sent, job)) => {
                Some(Ok(job.clone()))
            }
            Some(Err(status)) => Some(Err(status.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: UserImportJobStatus, imported: i64) -> UserImportJob {
        UserImportJob {
            status: status.into(),
            imported_users: imported,
            ..Default::default()
        }
    }

    #[test]
    fn news_is_a_status_or_a_count_that_moved() {
        let pending = job(UserImportJobStatus::Pending, 0);
        assert!(!changed(&pending, &pending.clone()));
        assert!(changed(&pending, &job(UserImportJobStatus::InProgress, 0)));
        assert!(changed(&pending, &job(UserImportJobStatus::Pending, 1)));
        assert!(is_final(&job(UserImportJobStatus::Expired, 0)));
        assert!(!is_final(&job(UserImportJobStatus::Stopping, 0)));
    }

    #[test]
    fn the_interval_grows_by_half_up_to_the_longest() {
        let intervals = PollIntervals {
            first: Duration::from_secs(1),
            longest: Duration::from_secs(10),
        };
        assert_eq!(intervals.after(0), Duration::from_secs(1));
        assert_eq!(intervals.after(1), Duration::from_millis(1500));
        assert_eq!(intervals.after(100), Duration::from_secs(10));
    }

    #[tokio::test]
    async fn watchers_of_one_job_share_one_poll_and_the_limit_counts_jobs() {
        let polls = Arc::new(Polls::new(
            PollIntervals {
                first: Duration::from_millis(10),
                longest: Duration::from_millis(10),
            },
            2,
        ));
        let (hold, held) = tokio::sync::oneshot::channel::<()>();
        let mut started = 0;
        let mut start = |_: watch::Sender<Seen>, _| {
            started += 1;
            async {}
        };
        let first = polls.follow("p", "j1", |sender, _| {
            // Holds its sender until the test lets go.
            async move {
                let _ = held.await;
                drop(sender);
            }
        });
        let again = polls.follow("p", "j1", &mut start);
        assert!(first.is_ok() && again.is_ok());
        assert_eq!(started, 0, "the second watcher joins the first poll");
        let other = polls.follow("p", "j2", |sender, _| async move {
            let _ = sender.send(Some(Ok(job(UserImportJobStatus::Pending, 0))));
            std::future::pending::<()>().await;
        });
        assert!(other.is_ok());
        assert_eq!(polls.len(), 2);
        assert_eq!(
            polls.follow("p", "j3", |_, _| async {}).unwrap_err(),
            TooManyPolls
        );
        drop(hold);
    }
}
