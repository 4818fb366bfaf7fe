//! The command line: the AWS CLI's for the `cognito-idp` commands of
//! [`OPERATIONS`], importjobctl's own commands for the streaming RPCs
//! ([`Streaming`]), and how to reach and authenticate to the service.

use std::path::PathBuf;

use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::model::{Kind, OPERATIONS, Operation};

/// Calls import-job-service the way `aws cognito-idp` calls Cognito: same
/// command, flags, input files, output and exit codes, so a script moves over
/// by changing one word.
///
/// Exit codes (as AWS CLI version 2 documents them): 0 success; 1 the import
/// job ended other than Succeeded (import-users, watch-user-import-job); 252
/// invalid command-line input; 253 invalid configuration (an unreadable
/// token, CA or key file); 254 the service answered with an error; 255
/// anything else, connection failures and timeouts included; 130
/// interrupted by Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "importjobctl", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// A command: one of the AWS CLI's, or one of importjobctl's own.
#[derive(Debug)]
pub enum Command {
    Aws(Invocation),
    Streaming(Streaming),
}

/// importjobctl's own commands, which the AWS CLI has no counterpart of:
/// the service's streaming RPCs, and the whole import built on them.
#[derive(Debug, Subcommand)]
pub enum Streaming {
    /// Imports the users of a CSV file: creates a job (or takes a Created
    /// one, --job-id), uploads the file, starts the job and watches it to
    /// its final status, then prints the upload's counts and the job.
    ImportUsers(ImportUsers),
    /// Prints the job now, then again each time its status or counts
    /// change, until its status is final.
    WatchUserImportJob(WatchUserImportJob),
    /// Uploads a CSV file of users to a Created job, checked by the service
    /// as it streams.
    UploadUserImportCsv(UploadUserImportCsv),
}

#[derive(Debug, Args)]
pub struct ImportUsers {
    /// The ID of the user pool that you want to import users into.
    #[arg(long)]
    pub user_pool_id: String,
    /// The CSV file of users, its header row GetCSVHeader's columns.
    #[arg(long)]
    pub csv_file: PathBuf,
    /// The IAM role for the new job's CloudWatch logs.
    #[arg(long, required_unless_present = "job_id", conflicts_with = "job_id")]
    pub cloud_watch_logs_role_arn: Option<String>,
    /// The new job's name; the CSV file's name by default.
    #[arg(long, conflicts_with = "job_id")]
    pub job_name: Option<String>,
    /// The hashing algorithm of the password hashes in the CSV file.
    #[arg(long, conflicts_with = "job_id")]
    pub password_hashing_algorithm: Option<String>,
    /// Use this Created job rather than creating one (the job a
    /// --validate-only run created, say).
    #[arg(long)]
    pub job_id: Option<String>,
    /// Check the file against the job's pool, and upload and start nothing;
    /// the job (created unless --job-id) stays Created, for a later run with
    /// --job-id.
    #[arg(long)]
    pub validate_only: bool,
    /// Return once the job is started, without watching it.
    #[arg(long, conflicts_with = "validate_only")]
    pub no_wait: bool,
    /// On Ctrl-C while the job runs, stop it without asking.
    #[arg(long)]
    pub stop_on_interrupt: bool,
}

#[derive(Debug, Args)]
pub struct WatchUserImportJob {
    /// The ID of the user pool that's associated with the import job.
    #[arg(long)]
    pub user_pool_id: String,
    /// The ID of the user import job to watch.
    #[arg(long)]
    pub job_id: String,
    /// On Ctrl-C, stop the job, and watch it to Stopped.
    #[arg(long)]
    pub stop_on_interrupt: bool,
}

#[derive(Debug, Args)]
pub struct UploadUserImportCsv {
    /// The ID of the user pool that's associated with the import job.
    #[arg(long)]
    pub user_pool_id: String,
    /// The ID of a Created user import job.
    #[arg(long)]
    pub job_id: String,
    /// The CSV file of users, its header row GetCSVHeader's columns.
    #[arg(long)]
    pub csv_file: PathBuf,
    /// Check the file against the job's pool, and upload nothing.
    #[arg(long)]
    pub validate_only: bool,
}

/// Options every command takes, before or after the command's name.
#[derive(Debug, Args)]
pub struct Global {
    /// The service's address: http://host:port, or https://host:port for TLS.
    // Checked by `parse_endpoint` after parsing, not by clap, whose error
    // would repeat the value, credentials and all.
    #[arg(
        long,
        global = true,
        env = "IMPORTJOBCTL_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoint: String,

    /// PEM file of the CA that signed the service's certificate; without it,
    /// an https endpoint is checked against the system's trusted roots.
    #[arg(long, global = true, env = "IMPORTJOBCTL_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,

    /// The name the service's certificate must carry, when the endpoint's
    /// host is not that name (an IP address, say).
    #[arg(long, global = true, env = "IMPORTJOBCTL_TLS_SERVER_NAME")]
    pub tls_server_name: Option<String>,

    /// PEM file of this client's certificate, for mTLS (needs --client-key).
    #[arg(
        long,
        global = true,
        env = "IMPORTJOBCTL_CLIENT_CERT",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,

    /// PEM file of this client's private key, for mTLS (needs --client-cert).
    #[arg(
        long,
        global = true,
        env = "IMPORTJOBCTL_CLIENT_KEY",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,

    /// File holding the bearer token (a JWT) to send. The token itself is
    /// never a flag, so it never shows in `ps`; IMPORTJOBCTL_TOKEN may hold
    /// it instead.
    #[arg(long, global = true, env = "IMPORTJOBCTL_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,

    /// Output format.
    #[arg(long, global = true, env = "IMPORTJOBCTL_OUTPUT", value_enum, default_value_t = Output::Json)]
    pub output: Output,

    /// A JMESPath query applied to the response before it is printed.
    #[arg(long, global = true)]
    pub query: Option<String>,

    /// How dates print: `none` (epoch seconds, as the AWS CLI version 1
    /// prints them) or `iso8601` (in the local time zone).
    #[arg(long, global = true, env = "IMPORTJOBCTL_TIMESTAMP_FORMAT", value_enum, default_value_t = TimestampFormat::None)]
    pub cli_timestamp_format: TimestampFormat,

    /// Seconds to wait for the connection (at most a day); 0 waits as long
    /// as it takes.
    #[arg(long, global = true, default_value_t = 60, value_parser = clap::value_parser!(u64).range(..=MAX_TIMEOUT_S))]
    pub cli_connect_timeout: u64,

    /// Seconds to wait for the answer (at most a day), sent to the service
    /// as the call's deadline; 0 waits as long as it takes.
    #[arg(long, global = true, default_value_t = 60, value_parser = clap::value_parser!(u64).range(..=MAX_TIMEOUT_S))]
    pub cli_read_timeout: u64,

    /// Accepted, so that AWS CLI command lines work unchanged, and unused:
    /// the service sends the call to the region the pool id names.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Accepted and unused: the service holds the AWS credentials.
    #[arg(long, global = true, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// Accepted and unused: the answer is one page, and nothing pages it.
    #[arg(long, global = true)]
    pub no_paginate: bool,

    /// Accepted and unused: output is never sent through a pager.
    #[arg(long, global = true)]
    pub no_cli_pager: bool,
}

/// The longest timeout a flag may ask for: a day.
const MAX_TIMEOUT_S: u64 = 24 * 3600;

/// A command of [`OPERATIONS`] and what its own flags were given. The
/// commands are built from the table, each with a flag per input member, so
/// that a new operation needs no code here.
#[derive(Debug)]
pub struct Invocation {
    pub operation: &'static Operation,
    /// Each input member's flag as given, in the model's order; a number too
    /// is kept as typed, for `input` to read as the AWS CLI does.
    pub flags: Vec<Option<String>>,
    pub cli_input_json: Option<String>,
    pub cli_input_yaml: Option<String>,
    pub generate_cli_skeleton: Option<Skeleton>,
}

const CLI_INPUT_JSON: &str = "cli_input_json";
const CLI_INPUT_YAML: &str = "cli_input_yaml";
const GENERATE_CLI_SKELETON: &str = "generate_cli_skeleton";

fn command(operation: &'static Operation) -> clap::Command {
    let members = operation.input.iter().map(|member| {
        let flag = &member.flag[2..];
        let arg = Arg::new(member.name)
            .long(flag)
            .value_name(flag.replace('-', "_").to_uppercase())
            .help(member.doc);
        match member.kind {
            // As argparse reads it: `--max-results -3` is a value.
            Kind::Integer { .. } => arg.allow_negative_numbers(true),
            Kind::String { .. } | Kind::Enum(_) => arg,
        }
    });
    clap::Command::new(operation.command)
        .about(operation.about)
        .args(members)
        .arg(
            Arg::new(CLI_INPUT_JSON)
                .long("cli-input-json")
                .value_name("JSON")
                .conflicts_with(CLI_INPUT_YAML)
                .help(
                    "The parameters as JSON, inline or `file://path`; flags given too override \
                     its values.",
                ),
        )
        .arg(
            Arg::new(CLI_INPUT_YAML)
                .long("cli-input-yaml")
                .value_name("YAML")
                .help(
                    "The parameters as YAML, inline or `file://path`; flags given too override \
                     its values.",
                ),
        )
        .arg(
            Arg::new(GENERATE_CLI_SKELETON)
                .long("generate-cli-skeleton")
                .value_parser(clap::value_parser!(Skeleton))
                .num_args(0..=1)
                .default_missing_value("input")
                .help(
                    "Prints a skeleton and calls nothing: `input` (the default) and \
                     `yaml-input` for --cli-input-json and --cli-input-yaml, `output` for the \
                     response (after checking the other parameters).",
                ),
        )
}

impl Subcommand for Command {
    fn augment_subcommands(cli: clap::Command) -> clap::Command {
        Streaming::augment_subcommands(cli.subcommands(OPERATIONS.iter().map(command)))
    }

    fn augment_subcommands_for_update(cli: clap::Command) -> clap::Command {
        Self::augment_subcommands(cli)
    }

    fn has_subcommand(name: &str) -> bool {
        OPERATIONS.iter().any(|operation| operation.command == name)
            || Streaming::has_subcommand(name)
    }
}

impl FromArgMatches for Command {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand_name() {
            Some(name) if Streaming::has_subcommand(name) => {
                Streaming::from_arg_matches(matches).map(Self::Streaming)
            }
            _ => Invocation::from_arg_matches(matches).map(Self::Aws),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl FromArgMatches for Invocation {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let missing = || clap::Error::new(clap::error::ErrorKind::MissingSubcommand);
        let (name, matches) = matches.subcommand().ok_or_else(missing)?;
        let operation = OPERATIONS
            .iter()
            .find(|operation| operation.command == name)
            .ok_or_else(missing)?;
        let text = |id: &str| matches.get_one::<String>(id).cloned();
        Ok(Self {
            operation,
            flags: operation.input.iter().map(|m| text(m.name)).collect(),
            cli_input_json: text(CLI_INPUT_JSON),
            cli_input_yaml: text(CLI_INPUT_YAML),
            generate_cli_skeleton: matches.get_one::<Skeleton>(GENERATE_CLI_SKELETON).copied(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    Yaml,
    Text,
    Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimestampFormat {
    /// Epoch seconds with milliseconds, as Cognito sends them.
    #[value(alias = "wire")]
    None,
    Iso8601,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Skeleton {
    Input,
    YamlInput,
    Output,
}

/// `scheme://host[:port]` and nothing more: gRPC has no use for a path or
/// query, and credentials in a URL would end up in error messages.
pub fn parse_endpoint(value: &str) -> Result<http::Uri, String> {
    let expected = || "expected http://host:port or https://host:port".to_owned();
    let uri: http::Uri = value.parse().map_err(|_| expected())?;
    let authority = uri.authority().ok_or_else(expected)?;
    if authority.as_str().contains('@') {
        return Err("the endpoint may not hold credentials; use --token-file".to_owned());
    }
    match (uri.scheme_str(), uri.path_and_query().map(|p| p.as_str())) {
        (Some("http" | "https"), None | Some("/")) => Ok(uri),
        (Some("http" | "https"), Some(_)) => Err("the endpoint takes no path or query".to_owned()),
        _ => Err(expected()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_a_scheme_a_host_and_a_port() {
        for good in [
            "http://127.0.0.1:50051",
            "https://jobs.internal:443/",
            "http://[::1]:1",
        ] {
            assert!(parse_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "127.0.0.1:50051",
            "ftp://host:1",
            "http://user:secret@host:1",
            "http://host:1/importjob",
            "http://host:1/?a=b",
            "http://",
        ] {
            let error = parse_endpoint(bad).unwrap_err();
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
