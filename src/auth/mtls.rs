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

use x509_parser::{
    extensions::GeneralName, oid_registry::OID_X509_EXT_NAME_CONSTRAINTS, prelude::FromDer,
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
    /// No URI or DNS SAN (nor, where allowed, a common name).
    NoIdentity,
}

impl CertificateError {
    /// The ErrorInfo reason for it.
    pub fn reason(self) -> &'static str {
        match self {
            CertificateError::Untrusted => "CLIENT_CERTIFICATE_UNTRUSTED",
            CertificateError::Expired => "CLIENT_CERTIFICATE_EXPIRED",
            CertificateError::NotYetValid => "CLIENT_CERTIFICATE_NOT_YET_VALID",
            CertificateError::SeveralUriSans => "CLIENT_CERTIFICATE_SEVERAL_URI_SANS",
            CertificateError::InvalidSpiffeId => "CLIENT_CERTIFICATE_SPIFFE_ID_INVALID",
            CertificateError::NoIdentity => "CLIENT_CERTIFICATE_NO_IDENTITY",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            CertificateError::Untrusted => "the client certificate is not issued by a trusted CA",
            CertificateError::Expired => "the client certificate has expired",
            CertificateError::NotYetValid => "the client certificate is not valid yet",
            CertificateError::SeveralUriSans => {
                "the client certificate has more than one URI SAN, which an X.509-SVID may not"
            }
            CertificateError::InvalidSpiffeId => {
                "the client certificate's URI SAN is not a SPIFFE ID (spiffe://trust-domain/path, lower-case trust domain, no empty, `.` or `..` segments, no percent-encoding, query or fragment)"
            }
            CertificateError::NoIdentity => {
                "the client certificate names no SPIFFE ID (URI SAN) or DNS name (DNS SAN)"
            }
        }
    }
}

/// Whether a subject's common name may name a certificate that has no SAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommonName {
    Ignored,
    /// `--client-cn-identity`, for a chain without name constraints.
    Allowed,
}

/// The identity a certificate (DER) names.
pub fn identity(der: &[u8], common_name: CommonName) -> Result<String, CertificateError> {
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
        [uri] if spiffe::is_valid(uri) => return Ok((*uri).to_owned()),
        [_] => return Err(CertificateError::InvalidSpiffeId),
        [] => {}
        _ => return Err(CertificateError::SeveralUriSans),
    }
    let dns = names.iter().find_map(|name| match name {
        GeneralName::DNSName(dns) => Some(*dns),
        _ => None,
    });
    let name = match (dns, common_name) {
        (Some(dns), _) => dns,
        (None, CommonName::Allowed) => cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .ok_or(CertificateError::NoIdentity)?,
        (None, CommonName::Ignored) => return Err(CertificateError::NoIdentity),
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

/// The DER subject and issuer names of a certificate, to find its issuer
/// among the trusted CAs.
pub fn subject_and_issuer(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    Some((
        cert.subject().as_raw().to_vec(),
        cert.issuer().as_raw().to_vec(),
    ))
}
