use std::time::Duration;

use super::*;
use crate::jobs::JobStatus;

const POOL: &str = "us-east-1_Test";
const ROLE: &str = "arn:aws:iam::123456789012:role/Logs";

fn pools() -> Pools {
    let mut pools = Pools::default();
    pools.add_pool(POOL);
    pools.set_upload_origin("http://127.0.0.1:4566");
    pools
}

/// Creates `n` jobs a second apart from `t0`; their ids, in creation order.
fn create(pools: &mut Pools, n: usize, t0: SystemTime) -> Vec<String> {
    (0..n)
        .map(|i| {
            let at = t0 + Duration::from_secs(i as u64);
            let job = pools.create_at(POOL, "users", ROLE, None, at).unwrap();
            job.job_id.clone()
        })
        .collect()
}

#[test]
fn a_created_job_is_cognitos_and_uploads_to_the_emulator() {
    let mut pools = pools();
    let now = SystemTime::now();
    let job = pools
        .create_at(POOL, "nightly users", ROLE, Some("BCRYPT"), now)
        .unwrap()
        .clone();
    assert!(cognito_constraints::JobId::parse(&job.job_id).is_ok());
    assert_eq!(job.job_id.len(), "import-".len() + 10);
    assert_eq!(job.status, "Created");
    assert_eq!(job.creation_date, now);
    assert_eq!(job.cloud_watch_logs_role_arn, ROLE);
    assert_eq!(job.password_hashing_algorithm.as_deref(), Some("BCRYPT"));
    let prefix = format!(
        "http://127.0.0.1:4566/cognito-import-jobs/{POOL}/{}?",
        job.job_id
    );
    assert!(
        job.pre_signed_url.starts_with(&prefix),
        "{}",
        job.pre_signed_url
    );
    assert!(job.pre_signed_url.contains("&X-Amz-Expires=900&"));
}

#[test]
fn a_pool_holds_at_most_the_limit_through_create() {
    let mut pools = pools();
    pools.job_limit = 2;
    let now = SystemTime::now();
    create(&mut pools, 2, now);
    let refused = pools.create_at(POOL, "third", ROLE, None, now).unwrap_err();
    assert_eq!(refused.error_type, "LimitExceededException");
    assert_eq!(
        refused.message,
        "User pool us-east-1_Test has reached its limit of 2 import jobs."
    );
    pools.put_job(Job::in_status(POOL, "import-put", JobStatus::Created));
    assert_eq!(pools.jobs(POOL).unwrap().count(), 3, "a test may put more");
    pools.job_limit = 4;
    assert!(pools.create_at(POOL, "fourth", ROLE, None, now).is_ok());
}

#[test]
fn unknown_pools_and_jobs_are_not_found() {
    let mut pools = pools();
    pools.put_job(Job::in_status(POOL, "import-a", JobStatus::Pending));
    let now = SystemTime::now();
    let no_pool = pools
        .stop_at("us-east-1_Other", "import-a", now)
        .unwrap_err();
    assert_eq!(no_pool.error_type, "ResourceNotFoundException");
    assert_eq!(no_pool.message, "User pool us-east-1_Other does not exist.");
    let no_job = pools.job_at(POOL, "import-b", now).unwrap_err();
    assert_eq!(no_job.message, "Import job import-b does not exist.");
    for refused in [
        pools
            .create_at("us-east-1_Other", "x", ROLE, None, now)
            .err(),
        pools.csv_header("us-east-1_Other").err(),
        pools.list_at("us-east-1_Other", 5, None, "r", now).err(),
    ] {
        assert_eq!(refused.unwrap().error_type, "ResourceNotFoundException");
    }
}

#[test]
fn a_created_job_starts_once_and_is_read_as_time_goes() {
    let mut pools = pools();
    let t0 = SystemTime::now();
    let id = create(&mut pools, 1, t0).remove(0);
    assert_eq!(pools.start_at(POOL, &id, t0).unwrap().status, "Pending");
    let again = pools.start_at(POOL, &id, t0).unwrap_err();
    assert_eq!(again.error_type, "PreconditionNotMetException");
    let later = t0 + Duration::from_secs(3);
    assert_eq!(pools.job_at(POOL, &id, later).unwrap().status, "InProgress");
    assert_eq!(pools.job(POOL, &id).unwrap().status, "InProgress");
    assert_eq!(pools.stop_at(POOL, &id, later).unwrap().status, "Stopping");
    let stopped = later + Duration::from_secs(2);
    assert_eq!(pools.jobs_at(POOL, stopped).unwrap()[0].status, "Stopped");
}

#[test]
fn pages_follow_creation_order_and_end_without_a_token() {
    let mut pools = pools();
    let t0 = SystemTime::now();
    let ids = create(&mut pools, 5, t0);
    let mut seen = Vec::new();
    let mut token = None;
    for expected_len in [2, 2, 1] {
        let page = pools.list_at(POOL, 2, token.as_deref(), "r", t0).unwrap();
        assert_eq!(page.jobs.len(), expected_len);
        seen.extend(page.jobs.iter().map(|j| j.job_id.clone()));
        token = page.next;
    }
    assert_eq!(token, None);
    assert_eq!(seen, ids);
    let whole = pools.list_at(POOL, 5, None, "r", t0).unwrap();
    assert_eq!(whole.jobs.len(), 5);
    assert_eq!(whole.next, None, "no token when nothing is left");
}

#[test]
fn jobs_created_while_paging_come_last_once() {
    let mut pools = pools();
    let t0 = SystemTime::now();
    let mut ids = create(&mut pools, 3, t0);
    let first = pools.list_at(POOL, 2, None, "r", t0).unwrap();
    let token = first.next.unwrap();
    let late = pools
        .create_at(POOL, "late", ROLE, None, t0 + Duration::from_secs(10))
        .unwrap()
        .job_id
        .clone();
    ids.push(late);
    let rest = pools.list_at(POOL, 60, Some(&token), "r", t0).unwrap();
    let rest: Vec<_> = rest.jobs.iter().map(|j| j.job_id.clone()).collect();
    assert_eq!(rest, ids[2..]);
}

#[test]
fn tokens_not_given_or_given_for_another_pool_are_invalid() {
    let mut pools = pools();
    pools.add_pool("us-east-1_Other");
    let t0 = SystemTime::now();
    create(&mut pools, 3, t0);
    let token = pools.list_at(POOL, 1, None, "r", t0).unwrap().next.unwrap();
    for (pool, bad) in [
        ("us-east-1_Other", token.as_str()),
        (POOL, "1"),
        (POOL, "18446744073709551615"),
    ] {
        let refused = pools
            .list_at(pool, 1, Some(bad), "req-1", t0)
            .err()
            .unwrap();
        assert_eq!(refused.error_type, "InvalidParameterException");
        assert_eq!(
            refused.message,
            format!("Paging marker {bad} is invalid for request req-1")
        );
    }
}

#[test]
fn an_empty_pool_lists_nothing() {
    let mut pools = pools();
    let page = pools
        .list_at(POOL, 10, None, "r", SystemTime::now())
        .unwrap();
    assert!(page.jobs.is_empty());
    assert_eq!(page.next, None);
}

#[test]
fn each_pool_has_its_csv_header() {
    let mut pools = pools();
    assert_eq!(pools.csv_header(POOL).unwrap(), STANDARD_CSV_HEADER);
    pools.set_csv_header("eu-west-1_Custom", vec!["cognito:username".to_owned()]);
    assert_eq!(
        pools.csv_header("eu-west-1_Custom").unwrap(),
        ["cognito:username"]
    );
    assert_eq!(pools.csv_header(POOL).unwrap().len(), 21);
}
