//! Bearer tokens: JWTs verified against a local JWKS file (RFC 7519, with the
//! hardening of RFC 8725). The algorithms are pinned by configuration, so
//! `none`, and any algorithm a key was not configured for, is rejected; the
//! key is chosen by the token's `kid`; `iss` must be the one issuer, as a
//! single string, and `aud` must match; `exp` is required and `nbf` honoured,
//! both integers in a sane range, with a small leeway. A token whose header
//! lists `crit` extensions is refused, since this service understands none
//! (RFC 7515, section 4.1.11), and an identity that claims to be a SPIFFE ID
//! must be one.

use std::{collections::HashMap, str::FromStr, sync::Mutex, time::Duration};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    errors::ErrorKind,
    jwk::{Jwk, JwkSet},
};
use serde_json::Value;

use super::spiffe;

/// How tokens are checked.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub algorithms: Vec<Algorithm>,
    pub identity_claim: String,
    pub leeway: Duration,
}

/// The algorithms `--jwt-algorithms` may name.
pub(crate) const SUPPORTED_ALGORITHMS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// Parses `RS256,ES256,EdDSA`-style lists.
pub(crate) fn parse_algorithms(list: &str) -> Result<Vec<Algorithm>, String> {
    let algorithms = list
        .split(',')
        .map(str::trim)
        .map(|name| {
            if SUPPORTED_ALGORITHMS.contains(&name) {
                Algorithm::from_str(name).map_err(|e| e.to_string())
            } else {
                Err(format!(
                    "{name:?} is not one of {}",
                    SUPPORTED_ALGORITHMS.join(", ")
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(algorithms)
}

/// The keys of a JWKS file, by `kid`.
pub struct KeySet {
    keys: HashMap<String, Key>,
    /// The one key of a set that has exactly one, for tokens without `kid`.
    only: Option<Key>,
    /// Tokens these keys verified, with what they established: callers reuse
    /// a token for many calls, and its signature need not be checked again
    /// (tens of microseconds) until it expires. It lives and dies with the
    /// key set, so a reloaded JWKS starts afresh.
    verified: Mutex<HashMap<String, Verified>>,
}

/// What a verified token established, and until when.
#[derive(Clone)]
struct Verified {
    identity: String,
    expires: u64,
}

/// Verified tokens remembered at most; when full, the memory starts afresh.
const MAX_VERIFIED_TOKENS: usize = 4096;

/// A public key, and the one algorithm its JWK binds it to, if it does.
struct Key {
    key: DecodingKey,
    algorithm: Option<Algorithm>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// Parses a JWKS document. Keys of a type this service does not verify
    /// (symmetric `oct` keys above all) make the file invalid: a shared secret
    /// has no place in a file of public keys.
    pub fn parse(json: &str) -> Result<Self, String> {
        let set: JwkSet =
            serde_json::from_str(json).map_err(|e| format!("not a JWKS document: {e}"))?;
        if set.keys.is_empty() {
            return Err("the JWKS has no keys".to_owned());
        }
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let key = decoding_key(jwk)?;
            if let Some(kid) = &jwk.common.key_id
                && keys.insert(kid.clone(), key).is_some()
            {
                return Err(format!("two keys have the kid {kid:?}"));
            }
        }
        let only = match set.keys.as_slice() {
            [jwk] => Some(decoding_key(jwk)?),
            _ => None,
        };
        Ok(Self {
            keys,
            only,
            verified: Mutex::default(),
        })
    }

    /// The key for `kid` that may verify `algorithm`.
    fn key(&self, kid: Option<&str>, algorithm: Algorithm) -> Result<&DecodingKey, TokenError> {
        let key = match kid {
            Some(kid) => self.keys.get(kid),
            None => self.only.as_ref(),
        }
        .ok_or(TokenError::UnknownKey)?;
        match key.algorithm {
            Some(bound) if bound != algorithm => Err(TokenError::AlgorithmNotAllowed),
            _ => Ok(&key.key),
        }
    }
}

fn decoding_key(jwk: &Jwk) -> Result<Key, String> {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    let algorithm =
        match jwk.common.key_algorithm {
            Some(algorithm) => Some(Algorithm::from_str(&algorithm.to_string()).map_err(|_| {
                format!("key {:?}: unsupported alg {algorithm:?}", jwk.common.key_id)
            })?),
            None => None,
        };
    match &jwk.algorithm {
        P::RSA(_) | P::EllipticCurve(_) | P::OctetKeyPair(_) => DecodingKey::from_jwk(jwk)
            .map(|key| Key { key, algorithm })
            .map_err(|e| format!("key {:?}: {e}", jwk.common.key_id)),
        _ => Err(format!(
            "key {:?}: only RSA, EC and OKP public keys are accepted",
            jwk.common.key_id
        )),
    }
}

/// Why a token was refused. The variants are what a caller may learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    AlgorithmNotAllowed,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
    /// A claim of the wrong type or out of range: `exp` or `nbf` not an
    /// integer of seconds before the year 10000, or an identity that claims
    /// to be a SPIFFE ID and is not one.
    InvalidClaim,
    /// The header lists `crit` extensions, none of which this service
    /// understands.
    CriticalExtension,
}

impl TokenError {
    /// The ErrorInfo reason for it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            TokenError::Malformed => "TOKEN_MALFORMED",
            TokenError::AlgorithmNotAllowed => "TOKEN_ALGORITHM_NOT_ALLOWED",
            TokenError::UnknownKey => "TOKEN_KEY_UNKNOWN",
            TokenError::BadSignature => "TOKEN_SIGNATURE_INVALID",
            TokenError::Expired => "TOKEN_EXPIRED",
            TokenError::NotYetValid => "TOKEN_NOT_YET_VALID",
            TokenError::WrongIssuer => "TOKEN_ISSUER_INVALID",
            TokenError::WrongAudience => "TOKEN_AUDIENCE_INVALID",
            TokenError::MissingClaim => "TOKEN_CLAIM_MISSING",
            TokenError::InvalidClaim => "TOKEN_CLAIM_INVALID",
            TokenError::CriticalExtension => "TOKEN_CRITICAL_EXTENSION_UNSUPPORTED",
        }
    }
}

/// Verifies `token` and returns its identity claim.
pub fn verify(token: &str, keys: &KeySet, settings: &JwtSettings) -> Result<String, TokenError> {
    verify_at(token, keys, settings, jsonwebtoken::get_current_timestamp())
}

/// [`verify`], with the time a remembered token is checked against.
fn verify_at(
    token: &str,
    keys: &KeySet,
    settings: &JwtSettings,
    now: u64,
) -> Result<String, TokenError> {
    let leeway = settings.leeway.as_secs();
    let remembered = keys
        .verified
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token)
        .cloned();
    if let Some(verified) = remembered {
        if verified.expires.saturating_add(leeway) < now {
            return Err(TokenError::Expired);
        }
        return Ok(verified.identity);
    }
    let (identity, expires) = verify_signed(token, keys, settings)?;
    let mut verified = keys.verified.lock().unwrap_or_else(|e| e.into_inner());
    if verified.len() >= MAX_VERIFIED_TOKENS {
        verified.clear();
    }
    verified.insert(
        token.to_owned(),
        Verified {
            identity: identity.clone(),
            expires,
        },
    );
    Ok(identity)
}

/// The full check: signature, algorithm, issuer, audience, times. Returns
/// the identity and the expiry.
fn verify_signed(
    token: &str,
    keys: &KeySet,
    settings: &JwtSettings,
) -> Result<(String, u64), TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        ErrorKind::InvalidAlgorithmName => TokenError::AlgorithmNotAllowed,
        _ => TokenError::Malformed,
    })?;
    if !settings.algorithms.contains(&header.alg) {
        return Err(TokenError::AlgorithmNotAllowed);
    }
    if header.crit.is_some() {
        return Err(TokenError::CriticalExtension);
    }
    let key = keys.key(header.kid.as_deref(), header.alg)?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = settings.leeway.as_secs();
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<HashMap<String, Value>>(token, key, &validation).map_err(
        |e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::MissingRequiredClaim(_) => TokenError::MissingClaim,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                TokenError::AlgorithmNotAllowed
            }
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat => TokenError::BadSignature,
            _ => TokenError::Malformed,
        },
    )?;
    let claims = &data.claims;
    // jsonwebtoken also takes an array of issuers, and fractional times.
    if claims.get("iss") != Some(&Value::String(settings.issuer.clone())) {
        return Err(TokenError::WrongIssuer);
    }
    let expires = claims
        .get("exp")
        .map(seconds)
        .ok_or(TokenError::MissingClaim)??;
    if let Some(not_before) = claims.get("nbf") {
        seconds(not_before)?;
    }
    match claims.get(&settings.identity_claim) {
        Some(Value::String(identity)) if !identity.is_empty() => {
            if spiffe::looks_like_spiffe_id(identity) && !spiffe::is_valid(identity) {
                return Err(TokenError::InvalidClaim);
            }
            Ok((identity.clone(), expires))
        }
        _ => Err(TokenError::MissingClaim),
    }
}

/// Latest time a token may name: 9999-12-31T23:59:59Z.
const MAX_TIME: u64 = 253_402_300_799;

/// A NumericDate claim, as this service takes it: whole seconds since the
/// epoch, before the year 10000.
fn seconds(value: &Value) -> Result<u64, TokenError> {
    value
        .as_u64()
        .filter(|&secs| secs <= MAX_TIME)
        .ok_or(TokenError::InvalidClaim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pinnable_algorithms_are_accepted_in_configuration() {
        assert_eq!(
            parse_algorithms("RS256, EdDSA").unwrap(),
            [Algorithm::RS256, Algorithm::EdDSA]
        );
        assert!(parse_algorithms("HS256").unwrap_err().contains("HS256"));
        assert!(parse_algorithms("none").is_err());
        assert!(parse_algorithms("").is_err());
    }

    fn signed(claims: &serde_json::Value) -> (String, KeySet) {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let key = jsonwebtoken::EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("k".to_owned());
        let keys = KeySet::parse(&serde_json::json!({ "keys": [jwk] }).to_string()).unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some("k".to_owned());
        (jsonwebtoken::encode(&header, claims, &key).unwrap(), keys)
    }

    fn settings() -> JwtSettings {
        JwtSettings {
            issuer: "iss".to_owned(),
            audience: "aud".to_owned(),
            algorithms: vec![Algorithm::ES256],
            identity_claim: "sub".to_owned(),
            leeway: Duration::from_secs(5),
        }
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let now = jsonwebtoken::get_current_timestamp();
        let claims =
            serde_json::json!({ "sub": "alice", "iss": "iss", "aud": "aud", "exp": now + 100 });
        let (token, keys) = signed(&claims);
        assert_eq!(verify(&token, &keys, &settings()).unwrap(), "alice");
        assert_eq!(
            verify_at(&token, &keys, &settings(), now + 50).unwrap(),
            "alice",
            "remembered"
        );
        assert_eq!(
            verify_at(&token, &keys, &settings(), now + 104).unwrap(),
            "alice",
            "within the leeway"
        );
        assert_eq!(
            verify_at(&token, &keys, &settings(), now + 106),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_that_failed_is_not_remembered() {
        let now = jsonwebtoken::get_current_timestamp();
        let (token, keys) = signed(
            &serde_json::json!({ "sub": "alice", "iss": "other", "aud": "aud", "exp": now + 100 }),
        );
        assert_eq!(
            verify(&token, &keys, &settings()),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            verify(&token, &keys, &settings()),
            Err(TokenError::WrongIssuer)
        );
    }

    #[test]
    fn a_jwks_of_secrets_or_nothing_is_invalid() {
        assert!(
            KeySet::parse(r#"{"keys": []}"#)
                .unwrap_err()
                .contains("no keys")
        );
        let oct = r#"{"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}"#;
        assert!(
            KeySet::parse(oct)
                .unwrap_err()
                .contains("only RSA, EC and OKP")
        );
        assert!(KeySet::parse("[]").is_err());
    }
}
