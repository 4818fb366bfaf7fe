//! Certificates and tokens made for the tests: a CA and client certificates
//! of every kind (rcgen), signing keys, a JWKS and tokens (jsonwebtoken).

use std::{
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use rcgen::{CertificateParams, CertifiedIssuer, DnType, KeyPair, SanType};
use serde_json::{Value, json};
use tempfile::TempDir;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub const ISSUER: &str = "https://issuer.corp.test";
pub const AUDIENCE: &str = "import-job-service";

/// A directory for the files the service reads.
pub struct Files {
    dir: TempDir,
}

impl Files {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// Writes `name`, replacing it atomically.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let staged = self.dir.path().join(format!(".{name}.new"));
        std::fs::write(&staged, content).unwrap();
        std::fs::rename(&staged, &path).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Writes a server certificate `pki` issued for localhost, its key and
    /// `pki`'s CA as the client CA, and returns the flags that serve TLS
    /// with them and ask for client certificates.
    pub fn tls_service(&self, pki: &Pki) -> Vec<String> {
        let server = pki.server();
        self.write("server.pem", &server.cert);
        self.write("server.key", &server.key);
        self.write("ca.pem", &pki.ca_pem());
        [
            "--tls-cert",
            &self.path("server.pem"),
            "--tls-key",
            &self.path("server.key"),
            "--client-ca",
            &self.path("ca.pem"),
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Writes `policy` and a JWKS of the signers' keys, and returns the
    /// flags for a service that takes tokens (over plaintext) under that
    /// policy.
    pub fn token_service(&self, policy: &str, signers: &[&Signer]) -> Vec<String> {
        self.write("policy.json", policy);
        let mut flags = vec!["--auth-policy".to_owned(), self.path("policy.json")];
        flags.extend(self.token_flags(signers));
        flags
    }

    /// Writes a JWKS of the signers' keys, and returns the flags that take
    /// tokens they signed.
    pub fn token_flags(&self, signers: &[&Signer]) -> Vec<String> {
        self.write("jwks.json", &jwks(signers));
        [
            "--jwks",
            &self.path("jwks.json"),
            "--jwt-issuer",
            ISSUER,
            "--jwt-audience",
            AUDIENCE,
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// A certificate authority and what it issued.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    /// For an intermediate CA, its own certificate, which clients send
    /// after theirs.
    chain: Option<String>,
}

/// A client's certificate and key, as PEM.
#[derive(Clone)]
pub struct ClientCert {
    pub cert: String,
    pub key: String,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { ca, chain: None }
    }

    /// An intermediate CA under this one, name-constrained to DNS names
    /// within `permitted_dns`.
    pub fn constrained_intermediate(&self, name: &str, permitted_dns: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName(permitted_dns.to_owned())],
            excluded_subtrees: Vec::new(),
        });
        let ca =
            CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), &self.ca).unwrap();
        let chain = Some(ca.pem());
        Self { ca, chain }
    }

    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The server's certificate, for `localhost` and 127.0.0.1.
    pub fn server(&self) -> ClientCert {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        self.issue(params)
    }

    /// A client certificate with these SANs (`spiffe://`... as URIs, the rest
    /// as DNS names) and, if given, this common name.
    pub fn client(&self, sans: &[&str], common_name: Option<&str>) -> ClientCert {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        for san in sans {
            params.subject_alt_names.push(if san.contains("://") {
                SanType::URI((*san).try_into().unwrap())
            } else {
                SanType::DnsName((*san).try_into().unwrap())
            });
        }
        if let Some(cn) = common_name {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        self.issue(params)
    }

    /// A client certificate that expired in 2021.
    pub fn expired_client(&self, spiffe_id: &str) -> ClientCert {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .subject_alt_names
            .push(SanType::URI(spiffe_id.try_into().unwrap()));
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> ClientCert {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        ClientCert {
            cert: cert.pem() + self.chain.as_deref().unwrap_or_default(),
            key: key.serialize_pem(),
        }
    }
}

/// A TLS channel to `addr` trusting `ca`, presenting `client` if given.
pub async fn tls_channel(
    addr: std::net::SocketAddr,
    ca: &str,
    client: Option<&ClientCert>,
) -> Channel {
    try_tls_channel(addr, ca, client)
        .await
        .expect("the TLS handshake succeeds")
}

/// As [`tls_channel`], or the reason the handshake failed.
pub async fn try_tls_channel(
    addr: std::net::SocketAddr,
    ca: &str,
    client: Option<&ClientCert>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(client) = client {
        tls = tls.identity(Identity::from_pem(&client.cert, &client.key));
    }
    Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
}

/// A token signing key and its public JWK.
pub struct Signer {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    pub jwk: Jwk,
}

impl Signer {
    pub fn new(kid: &str, alg: Algorithm) -> Self {
        let rcgen_alg = match alg {
            Algorithm::RS256 => &rcgen::PKCS_RSA_SHA256,
            Algorithm::ES256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Algorithm::EdDSA => &rcgen::PKCS_ED25519,
            other => panic!("no test key for {other:?}"),
        };
        let pair = KeyPair::generate_for(rcgen_alg).unwrap();
        let pem = pair.serialize_pem();
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            _ => EncodingKey::from_ed_pem(pem.as_bytes()),
        }
        .unwrap();
        let mut jwk = match alg {
            // jsonwebtoken derives Ed25519 JWKs from PKCS#8 v1 keys only; the
            // public key is at hand anyway.
            Algorithm::EdDSA => serde_json::from_value(json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
            }))
            .unwrap(),
            _ => Jwk::from_encoding_key(&key, alg).unwrap(),
        };
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            alg,
            key,
            jwk,
        }
    }

    /// A token for `claims`, signed with this key and naming its kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(claims, |_| {})
    }

    /// As [`Signer::sign`], with `change` made to the header.
    pub fn sign_with_header(&self, claims: &Value, change: impl FnOnce(&mut Header)) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        change(&mut header);
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

pub fn jwks(signers: &[&Signer]) -> String {
    json!({ "keys": signers.iter().map(|s| &s.jwk).collect::<Vec<_>>() }).to_string()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Valid claims for `subject`: right issuer and audience, expiring in an hour.
pub fn claims(subject: &str) -> Value {
    json!({ "sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 3600 })
}

/// `claims` with `changes` applied (a null removes a claim).
pub fn claims_with(subject: &str, changes: Value) -> Value {
    let mut claims = claims(subject);
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

pub fn seconds_from_now(seconds: i64) -> Value {
    json!(now() + seconds)
}

/// A token with `"alg": "none"` and no signature.
pub fn unsigned_token(kid: &str, claims: &Value) -> String {
    let header =
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": kid }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// An HS256 token keyed with `secret`, naming `kid`: the old trick of
/// signing with an RSA public key used as an HMAC secret.
pub fn hs256_token(kid: &str, secret: &[u8], claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}
