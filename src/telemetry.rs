//! Logging: one subscriber for the whole process, JSON or text.
//!
//! Secrets never reach a log line: the service logs ids, codes and timings,
//! never request metadata or response bodies; and the HTTP and AWS SDK crates,
//! whose verbose levels can echo headers and bodies, are capped at `info`
//! whatever filter the operator asks for.

use std::io::IsTerminal;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    EnvFilter, filter::Targets, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt,
};

use crate::configuration::{LogFormat, LogSettings};

/// Crates whose verbose levels may log request or response contents.
const CAPPED_AT_INFO: &[&str] = &["aws", "hyper", "hyper_util", "h2", "tower", "rustls"];

/// Installs the global subscriber writing to `writer`. Fails if one is
/// already installed.
pub fn init<W>(
    settings: &LogSettings,
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
    let registry = tracing_subscriber::registry()
        .with(EnvFilter::new(filter))
        .with(cap);
    if json {
        let format = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer);
        registry.with(format).try_init()
    } else {
        let format = tracing_subscriber::fmt::layer().with_writer(writer);
        registry.with(format).try_init()
    }
}

/// A caller-supplied value as it may appear in a log line: valid ids have at
/// most 55 characters, so anything past 64 is cut rather than let a caller
/// flood the logs.
pub fn loggable(value: &str) -> &str {
    const MAX_CHARS: usize = 64;
    match value.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn caller_values_are_cut_at_64_characters() {
        assert_eq!(loggable("import-abc"), "import-abc");
        assert_eq!(loggable(&"é".repeat(100)).chars().count(), 64);
    }
}
