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
//! [`output`] (with [`table`]) what is printed, [`report`] the errors and
//! exit codes.
//!
//! importjobctl's own commands, which the AWS CLI lacks, are [`streaming`]'s:
//! the streaming RPCs ([`watch`], [`upload`]) and import-users ([`import`]),
//! with [`progress`] on a terminal and [`interrupt`] for Ctrl-C.

mod api;
mod args;
mod call;
mod east_asian_width;
mod import;
mod input;
mod interrupt;
mod model;
mod output;
mod progress;
mod python;
mod query;
mod report;
mod response;
mod rpc;
mod scalar;
mod skeleton;
mod streaming;
mod table;
mod upload;
mod watch;
mod yaml;

use std::process::ExitCode;

use clap::Parser;
use http::Uri;

use crate::{
    args::{Cli, Command, Global, Invocation, Skeleton},
    call::CommandError,
    input::{FlagError, Flags, InvalidInput},
    query::Query,
    report::{exit, failed, invalid_input, print},
};

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
    let global = &cli.global;
    let endpoint = match args::parse_endpoint(&global.endpoint) {
        Ok(endpoint) => endpoint,
        Err(error) => return invalid_input(&InvalidInput(format!("--endpoint: {error}"))),
    };
    let query = match global.query.as_deref().map(Query::compile).transpose() {
        Ok(query) => query,
        Err(error) => return invalid_input(&error),
    };
    match &cli.command {
        Command::Aws(invocation) => tokio::select! {
            code = run(invocation, global, &endpoint, query.as_ref()) => code,
            _ = tokio::signal::ctrl_c() => interrupt::interrupted(),
        },
        // They decide what Ctrl-C means: a running job may be worth stopping.
        Command::Streaming(command) => {
            streaming::run(command, global, &endpoint, query.as_ref()).await
        }
    }
}

async fn run(
    invocation: &Invocation,
    global: &Global,
    endpoint: &Uri,
    query: Option<&Query>,
) -> ExitCode {
    let operation = invocation.operation;
    // The AWS CLI's order: argparse, the flags unpacked, the input
    // skeletons, the input document, botocore's checks.
    let flags = match Flags::unpack(invocation) {
        Ok(flags) => flags,
        Err(FlagError::Missing(error)) => return invalid_input(&error),
        Err(FlagError::NotANumber(message)) => {
            report::complain(&message);
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
        match rpc::call(operation, &parameters, global, endpoint).await {
            Ok(response) => response,
            Err(failure) => return failed(operation.name, failure),
        }
    };
    // The command line was valid, and the job may be changed by now: a
    // query that fails on the answer is not the caller's typo (255, not 252).
    let response = match query {
        Some(query) => match query.search(&response, &operation.output.member_names()) {
            Ok(result) => result,
            Err(error) => {
                return failed(
                    operation.name,
                    CommandError::Transport(format!("--query: {error}")),
                );
            }
        },
        None => response,
    };
    print(&output::render(&response, global.output, operation.name))
}
