//! The demo pools an emulator starts with, so that every operation can be
//! tried by hand: a job in every status in each, each held there until an
//! operation moves it, the standard CSV header, and room to create jobs.

use std::time::SystemTime;

use crate::jobs::{Job, JobStatus, Pools};

/// The demo pools, and the prefix of their jobs' ids.
pub(crate) const POOLS: [(&str, &str); 2] = [
    (crate::DEMO_POOL, "import-"),
    (crate::DEMO_POOL_EU, "import-eu-"),
];

pub(crate) fn seed(pools: &mut Pools) {
    for (pool, prefix) in POOLS {
        pools.add_pool(pool);
        for status in JobStatus::ALL {
            let id = format!("{prefix}{}", kebab(status.as_str()));
            let mut job = Job::in_status(pool, &id, status);
            job.pre_signed_url = pools.pre_signed_url(pool, &id, SystemTime::now());
            pools.put_job(job);
        }
    }
}

/// `InProgress` -> `in-progress`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DEFAULT_JOB_LIMIT, STANDARD_CSV_HEADER};

    #[test]
    fn demo_pools_hold_a_job_in_every_status_and_room_for_more() {
        let mut pools = Pools::default();
        pools.set_upload_origin("http://127.0.0.1:4566");
        seed(&mut pools);
        for (pool, _) in POOLS {
            let jobs: Vec<_> = pools.jobs(pool).unwrap().cloned().collect();
            assert_eq!(jobs.len(), JobStatus::ALL.len());
            assert!(
                jobs.iter()
                    .all(|j| cognito_constraints::JobId::parse(&j.job_id).is_ok()),
                "{jobs:?}"
            );
            assert!(jobs.iter().all(|j| j.pre_signed_url.starts_with(&format!(
                "http://127.0.0.1:4566/cognito-import-jobs/{pool}/"
            ))));
            assert_eq!(pools.csv_header(pool).unwrap(), STANDARD_CSV_HEADER);
            assert!(jobs.len() < DEFAULT_JOB_LIMIT);
        }
        assert_eq!(
            pools
                .job(crate::DEMO_POOL, "import-in-progress")
                .unwrap()
                .status,
            "InProgress"
        );
    }

    #[test]
    fn demo_jobs_stay_in_their_status_as_time_goes() {
        let mut pools = Pools::default();
        seed(&mut pools);
        let next_year = SystemTime::now() + std::time::Duration::from_secs(365 * 24 * 3600);
        pools.advance_all(next_year);
        let pending = pools.job(crate::DEMO_POOL, "import-pending").unwrap();
        assert_eq!(pending.status, "Pending");
        let created = pools.job(crate::DEMO_POOL_EU, "import-eu-created").unwrap();
        assert_eq!(created.status, "Created");
    }
}
