//! The rate limit toward Cognito under overload: Cognito gets the configured
//! rate, no more and hardly less; an admitted call has time to finish; what
//! cannot make it is refused at once with RetryInfo; callers share turns
//! fairly; a cancelled waiter's turn goes to the next.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use import_job_service::emulator::{DEMO_POOL, Emulator};
use jsonwebtoken::Algorithm;
use tonic::{Code, Request, metadata::MetadataValue};
use tonic_types::StatusExt;

use crate::{
    auth::fixtures::{Files, Signer, claims},
    helpers::{TestApp, request, spawn_app_with},
    metrics::{get, sample},
};

const RATE: usize = 10;
const BURST: usize = 10;
const LIMITS: &[&str] = &["--cognito-rate", "10", "--cognito-burst", "10"];

/// What the callers got, by code, and the refusals without RetryInfo.
#[derive(Default)]
struct Outcomes {
    codes: HashMap<Code, usize>,
    refusals_without_retry_info: usize,
}

/// `callers` loops calling StopUserImportJob, each call with `deadline`, for
/// `length`; each caller authenticates with `authorization`, if given.
async fn overload(
    app: &TestApp,
    callers: Vec<Option<String>>,
    deadline: Duration,
    length: Duration,
) -> Vec<Outcomes> {
    let until = Instant::now() + length;
    let loops = callers.into_iter().map(|authorization| {
        let mut client = app.client.clone();
        tokio::spawn(async move {
            let mut outcomes = Outcomes::default();
            while Instant::now() < until {
                let mut call = Request::new(request(DEMO_POOL, "import-pending"));
                call.set_timeout(deadline);
                if let Some(value) = &authorization {
                    call.metadata_mut().insert(
                        "authorization",
                        MetadataValue::try_from(value.as_str()).unwrap(),
                    );
                }
                let code = match client.stop_user_import_job(call).await {
                    Ok(_) => Code::Ok,
                    Err(status) => {
                        if status.code() == Code::ResourceExhausted
                            && status.get_details_retry_info().is_none()
                        {
                            outcomes.refusals_without_retry_info += 1;
                        }
                        status.code()
                    }
                };
                *outcomes.codes.entry(code).or_default() += 1;
            }
            outcomes
        })
    });
    let mut all = Vec::new();
    for caller in loops.collect::<Vec<_>>() {
        all.push(caller.await.unwrap());
    }
    all
}

/// Calls Cognito received in each whole second since the first.
fn calls_per_second(emulator: &Emulator) -> Vec<usize> {
    let times: Vec<Instant> = emulator
        .calls()
        .iter()
        .filter(|call| call.operation == "StopUserImportJob")
        .map(|call| call.received_at)
        .collect();
    let Some(first) = times.first().copied() else {
        return Vec::new();
    };
    let seconds = times.last().unwrap().duration_since(first).as_secs() as usize;
    let mut counts = vec![0; seconds];
    for time in times {
        let second = time.duration_since(first).as_secs() as usize;
        if second < seconds {
            counts[second] += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_overload_cognito_gets_the_rate_and_what_waits_has_time_to_finish() {
    for deadline in [Duration::from_secs(1), Duration::from_secs(5)] {
        let app = spawn_app_with(&[LIMITS, &["--metrics-listen", "127.0.0.1:0"]].concat()).await;
        let outcomes = overload(&app, vec![None; 24], deadline, Duration::from_millis(4500)).await;
        let per_second = calls_per_second(&app.emulator);
        assert!(per_second.len() >= 4, "{per_second:?}");
        assert!(per_second[0] <= RATE + BURST, "{per_second:?}");
        for &calls in &per_second[1..] {
            assert!(
                calls * 10 >= RATE * 9 && calls <= RATE + BURST,
                "deadline {deadline:?}: calls per second {per_second:?}"
            );
        }
        let mut codes: HashMap<Code, usize> = HashMap::new();
        for caller in &outcomes {
            assert_eq!(caller.refusals_without_retry_info, 0);
            for (code, n) in &caller.codes {
                *codes.entry(*code).or_default() += n;
            }
        }
        // Reached Cognito (the job is stopped after the first) or refused
        // at once: no call admitted to wait ran out of time.
        for code in codes.keys() {
            assert!(
                matches!(
                    code,
                    Code::Ok | Code::FailedPrecondition | Code::ResourceExhausted
                ),
                "deadline {deadline:?}: {codes:?}"
            );
        }
        let reached =
            codes.get(&Code::Ok).unwrap_or(&0) + codes.get(&Code::FailedPrecondition).unwrap_or(&0);
        assert_eq!(reached, app.cognito_stop_calls(), "{codes:?}");
        // Refused at once, not after waiting in vain: one caller's calls
        // wait in order, so none is passed over.
        let (_, text) = get(app.metrics_addr.unwrap(), "/metrics").await;
        let refusals = |outcome: &str| {
            sample(
                &text,
                &format!(
                    r#"cognito_rate_limit_refusals_total{{region="us-east-1",quota="write",outcome="{outcome}"}}"#
                ),
            )
            .unwrap_or(0.0)
        };
        assert_eq!(refusals("timed_out"), 0.0, "{text}");
        assert!(refusals("max_wait") + refusals("deadline") > 0.0, "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_of_unequal_appetite_both_get_turns() {
    let files = Files::new();
    let signer = Signer::new("k1", Algorithm::ES256);
    let flags = files.token_service(
        r#"{"name": "p", "allow_rules": [{"name": "all", "source": {"principals": ["greedy", "modest"]}}]}"#,
        &[&signer],
    );
    let args: Vec<&str> = LIMITS
        .iter()
        .copied()
        .chain(flags.iter().map(String::as_str))
        .collect();
    let app = spawn_app_with(&args).await;
    let bearer = |subject: &str| Some(format!("Bearer {}", signer.sign(&claims(subject))));
    let mut callers = vec![bearer("greedy"); 12];
    callers.push(bearer("modest"));
    let outcomes = overload(
        &app,
        callers,
        Duration::from_secs(1),
        Duration::from_secs(3),
    )
    .await;
    let turns = |outcomes: &[Outcomes]| -> usize {
        outcomes
            .iter()
            .map(|o| {
                o.codes.get(&Code::Ok).unwrap_or(&0)
                    + o.codes.get(&Code::FailedPrecondition).unwrap_or(&0)
            })
            .sum()
    };
    let (greedy, modest) = (turns(&outcomes[..12]), turns(&outcomes[12..]));
    // Round-robin: the modest caller, with one call at a time, gets about
    // every other turn; the greedy one, with twelve, no more than the rest.
    assert!(
        modest * 4 >= greedy + modest && greedy * 4 >= greedy + modest,
        "greedy {greedy} turns, modest {modest}"
    );
}

#[tokio::test]
async fn a_cancelled_waiters_turn_goes_to_the_next() {
    let app = Arc::new(
        spawn_app_with(&[
            "--cognito-rate",
            "1",
            "--cognito-burst",
            "1",
            "--cognito-max-wait",
            "5s",
        ])
        .await,
    );
    assert!(app.stop_job(DEMO_POOL, "import-in-progress").await.is_ok());
    let started = Instant::now();
    let first = tokio::spawn({
        let app = Arc::clone(&app);
        async move { app.stop_job(DEMO_POOL, "import-pending").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = tokio::spawn({
        let app = Arc::clone(&app);
        async move { app.stop_job(DEMO_POOL, "import-created").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    first.abort();
    let _ = second.await.unwrap();
    let waited = started.elapsed();
    // The first waiter's turn came a second after the first call; the
    // second's would have come a second later.
    assert!(
        waited < Duration::from_millis(1800),
        "the second waiter got its turn after {waited:?}"
    );
    assert_eq!(
        app.cognito_stop_calls(),
        2,
        "the cancelled call never reached Cognito"
    );
}
