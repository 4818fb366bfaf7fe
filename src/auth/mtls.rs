//! Client certificates: who a verified certificate names.
//!
//! The identity is the certificate's SPIFFE ID: its one URI SAN, per the
//! X.509-SVID rules, which allow no more than one. A certificate without a URI
//! SAN is named by its first DNS SAN, else by its subject's common name.

use x509_parser::{extensions::GeneralName, prelude::FromDer};

/// Why a client certificate does not identify its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateError {
    /// It is not signed by a trusted CA, or is malformed.
    Untrusted,
    Expired,
    NotYetValid,
    /// More than one URI SAN: not a valid SVID, and ambiguous.
    SeveralUriSans,
    /// No URI SAN, DNS SAN or common name.
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
            CertificateError::NoIdentity => {
                "the client certificate names no SPIFFE ID, DNS name or common name"
            }
        }
    }
}

/// The identity a certificate (DER) names.
pub fn identity(der: &[u8]) -> Result<String, CertificateError> {
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
        [uri] => return Ok((*uri).to_owned()),
        [] => {}
        _ => return Err(CertificateError::SeveralUriSans),
    }
    let dns = names.iter().find_map(|name| match name {
        GeneralName::DNSName(dns) => Some(*dns),
        _ => None,
    });
    let name = match dns {
        Some(dns) => dns,
        None => cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .ok_or(CertificateError::NoIdentity)?,
    };
    // Only a URI SAN may name a URI identity such as a SPIFFE ID: a DNS name
    // or CN spelled like one would pass for it in the policy.
    if name.is_empty() || name.contains("://") {
        return Err(CertificateError::NoIdentity);
    }
    Ok(name.to_owned())
}
