//! import-users: a CSV file of users into a pool in one command. It creates
//! a job (or takes the Created one --job-id names), uploads the file, starts
//! the job and watches it to its final status, each step shown on a
//! terminal. The service checks the file against the job's pool as it
//! streams, so even --validate-only needs a Created job: one is created
//! unless --job-id names one, and is left Created for a later run to use.

use std::future::Future;

use http::Uri;
use tonic::transport::Channel;

use crate::{
    api::{
        CreateUserImportJobRequest, StartUserImportJobRequest, UploadUserImportCsvResponse,
        UserImportJob, import_job_service_client::ImportJobServiceClient,
    },
    args::{Global, ImportUsers},
    call::{self, Calls, CommandError},
    interrupt::{Interrupts, OnInterrupt},
    progress::Progress,
    upload::{self, CsvFile, Target},
    watch::{self, Follow, Watched},
};

/// How far an import went.
#[derive(Debug)]
pub enum Imported {
    /// The file was checked (--validate-only); the job is Created.
    Checked(UploadUserImportCsvResponse),
    /// The job was started (--no-wait); the answer holds it as the start
    /// left it.
    Started(UploadUserImportCsvResponse),
    /// The job's status is final; the answer holds it as it ended.
    Ended {
        answer: UploadUserImportCsvResponse,
        stopped_here: bool,
    },
    /// Ctrl-C, with the job left as it was; a note said what to do.
    Left,
}

/// The step that failed, why, and what it left behind.
#[derive(Debug)]
pub struct StepFailed {
    /// The operation's name in the API.
    pub operation: &'static str,
    pub error: CommandError,
    /// A job this run created and left Created.
    pub created: Option<String>,
}

/// The longest job name Cognito takes.
const MAX_JOB_NAME_CHARS: usize = 128;

/// Runs the import the flags describe, with `progress` shown as it goes.
pub async fn run(
    args: &ImportUsers,
    global: &Global,
    endpoint: &Uri,
    interrupts: &mut Interrupts,
    progress: &Progress,
) -> Result<Imported, StepFailed> {
    let failed = |operation, created: Option<&str>| {
        let created = created.map(str::to_owned);
        move |error| StepFailed {
            operation,
            error,
            created,
        }
    };
    let file = CsvFile::open(&args.csv_file)
        .await
        .map_err(failed("ImportUsers", None))?;
    let (mut client, calls) = call::connect(global, endpoint)
        .await
        .map_err(failed("ImportUsers", None))?;
    let pool = args.user_pool_id.as_str();

    let (job_id, created) = match &args.job_id {
        Some(job_id) => (job_id.clone(), None),
        None => {
            progress.step("Creating an import job");
            let job_name = args
                .job_name
                .clone()
                .unwrap_or_else(|| default_job_name(&file.name()));
            let create = create(&mut client, &calls, args, job_name);
            let Some(job) = interruptible(interrupts, create).await else {
                return Ok(left(progress, "No job was created."));
            };
            let job = job.map_err(failed("CreateUserImportJob", None))?;
            (job.job_id.clone(), Some(job.job_id))
        }
    };
    let left_created = || match &created {
        Some(job_id) => format!(
            "Import job {job_id} was created and is left Created: \
             import-users --job-id {job_id} uploads to it."
        ),
        None => format!("Import job {job_id} is left Created."),
    };

    let target = Target {
        user_pool_id: pool,
        job_id: &job_id,
        validate_only: args.validate_only,
    };
    let sent = upload::upload(&mut client, &calls, &target, file, progress);
    let Some(answer) = interruptible(interrupts, sent).await else {
        return Ok(left(progress, &left_created()));
    };
    let mut answer = answer.map_err(failed("UploadUserImportCsv", created.as_deref()))?;
    if args.validate_only {
        progress.clear();
        return Ok(Imported::Checked(answer));
    }

    progress.step(format!("Starting import job {job_id}"));
    let start = StartUserImportJobRequest {
        user_pool_id: pool.to_owned(),
        job_id: job_id.clone(),
    };
    let started = client.start_user_import_job(calls.request(start));
    let Some(started) = interruptible(interrupts, started).await else {
        return Ok(left(
            progress,
            &format!("Import job {job_id} may have started: describe-user-import-job tells."),
        ));
    };
    let started = started
        .map_err(|status| calls.failure(&status))
        .map_err(failed("StartUserImportJob", created.as_deref()))?;
    answer.user_import_job = started.into_inner().user_import_job;
    if args.no_wait {
        progress.clear();
        return Ok(Imported::Started(answer));
    }

    let on_interrupt = if args.stop_on_interrupt {
        OnInterrupt::Stop
    } else {
        OnInterrupt::Ask
    };
    let follow = Follow {
        user_pool_id: pool,
        job_id: &job_id,
        on_interrupt,
    };
    let shown = |job: &UserImportJob| {
        progress.job(job);
        Ok(())
    };
    let watched = watch::follow(&mut client, &calls, &follow, interrupts, progress, shown)
        .await
        .map_err(failed("WatchUserImportJob", None))?;
    progress.clear();
    Ok(match watched {
        Watched::Final { job, stopped_here } => {
            answer.user_import_job = Some(*job);
            Imported::Ended {
                answer,
                stopped_here,
            }
        }
        Watched::Left => left(
            progress,
            &format!(
                "Import job {job_id} goes on: stop-user-import-job --user-pool-id {pool} \
                 --job-id {job_id} stops it."
            ),
        ),
    })
}

/// The step's outcome, or `None` if Ctrl-C came first.
async fn interruptible<T>(interrupts: &mut Interrupts, step: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        outcome = step => Some(outcome),
        () = interrupts.next() => None,
    }
}

fn left(progress: &Progress, note: &str) -> Imported {
    progress.clear();
    progress.note(&format!("\n{note}"));
    Imported::Left
}

async fn create(
    client: &mut ImportJobServiceClient<Channel>,
    calls: &Calls,
    args: &ImportUsers,
    job_name: String,
) -> Result<UserImportJob, CommandError> {
    let request = CreateUserImportJobRequest {
        user_pool_id: args.user_pool_id.clone(),
        job_name,
        cloud_watch_logs_role_arn: args.cloud_watch_logs_role_arn.clone().unwrap_or_default(),
        password_hashing_algorithm: args.password_hashing_algorithm.clone(),
    };
    let answer = client.create_user_import_job(calls.request(request)).await;
    answer
        .map_err(|status| calls.failure(&status))?
        .into_inner()
        .user_import_job
        .ok_or_else(|| CommandError::Transport("the service answered without a job".to_owned()))
}

/// A job name Cognito takes, from the file's name: what its pattern
/// (`[\w\s+=,.@-]+`) refuses becomes `_`.
fn default_job_name(file_name: &str) -> String {
    let name: String = file_name
        .chars()
        .take(MAX_JOB_NAME_CHARS)
        .map(|c| {
            let taken = c.is_ascii_alphanumeric() || " \t\n\u{b}\u{c}\r_+=,.@-".contains(c);
            if taken { c } else { '_' }
        })
        .collect();
    if name.is_empty() {
        "import-users".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_job_names_are_the_files_as_cognito_takes_them() {
        assert_eq!(default_job_name("users.csv"), "users.csv");
        assert_eq!(default_job_name("équipe (2).csv"), "_quipe _2_.csv");
        assert_eq!(default_job_name(""), "import-users");
        assert_eq!(default_job_name(&"a".repeat(300)).len(), MAX_JOB_NAME_CHARS);
    }
}
