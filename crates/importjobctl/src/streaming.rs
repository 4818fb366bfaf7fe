//! importjobctl's own commands ([`Streaming`]), from their flags to what
//! they print and their exit code: the service's streaming RPCs, and
//! import-users built on them. They print as the AWS commands do (`--output`,
//! `--query`), an answer in Cognito's style.

use std::process::ExitCode;

use http::Uri;
use serde_json::Value;

use crate::{
    api::UserImportJob,
    args::{Global, Streaming, UploadUserImportCsv, WatchUserImportJob},
    call::{self, CommandError},
    import::{self, Imported, StepFailed},
    interrupt::{self, Interrupts, OnInterrupt},
    model::{ONE_JOB, Shape, UPLOAD},
    output,
    progress::Progress,
    query::Query,
    report::{self, exit},
    response,
    upload::{self, CsvFile, Target},
    watch::{self, Follow, Watched},
};

/// Runs `command`. Ctrl-C is each command's to handle.
pub async fn run(
    command: &Streaming,
    global: &Global,
    endpoint: &Uri,
    query: Option<&Query>,
) -> ExitCode {
    let printer = Printer { global, query };
    match command {
        Streaming::ImportUsers(args) => {
            let mut interrupts = Interrupts::listen();
            let progress = Progress::on_terminal();
            match import::run(args, global, endpoint, &mut interrupts, &progress).await {
                Ok(imported) => imported_exit(&printer, imported),
                Err(StepFailed {
                    operation,
                    error,
                    created,
                }) => {
                    progress.clear();
                    let checked = matches!(&error, CommandError::Service { problems, .. } if !problems.is_empty());
                    let code = report::failed(operation, error);
                    if let Some(job_id) = created {
                        progress.note(&left_created(&job_id, checked));
                    }
                    code
                }
            }
        }
        Streaming::WatchUserImportJob(args) => watch_job(args, global, endpoint, &printer).await,
        Streaming::UploadUserImportCsv(args) => tokio::select! {
            code = upload_csv(args, global, endpoint, &printer) => code,
            _ = tokio::signal::ctrl_c() => interrupt::interrupted(),
        },
    }
}

/// What to say of a job this run created and left Created, the file's
/// problems (`checked`) or another failure having stopped it.
fn left_created(job_id: &str, checked: bool) -> String {
    let next = if checked {
        format!("once the file is fixed, import-users --job-id {job_id} uploads it to that job")
    } else {
        "a job not started expires by itself".to_owned()
    };
    format!("Import job {job_id} was created and is left Created: {next}.")
}

/// What import-users prints and exits with, once it is over.
fn imported_exit(printer: &Printer, imported: Imported) -> ExitCode {
    let (answer, code) = match imported {
        Imported::Checked(answer) | Imported::Started(answer) => (answer, ExitCode::SUCCESS),
        Imported::Ended {
            answer,
            stopped_here,
        } => {
            let code = if stopped_here {
                ExitCode::from(exit::INTERRUPTED)
            } else if answer
                .user_import_job
                .as_ref()
                .is_some_and(watch::succeeded)
            {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(exit::JOB_UNSUCCESSFUL)
            };
            (answer, code)
        }
        Imported::Left => return ExitCode::from(exit::INTERRUPTED),
    };
    let value = response::upload(&answer, printer.global.cli_timestamp_format);
    match printer.print(&value, &UPLOAD, "ImportUsers") {
        Ok(()) => code,
        Err(error) => report::failed("ImportUsers", error),
    }
}

async fn watch_job(
    args: &WatchUserImportJob,
    global: &Global,
    endpoint: &Uri,
    printer: &Printer<'_>,
) -> ExitCode {
    const OPERATION: &str = "WatchUserImportJob";
    let mut interrupts = Interrupts::listen();
    let (mut client, calls) = match call::connect(global, endpoint).await {
        Ok(connected) => connected,
        Err(error) => return report::failed(OPERATION, error),
    };
    let follow = Follow {
        user_pool_id: &args.user_pool_id,
        job_id: &args.job_id,
        on_interrupt: if args.stop_on_interrupt {
            OnInterrupt::Stop
        } else {
            OnInterrupt::Leave
        },
    };
    let print = |job: &UserImportJob| {
        let value = response::one_job(job, global.cli_timestamp_format);
        printer.print(&value, &ONE_JOB, OPERATION)
    };
    let progress = Progress::hidden();
    match watch::follow(
        &mut client,
        &calls,
        &follow,
        &mut interrupts,
        &progress,
        print,
    )
    .await
    {
        Ok(Watched::Final {
            stopped_here: true, ..
        }) => ExitCode::from(exit::INTERRUPTED),
        Ok(Watched::Final { job, .. }) if watch::succeeded(&job) => ExitCode::SUCCESS,
        Ok(Watched::Final { .. }) => ExitCode::from(exit::JOB_UNSUCCESSFUL),
        Ok(Watched::Left) => interrupt::interrupted(),
        Err(error) => report::failed(OPERATION, error),
    }
}

async fn upload_csv(
    args: &UploadUserImportCsv,
    global: &Global,
    endpoint: &Uri,
    printer: &Printer<'_>,
) -> ExitCode {
    const OPERATION: &str = "UploadUserImportCsv";
    let uploaded = async {
        let file = CsvFile::open(&args.csv_file).await?;
        let (mut client, calls) = call::connect(global, endpoint).await?;
        let target = Target {
            user_pool_id: &args.user_pool_id,
            job_id: &args.job_id,
            validate_only: args.validate_only,
        };
        let progress = Progress::on_terminal();
        let answer = upload::upload(&mut client, &calls, &target, file, &progress).await;
        progress.clear();
        answer
    };
    let printed = match uploaded.await {
        Ok(answer) => printer.print(
            &response::upload(&answer, global.cli_timestamp_format),
            &UPLOAD,
            OPERATION,
        ),
        Err(error) => Err(error),
    };
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report::failed(OPERATION, error),
    }
}

/// Prints answers as the AWS commands print theirs.
struct Printer<'a> {
    global: &'a Global,
    query: Option<&'a Query>,
}

impl Printer<'_> {
    /// `value`, of `shape`, through --query, in --output's format; `title`
    /// names a table.
    fn print(&self, value: &Value, shape: &Shape, title: &str) -> Result<(), CommandError> {
        let value = match self.query {
            Some(query) => query
                .search(value, &shape.member_names())
                .map_err(|error| CommandError::Transport(format!("--query: {error}")))?,
            None => value.clone(),
        };
        report::write_out(&output::render(&value, self.global.output, title))
    }
}
