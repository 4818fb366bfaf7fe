//! # importjobctl
//!
//! `aws cognito-idp stop-user-import-job`, through import-job-service: the
//! same command, flags, input documents, output and error lines, so a script
//! moves over by changing one word, and no AWS credentials on the caller's
//! side.
//!
//! [`args`] is the command line, [`input`] the request it describes,
//! [`call`] the trip to the service, and [`output`] (with [`table`]) what is
//! printed.

mod api;
mod args;
mod call;
mod east_asian_width;
mod input;
mod output;
mod scalar;
mod table;

use std::{io::Write, process::ExitCode};

use clap::Parser;

use crate::{
    args::{Cli, Command, Skeleton},
    call::CommandError,
    input::{InvalidInput, Request},
    output::Query,
};

/// Exit codes, as AWS CLI version 2 documents them.
mod exit {
    pub const INVALID_INPUT: u8 = 252;
    pub const INVALID_CONFIGURATION: u8 = 253;
    pub const SERVICE_ERROR: u8 = 254;
    pub const OTHER: u8 = 255;
    pub const INTERRUPTED: u8 = 130;
}

const OPERATION: &str = "StopUserImportJob";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(exit::INVALID_INPUT);
        }
    };
    tokio::select! {
        code = run(cli) => code,
        _ = tokio::signal::ctrl_c() => {
            let _ = writeln!(std::io::stderr());
            ExitCode::from(exit::INTERRUPTED)
        }
    }
}

async fn run(cli: Cli) -> ExitCode {
    let Command::StopUserImportJob(args) = &cli.command;
    let global = &cli.global;
    let endpoint = match args::parse_endpoint(&global.endpoint) {
        Ok(endpoint) => endpoint,
        Err(error) => return invalid_input(&InvalidInput(format!("--endpoint: {error}"))),
    };
    let query = match global.query.as_deref().map(Query::compile).transpose() {
        Ok(query) => query,
        Err(error) => return invalid_input(&error),
    };
    let skeleton = match args.generate_cli_skeleton {
        Some(Skeleton::Input) => return print(&input::json_input_skeleton()),
        Some(Skeleton::YamlInput) => return print(&input::yaml_input_skeleton()),
        Some(Skeleton::Output) => true,
        None => false,
    };
    let request = match Request::from_args(args) {
        Ok(request) => request,
        Err(error) => return invalid_input(&error),
    };
    let response = if skeleton {
        output::output_skeleton(global.output)
    } else {
        match call::stop_user_import_job(global, &endpoint, request).await {
            Ok(job) => output::job_response(&job, global.cli_timestamp_format),
            Err(failure) => return failed(failure),
        }
    };
    // The command line was valid, and the job may be stopped by now: a query
    // that fails on the answer is not the caller's typo (255, not 252).
    let response = match &query {
        Some(query) => match query.search(&response) {
            Ok(result) => result,
            Err(error) => return failed(CommandError::Transport(format!("--query: {error}"))),
        },
        None => response,
    };
    print(&output::render(&response, global.output, OPERATION))
}

fn print(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) is not a failure worth a word.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            complain(&format!("cannot write the output: {error}"));
            ExitCode::from(exit::OTHER)
        }
    }
}

/// Writes a blank line and `text` to stderr, as the AWS CLI reports
/// errors; a stderr that cannot be written to is no reason to panic.
fn complain(text: &str) {
    let _ = writeln!(std::io::stderr(), "\n{text}");
}

fn invalid_input(error: &InvalidInput) -> ExitCode {
    complain(&error.0);
    ExitCode::from(exit::INVALID_INPUT)
}

/// Prints the failure as the AWS CLI does.
fn failed(failure: CommandError) -> ExitCode {
    let (line, code) = match failure {
        CommandError::Service { code, message } => (
            format!("An error occurred ({code}) when calling the {OPERATION} operation: {message}"),
            exit::SERVICE_ERROR,
        ),
        CommandError::Configuration(message) => (message, exit::INVALID_CONFIGURATION),
        CommandError::Transport(message) => (message, exit::OTHER),
    };
    complain(&line);
    ExitCode::from(code)
}
