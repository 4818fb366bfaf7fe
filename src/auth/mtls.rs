//! Client certificates: who a verified certificate names.
//!
//! The identity is the certificate's SPIFFE ID: its one URI SAN, per the
//! X.509-SVID rules, which allow no more than one, in the SPIFFE ID syntax. A
//! certificate without a URI SAN is named by its first DNS SAN.
//!
//! Only SANs name a caller: they are what the CA vouched for, and what a CA's
//! name constraints bind. WebPKI checks name constraints against SANs, not
//! the subject's common name, so a CN would let a CA constrained to
//! `team-a.test` name any caller at all. With `--client-cn-identity`, a
//! certificate with no SAN is named by its CN, but never one whose issuer
//! chain carries name constraints.
//!
//! Nor does WebPKI hold a URI SAN to DNS name constraints (RFC 5280
//! constrains each name form by its own subtrees), so a CA constrained to
//! `team-a.test` could still issue `spiffe://corp.test/billing`. Under name
//! constraints, a SPIFFE ID's trust domain must be a DNS name every
//! constraining CA permits: within one of its permitted DNS subtrees (if it
//! permits any names at all, it must permit DNS ones) and none of its
//! excluded ones.

use x509_parser::{
    extensions::{GeneralName, GeneralSubtree},
    oid_registry::OID_X509_EXT_NAME_CONSTRAINTS,
    prelude::FromDer,
};

use super::spiffe;

/// Why a client certificate does not identify its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateError {
    /// It is not signed by a trusted CA, or is malformed.
    Untrusted,
    Expired,
    NotYetValid,
    /// More than one URI SAN: not a valid SVID, and ambiguous.
    SeveralUriSans,
    /// A URI SAN that is not a SPIFFE ID in the standard's syntax.
    InvalidSpiffeId,
    /// A SPIFFE ID whose trust domain a name-constrained CA above it does
    /// not permit.
    OutsideNameConstraints,
    /// No URI or DNS SAN (nor, where allowed, a common name).
    NoIdentity,
}

impl CertificateError {
    /// The ErrorInfo reason for it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            CertificateError::Untrusted => "CLIENT_CERTIFICATE_UNTRUSTED",
            CertificateError::Expired => "CLIENT_CERTIFICATE_EXPIRED",
            CertificateError::NotYetValid => "CLIENT_CERTIFICATE_NOT_YET_VALID",
            CertificateError::SeveralUriSans => "CLIENT_CERTIFICATE_SEVERAL_URI_SANS",
            CertificateError::InvalidSpiffeId => "CLIENT_CERTIFICATE_SPIFFE_ID_INVALID",
            CertificateError::OutsideNameConstraints => {
                "CLIENT_CERTIFICATE_OUTSIDE_NAME_CONSTRAINTS"
            }
            CertificateError::NoIdentity => "CLIENT_CERTIFICATE_NO_IDENTITY",
        }
    }
}

/// What a connection's client certificate established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCertificate {
    /// The client presented none.
    None,
    /// A trusted certificate naming this identity.
    Verified(String),
    /// A certificate that identifies no one.
    Rejected(CertificateError),
}

/// Whether a subject's common name may name a certificate that has no SAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommonName {
    Ignored,
    /// `--client-cn-identity`, for a chain without name constraints.
    Allowed,
}

/// The identity a certificate (DER) names. `constraining_cas` are the CAs
/// (DER) above it that carry name constraints.
pub fn identity(
    der: &[u8],
    common_name: CommonName,
    constraining_cas: &[&[u8]],
) -> Result<String, CertificateError> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|_| CertificateError::Untrusted)?;
    let names: Vec<&GeneralName<'_>> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san.value.general_names.iter().collect(),
        Ok(None) => Vec::new(),
        Err(_) => return Err(CertificateError::Untrusted),
    };
    let uris: Vec<&str> = names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some(*uri),
            _ => None,
        })
        .collect();
    match uris.as_slice() {
        [uri] if !spiffe::is_valid(uri) => return Err(CertificateError::InvalidSpiffeId),
        [uri] => {
            let trust_domain = spiffe::trust_domain(uri);
            if !constraining_cas
                .iter()
                .all(|ca| permits_dns_name(ca, trust_domain))
            {
                return Err(CertificateError::OutsideNameConstraints);
            }
            return Ok((*uri).to_owned());
        }
        [] => {}
        _ => return Err(CertificateError::SeveralUriSans),
    }
    let dns = names.iter().find_map(|name| match name {
        GeneralName::DNSName(dns) => Some(*dns),
        _ => None,
    });
    let name = match (dns, common_name) {
        (Some(dns), _) => dns,
        (None, CommonName::Allowed) if constraining_cas.is_empty() => cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .ok_or(CertificateError::NoIdentity)?,
        (None, _) => return Err(CertificateError::NoIdentity),
    };
    // Only a URI SAN may name a URI identity such as a SPIFFE ID: a DNS name
    // or CN spelled like one would pass for it in the policy.
    if name.is_empty() || name.contains("://") || spiffe::looks_like_spiffe_id(name) {
        return Err(CertificateError::NoIdentity);
    }
    Ok(name.to_owned())
}

/// Whether a certificate (DER) carries a name constraints extension; one that
/// does not parse counts as constrained.
pub fn has_name_constraints(der: &[u8]) -> bool {
    match x509_parser::certificate::X509Certificate::from_der(der) {
        Ok((_, cert)) => cert
            .extensions()
            .iter()
            .any(|ext| ext.oid == OID_X509_EXT_NAME_CONSTRAINTS),
        Err(_) => true,
    }
}

/// Whether a CA (DER) permits certificates under it to name the DNS name
/// `name`, by its name constraints' DNS subtrees (RFC 5280, section
/// 4.2.1.10: `team-a.test` covers itself and its subdomains, `.team-a.test`
/// its subdomains only). A CA that permits names but no DNS name permits
/// none; one that does not parse permits nothing.
pub fn permits_dns_name(ca: &[u8], name: &str) -> bool {
    let Ok((_, cert)) = x509_parser::certificate::X509Certificate::from_der(ca) else {
        return false;
    };
    let constraints = match cert.name_constraints() {
        Ok(Some(constraints)) => constraints.value,
        Ok(None) => return true,
        Err(_) => return false,
    };
    let dns = |subtrees: &Option<Vec<GeneralSubtree<'_>>>| -> Vec<String> {
        subtrees
            .iter()
            .flatten()
            .filter_map(|subtree| match subtree.base {
                GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                _ => None,
            })
            .collect()
    };
    let name = name.to_ascii_lowercase();
    let within = |constraint: &String| match constraint.strip_prefix('.') {
        Some(_) => name.ends_with(constraint.as_str()),
        None => {
            constraint.is_empty()
                || name == *constraint
                || name
                    .strip_suffix(constraint.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        }
    };
    let permitted = match &constraints.permitted_subtrees {
        Some(subtrees) if !subtrees.is_empty() => {
            dns(&constraints.permitted_subtrees).iter().any(within)
        }
        _ => true,
    };
    permitted && !dns(&constraints.excluded_subtrees).iter().any(within)
}

/// The DER subject and issuer names of a certificate, to find its issuer
/// among the trusted CAs.
pub fn subject_and_issuer(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    Some((
        cert.subject().as_raw().to_vec(),
        cert.issuer().as_raw().to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA certificate (DER) with these name constraints.
    fn ca(permitted: &[&str], excluded: &[&str]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let subtrees = |names: &[&str]| {
            names
                .iter()
                .map(|name| match name.strip_prefix("email:") {
                    Some(email) => rcgen::GeneralSubtree::Rfc822Name(email.to_owned()),
                    None => rcgen::GeneralSubtree::DnsName((*name).to_owned()),
                })
                .collect()
        };
        params.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: subtrees(permitted),
            excluded_subtrees: subtrees(excluded),
        });
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn dns_subtrees_bound_trust_domains() {
        let team_a = ca(&["team-a.test"], &[]);
        assert!(permits_dns_name(&team_a, "team-a.test"));
        assert!(permits_dns_name(&team_a, "Batch.Team-A.test"));
        assert!(!permits_dns_name(&team_a, "corp.test"));
        assert!(!permits_dns_name(&team_a, "evilteam-a.test"));
        let subdomains = ca(&[".team-a.test"], &[]);
        assert!(permits_dns_name(&subdomains, "batch.team-a.test"));
        assert!(!permits_dns_name(&subdomains, "team-a.test"));
        let excluding = ca(&[], &["prod.team-a.test"]);
        assert!(permits_dns_name(&excluding, "team-a.test"));
        assert!(!permits_dns_name(&excluding, "x.prod.team-a.test"));
        let mail_only = ca(&["email:team-a.test"], &[]);
        assert!(
            !permits_dns_name(&mail_only, "team-a.test"),
            "no DNS name permitted"
        );
        assert!(!permits_dns_name(b"not a certificate", "team-a.test"));
    }

    #[test]
    fn under_name_constraints_no_cn_and_only_permitted_trust_domains() {
        let leaf = |sans: Vec<rcgen::SanType>| {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.subject_alt_names = sans;
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "cn-caller");
            let key = rcgen::KeyPair::generate().unwrap();
            params.self_signed(&key).unwrap().der().to_vec()
        };
        let uri = |id: &str| rcgen::SanType::URI(id.try_into().unwrap());
        let team_a = ca(&["team-a.test"], &[]);
        let constrained: &[&[u8]] = &[&team_a];

        let cn_only = leaf(vec![]);
        assert_eq!(
            identity(&cn_only, CommonName::Ignored, &[]),
            Err(CertificateError::NoIdentity)
        );
        assert_eq!(
            identity(&cn_only, CommonName::Allowed, &[]).unwrap(),
            "cn-caller"
        );
        assert_eq!(
            identity(&cn_only, CommonName::Allowed, constrained),
            Err(CertificateError::NoIdentity)
        );
        let inside = leaf(vec![uri("spiffe://team-a.test/batch")]);
        assert_eq!(
            identity(&inside, CommonName::Ignored, constrained).unwrap(),
            "spiffe://team-a.test/batch"
        );
        let outside = leaf(vec![uri("spiffe://corp.test/billing")]);
        assert_eq!(
            identity(&outside, CommonName::Ignored, constrained),
            Err(CertificateError::OutsideNameConstraints)
        );
        assert_eq!(
            identity(&outside, CommonName::Ignored, &[]).unwrap(),
            "spiffe://corp.test/billing"
        );
    }
}
