//! Ctrl-C for the commands that follow a running job: each press heard for
//! as long as the command runs, and what it may do to the job (leave it,
//! ask whether to stop it, stop it).

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use tokio::sync::{mpsc, oneshot};

use crate::report::exit;

/// What Ctrl-C does to a running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Leave it running; stop following it.
    Leave,
    /// Ask on the terminal whether to stop it (leave it when there is no
    /// terminal to ask on).
    Ask,
    /// Stop it, and follow it to Stopped.
    Stop,
}

/// The presses of Ctrl-C from [`Interrupts::listen`] on.
pub struct Interrupts(mpsc::UnboundedReceiver<()>);

impl Interrupts {
    /// Takes Ctrl-C over from the default, which ends the process: from now
    /// on each press is an answer of [`Interrupts::next`].
    pub fn listen() -> Self {
        let (presses, heard) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if presses.send(()).is_err() {
                    break;
                }
            }
        });
        Self(heard)
    }

    /// The next press. Never comes when no handler could be installed.
    pub async fn next(&mut self) {
        if self.0.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

/// Whether there is someone to ask: stdin and stderr are a terminal.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` on stderr and reads the answer from stdin: yes only for
/// "y" or "yes".
pub fn ask(question: &str) -> oneshot::Receiver<bool> {
    let (answer, answered) = oneshot::channel();
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "\n{question} [y/N] ");
    let _ = stderr.flush();
    // A thread of its own: the runtime would wait for a blocking task at
    // exit, and a read of stdin may never end.
    std::thread::spawn(move || {
        let mut line = String::new();
        let yes = std::io::stdin().read_line(&mut line).is_ok()
            && matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes");
        let _ = answer.send(yes);
    });
    answered
}

/// The exit of a command that Ctrl-C ended, as the AWS CLI leaves it.
pub fn interrupted() -> ExitCode {
    let _ = writeln!(std::io::stderr());
    ExitCode::from(exit::INTERRUPTED)
}
