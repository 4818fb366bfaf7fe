//! Answers larger than the service reads: refused as they arrive, never
//! retried, and one just under the cap read whole.

use super::*;

/// This process's resident memory.
fn resident_bytes() -> u64 {
    crate::helpers::resident_bytes("self")
}

/// The highest resident memory seen while it lives, sampled every
/// millisecond on a thread of its own.
struct PeakResident {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl PeakResident {
    fn start() -> Self {
        let (stop, peak) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let sampler = {
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(resident_bytes(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        Self {
            stop,
            peak,
            sampler: Some(sampler),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            sampler.join().unwrap();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_100_mib_answer_is_refused_as_it_arrives_and_memory_stays_flat() {
    const MIB: u64 = 1024 * 1024;
    let probe = Probe::start(ONE_ATTEMPT).await;
    let before = resident_bytes();
    let peak = PeakResident::start();

    for chunked in [false, true] {
        let job = probe.job();
        probe.app.inject(
            Fault::OversizedBody {
                bytes: 100 * MIB as usize,
                chunked,
            },
            1,
        );
        let (answer, elapsed) = probe.call(&job.job_id, DEADLINE).await;
        let status = answer.expect_err("no answer over 1 MiB is read");
        details(
            &status,
            Code::Unavailable,
            "COGNITO_RESPONSE_TOO_LARGE",
            SERVICE,
        );
        assert!(elapsed < DEADLINE, "answered after {elapsed:?}");
    }

    let peak = peak.finish();
    eprintln!(
        "resident: {} MiB before, {} MiB peak, after two answers of 100 MiB",
        before / MIB,
        peak / MIB,
    );
    // Read whole, one such answer would cost 100 MiB and more.
    assert!(
        peak.saturating_sub(before) < 48 * MIB,
        "peak {} MiB over {} MiB before",
        peak / MIB,
        before / MIB
    );
    probe.assert_recovered().await;
}

#[tokio::test]
async fn an_answer_over_the_cap_is_not_retried() {
    // Cognito answered, so the job may be stopped: another attempt would
    // stop it again and be judged by that second answer.
    let probe = Probe::start(RETRIES).await;
    for chunked in [false, true] {
        let job = probe.job();
        let before = probe.app.cognito_stop_calls();
        probe.app.inject(
            Fault::OversizedBody {
                bytes: 2 * MAX_RESPONSE_BYTES,
                chunked,
            },
            1,
        );
        let (answer, _) = probe.call(&job.job_id, DEADLINE).await;
        details(
            &answer.unwrap_err(),
            Code::Unavailable,
            "COGNITO_RESPONSE_TOO_LARGE",
            SERVICE,
        );
        assert_eq!(
            probe.app.cognito_stop_calls() - before,
            1,
            "one attempt (chunked: {chunked})"
        );
    }
}

#[tokio::test]
async fn an_answer_just_under_the_cap_is_read() {
    let probe = Probe::start(ONE_ATTEMPT).await;
    let job = probe.job();
    probe.app.inject(
        Fault::OversizedBody {
            bytes: MAX_RESPONSE_BYTES - 1024,
            chunked: true,
        },
        1,
    );
    let (answer, _) = probe.call(&job.job_id, DEADLINE).await;
    // The padding is a member the SDK does not know, so skips.
    let stopped = answer.expect("the answer is the job").into_inner();
    assert_eq!(stopped.user_import_job.unwrap().job_id, job.job_id);
}
