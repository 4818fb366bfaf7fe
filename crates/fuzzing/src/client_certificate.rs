//! The `client_certificate` target: client certificates through identity
//! extraction and name constraints, and strings through the SPIFFE ID check.

use import_job_service::auth::{
    mtls::{self, CommonName},
    spiffe,
};

/// The SPIFFE ID syntax as the README states it, written apart from
/// `auth::spiffe`: `spiffe://`, a non-empty trust domain of `[a-z0-9._-]`,
/// then `/segment`s of `[A-Za-z0-9._-]`, none empty, `.` or `..`; 2,048
/// bytes at most.
pub(crate) fn spiffe_id_model(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("spiffe://") else {
        return false;
    };
    let mut parts = rest.split('/');
    let domain = parts.next().unwrap_or_default();
    let domain_ok = (1..=255).contains(&domain.len())
        && domain
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'));
    let segments_ok = parts.all(|segment| {
        !matches!(segment, "" | "." | "..")
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    });
    id.len() <= 2048 && domain_ok && segments_ok
}

/// Fuzz target `client_certificate`. With the first byte's low bit clear,
/// the rest is a certificate (DER) as a client presents it: the identity it
/// names, with the CN allowed and not, and under its own name constraints as
/// if it were its issuer, must follow the README's rules, and
/// the name-constraint and name readers must not panic. With it set, the
/// rest is a string judged by the SPIFFE ID syntax check, which must agree
/// with the README's model.
pub fn client_certificate(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        if let Ok(id) = std::str::from_utf8(rest) {
            assert_eq!(spiffe::is_valid(id), spiffe_id_model(id), "{id:?}");
        }
        return;
    }
    let strict = mtls::identity(rest, CommonName::Ignored, &[]);
    let lenient = mtls::identity(rest, CommonName::Allowed, &[]);
    // The input as its own constraining CA: its name constraints parsed,
    // and applied to what it names.
    let constrained = mtls::identity(rest, CommonName::Allowed, &[rest]);
    let _ = mtls::has_name_constraints(rest);
    let _ = mtls::subject_and_issuer(rest);
    if let Ok(identity) = &strict {
        // A SAN names it: the CN never changes that.
        assert_eq!(lenient.as_ref(), Ok(identity), "a SAN wins over the CN");
    }
    if let Ok(identity) = &constrained {
        // Constraints only take away, and never allow the CN.
        assert_eq!(
            strict.as_ref(),
            Ok(identity),
            "constrained, yet named otherwise"
        );
    }
    for identity in [&strict, &lenient, &constrained].into_iter().flatten() {
        assert!(!identity.is_empty(), "an empty identity");
        if identity.contains("://") || identity.to_ascii_lowercase().starts_with("spiffe:") {
            assert!(
                spiffe_id_model(identity),
                "a URI identity must be a SPIFFE ID: {identity:?}"
            );
        }
    }
}
