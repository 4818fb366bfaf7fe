//! The log writer's queues: one per lane, each bounded, holding whole lines
//! and counting those it lets go.

use std::{
    collections::VecDeque,
    sync::{Condvar, LazyLock, Mutex, MutexGuard, PoisonError},
    time::Instant,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};
use tracing::Metadata;

/// The most a single write to a pipe takes whole (POSIX's `PIPE_BUF` on
/// Linux): the longest line written, and the size of each write.
pub const PIPE_BUF: usize = 4096;

/// Bytes each queue holds before its lines are let go: seconds of the
/// heaviest load measured (BENCHMARKS.md), and memory taken only while the
/// reader is behind.
pub const QUEUE_BYTES: usize = 4 << 20;

/// Lines lost, by kind and why: every value comes from the enums below.
pub static LOST_LINES: LazyLock<Family<LostLabels, Counter>> = LazyLock::new(Family::default);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LostLabels {
    /// `audit`, `call` or `other`.
    pub kind: &'static str,
    /// `queue_full`, `too_long`, `write_failed` or `exit`.
    pub reason: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Audit,
    Call,
    Other,
}

impl Kind {
    pub(super) const ALL: [Kind; 3] = [Kind::Audit, Kind::Call, Kind::Other];

    pub(super) fn of(metadata: &Metadata<'_>) -> (Kind, Lane) {
        match metadata.target() {
            "audit" => (Kind::Audit, Lane::Audit),
            target if target.ends_with("::call_log") => (Kind::Call, Lane::Calls),
            _ => (Kind::Other, Lane::Service),
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Kind::Audit => "audit",
            Kind::Call => "call",
            Kind::Other => "other",
        }
    }
}

/// The queues, in the order they are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    Service,
    Audit,
    Calls,
}

#[derive(Clone, Copy)]
pub(super) enum Loss {
    QueueFull,
    TooLong,
    WriteFailed,
    Exit,
}

impl Loss {
    pub(super) fn label(self) -> &'static str {
        match self {
            Loss::QueueFull => "queue_full",
            Loss::TooLong => "too_long",
            Loss::WriteFailed => "write_failed",
            Loss::Exit => "exit",
        }
    }
}

/// Lines by kind.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(super) struct Counts(pub(super) [u64; 3]);

impl Counts {
    pub(super) fn add(&mut self, kind: Kind, n: u64) {
        self.0[kind as usize] += n;
    }

    pub(super) fn get(&self, kind: Kind) -> u64 {
        self.0[kind as usize]
    }

    pub(super) fn is_zero(&self) -> bool {
        self.0 == [0; 3]
    }
}

/// Whole lines waiting, oldest first: their bytes one after the other in
/// one buffer (no allocation per line), and each one's kind and length.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) bytes: Vec<u8>,
    /// Where the oldest line begins in `bytes`.
    pub(super) start: usize,
    pub(super) lines: VecDeque<(Kind, usize)>,
}

impl Queue {
    /// Bytes held at rest: a busy moment's buffer is given back, but for
    /// this much.
    pub(super) const KEPT_CAPACITY: usize = 64 * 1024;

    pub(super) fn queued_bytes(&self) -> usize {
        self.bytes.len() - self.start
    }

    pub(super) fn push(&mut self, kind: Kind, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.lines.push_back((kind, line.len()));
    }

    /// Moves whole lines into `batch` while they fit in [`PIPE_BUF`];
    /// whether it took every line.
    pub(super) fn take(&mut self, batch: &mut Batch) -> bool {
        while let Some(&(kind, length)) = self.lines.front() {
            if batch.bytes.len() + length > PIPE_BUF {
                // Behind: drop the written half, so the buffer stays within
                // twice the queue's bound.
                if self.start > self.bytes.len() / 2 {
                    self.bytes.drain(..self.start);
                    self.start = 0;
                }
                return false;
            }
            batch
                .bytes
                .extend_from_slice(&self.bytes[self.start..self.start + length]);
            batch.counts.add(kind, 1);
            self.start += length;
            self.lines.pop_front();
        }
        self.clear();
        true
    }

    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.bytes.shrink_to(Self::KEPT_CAPACITY);
        self.start = 0;
        self.lines.clear();
        self.lines.shrink_to(Self::KEPT_CAPACITY / 256);
    }

    pub(super) fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for (kind, _) in &self.lines {
            counts.add(*kind, 1);
        }
        counts
    }
}

#[derive(Default)]
pub(super) struct State {
    /// By [`Lane`].
    pub(super) queues: [Queue; 3],
    /// Lost since the writer last reported.
    pub(super) unreported: Counts,
    /// Set by [`LogFlush::finish`].
    pub(super) finish_by: Option<Instant>,
    /// After the last line at exit: lines are counted, not queued.
    pub(super) closed: bool,
    /// The writer waits for lines, and must be woken.
    pub(super) idle: bool,
    pub(super) finished: bool,
}

impl State {
    pub(super) fn is_empty(&self) -> bool {
        self.queues.iter().all(|queue| queue.lines.is_empty())
    }

    pub(super) fn lose(&mut self, kind: Kind, n: u64, loss: Loss) {
        if n == 0 {
            return;
        }
        // A line about lines the output refused (a closed pipe, a full
        // disk) would be refused too, and make another: the metric says it.
        if !matches!(loss, Loss::WriteFailed) {
            self.unreported.add(kind, n);
        }
        LOST_LINES
            .get_or_create(&LostLabels {
                kind: kind.label(),
                reason: loss.label(),
            })
            .inc_by(n);
    }

    /// Takes whole lines, lane by lane, into `batch` up to [`PIPE_BUF`]
    /// bytes.
    pub(super) fn take(&mut self, batch: &mut Batch) {
        for queue in &mut self.queues {
            if !queue.take(batch) {
                return;
            }
        }
    }
}

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    /// The writer waits here for lines, or for the call to finish.
    pub(super) lines_queued: Condvar,
    /// [`LogFlush::finish`] waits here for the writer.
    pub(super) writer_finished: Condvar,
}

impl Shared {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::default(),
            lines_queued: Condvar::new(),
            writer_finished: Condvar::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn push(&self, kind: Kind, lane: Lane, line: &[u8]) {
        let mut state = self.lock();
        if line.len() > PIPE_BUF {
            return state.lose(kind, 1, Loss::TooLong);
        }
        if state.closed {
            return state.lose(kind, 1, Loss::Exit);
        }
        let queue = &mut state.queues[lane as usize];
        if queue.queued_bytes() + line.len() > QUEUE_BYTES {
            return state.lose(kind, 1, Loss::QueueFull);
        }
        queue.push(kind, line);
        if state.idle {
            state.idle = false;
            self.lines_queued.notify_one();
        }
    }
}

/// Lines taken from the queues, to be written in one write.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) bytes: Vec<u8>,
    pub(super) counts: Counts,
}
