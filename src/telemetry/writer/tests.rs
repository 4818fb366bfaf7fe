use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering},
};

use super::*;

/// An output that takes bytes only while `open`.
#[derive(Clone, Default)]
struct Gate {
    written: Arc<Mutex<Vec<u8>>>,
    open: Arc<AtomicBool>,
}

impl Output for Gate {
    fn wait_writable(&mut self, timeout: Duration) -> bool {
        let open = self.open.load(Ordering::SeqCst);
        if !open {
            std::thread::sleep(timeout.min(Duration::from_millis(5)));
        }
        open
    }

    /// Blocks while the gate is closed, as a write to a full pipe does.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        while !self.open.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.written.lock().unwrap().extend_from_slice(bytes);
        Ok(())
    }
}

impl Gate {
    fn lines(&self) -> Vec<String> {
        let written = String::from_utf8(self.written.lock().unwrap().clone()).unwrap();
        assert!(
            written.is_empty() || written.ends_with('\n'),
            "no line is cut"
        );
        written.lines().map(str::to_owned).collect()
    }
}

/// The writer's reports: what it lost, and whether at exit.
type Reports = Arc<Mutex<Vec<(Counts, bool)>>>;

/// A writer thread on `gate`, and its reports.
fn writer(gate: &Gate) -> (Arc<Shared>, Reports) {
    let shared = Arc::new(Shared::new());
    let reports = start_writer(&shared, gate.clone());
    (shared, reports)
}

/// A writer thread on `output`, and its reports.
fn start_writer(shared: &Arc<Shared>, mut output: impl Output + Send + 'static) -> Reports {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let (thread_shared, thread_reports) = (Arc::clone(shared), Arc::clone(&reports));
    std::thread::spawn(move || {
        write_lines(&thread_shared, &mut output, |lost, exit| {
            thread_reports.lock().unwrap().push((lost, exit));
        })
    });
    reports
}

fn finish(shared: &Arc<Shared>, within: Duration) {
    LogFlush {
        shared: Arc::clone(shared),
    }
    .finish(Instant::now() + within);
}

fn line(n: usize, kind: &str) -> Vec<u8> {
    format!("{kind} {n:06} {}\n", "x".repeat(200)).into_bytes()
}

#[test]
fn audit_events_overtake_queued_call_lines_and_a_full_queue_sheds_only_its_own() {
    let gate = Gate::default();
    let (shared, reports) = writer(&gate);
    let fit = QUEUE_BYTES / line(0, "call").len();
    for n in 0..fit + 100 {
        shared.push(Kind::Call, Lane::Calls, &line(n, "call"));
    }
    for n in 0..10 {
        shared.push(Kind::Audit, Lane::Audit, &line(n, "audit"));
    }
    gate.open.store(true, Ordering::SeqCst);
    finish(&shared, Duration::from_secs(30));

    let lines = gate.lines();
    let audits: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("audit"))
        .collect();
    assert_eq!(audits.len(), 10, "no audit event is shed");
    let per_write = PIPE_BUF / line(0, "call").len();
    assert!(
        audits[9] < 10 + per_write,
        "audit events wait at most for the batch in hand: {audits:?}"
    );
    let calls = lines.iter().filter(|l| l.starts_with("call")).count() as u64;
    let reports = reports.lock().unwrap();
    let lost: u64 = reports.iter().map(|(lost, _)| lost.get(Kind::Call)).sum();
    assert!(lost >= (100 - per_write) as u64, "{reports:?}");
    assert_eq!(
        calls + lost,
        (fit + 100) as u64,
        "every line written or counted"
    );
}

#[test]
fn at_the_deadline_what_is_left_is_counted_in_the_last_line() {
    let gate = Gate::default();
    let shared = Arc::new(Shared::new());
    for n in 0..100 {
        shared.push(Kind::Call, Lane::Calls, &line(n, "call"));
    }
    shared.push(Kind::Audit, Lane::Audit, &line(0, "audit"));
    shared.push(Kind::Other, Lane::Service, &[b'y'; PIPE_BUF + 1]);

    // Finishing from its first write, which the output never takes.
    let started = Instant::now();
    shared.lock().finish_by = Some(started + Duration::from_millis(300));
    let reports = start_writer(&shared, gate.clone());
    finish(&shared, Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "finish is bounded"
    );
    assert!(gate.lines().is_empty(), "the output took nothing");
    let mut expected = Counts::default();
    expected.add(Kind::Call, 100);
    expected.add(Kind::Audit, 1);
    expected.add(Kind::Other, 1);
    assert_eq!(*reports.lock().unwrap(), vec![(expected, true)]);

    shared.push(Kind::Call, Lane::Calls, &line(0, "late"));
    assert!(
        shared.lock().is_empty(),
        "after the last line, lines are counted"
    );
}

/// An output whose reader is gone.
struct Closed;

impl Output for Closed {
    fn wait_writable(&mut self, _timeout: Duration) -> bool {
        true
    }

    fn write_all(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
}

#[test]
fn lines_a_closed_output_refuses_are_counted_not_reported_in_more_lines() {
    let shared = Arc::new(Shared::new());
    let reports = start_writer(&shared, Closed);
    let refused = || {
        LOST_LINES
            .get_or_create(&LostLabels {
                kind: "audit",
                reason: "write_failed",
            })
            .get()
    };
    let before = refused();
    for n in 0..10 {
        shared.push(Kind::Audit, Lane::Audit, &line(n, "audit"));
    }
    finish(&shared, Duration::from_secs(5));
    assert!(shared.lock().finished, "the writer ends");
    assert!(refused() >= before + 10);
    assert!(reports.lock().unwrap().is_empty(), "no line about them");
}

#[test]
fn a_reader_that_catches_up_is_told_what_was_lost_and_finish_writes_everything() {
    let gate = Gate::default();
    let (shared, reports) = writer(&gate);
    let fit = QUEUE_BYTES / line(0, "call").len();
    for n in 0..fit + 100 {
        shared.push(Kind::Call, Lane::Calls, &line(n, "call"));
    }
    assert!(shared.lock().unreported.get(Kind::Call) > 0);
    gate.open.store(true, Ordering::SeqCst);
    while shared.lock().unreported.get(Kind::Call) > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    shared.push(Kind::Other, Lane::Service, &line(0, "after"));
    finish(&shared, Duration::from_secs(30));
    let reports = reports.lock().unwrap();
    let lost: u64 = reports.iter().map(|(lost, _)| lost.get(Kind::Call)).sum();
    assert!(!reports[0].1, "reported when the reader caught up");
    let lines = gate.lines();
    assert_eq!(lines.len() as u64 + lost, fit as u64 + 101);
    assert!(lines.last().unwrap().starts_with("after"));
}
