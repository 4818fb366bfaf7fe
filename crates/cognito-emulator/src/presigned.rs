//! Pre-signed upload URLs shaped as S3 makes them, and the random characters
//! they and job ids are made of.

use std::{
    hash::{BuildHasher, RandomState},
    time::{SystemTime, UNIX_EPOCH},
};

/// The bucket of jobs made outside an emulator ([`crate::Job::new`]).
pub(crate) const S3_BUCKET: &str = "https://cognito-import-jobs.s3.amazonaws.com";
/// The emulator's own bucket, a path on its port: where a later version
/// takes CSV uploads.
pub(crate) const UPLOAD_PATH: &str = "/cognito-import-jobs";
/// How long the URL is valid, in seconds: Cognito's 15 minutes.
const EXPIRES: u32 = 900;

const UPPER_BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
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
}
