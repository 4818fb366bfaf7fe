//! SPIFFE IDs (the SPIFFE ID standard, section 2): `spiffe://` then a trust
//! domain of lower-case letters, digits, `.`, `-` and `_`, then a path of
//! segments of letters, digits, `.`, `-` and `_`, none empty, `.` or `..`.
//! No percent-encoding, port, user info, query or fragment, and at most 2,048
//! bytes.
//!
//! The policy matches identities as strings, with `prefix*` patterns: an ID
//! such as `spiffe://demo.test/ops/../billing` would match a rule written
//! for `spiffe://demo.test/ops/*` while naming something else. Only IDs in
//! this exact syntax are identities.

const SCHEME: &str = "spiffe://";
const MAX_LEN: usize = 2048;
const MAX_TRUST_DOMAIN_LEN: usize = 255;

/// Whether `id` is a SPIFFE ID in the standard's syntax.
pub fn is_valid(id: &str) -> bool {
    let Some(rest) = id.strip_prefix(SCHEME) else {
        return false;
    };
    if id.len() > MAX_LEN {
        return false;
    }
    let (trust_domain, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let trust_domain_ok = !trust_domain.is_empty()
        && trust_domain.len() <= MAX_TRUST_DOMAIN_LEN
        && trust_domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b));
    // The path is empty, or `/segment` repeated.
    let path_ok = path.is_empty()
        || path[1..].split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
        });
    trust_domain_ok && path_ok
}

/// The trust domain of a [valid](is_valid) SPIFFE ID: `demo.test` in
/// `spiffe://demo.test/ops`.
pub fn trust_domain(id: &str) -> &str {
    let rest = id.strip_prefix(SCHEME).unwrap_or(id);
    rest.split('/').next().unwrap_or(rest)
}

/// Whether `identity` claims to be a SPIFFE ID, in any case: such a string
/// is an identity only if it [is valid](is_valid).
pub fn looks_like_spiffe_id(identity: &str) -> bool {
    identity
        .get(.."spiffe:".len())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("spiffe:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_valid() {
        for id in [
            "spiffe://demo.test",
            "spiffe://demo.test/billing",
            "spiffe://demo.test/ops/alice",
            "spiffe://my-domain_1.test/ns/default/sa/Import.Job-1_x",
        ] {
            assert!(is_valid(id), "{id}");
        }
    }

    #[test]
    fn ids_outside_the_syntax_are_not() {
        let long_path = format!("spiffe://demo.test/{}", "a".repeat(MAX_LEN));
        for id in [
            "",
            "spiffe://",
            "spiffe:///billing",
            "SPIFFE://demo.test/billing",
            "spiffe://Demo.test/billing",
            "spiffe://demo.test/",
            "spiffe://demo.test//billing",
            "spiffe://demo.test/ops/../billing",
            "spiffe://demo.test/ops/./billing",
            "spiffe://demo.test/ops/..",
            "spiffe://demo.test/ops%2F..%2Fbilling",
            "spiffe://demo.test/ops?x=1",
            "spiffe://demo.test/ops#frag",
            "spiffe://demo.test:8443/ops",
            "spiffe://user@demo.test/ops",
            "spiffe://demo.test/ops/ali ce",
            "spiffe://demo.test/ops/é",
            "https://demo.test/ops",
            &long_path,
        ] {
            assert!(!is_valid(id), "{id:?}");
        }
    }

    #[test]
    fn the_trust_domain_is_the_authority() {
        assert_eq!(trust_domain("spiffe://demo.test/ops/alice"), "demo.test");
        assert_eq!(trust_domain("spiffe://demo.test"), "demo.test");
    }

    #[test]
    fn anything_with_the_scheme_looks_like_an_id() {
        assert!(looks_like_spiffe_id("spiffe://demo.test/ops/../billing"));
        assert!(looks_like_spiffe_id("SPIFFE://demo.test/billing"));
        assert!(looks_like_spiffe_id("spiffe:demo"));
        assert!(!looks_like_spiffe_id("billing-batch"));
        assert!(!looks_like_spiffe_id("spiff"));
    }
}
