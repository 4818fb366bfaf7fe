//! What authorization costs per call: verifying a bearer token against a
//! cached key set, and the policy decision. A plain harness (no framework):
//! each case runs in batches, and the report gives the median and p99 of
//! the per-call time over the batches.
//!
//! Run: `cargo bench --bench authorization`

use std::{
    hint::black_box,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use import_job_service::auth::{
    jwt::{self, JwtSettings, KeySet},
    policy::{Call, Policy},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const BATCHES: usize = 200;
const PER_BATCH: usize = 50;

fn measure(name: &str, mut op: impl FnMut()) -> Duration {
    for _ in 0..PER_BATCH * 10 {
        op();
    }
    let mut per_call: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..PER_BATCH {
                op();
            }
            started.elapsed() / PER_BATCH as u32
        })
        .collect();
    per_call.sort();
    let median = per_call[BATCHES / 2];
    let p99 = per_call[BATCHES * 99 / 100];
    println!(
        "{name:<44} median {:>9.2} µs   p99 {:>9.2} µs",
        micros(median),
        micros(p99)
    );
    median
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn signer(alg: Algorithm) -> (EncodingKey, serde_json::Value) {
    let (rcgen_alg, kty) = match alg {
        Algorithm::RS256 => (&rcgen::PKCS_RSA_SHA256, "RSA"),
        Algorithm::ES256 => (&rcgen::PKCS_ECDSA_P256_SHA256, "EC"),
        _ => (&rcgen::PKCS_ED25519, "OKP"),
    };
    let pair = rcgen::KeyPair::generate_for(rcgen_alg).unwrap();
    let pem = pair.serialize_pem();
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    };
    let mut jwk = match alg {
        Algorithm::EdDSA => {
            use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
            json!({ "kty": kty, "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()) })
        }
        _ => serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&key, alg).unwrap())
            .unwrap(),
    };
    jwk["kid"] = json!("bench");
    (key, jwk)
}

fn main() {
    println!(
        "authorization cost per call ({} batches of {}, release build)",
        BATCHES, PER_BATCH
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let settings = JwtSettings {
        issuer: "https://issuer.bench".to_owned(),
        audience: "import-job-service".to_owned(),
        algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
        identity_claim: "sub".to_owned(),
        leeway: Duration::from_secs(30),
    };
    let claims = json!({ "sub": "billing-batch", "iss": settings.issuer, "aud": settings.audience, "exp": now + 3600 });
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let (key, jwk) = signer(alg);
        let keys = KeySet::parse(&json!({ "keys": [jwk] }).to_string()).unwrap();
        let mut header = Header::new(alg);
        header.kid = Some("bench".to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert_eq!(
            jwt::verify(&token, &keys, &settings).unwrap(),
            "billing-batch"
        );
        measure(&format!("JWT check, {alg:?}, a token seen before"), || {
            black_box(jwt::verify(black_box(&token), &keys, &settings).unwrap());
        });
        let tokens: Vec<String> = (0..BATCHES * PER_BATCH * 11)
            .map(|i| {
                let mut claims = claims.clone();
                claims["jti"] = json!(i);
                jsonwebtoken::encode(&header, &claims, &key).unwrap()
            })
            .collect();
        let mut fresh = tokens.iter();
        measure(
            &format!("JWT check, {alg:?}, a new token each call"),
            || {
                black_box(jwt::verify(fresh.next().unwrap(), &keys, &settings).unwrap());
            },
        );
    }

    let policy = Policy::parse(
        &json!({
            "name": "bench",
            "deny_rules": [{ "name": "suspended", "source": { "principals": ["spiffe://corp/suspended/*"] } }],
            "allow_rules": (0..20).map(|i| json!({
                "name": format!("team-{i}"),
                "source": { "principals": [format!("spiffe://corp/team-{i}/*"), format!("team-{i}-batch")] },
                "request": { "paths": ["/importjob.v1.ImportJobService/*"], "user_pools": [format!("us-east-1_Team{i}*")] }
            })).collect::<Vec<_>>()
        })
        .to_string(),
    )
    .unwrap();
    let no_headers = |_: &str| None::<String>;
    measure("policy decision, 21 rules, last rule allows", || {
        let call = Call {
            principals: &["team-19-batch"],
            path: "/importjob.v1.ImportJobService/StopUserImportJob",
            user_pool_id: Some("us-east-1_Team19Pool"),
            header: &no_headers,
        };
        black_box(policy.decide(black_box(&call)));
    });
}
