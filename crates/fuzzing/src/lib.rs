//! The bodies of the cargo-fuzz targets in `fuzz/` (see `FUZZING.md`),
//! which drive import-job-service through its public API only.
//!
//! Each entry point takes the fuzzer's bytes, drives the crate's own code
//! with them, and panics when an invariant breaks, which the fuzzer reports
//! as a crash. Besides "it does not panic", each checks what the README
//! promises against a small model written from the README, not from the code:
//!
//! - [`stop_request`]: a StopUserImportJob request body through the
//!   authorization layer (read the body, decode the one gRPC message, decide
//!   with a fixed policy for a fixed caller) and through validation.
//! - [`emulator_request`]: one HTTP request to the embedded Cognito emulator
//!   (its headers and its AWS JSON 1.1 body), over a real loopback socket as
//!   the SDK sends them.
//! - [`policy_file`]: the authorization policy parser, and decisions of every
//!   policy it accepts.
//! - [`jwt_token`]: bearer tokens through `auth::jwt::verify`, as sent, or
//!   with the fuzzer's header and claims signed by the harness's key so that
//!   they reach the claim checks.
//! - [`client_certificate`]: client certificates (DER) through
//!   `auth::mtls::identity` and the name-constraint checks, and strings
//!   through the SPIFFE ID syntax check.

mod client_certificate;
mod emulator_request;
mod jwt_token;
mod policy_file;
mod stop_request;

pub use client_certificate::client_certificate;
pub use emulator_request::{emulator_input, emulator_request};
pub use jwt_token::jwt_token;
pub use policy_file::policy_file;
pub use stop_request::stop_request;

#[cfg(test)]
mod tests {
    use import_job_service::{auth::jwt, proto::StopUserImportJobRequest};
    use prost::Message;

    use super::*;
    use crate::{jwt_token::*, stop_request::*};

    fn message(pool: &str, job: &str) -> Vec<u8> {
        StopUserImportJobRequest {
            user_pool_id: pool.to_owned(),
            job_id: job.to_owned(),
        }
        .encode_to_vec()
    }

    #[test]
    fn stop_requests_meet_the_readme() {
        for (caller, pool, job) in [
            (0, "us-east-1_ImportDemo", "import-pending"),
            (1, "us-east-1_ImportDemo", "import_1"),
            (1, "eu-west-1_Production", "import-x"),
            (2, "eu-west-1_Production", ""),
            (3, "us-east-1_ImportDemo", "import-pending"),
        ] {
            let mut input = vec![caller];
            input.extend(message(pool, job));
            stop_request(&input);
        }
        stop_request(&[RAW_BODY, 1, 0, 0, 0, 0]);
        stop_request(&[RAW_BODY]);
        let mut large = vec![2];
        large.extend(message(&"a".repeat(MAX_MESSAGE_BYTES), "import-a"));
        stop_request(&large);
    }

    #[test]
    fn emulator_requests_meet_the_readme() {
        for input in [
            &b"content-type: application/x-amz-json-1.1\nx-amz-target: AWSCognitoIdentityProviderService.StopUserImportJob\n\n{\"UserPoolId\":\"us-east-1_ImportDemo\",\"JobId\":\"import-pending\"}"[..],
            b"content-type: application/x-amz-json-1.1\nx-amz-target: AWSCognitoIdentityProviderService.DescribeUserImportJob\n\n{\"UserPoolId\":\"us-east-1_ImportDemo\",\"JobId\":\"import_x\"}",
            b"content-type: text/plain\n\n{}",
            b"x-amz-target: AWSCognitoIdentityProviderService.ListUserImportJobs\ncontent-type: application/x-amz-json-1.1\n\n{\"UserPoolId\":\"us-east-1_ImportDemo\",\"MaxResults\":3}",
            b"",
        ] {
            emulator_request(input);
        }
    }

    #[test]
    fn policy_files_meet_the_readme() {
        for input in [
            README_POLICY,
            r#"{"name":"p","allow_rules":[{"name":"r","request":{"headers":[{"key":"X-A","values":["b*"]}]}}]}"#,
            r#"["p",[],[["r",["*"]]]]"#,
            r#"{"name":"p","allow_rules":[],"name":"q"}"#,
            r#"{"name":"p","allow_rules":[{"name":"r","request":{"paths":["a*b"]}}]}"#,
            "not json",
            // Finding 1 of FUZZING.md (fuzz/artifacts/policy_file/).
            r#"{"name":"0","allow_rules":[{"name":"8","source":{"principals":["/**"]}}]}"#,
        ] {
            policy_file(input.as_bytes());
        }
    }

    #[test]
    fn the_jwt_harness_signs_what_the_verifier_accepts() {
        let (keys, settings, key) = fuzz_jwt();
        let input = format!(
            r#"{{"alg":"ES256","kid":"fuzz"}}.{{"sub":"spiffe://demo.test/ops","iss":"{FUZZ_ISSUER}","aud":"{FUZZ_AUDIENCE}","exp":4102444800}}"#
        );
        let (header, claims) = input.split_once('.').unwrap();
        let signing_input = format!(
            "{}.{}",
            base64url(header.as_bytes()),
            base64url(claims.as_bytes())
        );
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            key,
            jsonwebtoken::Algorithm::ES256,
        )
        .unwrap();
        let token = format!("{signing_input}.{signature}");
        assert_eq!(
            jwt::verify(&token, keys, settings).as_deref(),
            Ok("spiffe://demo.test/ops")
        );
        assert_eq!(
            unbase64url(&base64url(b"any bytes!")).unwrap(),
            b"any bytes!"
        );
        check_accepted_token(&token, "spiffe://demo.test/ops");
    }

    /// Every committed seed passes its target, so the corpus stays a valid
    /// starting point.
    #[test]
    fn the_seed_corpora_pass() {
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 5] = [
            ("stop_request", stop_request),
            ("emulator_request", emulator_request),
            ("policy_file", policy_file),
            ("jwt_token", jwt_token),
            ("client_certificate", client_certificate),
        ];
        for (target, run) in targets {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/corpus")
                .join(target);
            let mut seeds = 0;
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                run(&std::fs::read(&path).unwrap());
                seeds += 1;
            }
            assert!(seeds >= 5, "{}: {seeds} seeds", dir.display());
        }
    }
}
