//! What a command leaves behind: its output on stdout, its complaints on
//! stderr as the AWS CLI words them, and its exit code.

use std::{io::Write, process::ExitCode};

use crate::{call::CommandError, input::InvalidInput};

/// Exit codes, as AWS CLI version 2 documents them.
pub mod exit {
    /// The import job ended other than Succeeded: the AWS CLI's code for a
    /// command that ran but whose transfer failed.
    pub const JOB_UNSUCCESSFUL: u8 = 1;
    pub const INVALID_INPUT: u8 = 252;
    pub const INVALID_CONFIGURATION: u8 = 253;
    pub const SERVICE_ERROR: u8 = 254;
    pub const OTHER: u8 = 255;
    pub const INTERRUPTED: u8 = 130;
}

/// Writes `text` to stdout.
pub fn print(text: &str) -> ExitCode {
    match write_out(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => failed("", error),
    }
}

/// Writes `text` to stdout, for a command that prints more than once.
pub fn write_out(text: &str) -> Result<(), CommandError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        // A reader that went away (`| head`) is not a failure worth a word.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(CommandError::Transport(format!(
            "cannot write the output: {error}"
        ))),
    }
}

/// Writes a blank line and `text` to stderr, as the AWS CLI reports
/// errors; a stderr that cannot be written to is no reason to panic.
pub fn complain(text: &str) {
    let _ = writeln!(std::io::stderr(), "\n{text}");
}

pub fn invalid_input(error: &InvalidInput) -> ExitCode {
    complain(&error.0);
    ExitCode::from(exit::INVALID_INPUT)
}

/// Prints the failure of `operation` (its name in the API) as the AWS CLI
/// does, and a CSV file's problems one per line after it.
pub fn failed(operation: &str, failure: CommandError) -> ExitCode {
    complain(&error_line(operation, &failure));
    ExitCode::from(match failure {
        CommandError::Input(_) => exit::INVALID_INPUT,
        CommandError::Configuration(_) => exit::INVALID_CONFIGURATION,
        CommandError::Service { .. } => exit::SERVICE_ERROR,
        CommandError::Transport(_) => exit::OTHER,
    })
}

/// What the AWS CLI says of the failure of `operation`, and a CSV file's
/// problems one per line after it.
pub fn error_line(operation: &str, failure: &CommandError) -> String {
    match failure {
        CommandError::Service {
            code,
            message,
            problems,
        } => {
            let mut line = format!(
                "An error occurred ({code}) when calling the {operation} operation: {message}"
            );
            for problem in problems {
                line.push('\n');
                line.push_str(problem);
            }
            line
        }
        CommandError::Input(message)
        | CommandError::Configuration(message)
        | CommandError::Transport(message) => message.clone(),
    }
}
