//! What a running emulator holds, shared by its handle and its connections.

use std::{
    sync::{Mutex, MutexGuard, atomic::AtomicUsize},
    time::Duration,
};

use tokio::sync::watch;

use crate::{faults::Faults, jobs::Pools};

/// A call the emulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCall {
    /// The operation, `StopUserImportJob` for example.
    pub operation: String,
    /// The region the call was signed for.
    pub region: Option<String>,
    /// The `x-amzn-RequestId` the emulator answered with.
    pub request_id: String,
    /// When the call arrived, for counting calls per second.
    pub received_at: std::time::Instant,
}

#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) pools: Mutex<Pools>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) calls: Mutex<Vec<ReceivedCall>>,
    /// Calls whose caller went away before the answer was sent.
    pub(crate) abandoned: Mutex<usize>,
    /// Calls received and neither answered nor abandoned yet.
    pub(crate) in_flight: AtomicUsize,
    /// Connections open now.
    pub(crate) connections: AtomicUsize,
    /// Changed to close every open connection at once.
    pub(crate) close_connections: watch::Sender<u64>,
    /// Set in benchmark mode: how long each answer waits.
    pub(crate) stateless_latency: Option<Duration>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent, so a poisoned lock
    // (a panic elsewhere) is still safe to use.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
