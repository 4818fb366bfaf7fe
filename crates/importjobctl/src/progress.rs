//! What import-users shows while it works: the bytes sent while the file
//! uploads, the job's status and counts while it runs. Drawn on stderr, and
//! only when stdout is a terminal, so that output piped or redirected stays
//! the summary alone; notes (what was left behind) go to stderr either way.

use std::{borrow::Cow, io::IsTerminal, time::Duration};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{api::UserImportJob, response};

/// The display; clones draw the same line.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    shown: bool,
}

const TICK: Duration = Duration::from_millis(120);

impl Progress {
    /// Shown on stderr when stdout is a terminal.
    pub fn on_terminal() -> Self {
        let shown = std::io::stdout().is_terminal();
        let bar = ProgressBar::with_draw_target(None, Self::target(shown));
        Self { bar, shown }
    }

    /// Never shown: for the commands whose output is the progress.
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            shown: false,
        }
    }

    fn target(shown: bool) -> ProgressDrawTarget {
        if shown {
            // Hidden all the same when stderr is not a terminal.
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// A step that takes one call: a spinner and what it does.
    pub fn step(&self, message: impl Into<Cow<'static, str>>) {
        self.bar.set_style(spinner());
        self.bar.set_message(message);
        self.bar.enable_steady_tick(TICK);
    }

    /// The upload of a file of `length` bytes begins.
    pub fn upload(&self, name: &str, length: u64) {
        self.bar.disable_steady_tick();
        self.bar.set_length(length);
        self.bar.set_position(0);
        self.bar.set_message(format!("Uploading {name}"));
        let style = ProgressStyle::with_template(
            "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        self.bar.set_style(style);
    }

    /// `bytes` more of the file were sent.
    pub fn sent(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    /// The job as last seen: its status and counts.
    pub fn job(&self, job: &UserImportJob) {
        let status = response::aws_status(job.status()).unwrap_or("Unknown");
        self.step(format!(
            "{} {status}: {} imported, {} skipped, {} failed",
            job.job_id, job.imported_users, job.skipped_users, job.failed_users
        ));
    }

    /// Stops drawing, for a question to be asked on the terminal.
    pub fn pause(&self) {
        self.bar.set_draw_target(ProgressDrawTarget::hidden());
    }

    /// Draws again after [`Progress::pause`].
    pub fn resume(&self) {
        self.bar.set_draw_target(Self::target(self.shown));
    }

    /// Writes `text` on stderr, on a line of its own, shown or not.
    pub fn note(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }

    /// Clears the display, for the summary.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

fn spinner() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template")
}
