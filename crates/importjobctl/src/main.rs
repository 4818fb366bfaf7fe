//! # importjobctl
//!
//! `aws cognito-idp`'s user import job commands, through import-job-service:
//! the same commands, flags, input documents, output and error lines, so a
//! script moves over by changing one word, and no AWS credentials on the
//! caller's side.
//!
//! [`model`] is the table of commands the rest is generic over; [`args`] the
//! command line, [`input`] the request it describes, [`skeleton`] what
//! `--generate-cli-skeleton` prints, [`rpc`] (over [`call`]) the trip to the
//! service, [`response`] its answer in Cognito's shape, and [`query`] and
//! [`output`] (with [`table`]) what is printed.

mod api;
mod args;
mod call;
mod east_asian_width;
mod input;
mod model;
mod output;
mod python;
mod query;
mod response;
mod rpc;
mod scalar;
mod skeleton;
mod table;
mod yaml;

use std::{io::Write, process::ExitCode};

use clap::Parser;

use crate::{
    args::{Cli, Skeleton},
    call::CommandError,
    input::{FlagError, Flags, InvalidInput},
    model::Operation,
    query::Query,
};

/// Exit codes, as AWS CLI version 2 documents them.
mod exit {
    pub const INVALID_INPUT: u8 = 252;
    pub const INVALID_CONFIGURATION: u8 = 253;
    pub const SERVICE_ERROR: u8 = 254;
    pub const OTHER: u8 = 255;
    pub const INTERRUPTED: u8 = 130;
}

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
    let invocation = &cli.command;
    let operation = invocation.operation;
    let global = &cli.global;
    let endpoint = match args::parse_endpoint(&global.endpoint) {
        Ok(endpoint) => endpoint,
        Err(error) => return invalid_input(&InvalidInput(format!("--endpoint: {error}"))),
    };
    let query = match global.query.as_deref().map(Query::compile).transpose() {
        Ok(query) => query,
        Err(error) => return invalid_input(&error),
    };
    // The AWS CLI's order: argparse, the flags unpacked, the input
    // skeletons, the input document, botocore's checks.
    let flags = match Flags::unpack(invocation) {
        Ok(flags) => flags,
        Err(FlagError::Missing(error)) => return invalid_input(&error),
        Err(FlagError::NotANumber(message)) => {
            complain(&message);
            return ExitCode::from(exit::OTHER);
        }
    };
    let skeleton = match invocation.generate_cli_skeleton {
        Some(Skeleton::Input) => return print(&skeleton::json_input(operation)),
        Some(Skeleton::YamlInput) => return print(&skeleton::yaml_input(operation)),
        Some(Skeleton::Output) => true,
        None => false,
    };
    let parameters = match flags.with_document(invocation) {
        Ok(parameters) => parameters,
        Err(error) => return invalid_input(&error),
    };
    let response = if skeleton {
        skeleton::output(operation, global.output)
    } else {
        match rpc::call(operation, &parameters, global, &endpoint).await {
            Ok(response) => response,
            Err(failure) => return failed(operation, failure),
        }
    };
    // The command line was valid, and the job may be changed by now: a
    // query that fails on the answer is not the caller's typo (255, not 252).
    let response = match &query {
        Some(query) => match query.search(&response, &operation.output.member_names()) {
            Ok(result) => result,
            Err(error) => {
                return failed(
                    operation,
                    CommandError::Transport(format!("--query: {error}")),
                );
            }
        },
        None => response,
    };
    print(&output::render(&response, global.output, operation.name))
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
fn failed(operation: &Operation, failure: CommandError) -> ExitCode {
    let (line, code) = match failure {
        CommandError::Service { code, message } => (
            format!(
                "An error occurred ({code}) when calling the {} operation: {message}",
                operation.name
            ),
            exit::SERVICE_ERROR,
        ),
        CommandError::Configuration(message) => (message, exit::INVALID_CONFIGURATION),
        CommandError::Transport(message) => (message, exit::OTHER),
    };
    complain(&line);
    ExitCode::from(code)
}
