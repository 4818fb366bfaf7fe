//! Files that are reloaded while the service runs: on SIGHUP, and when their
//! content changes (checked every reload interval, which also catches the
//! symlink swaps of Kubernetes ConfigMaps and Secrets).
//!
//! A new version replaces the old one in a single atomic swap, so a call sees
//! one version or the other, never a mix. A new version that does not parse is
//! logged and ignored: the old one stays in force.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use arc_swap::ArcSwap;

/// A value parsed from a file, swapped whole when the file changes.
pub struct Reloadable<T> {
    what: &'static str,
    path: PathBuf,
    parse: fn(&str) -> Result<T, String>,
    current: ArcSwap<T>,
    /// The content the current value was parsed from, or the last rejected
    /// content, so an unchanged file is neither parsed nor logged again.
    last_seen: Mutex<String>,
}

impl<T> Reloadable<T> {
    /// Loads `path` (`what` names it in messages), failing with a message
    /// that says what is wrong with it.
    pub fn load(
        what: &'static str,
        path: &Path,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
        let value =
            parse(&text).map_err(|e| format!("{what} {} is invalid: {e}", path.display()))?;
        Ok(Self {
            what,
            path: path.to_owned(),
            parse,
            current: ArcSwap::from_pointee(value),
            last_seen: Mutex::new(text),
        })
    }

    /// The value in force now.
    pub fn current(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// Reads the file again and swaps in the new value if it changed and
    /// parses. Returns whether a new value is now in force.
    pub fn reload(&self) -> bool {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(file = %self.path.display(), %error, "cannot read the new {}; keeping the one in force", self.what);
                return false;
            }
        };
        let mut last_seen = self.last_seen.lock().unwrap_or_else(|e| e.into_inner());
        if *last_seen == text {
            return false;
        }
        *last_seen = text;
        match (self.parse)(&last_seen) {
            Ok(value) => {
                self.current.store(Arc::new(value));
                tracing::info!(file = %self.path.display(), "reloaded the {}", self.what);
                true
            }
            Err(error) => {
                tracing::error!(file = %self.path.display(), %error, "rejected the new {}; keeping the one in force", self.what);
                false
            }
        }
    }
}

/// Anything [`watch`] can reload.
pub trait Reload: Send + Sync {
    fn reload(&self) -> bool;
}

impl<T: Send + Sync> Reload for Reloadable<T> {
    fn reload(&self) -> bool {
        Reloadable::reload(self)
    }
}

/// Reloads `files` every `interval` and on SIGHUP, until the process ends.
pub fn watch(files: Vec<Arc<dyn Reload>>, interval: Duration) {
    if files.is_empty() {
        return;
    }
    // Registered before returning: a SIGHUP's default action ends the
    // process, so one that came before the task first ran would kill it.
    #[cfg(unix)]
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::spawn(async move {
        // The files were just loaded: the first check is one interval away.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let hangup = async {
                match hangups.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<()>();
            tokio::select! {
                _ = ticks.tick() => {}
                () = hangup => tracing::info!("SIGHUP received: reloading the authorization files"),
            }
            for file in &files {
                file.reload();
            }
        }
    });
}
