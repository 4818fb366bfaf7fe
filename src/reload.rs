//! Files that are reloaded while the service runs (the policy, the JWKS, the
//! TLS certificate, key and client CAs): on SIGHUP, and when their content
//! changes (checked every reload interval, which also catches the
//! symlink swaps of Kubernetes ConfigMaps and Secrets).
//!
//! A new version replaces the old one in a single atomic swap, so a call sees
//! one version or the other, never a mix. A new version that does not parse is
//! logged and ignored: the old one stays in force.

use std::{
    fmt, io,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use arc_swap::ArcSwap;

/// Parses the contents of a value's files, in order.
type Parse<T> = dyn Fn(&[String]) -> Result<T, String> + Send + Sync;

/// A value parsed from one or more files, swapped whole when any of them
/// changes.
pub struct Reloadable<T> {
    what: &'static str,
    paths: Vec<PathBuf>,
    parse: Box<Parse<T>>,
    current: ArcSwap<T>,
    /// The contents the current value was parsed from, or the last rejected
    /// contents, so unchanged files are neither parsed nor logged again.
    last_seen: Mutex<Vec<String>>,
}

impl<T: 'static> Reloadable<T> {
    /// Loads `path` (`what` names it in messages), failing with a message
    /// that says what is wrong with it.
    pub fn load(
        what: &'static str,
        path: &Path,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<Self, LoadError> {
        Self::load_all(what, vec![path.to_owned()], move |texts| parse(&texts[0]))
    }

    /// Loads a value made of several files, such as a certificate and its key,
    /// which `parse` receives in the order of `paths`. Whatever changes,
    /// every file is read again and the value is parsed from all of them, so
    /// a half-rotated set (a new certificate beside the old key) is rejected,
    /// and taken once its last file has arrived.
    pub fn load_all(
        what: &'static str,
        paths: Vec<PathBuf>,
        parse: impl Fn(&[String]) -> Result<T, String> + Send + Sync + 'static,
    ) -> Result<Self, LoadError> {
        let texts = read_all(what, &paths)?;
        let value = parse(&texts).map_err(|message| LoadError {
            what,
            cause: LoadCause::Invalid {
                files: describe(&paths),
                message,
            },
        })?;
        Ok(Self {
            what,
            paths,
            parse: Box::new(parse),
            current: ArcSwap::from_pointee(value),
            last_seen: Mutex::new(texts),
        })
    }

    /// The value in force now.
    pub fn current(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// Reads the files again and swaps in the new value if they changed and
    /// parse. Returns whether a new value is now in force.
    pub fn reload(&self) -> bool {
        let files = describe(&self.paths);
        let texts = match read_all(self.what, &self.paths) {
            Ok(texts) => texts,
            Err(error) => {
                tracing::error!(
                    files,
                    %error,
                    "cannot read the new {}; keeping the one in force",
                    self.what
                );
                return false;
            }
        };
        let mut last_seen = self.last_seen.lock().unwrap_or_else(|e| e.into_inner());
        if *last_seen == texts {
            return false;
        }
        *last_seen = texts;
        match (self.parse)(&last_seen) {
            Ok(value) => {
                self.current.store(Arc::new(value));
                tracing::info!(files, "reloaded the {}", self.what);
                true
            }
            Err(error) => {
                tracing::error!(files, %error, "rejected the new {}; keeping the one in force", self.what);
                false
            }
        }
    }
}

fn read_all(what: &'static str, paths: &[PathBuf]) -> Result<Vec<String>, LoadError> {
    paths
        .iter()
        .map(|path| {
            std::fs::read_to_string(path).map_err(|error| LoadError {
                what,
                cause: LoadCause::Read {
                    path: path.clone(),
                    error,
                },
            })
        })
        .collect()
}

/// Why a value's files could not be loaded: the operator's to fix.
#[derive(Debug)]
pub struct LoadError {
    /// What the files hold, as messages name it ("authorization policy").
    what: &'static str,
    cause: LoadCause,
}

#[derive(Debug)]
enum LoadCause {
    /// A file could not be read.
    Read { path: PathBuf, error: io::Error },
    /// The files were read, and do not hold a valid value: the parser's
    /// own words.
    Invalid { files: String, message: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            LoadCause::Read { path, error } => {
                write!(f, "{} {}: {error}", self.what, path.display())
            }
            LoadCause::Invalid { files, message } => write!(f, "{} {files}: {message}", self.what),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            LoadCause::Read { error, .. } => Some(error),
            LoadCause::Invalid { .. } => None,
        }
    }
}

fn describe(paths: &[PathBuf]) -> String {
    let names: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// Anything [`watch`] can reload.
pub trait Reload: Send + Sync {
    fn reload(&self) -> bool;
}

impl<T: Send + Sync + 'static> Reload for Reloadable<T> {
    fn reload(&self) -> bool {
        Reloadable::reload(self)
    }
}

/// Reloads `files` every `interval` and on SIGHUP, until the returned
/// guard is dropped. SIGHUP is caught even with no file to reload, where it
/// is logged and ignored: its default action would end the process. So the
/// service does not start if it cannot catch it.
pub fn watch(files: Vec<Arc<dyn Reload>>, interval: Duration) -> std::io::Result<Watching> {
    // Registered before returning: a SIGHUP's default action ends the
    // process, so one that came before the task first ran would kill it.
    #[cfg(unix)]
    let mut hangups = Some(tokio::signal::unix::signal(
        tokio::signal::unix::SignalKind::hangup(),
    )?);
    let task = tokio::spawn(async move {
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
                () = hangup => match files.is_empty() {
                    true => tracing::info!("SIGHUP received: no file to reload; ignored"),
                    false => tracing::info!("SIGHUP received: reloading the policy, key and certificate files"),
                },
            }
            for file in &files {
                file.reload();
            }
        }
    });
    Ok(Watching(task))
}

/// The reloading task of [`watch`], ended when dropped.
pub struct Watching(tokio::task::JoinHandle<()>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}
