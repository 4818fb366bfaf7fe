//! The JSON log lines: a layer of the service's own that writes one object
//! per event, in the shape of tracing-subscriber's JSON format with the
//! current span (`timestamp`, `level`, `fields`, `target`, and `span` with
//! its `name`), so that log pipelines read the same lines as before.
//!
//! It exists for its cost. Every call writes a line, and tracing-subscriber's
//! formatter encoded each span field as JSON on `record`, parsed the span's
//! fields back into a map for every line, and serialized them again, through
//! allocations at each step. Here a span field is encoded once, when it is
//! recorded, and copied into each line as bytes; an event's fields are
//! encoded straight into the line; the line is built in a buffer each thread
//! keeps, and handed to the writer in one write.

use std::{
    cell::RefCell,
    fmt,
    io::Write,
    ops::Range,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use tracing::{
    Event, Metadata, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_log::NormalizeEvent;
use tracing_subscriber::{Layer, fmt::MakeWriter, layer::Context, registry::LookupSpan};

/// Writes each event as one JSON line to `W`.
pub struct JsonLines<W> {
    make_writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// A span's fields, each value encoded as JSON once. A field recorded again
/// keeps its place and takes the new value, so no line has a key twice.
#[derive(Default)]
struct SpanFields {
    encoded: Vec<u8>,
    members: Vec<(&'static str, Range<usize>)>,
}

impl SpanFields {
    fn put(&mut self, field: &Field, value: impl Serialize) {
        let start = self.encoded.len();
        if serde_json::to_writer(&mut self.encoded, &value).is_err() {
            self.encoded.truncate(start);
            return;
        }
        let range = start..self.encoded.len();
        let name = field.name();
        match self.members.iter_mut().find(|(known, _)| *known == name) {
            Some((_, value)) => {
                *value = range;
                self.compact();
            }
            None => self.members.push((name, range)),
        }
    }

    /// Drops the values replaced fields left behind, once they outweigh the
    /// live ones: a span recorded again and again stays its own size.
    fn compact(&mut self) {
        let live: usize = self.members.iter().map(|(_, value)| value.len()).sum();
        if self.encoded.len() <= 2 * live + 256 {
            return;
        }
        let mut encoded = Vec::with_capacity(live);
        for (_, value) in &mut self.members {
            let start = encoded.len();
            encoded.extend_from_slice(&self.encoded[value.clone()]);
            *value = start..encoded.len();
        }
        self.encoded = encoded;
    }

    /// `"name":value` for each field, comma-separated, then the span's name.
    fn write_object(&self, line: &mut Vec<u8>, span_name: &str) {
        line.push(b'{');
        for (name, value) in &self.members {
            write_key(line, name);
            line.extend_from_slice(&self.encoded[value.clone()]);
            line.push(b',');
        }
        write_key(line, "name");
        write_json(line, span_name);
        line.push(b'}');
    }
}

impl Visit for SpanFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format_args!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value);
    }
}

/// An event's fields, written straight into the line as an object's members.
struct EventFields<'a> {
    line: &'a mut Vec<u8>,
    first: bool,
}

impl EventFields<'_> {
    fn put(&mut self, field: &Field, value: impl Serialize) {
        let start = self.line.len();
        if !self.first {
            self.line.push(b',');
        }
        write_key(self.line, field.name());
        if serde_json::to_writer(&mut *self.line, &value).is_err() {
            self.line.truncate(start);
            return;
        }
        self.first = false;
    }
}

impl Visit for EventFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format_args!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value);
    }
}

fn write_json(line: &mut Vec<u8>, value: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *line, value);
}

fn write_key(line: &mut Vec<u8>, name: &str) {
    write_json(line, name);
    line.push(b':');
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        /// What a thread's buffer keeps between lines: the longest line the
        /// writer takes, and more than any of the service's lines needs.
        const KEPT_CAPACITY: usize = 16 * 1024;
        thread_local! {
            static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        // A line written while another is being built on this thread (only
        // if writing one logged) gets a buffer of its own.
        let write = |line: &mut Vec<u8>| {
            line.clear();
            let normalized = event.normalized_metadata();
            let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
            encode(line, event, metadata, &ctx);
            let _ = self.make_writer.make_writer_for(metadata).write_all(line);
            line.clear();
            line.shrink_to(KEPT_CAPACITY);
        };
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => write(&mut line),
            Err(_) => write(&mut Vec::new()),
        });
    }
}

/// One event's line: `{"timestamp","level","fields","target","span"}\n`.
fn encode<S>(line: &mut Vec<u8>, event: &Event<'_>, metadata: &Metadata<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    line.extend_from_slice(b"{\"timestamp\":\"");
    write_timestamp(line, SystemTime::now());
    line.extend_from_slice(b"\",\"level\":");
    write_json(line, metadata.level().as_str());
    line.extend_from_slice(b",\"fields\":{");
    event.record(&mut EventFields { line, first: true });
    line.extend_from_slice(b"},\"target\":");
    write_json(line, metadata.target());
    if let Some(span) = ctx.event_span(event) {
        line.extend_from_slice(b",\"span\":");
        match span.extensions().get::<SpanFields>() {
            Some(fields) => fields.write_object(line, span.name()),
            None => SpanFields::default().write_object(line, span.name()),
        }
    }
    line.extend_from_slice(b"}\n");
}

/// RFC 3339 in UTC with microseconds, as tracing-subscriber writes it:
/// `2026-11-28T01:02:03.123456Z`.
fn write_timestamp(line: &mut Vec<u8>, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let of_day = seconds % 86_400;
    let _ = write!(
        line,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_micros()
    );
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{Arc, Mutex},
        time::Duration,
    };

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    /// Runs `emit` under both layers and returns each one's lines.
    fn both(emit: impl Fn()) -> (String, String) {
        let ours = Lines::default();
        let theirs = Lines::default();
        let subscriber = tracing_subscriber::registry()
            .with(JsonLines::new(ours.clone()))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(theirs.clone()),
            );
        tracing::subscriber::with_default(subscriber, emit);
        let text = |lines: Lines| String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        (text(ours), text(theirs))
    }

    fn parsed(text: &str) -> Vec<serde_json::Value> {
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn lines_have_tracing_subscribers_json_shape() {
        let (ours, theirs) = both(|| {
            let span = tracing::info_span!(
                "call",
                method = "/m",
                peer = tracing::field::display("127.0.0.1:1"),
                caller = tracing::field::Empty,
                job_id = tracing::field::Empty,
                n = tracing::field::Empty,
            );
            span.record("caller", "first");
            span.record("job_id", "quote\"d\nnew line \u{1}");
            span.record("n", 3_u64);
            span.record("caller", tracing::field::display("second"));
            span.in_scope(|| {
                tracing::info!(code = "OK", latency_ms = 0.25, whole = 2.0, "call finished");
                tracing::warn!(error = %"a\tb", count = -3_i64, ok = true, nan = f64::NAN, "failed");
            });
            tracing::error!(panic = "outside", "panicked");
        });
        let (mut ours, mut theirs) = (parsed(&ours), parsed(&theirs));
        assert_eq!(ours.len(), 3);
        for (ours, theirs) in ours.iter_mut().zip(theirs.iter_mut()) {
            let ours_time = ours["timestamp"].take();
            let theirs_time = theirs["timestamp"].take();
            assert_eq!(ours_time.as_str().unwrap().len(), 27, "{ours_time}");
            assert_eq!(
                ours_time.as_str().unwrap()[..17],
                theirs_time.as_str().unwrap()[..17]
            );
            assert_eq!(ours, theirs);
        }
        assert_eq!(ours[0]["span"]["caller"], "second");
        assert_eq!(ours[0]["span"]["name"], "call");
        assert!(ours[2].get("span").is_none());
    }

    #[test]
    fn a_field_recorded_again_replaces_its_value_in_place() {
        let (ours, _) = both(|| {
            let span = tracing::info_span!("call", a = 1_u64, b = tracing::field::Empty);
            span.record("b", 2_u64);
            span.record("a", 10_u64);
            span.in_scope(|| tracing::info!("done"));
        });
        assert!(
            ours.contains(r#""span":{"a":10,"b":2,"name":"call"}"#),
            "{ours}"
        );
    }

    #[test]
    fn a_span_recorded_many_times_keeps_its_size() {
        // A span's fields exist where a subscriber enables it.
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(Lines::default()));
        let field = tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("call", job_id = tracing::field::Empty)
                .field("job_id")
                .unwrap()
        });
        let mut fields = SpanFields::default();
        for n in 0..10_000_u32 {
            fields.put(&field, format!("import-{n}"));
        }
        assert!(fields.encoded.len() < 512, "{}", fields.encoded.len());
        let mut line = Vec::new();
        fields.write_object(&mut line, "call");
        assert_eq!(line, br#"{"job_id":"import-9999","name":"call"}"#);
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_with_microseconds() {
        let mut line = Vec::new();
        write_timestamp(&mut line, UNIX_EPOCH);
        line.push(b' ');
        // 2024-02-29T23:59:59.000001Z, a leap day.
        write_timestamp(&mut line, UNIX_EPOCH + Duration::new(1_709_251_199, 1_000));
        line.push(b' ');
        write_timestamp(
            &mut line,
            UNIX_EPOCH + Duration::new(4_102_444_800, 999_999_999),
        );
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "1970-01-01T00:00:00.000000Z 2024-02-29T23:59:59.000001Z 2100-01-01T00:00:00.999999Z"
        );
    }
}
