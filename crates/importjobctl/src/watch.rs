//! WatchUserImportJob: a job followed to its final status, each answer
//! handed on as it comes, and Ctrl-C doing to the job what the caller chose.

use tokio::sync::oneshot;
use tonic::{Streaming, transport::Channel};

use crate::{
    api::{
        StopUserImportJobRequest, UserImportJob, UserImportJobStatus, WatchUserImportJobRequest,
        WatchUserImportJobResponse, import_job_service_client::ImportJobServiceClient,
    },
    call::{Calls, CommandError},
    interrupt::{self, Interrupts, OnInterrupt},
    progress::Progress,
    report,
};

/// Watches the service breaks off in a row (draining, a connection at its
/// age) that are resumed before the command gives up.
const MAX_RESUMES: u32 = 5;
const RESUME_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// How a watch ended.
#[derive(Debug)]
pub enum Watched {
    /// At the job's final status; `stopped_here` when Ctrl-C stopped it.
    Final {
        job: Box<UserImportJob>,
        stopped_here: bool,
    },
    /// Ctrl-C, with the job left as it was.
    Left,
}

/// The job a watch follows, and what Ctrl-C does to it.
pub struct Follow<'a> {
    pub user_pool_id: &'a str,
    pub job_id: &'a str,
    pub on_interrupt: OnInterrupt,
}

/// Whether the job ended as its owner hoped.
pub fn succeeded(job: &UserImportJob) -> bool {
    job.status() == UserImportJobStatus::Succeeded
}

/// Watches the job until its status is final, handing each answer to
/// `each` (whose error ends the watch), with Ctrl-C as `follow` says: a
/// second press while a stop is asked for or under way leaves at once.
pub async fn follow(
    client: &mut ImportJobServiceClient<Channel>,
    calls: &Calls,
    follow: &Follow<'_>,
    interrupts: &mut Interrupts,
    progress: &Progress,
    mut each: impl FnMut(&UserImportJob) -> Result<(), CommandError>,
) -> Result<Watched, CommandError> {
    let mut watch = Watch {
        request: WatchUserImportJobRequest {
            user_pool_id: follow.user_pool_id.to_owned(),
            job_id: follow.job_id.to_owned(),
        },
        answers: None,
        opened: false,
        resumed: 0,
    };
    let mut last = None;
    let mut question: Option<oneshot::Receiver<bool>> = None;
    // A question open, or a stop asked for.
    let mut interrupted = false;
    let mut stopped_here = false;
    loop {
        tokio::select! {
            // A press while the watch is still being opened counts as much
            // as one while it runs: the job is started either way.
            answer = watch.next(client, calls) => match answer? {
                Some(answer) => {
                    if let Some(job) = answer.user_import_job {
                        each(&job)?;
                        last = Some(job);
                    }
                }
                None => break,
            },
            () = interrupts.next() => {
                if interrupted {
                    return Ok(Watched::Left);
                }
                interrupted = true;
                match follow.on_interrupt {
                    OnInterrupt::Stop => stopped_here = stop(client, calls, follow, progress).await,
                    OnInterrupt::Ask if interrupt::can_ask() => {
                        progress.pause();
                        question = Some(interrupt::ask(&format!(
                            "Stop import job {}?",
                            follow.job_id
                        )));
                    }
                    OnInterrupt::Ask | OnInterrupt::Leave => return Ok(Watched::Left),
                }
            }
            yes = answer(&mut question) => {
                question = None;
                progress.resume();
                if yes {
                    stopped_here = stop(client, calls, follow, progress).await;
                } else {
                    interrupted = false;
                }
            }
        }
    }
    match last {
        Some(job) => Ok(Watched::Final {
            job: Box::new(job),
            stopped_here,
        }),
        None => Err(CommandError::Transport(
            "the service ended the watch without an answer".to_owned(),
        )),
    }
}

/// The watch call, opened when first asked for an answer and opened again
/// when the service breaks it off.
struct Watch {
    request: WatchUserImportJobRequest,
    answers: Option<Streaming<WatchUserImportJobResponse>>,
    /// Whether a call was ever opened: a first call that fails is not resumed.
    opened: bool,
    /// Calls broken off in a row, each resumed on a fresh call.
    resumed: u32,
}

impl Watch {
    /// The next answer, or `None` once the job's status is final. The
    /// service ends a watch UNAVAILABLE when it drains (a connection cut at
    /// its age says the same): that asks the watcher to resume elsewhere.
    async fn next(
        &mut self,
        client: &mut ImportJobServiceClient<Channel>,
        calls: &Calls,
    ) -> Result<Option<WatchUserImportJobResponse>, CommandError> {
        loop {
            let status = match &mut self.answers {
                Some(answers) => match answers.message().await {
                    Ok(Some(answer)) => {
                        self.resumed = 0;
                        return Ok(Some(answer));
                    }
                    Ok(None) => return Ok(None),
                    Err(status) => status,
                },
                None => {
                    let call = calls.long_request(self.request.clone());
                    match client.watch_user_import_job(call).await {
                        Ok(answers) => {
                            self.answers = Some(answers.into_inner());
                            self.opened = true;
                            continue;
                        }
                        Err(status) => status,
                    }
                }
            };
            let resumable = status.code() == tonic::Code::Unavailable
                && self.opened
                && self.resumed < MAX_RESUMES;
            if !resumable {
                return Err(calls.failure(&status));
            }
            self.answers = None;
            self.resumed += 1;
            tokio::time::sleep(RESUME_DELAY * self.resumed).await;
        }
    }
}

/// The answer to the open question; never, while none is open.
async fn answer(question: &mut Option<oneshot::Receiver<bool>>) -> bool {
    match question {
        // No answer (stdin closed) is no.
        Some(answer) => answer.await.unwrap_or(false),
        None => std::future::pending().await,
    }
}

/// Asks the service to stop the job; whether it did. A job that could not
/// be stopped (it ended meanwhile, say) is followed on all the same.
async fn stop(
    client: &mut ImportJobServiceClient<Channel>,
    calls: &Calls,
    follow: &Follow<'_>,
    progress: &Progress,
) -> bool {
    progress.note(&format!("Stopping import job {}...", follow.job_id));
    let request = StopUserImportJobRequest {
        user_pool_id: follow.user_pool_id.to_owned(),
        job_id: follow.job_id.to_owned(),
    };
    match client.stop_user_import_job(calls.request(request)).await {
        Ok(_) => true,
        Err(status) => {
            progress.note(&report::error_line(
                "StopUserImportJob",
                &calls.failure(&status),
            ));
            false
        }
    }
}
