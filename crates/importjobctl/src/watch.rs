//! WatchUserImportJob: a job followed to its final status, each answer
//! handed on as it comes, and Ctrl-C doing to the job what the caller chose.

use tokio::sync::oneshot;
use tonic::transport::Channel;

use crate::{
    api::{
        StopUserImportJobRequest, UserImportJob, UserImportJobStatus, WatchUserImportJobRequest,
        import_job_service_client::ImportJobServiceClient,
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
    let request = WatchUserImportJobRequest {
        user_pool_id: follow.user_pool_id.to_owned(),
        job_id: follow.job_id.to_owned(),
    };
    let mut answers = tokio::select! {
        answers = client.watch_user_import_job(calls.long_request(request.clone())) => {
            answers.map_err(|status| calls.failure(&status))?.into_inner()
        }
        () = interrupts.next() => return Ok(Watched::Left),
    };
    // Watches broken off by the service (a replica draining, a connection
    // at its age) in a row, each resumed on a fresh call.
    let mut resumed = 0;
    let mut last = None;
    let mut question: Option<oneshot::Receiver<bool>> = None;
    // A question open, or a stop asked for.
    let mut interrupted = false;
    let mut stopped_here = false;
    loop {
        tokio::select! {
            answer = answers.message() => match answer {
                Ok(Some(answer)) => {
                    resumed = 0;
                    if let Some(job) = answer.user_import_job {
                        each(&job)?;
                        last = Some(job);
                    }
                }
                Ok(None) => break,
                // The service asks watchers to resume elsewhere when it
                // drains; a connection cut at its age says the same.
                Err(status) if status.code() == tonic::Code::Unavailable => {
                    answers = loop {
                        if resumed == MAX_RESUMES {
                            return Err(calls.failure(&status));
                        }
                        resumed += 1;
                        tokio::time::sleep(RESUME_DELAY * resumed).await;
                        let fresh = client
                            .watch_user_import_job(calls.long_request(request.clone()))
                            .await;
                        match fresh {
                            Ok(fresh) => break fresh.into_inner(),
                            Err(again) if again.code() == tonic::Code::Unavailable => {}
                            Err(other) => return Err(calls.failure(&other)),
                        }
                    };
                }
                Err(status) => return Err(calls.failure(&status)),
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
