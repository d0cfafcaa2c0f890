//! TLS to Postgres, as libpq's `sslmode` and `sslrootcert` describe it, over rustls.
//!
//! tokio-postgres knows only `disable`, `prefer` and `require` and never verifies by
//! itself, so the TLS parameters are taken out of the URL here: the driver is told
//! whether TLS is off, preferred or required, and the rustls configuration decides what
//! is verified.
//!
//! | `sslmode` | encrypted | certificate verified | host name checked |
//! |---|---|---|---|
//! | `disable` | no | - | - |
//! | `prefer` (default) | when the server offers it | no | no |
//! | `require` | yes | only when `sslrootcert` is given (then as `verify-ca`) | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! Verified certificates chain to the Mozilla roots (webpki-roots) or to the
//! certificates of the PEM file `sslrootcert` names.
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::redact_url;
use crate::error::{Error, Result};

/// The TLS connector a database URL asks for; pass it to `tokio_postgres::Config::connect`.
pub type PgTls = MakeRustlsConnect;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    fn driver(self) -> SslMode {
        match self {
            Self::Disable => SslMode::Disable,
            Self::Prefer => SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => SslMode::Require,
        }
    }
}

/// What the URL says about TLS, and the URL without it.
#[derive(Debug, PartialEq, Eq)]
struct TlsParams {
    rest: String,
    mode: Mode,
    root_cert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL's query. Other forms
/// (`host=... sslmode=require`) are left to the driver, which knows up to `require`.
fn split_tls_params(url: &str) -> Result<TlsParams> {
    let invalid = |what: &str| {
        Error::internal(
            format!("database url {}", redact_url(url)),
            format!("{what}; sslmode is one of disable, prefer, require, verify-ca, verify-full"),
        )
    };
    let mut params = TlsParams {
        rest: url.to_owned(),
        mode: Mode::Prefer,
        root_cert: None,
    };
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return Ok(params);
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                params.mode = Mode::parse(&percent_decode(value))
                    .ok_or_else(|| invalid(&format!("unknown sslmode {value:?}")))?;
            }
            "sslrootcert" => params.root_cert = Some(percent_decode(value)),
            _ => kept.push(pair),
        }
    }
    params.rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(params)
}

/// `%2F` to `/` and so on; anything malformed is kept as written.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The driver's configuration for `url` and the TLS connector its `sslmode` asks for.
///
/// Reads the `sslrootcert` file when one is named.
pub async fn pg_config(url: &str) -> Result<(tokio_postgres::Config, PgTls)> {
    let params = split_tls_params(url)?;
    let mut config: tokio_postgres::Config = params
        .rest
        .parse()
        .map_err(|e| Error::internal(format!("database url {}", redact_url(url)), e))?;
    // A URL without sslmode (or a key=value string) keeps what the driver parsed.
    if params.rest != url {
        config.ssl_mode(params.mode.driver());
    }
    let extra_roots = match &params.root_cert {
        Some(path) => {
            let pem = tokio::fs::read(path)
                .await
                .map_err(|e| Error::internal(format!("reading sslrootcert {path}"), e))?;
            let certs = CertificateDer::pem_slice_iter(&pem)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::internal(format!("parsing sslrootcert {path}"), e))?;
            if certs.is_empty() {
                return Err(Error::internal(
                    format!("parsing sslrootcert {path}"),
                    "no certificate in the file",
                ));
            }
            certs
        }
        None => Vec::new(),
    };
    let verification = match (params.mode, extra_roots.is_empty()) {
        (Mode::Disable | Mode::Prefer, _) | (Mode::Require, true) => Verification::None,
        (Mode::Require | Mode::VerifyCa, _) => Verification::Chain,
        (Mode::VerifyFull, _) => Verification::ChainAndName,
    };
    Ok((
        config,
        MakeRustlsConnect::new(client_config(verification, extra_roots)?),
    ))
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy)]
enum Verification {
    /// Encryption only (libpq's `require`): anyone on the path could pose as the server.
    None,
    Chain,
    ChainAndName,
}

fn client_config(
    verification: Verification,
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal("database tls", e))?;
    let config = match verification {
        Verification::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptionOnly(provider))),
        Verification::Chain | Verification::ChainAndName => {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            for cert in extra_roots {
                roots
                    .add(cert)
                    .map_err(|e| Error::internal("database tls: sslrootcert", e))?;
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::internal("database tls", e))?;
            match verification {
                Verification::ChainAndName => builder.with_webpki_verifier(webpki),
                _ => builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki))),
            }
        }
    };
    Ok(config.with_no_client_auth())
}

/// Accepts any certificate, still checking the handshake is signed by its key.
#[derive(Debug)]
struct EncryptionOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptionOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The certificate must chain to a root; the name in it may differ from the host's
/// (`verify-ca`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name: a name error means the chain held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            outcome => outcome,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_tls_parameters_out_of_the_url() {
        let params = split_tls_params(
            "postgres://u@db:5432/roster?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(
            params.rest,
            "postgres://u@db:5432/roster?application_name=x"
        );
        assert_eq!(params.mode, Mode::VerifyFull);
        assert_eq!(params.root_cert.as_deref(), Some("/etc/ca.pem"));

        let params = split_tls_params("postgres://u@db/roster?sslmode=require").unwrap();
        assert_eq!(params.rest, "postgres://u@db/roster");
        assert_eq!(params.mode, Mode::Require);

        let plain = split_tls_params("postgres://u@db/roster").unwrap();
        assert_eq!(plain.rest, "postgres://u@db/roster");
        assert_eq!(plain.mode, Mode::Prefer);
    }

    #[test]
    fn refuses_an_unknown_sslmode() {
        assert!(split_tls_params("postgres://u@db/roster?sslmode=allow").is_err());
        assert!(split_tls_params("postgres://u@db/roster?sslmode=verify").is_err());
    }

    #[tokio::test]
    async fn maps_the_modes_onto_the_driver() {
        for (mode, driver) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::Require),
            ("verify-full", SslMode::Require),
        ] {
            let (config, _) = pg_config(&format!("postgres://u@db/roster?sslmode={mode}"))
                .await
                .unwrap();
            assert_eq!(config.get_ssl_mode(), driver, "{mode}");
        }
        let missing =
            pg_config("postgres://u@db/roster?sslmode=verify-ca&sslrootcert=/nonexistent").await;
        assert!(missing.is_err());
    }
}
