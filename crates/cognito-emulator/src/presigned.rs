//! Pre-signed upload URLs shaped as S3 makes them, read back when an upload
//! comes, and the random characters they and job ids are made of.

use std::{
    hash::{BuildHasher, RandomState},
    time::{SystemTime, UNIX_EPOCH},
};

/// The bucket of jobs made outside an emulator ([`crate::Job::new`]).
pub(crate) const S3_BUCKET: &str = "https://cognito-import-jobs.s3.amazonaws.com";
/// The emulator's own bucket, a path on its port, where it takes uploads.
pub(crate) const UPLOAD_PATH: &str = "/cognito-import-jobs";
/// How long the URL is valid, in seconds: Cognito's 15 minutes.
const EXPIRES: u32 = 900;

/// The query's parameters, in the order the URL has them.
const PARAMS: [&str; 6] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
];

const UPPER_BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";
pub(crate) const ALPHANUMERIC: &[u8] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The URL to PUT the CSV file of `job_id` in `user_pool_id` to, in `bucket`,
/// signed at `at` (for the host and the server-side encryption header) with
/// a random signature: a secret, as the real one is.
pub(crate) fn url(bucket: &str, user_pool_id: &str, job_id: &str, at: SystemTime) -> String {
    let region = user_pool_id.split('_').next().unwrap_or_default();
    let date = amz_date(at);
    let day = &date[..8];
    let access_key = format!("ASIA{}", random_string(UPPER_BASE32, 16));
    let signature = random_string(HEX, 64);
    format!(
        "{bucket}/{user_pool_id}/{job_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential={access_key}%2F{day}%2F{region}%2Fs3%2Faws4_request\
         &X-Amz-Date={date}&X-Amz-Expires={EXPIRES}\
         &X-Amz-SignedHeaders=host%3Bx-amz-server-side-encryption\
         &X-Amz-Signature={signature}"
    )
}

/// The pool and job an upload path names: `/cognito-import-jobs/<pool>/<job>`.
pub(crate) fn object_key(path: &str) -> Option<(&str, &str)> {
    let key = path.strip_prefix(UPLOAD_PATH)?.strip_prefix('/')?;
    let (pool, job) = key.split_once('/')?;
    (!pool.is_empty() && !job.is_empty() && !job.contains('/')).then_some((pool, job))
}

/// What a request's query says of its signature.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Query {
    /// No SigV4 parameter at all: an anonymous request.
    Anonymous,
    /// Some of them, not all.
    Incomplete,
    Signed(Signed),
}

/// The SigV4 parameters of a query, decoded, in [`PARAMS`]' order. Two
/// queries with the same are the same signature: the emulator's signatures
/// are random, so a URL is valid only as its job's own, every parameter the
/// same (as a real signature covers them all).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Signed([String; 6]);

impl Query {
    /// The query of a URL or a request (after the `?`).
    pub(crate) fn read(query: &str) -> Self {
        let mut values: [Option<String>; 6] = Default::default();
        for (name, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
            if let Some(at) = PARAMS.iter().position(|param| *param == decode(name)) {
                values[at] = Some(decode(value));
            }
        }
        if values.iter().all(Option::is_none) {
            return Self::Anonymous;
        }
        match values.iter().all(Option::is_some) {
            true => Self::Signed(Signed(values.map(Option::unwrap_or_default))),
            false => Self::Incomplete,
        }
    }
}

impl Signed {
    /// When the URL stops being valid: its date and how long it is valid
    /// after; `None` if it cannot be read.
    pub(crate) fn expires_at(&self) -> Option<SystemTime> {
        let date = parse_amz_date(&self.0[2])?;
        let expires: u64 = self.0[3].parse().ok()?;
        date.checked_add(std::time::Duration::from_secs(expires))
    }
}

/// `%XX` escapes decoded; anything else as it is.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `n` characters drawn at random from `alphabet`: from SipHash under keys
/// the standard library draws at random per thread and changes per use, so
/// that a URL costs no system call (benchmark mode makes one per call).
pub(crate) fn random_string(alphabet: &[u8], n: usize) -> String {
    let keys = RandomState::new();
    (0..n)
        .map(|i| {
            let draw = keys.hash_one(i) % alphabet.len() as u64;
            char::from(alphabet[draw as usize])
        })
        .collect()
}

/// SigV4's date and time, `20261122T020630Z`, in UTC.
fn amz_date(at: SystemTime) -> String {
    let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_date(days as i64);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The time SigV4's `20261122T020630Z` names.
fn parse_amz_date(date: &str) -> Option<SystemTime> {
    let digits = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = date.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if date.len() != 16 || &date[8..9] != "T" || &date[15..] != "Z" {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = u64::try_from(days_from_civil(year as i64, month as u32, day as u32)).ok()?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(std::time::Duration::from_secs(seconds))
}

/// The days from 1970-01-01 to a proleptic Gregorian date: [`civil_date`]
/// undone, in the same eras of years that begin on March 1st.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01, counted in 400-year
/// eras of 146,097 days whose years begin on March 1st, so that the leap day
/// falls last.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468; // 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn dates_are_sigv4s() {
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(amz_date(at(0)), "19700101T000000Z");
        assert_eq!(amz_date(at(1_700_000_000)), "20231114T221320Z");
        assert_eq!(amz_date(at(951_782_400)), "20000229T000000Z");
        assert_eq!(amz_date(at(4_102_444_799)), "20991231T235959Z");
    }

    #[test]
    fn a_url_looks_pre_signed_and_its_signature_is_fresh() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let first = url("http://127.0.0.1:9/b", "eu-west-1_Pool", "import-a", at);
        let (path, query) = first.split_once('?').unwrap();
        assert_eq!(path, "http://127.0.0.1:9/b/eu-west-1_Pool/import-a");
        let params: Vec<(&str, &str)> = query
            .split('&')
            .map(|pair| pair.split_once('=').unwrap())
            .collect();
        let names: Vec<&str> = params.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-SignedHeaders",
                "X-Amz-Signature"
            ]
        );
        let credential = params[1].1;
        assert!(credential.starts_with("ASIA"), "{credential}");
        assert!(credential.ends_with("%2F20231114%2Feu-west-1%2Fs3%2Faws4_request"));
        assert_eq!(params[2].1, "20231114T221320Z");
        assert_eq!(params[3].1, "900");
        let signature = params[5].1;
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
        let second = url("http://127.0.0.1:9/b", "eu-west-1_Pool", "import-a", at);
        assert_ne!(second.split("X-Amz-Signature=").nth(1), Some(signature));
    }

    #[test]
    fn a_url_reads_back_as_its_own_signature_valid_900_seconds() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let first = url("http://127.0.0.1:9/b", "eu-west-1_Pool", "import-a", at);
        let second = url("http://127.0.0.1:9/b", "eu-west-1_Pool", "import-a", at);
        let query = |url: &str| Query::read(url.split_once('?').unwrap().1);
        let Query::Signed(signed) = query(&first) else {
            panic!("{first}")
        };
        assert_eq!(signed.expires_at(), Some(at + Duration::from_secs(900)));
        assert_eq!(query(&first), query(&first.replace("%2F", "%2f")));
        assert_ne!(query(&first), query(&second));
        assert_eq!(Query::read("a=b&partNumber=1"), Query::Anonymous);
        assert_eq!(Query::read(""), Query::Anonymous);
        let incomplete = first.split("&X-Amz-Signature").next().unwrap();
        assert_eq!(query(incomplete), Query::Incomplete);
    }

    #[test]
    fn dates_read_back_as_written() {
        for secs in [0, 951_782_400, 1_700_000_000, 4_102_444_799] {
            let at = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_amz_date(&amz_date(at)), Some(at));
        }
        for bad in [
            "20231114T221320",
            "2023-11-14T22:13Z",
            "20231314T221320Z",
            "2023111+T221320Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_upload_path_names_a_pool_and_a_job() {
        assert_eq!(
            object_key("/cognito-import-jobs/us-east-1_A/import-b"),
            Some(("us-east-1_A", "import-b"))
        );
        for path in [
            "/cognito-import-jobs/us-east-1_A",
            "/cognito-import-jobs/us-east-1_A/",
            "/cognito-import-jobs/us-east-1_A/import-b/c",
            "/cognito-import-jobsX/a/b",
            "/",
        ] {
            assert_eq!(object_key(path), None, "{path}");
        }
    }
}
