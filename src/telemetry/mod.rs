//! Logging: one subscriber for the whole process, JSON or text, written to
//! standard error by a thread of its own ([`writer`]), so that no call ever
//! waits on the log's reader.
//!
//! Secrets never reach a log line: the service logs ids, codes and timings,
//! never request metadata or response bodies; and the HTTP and AWS SDK crates,
//! whose verbose levels can echo headers and bodies, are capped at `info`
//! whatever filter the operator asks for.

mod json;
pub mod traces;
pub mod writer;

use std::io::IsTerminal;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    EnvFilter, filter::Targets, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::configuration::{LogFormat, LogSettings};

/// Crates whose verbose levels may log request or response contents.
const CAPPED_AT_INFO: &[&str] = &["aws", "hyper", "hyper_util", "h2", "tower", "rustls"];

/// Installs the global subscriber writing to `writer`, and, if `export_traces`,
/// the layer through which servers export their traces (see [`traces`]);
/// without it, a call costs no more than its log line. Fails if one is
/// already installed.
pub fn init<W>(
    settings: &LogSettings,
    export_traces: bool,
    writer: W,
) -> Result<(), tracing_subscriber::util::TryInitError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let json = match settings.log_format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let cap = CAPPED_AT_INFO.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |targets, crate_| targets.with_target(*crate_, LevelFilter::INFO),
    );
    // The audit trail is on whatever the level, unless the filter names it.
    let mut filter = settings.log_level.clone();
    if !filter.contains("audit") {
        filter.push_str(",audit=info");
    }
    // So are the spans that are traces (never entered, they are in no line).
    if export_traces && !filter.contains(traces::TARGET) {
        filter.push_str(&format!(",{}=info", traces::TARGET));
    }
    let registry = tracing_subscriber::registry()
        .with(EnvFilter::new(filter))
        .with(cap)
        .with(export_traces.then(traces::layer));
    if json {
        registry.with(json::JsonLines::new(writer)).try_init()
    } else {
        let format = tracing_subscriber::fmt::layer().with_writer(writer);
        registry.with(format).try_init()
    }
}

/// Panics are logged as events, through the queue like every line: the
/// default hook writes to standard error from the panicking thread, which a
/// stalled log reader would block. The message is cut short, like any text
/// the service did not write itself.
pub fn log_panics() {
    const MAX_CHARS: usize = 256;
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(not a string)");
        let message = match message.char_indices().nth(MAX_CHARS) {
            Some((end, _)) => &message[..end],
            None => message,
        };
        tracing::error!(
            panic = message,
            location = info.location().map(tracing::field::display),
            "panicked"
        );
    }));
}

/// A caller-supplied value as it may appear in a log line: valid ids have at
/// most 55 characters, so anything past 64 is cut rather than let a caller
/// flood the logs.
pub(crate) fn loggable(value: &str) -> &str {
    const MAX_CHARS: usize = 64;
    match value.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

/// Text that may carry a caller's input (Cognito echoes an invalid value
/// in its message) as it may appear in a log line: at most 512 characters,
/// control characters escaped, so that no value can forge a line in the
/// text format or make a line too long to write.
pub(crate) fn loggable_text(text: &str) -> String {
    const MAX_CHARS: usize = 512;
    let mut line = String::with_capacity(text.len().min(MAX_CHARS));
    for (count, c) in text.chars().enumerate() {
        if count == MAX_CHARS {
            line.push_str("...");
            break;
        }
        match c.is_control() {
            true => line.extend(c.escape_default()),
            false => line.push(c),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::{loggable, loggable_text};

    #[test]
    fn text_in_a_log_line_is_one_line_and_bounded() {
        assert_eq!(loggable_text("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        let long = loggable_text(&"x".repeat(10_000));
        assert_eq!(long.len(), 515);
        assert!(long.ends_with("..."));
    }

    #[test]
    fn caller_values_are_cut_at_64_characters() {
        assert_eq!(loggable("import-abc"), "import-abc");
        assert_eq!(loggable(&"é".repeat(100)).chars().count(), 64);
    }
}
