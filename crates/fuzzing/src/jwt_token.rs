//! The `jwt_token` target: bearer tokens through the verifier, as sent or
//! signed by the harness.

use std::{sync::OnceLock, time::Duration};

use serde_json::Value;

use import_job_service::auth::jwt::{self, JwtSettings, KeySet};

use crate::client_certificate::spiffe_id_model;

/// The key the [`jwt_token`] harness signs the fuzzer's tokens with, and
/// its public half as a JWKS. Made for this harness only; it guards nothing.
pub(crate) const FUZZ_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHphUlYgBW9ZeeQ/d
W8fGcGk2VygmNVpuPlGjof8d6W6hRANCAAQbCt/pLDMvuN+MuBb7SEWXLCLizo2O
vjfa+CS1unboiVPQP5oGMIdLRYdZHxFEZ9gosvGZBNrPM1fD5VGxS7Xs
-----END PRIVATE KEY-----
";
pub(crate) const FUZZ_JWKS: &str = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "fuzz", "alg": "ES256",
  "x": "Gwrf6SwzL7jfjLgW-0hFlywi4s6Njr432vgktbp26Ik", "y": "U9A_mgYwh0tFh1kfEURn2Ciy8ZkE2s8zV8PlUbFLtew"}]}"#;
/// The issuer and audience the [`jwt_token`] harness's verifier expects.
pub const FUZZ_ISSUER: &str = "https://issuer.fuzz.test";
pub const FUZZ_AUDIENCE: &str = "import-job-service";
/// The clock skew allowed, as `--jwt-leeway`'s default.
pub(crate) const FUZZ_LEEWAY_SECS: u64 = 30;

pub(crate) fn fuzz_jwt() -> &'static (KeySet, JwtSettings, jsonwebtoken::EncodingKey) {
    static JWT: OnceLock<(KeySet, JwtSettings, jsonwebtoken::EncodingKey)> = OnceLock::new();
    JWT.get_or_init(|| {
        let settings = JwtSettings {
            issuer: FUZZ_ISSUER.to_owned(),
            audience: FUZZ_AUDIENCE.to_owned(),
            algorithms: vec![
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::Algorithm::RS256,
            ],
            identity_claim: "sub".to_owned(),
            leeway: Duration::from_secs(FUZZ_LEEWAY_SECS),
        };
        let key = jsonwebtoken::EncodingKey::from_ec_pem(FUZZ_SIGNING_KEY.as_bytes())
            .expect("the harness's key");
        (
            KeySet::parse(FUZZ_JWKS).expect("the harness's JWKS"),
            settings,
            key,
        )
    })
}

/// Fuzz target `jwt_token`. With the first byte even, the rest is the
/// bearer token as sent. With it odd, the rest is a JWS header (JSON), a
/// newline, and claims (JSON), which the harness signs with its key as
/// ES256 (whatever `alg` the header names), so that forged-looking but
/// correctly signed tokens reach every claim check. A token the verifier
/// accepts must meet the README's rules, checked here on its decoded parts.
pub fn jwt_token(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (keys, settings, signing_key) = fuzz_jwt();
    let token = if mode & 1 == 0 {
        match std::str::from_utf8(rest) {
            Ok(token) => token.to_owned(),
            Err(_) => return,
        }
    } else {
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let (header, claims) = rest.split_at(split);
        let claims = claims.get(1..).unwrap_or_default();
        let signing_input = format!("{}.{}", base64url(header), base64url(claims));
        match jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            signing_key,
            jsonwebtoken::Algorithm::ES256,
        ) {
            Ok(signature) => format!("{signing_input}.{signature}"),
            Err(_) => return,
        }
    };
    let verdict = jwt::verify(&token, keys, settings);
    if let Ok(identity) = &verdict {
        check_accepted_token(&token, identity);
    }
    // A verified token is remembered: the second look must agree.
    assert_eq!(
        jwt::verify(&token, keys, settings),
        verdict,
        "remembered verdict"
    );
}

/// What the README says of a token the service accepts.
pub(crate) fn check_accepted_token(token: &str, identity: &str) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS in compact form");
    let header: Value = serde_json::from_slice(&unbase64url(parts[0]).expect("base64url header"))
        .expect("a JSON header");
    let claims: Value = serde_json::from_slice(&unbase64url(parts[1]).expect("base64url claims"))
        .expect("JSON claims");
    assert_eq!(header["alg"], "ES256", "only the key's algorithm: {header}");
    assert!(
        header.get("crit").is_none(),
        "crit is never understood: {header}"
    );
    assert!(
        header.get("kid").is_none_or(|kid| kid == "fuzz"),
        "the kid names the key: {header}"
    );
    assert_eq!(
        claims["iss"], FUZZ_ISSUER,
        "iss is the one string: {claims}"
    );
    let audience_ok = match &claims["aud"] {
        Value::String(aud) => aud == FUZZ_AUDIENCE,
        Value::Array(auds) => auds.iter().any(|aud| aud == FUZZ_AUDIENCE),
        _ => false,
    };
    assert!(audience_ok, "aud names the service: {claims}");
    let now = jsonwebtoken::get_current_timestamp();
    const YEAR_10000: u64 = 253_402_300_800;
    let exp = claims["exp"].as_u64().expect("exp is whole seconds");
    assert!(
        exp < YEAR_10000 && exp + FUZZ_LEEWAY_SECS >= now,
        "exp: {claims}"
    );
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_u64().expect("nbf is whole seconds");
        assert!(
            nbf < YEAR_10000 && nbf <= now + FUZZ_LEEWAY_SECS,
            "nbf: {claims}"
        );
    }
    assert_eq!(claims["sub"], identity, "the identity is the sub claim");
    assert!(!identity.is_empty());
    if identity.to_ascii_lowercase().starts_with("spiffe:") {
        assert!(
            spiffe_id_model(identity),
            "an invalid SPIFFE ID: {identity:?}"
        );
    }
}

pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

pub(crate) fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}
