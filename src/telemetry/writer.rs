//! The log writer: formatted lines go into bounded queues, and a thread of
//! its own writes them to standard error.
//!
//! Emitting a line never waits on the reader: a line is queued in the time
//! of a short lock, or, when its queue is full, counted and let go. So a log
//! shipper that stalls, or a container runtime that blocks on its pipe, can
//! slow nothing but the writer thread. The guarantees:
//! - **Three queues, written in order: the service's own lines (start,
//!   signals, reloads, warnings: a few, and what an operator needs first),
//!   then audit events, then call lines.** Each is bounded on its own, so a
//!   flood of calls sheds call lines, never an audit event or a warning.
//!   Audit events are lost only when their own queue is full: the reader
//!   has taken nothing for as long as it takes the service to produce
//!   [`QUEUE_BYTES`] of them.
//! - **Nothing is lost silently.** Each line let go is counted in
//!   `log_lines_lost_total{kind, reason}`, and the writer says how many it
//!   lost in a line of its own as soon as the reader catches up (and at
//!   least every [`REPORT_EVERY`] while it does not); but for lines the
//!   output refused (a closed pipe, a full disk), which only the metric
//!   counts, as a line about them would be refused too.
//! - **No line is ever cut.** Lines are written whole, in writes of at most
//!   [`PIPE_BUF`] bytes, which a pipe takes whole or not at all; a longer
//!   line (none of the service's is: caller values are cut at 64
//!   characters) is let go and counted, never written in pieces.
//! - **Exit is bounded.** [`LogFlush::finish`] writes what is queued until a
//!   deadline, then replaces what is left by one line that counts it.

use std::{
    io::{self, Write},
    sync::{Arc, PoisonError},
    time::{Duration, Instant},
};

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

mod queues;

use queues::{Batch, Counts, Kind, Lane, Loss, Shared};
pub use queues::{LOST_LINES, LostLabels, PIPE_BUF, QUEUE_BYTES};

/// How often, at least, the writer reports lines lost while the reader stays
/// behind.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// What is left of the deadline when the writer stops writing queued lines
/// and writes the one that counts them instead: time for a slow reader to
/// make room for it.
pub const LAST_LINE_TIME: Duration = Duration::from_millis(500);

/// How long the writer, woken by a line, waits for more before writing:
/// the delay a line may see on an idle service, against a wake-up and a
/// write per line under load.
const GATHER: Duration = Duration::from_millis(1);

/// While finishing, how long a wait for the output to take bytes lasts
/// before the writer looks at the clock again.
const POLL_SLICE: Duration = Duration::from_millis(100);

/// The [`MakeWriter`] the subscriber formats lines into: each line is
/// queued for the writer thread, never written by the caller's thread.
#[derive(Clone)]
pub struct QueuedStderr {
    shared: Arc<Shared>,
}

/// Ends the writer: see [`LogFlush::finish`].
pub struct LogFlush {
    shared: Arc<Shared>,
}

/// Starts the thread that writes the lines to standard error. The writer
/// goes to the subscriber; the flush handle stays with `main`.
pub fn stderr() -> io::Result<(QueuedStderr, LogFlush)> {
    let shared = Arc::new(Shared::new());
    let writer = Arc::clone(&shared);
    std::thread::Builder::new()
        .name("log-writer".to_owned())
        .spawn(move || write_lines(&writer, &mut Stderr, report))?;
    Ok((
        QueuedStderr {
            shared: Arc::clone(&shared),
        },
        LogFlush { shared },
    ))
}

impl LogFlush {
    /// Writes what is queued until `deadline`, then, in its place, one line
    /// counting what was not written; returns once the writer is done, or
    /// at `deadline` if the output takes nothing at all.
    pub fn finish(&self, deadline: Instant) {
        let mut state = self.shared.lock();
        state.finish_by = Some(deadline);
        self.shared.lines_queued.notify_one();
        while !state.finished {
            let left = deadline.saturating_duration_since(Instant::now());
            let (next, waited) = self
                .shared
                .writer_finished
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            if waited.timed_out() && Instant::now() >= deadline {
                break;
            }
        }
    }
}

impl<'a> MakeWriter<'a> for QueuedStderr {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        self.line(Kind::Other, Lane::Service)
    }

    fn make_writer_for(&'a self, metadata: &Metadata<'_>) -> Line<'a> {
        let (kind, lane) = Kind::of(metadata);
        self.line(kind, lane)
    }
}

impl QueuedStderr {
    fn line(&self, kind: Kind, lane: Lane) -> Line<'_> {
        Line {
            shared: &self.shared,
            kind,
            lane,
            pending: Vec::new(),
        }
    }
}

/// One formatted line, queued whole. The subscriber writes each line in
/// one `write`, which goes straight to the queue; a line that came in
/// pieces is put together first.
pub struct Line<'a> {
    shared: &'a Shared,
    kind: Kind,
    lane: Lane,
    pending: Vec<u8>,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending.is_empty() && buf.ends_with(b"\n") {
            self.shared.push(self.kind, self.lane, buf);
        } else {
            self.pending.extend_from_slice(buf);
            if self.pending.ends_with(b"\n") {
                self.shared.push(self.kind, self.lane, &self.pending);
                self.pending.clear();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.shared.push(self.kind, self.lane, &self.pending);
        }
    }
}

/// Where the writer writes: standard error, or a pipe in the tests.
trait Output {
    /// Waits up to `timeout` until a write of up to [`PIPE_BUF`] bytes
    /// would not block; `false` if it still would.
    fn wait_writable(&mut self, timeout: Duration) -> bool;
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
}

struct Stderr;

impl Output for Stderr {
    fn wait_writable(&mut self, timeout: Duration) -> bool {
        wait_writable(2, timeout)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::stderr().lock().write_all(bytes)
    }
}

/// Whether file descriptor `fd` takes a write within `timeout`. For a pipe,
/// "writable" means at least a page is free, so a write of up to
/// [`PIPE_BUF`] bytes goes through whole without blocking.
#[cfg(unix)]
fn wait_writable(fd: i32, timeout: Duration) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd, for the duration of the call.
    match unsafe { libc::poll(&mut poll, 1, millis) } {
        0 => false,
        // Interrupted: look again. Any other error, or a hang-up, is for the
        // write to report.
        n if n < 0 => io::Error::last_os_error().kind() != io::ErrorKind::Interrupted,
        _ => true,
    }
}

#[cfg(not(unix))]
fn wait_writable(_fd: i32, _timeout: Duration) -> bool {
    true
}

/// The writer thread: takes batches of whole lines, lane by lane, and
/// writes each once the output takes it; reports what was lost; at the
/// deadline [`LogFlush::finish`] set, counts what is left in one last line.
fn write_lines(shared: &Shared, output: &mut impl Output, report: impl Fn(Counts, bool)) {
    let mut batch = Batch::default();
    let mut last_report = Instant::now();
    let mut last_line_written = false;
    loop {
        let mut state = shared.lock();
        while state.is_empty() {
            let report_due =
                !state.unreported.is_zero() && !state.closed && state.finish_by.is_none();
            if report_due {
                let lost = std::mem::take(&mut state.unreported);
                drop(state);
                report(lost, false);
                last_report = Instant::now();
                state = shared.lock();
                continue;
            }
            if state.finish_by.is_some() {
                if !state.unreported.is_zero() && !last_line_written {
                    let lost = std::mem::take(&mut state.unreported);
                    drop(state);
                    report(lost, true);
                    last_line_written = true;
                    state = shared.lock();
                    continue;
                }
                state.finished = true;
                shared.writer_finished.notify_all();
                return;
            }
            state.idle = true;
            state = shared
                .lines_queued
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            if state.finish_by.is_none() {
                // Woken by a line: let the lines that follow it gather, so
                // that under load one wake-up and one write carry many.
                drop(state);
                std::thread::sleep(GATHER);
                state = shared.lock();
            }
        }
        if !state.unreported.is_zero()
            && last_report.elapsed() >= REPORT_EVERY
            && state.finish_by.is_none()
        {
            // The reader stays behind: say so now, ahead of the queue.
            let lost = std::mem::take(&mut state.unreported);
            drop(state);
            report(lost, false);
            last_report = Instant::now();
            continue;
        }
        state.take(&mut batch);
        drop(state);

        match write_batch(shared, output, &batch.bytes, last_line_written) {
            Ok(()) => {}
            Err(Unwritten::Failed) => {
                let mut state = shared.lock();
                for kind in Kind::ALL {
                    state.lose(kind, batch.counts.get(kind), Loss::WriteFailed);
                }
            }
            Err(Unwritten::Deadline) => {
                // Out of time: what is left is counted in the last line, and
                // whatever comes after it is counted only in the metric.
                let mut guard = shared.lock();
                let state = &mut *guard;
                let mut left = batch.counts;
                for queue in &mut state.queues {
                    let counts = queue.counts();
                    for kind in Kind::ALL {
                        left.add(kind, counts.get(kind));
                    }
                    queue.clear();
                }
                for kind in Kind::ALL {
                    state.lose(kind, left.get(kind), Loss::Exit);
                }
                if last_line_written {
                    state.finished = true;
                    shared.writer_finished.notify_all();
                    return;
                }
                let lost = std::mem::take(&mut state.unreported);
                drop(guard);
                report(lost, true);
                last_line_written = true;
                shared.lock().closed = true;
            }
        }
        batch.bytes.clear();
        batch.counts = Counts::default();
    }
}

enum Unwritten {
    Failed,
    Deadline,
}

/// Writes `bytes`. Until the writer must finish, the write simply blocks
/// until the output takes them: a write of at most [`PIPE_BUF`] bytes to a
/// pipe is done whole or not at all, so one still blocked at exit cuts
/// nothing. Once finishing, it waits for room only until the deadline (less
/// the last line's time, but for the last line).
fn write_batch(
    shared: &Shared,
    output: &mut impl Output,
    bytes: &[u8],
    last_line: bool,
) -> Result<(), Unwritten> {
    loop {
        let Some(deadline) = shared.lock().finish_by else {
            return output.write_all(bytes).map_err(|_| Unwritten::Failed);
        };
        let deadline = match last_line {
            true => deadline,
            false => deadline.checked_sub(LAST_LINE_TIME).unwrap_or(deadline),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Unwritten::Deadline);
        }
        if output.wait_writable(left.min(POLL_SLICE)) {
            return output.write_all(bytes).map_err(|_| Unwritten::Failed);
        }
    }
}

/// The writer's line about lines it lost since the last one, emitted like
/// any other event, in the lane written first.
/// `exit` marks the last, written as the process exits.
fn report(lost: Counts, exit: bool) {
    tracing::warn!(
        call = lost.get(Kind::Call),
        audit = lost.get(Kind::Audit),
        other = lost.get(Kind::Other),
        exit,
        "log lines lost: the log reader was behind"
    );
}

#[cfg(test)]
mod tests;
