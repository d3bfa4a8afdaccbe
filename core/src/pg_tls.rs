//! PostgreSQL connection URLs with libpq's TLS settings, over rustls: `sslmode` (`disable`,
//! `allow`, `prefer` (the default, as in libpq), `require`, `verify-ca`, `verify-full`) and
//! `sslrootcert` (a PEM file of root certificates, or `system` for the Mozilla roots bundled
//! with the library). The driver itself knows only `disable`/`prefer`/`require` and no
//! certificates, so this module takes both keys out of the URL, builds the rustls client
//! configuration they ask for, and hands the driver the rest. Feature `postgres`.
//!
//! What each mode checks, as libpq does:
//! - `disable`: plain TCP.
//! - `allow`, `prefer`: TLS when the server offers it, with no certificate check. Unlike
//!   libpq, a handshake that fails is not retried without TLS (only a server that declines
//!   TLS gets a plain connection).
//! - `require`: TLS or no connection. The certificate is not checked unless `sslrootcert`
//!   is given, in which case it must chain to those roots (libpq's rule).
//! - `verify-ca`: TLS, and the certificate chains to the roots (`sslrootcert`, or the
//!   Mozilla roots when it is absent); the host name is not compared.
//! - `verify-full`: `verify-ca`, and the certificate names the host in the URL.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use postgres::{Client, NoTls, Socket};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{Error, ErrorCode};
use crate::secret::Secret;

/// How the connection is encrypted and what of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, unchecked (libpq tries plain first; the driver does
    /// not, so this behaves as `prefer`).
    Allow,
    /// TLS when the server offers it, unchecked.
    Prefer,
    /// TLS or no connection; checked against `sslrootcert` when it is given.
    Require,
    /// TLS, and the certificate chains to the roots.
    VerifyCa,
    /// TLS, the certificate chains to the roots and names the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, Error> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                "sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full",
            )
            .meta("key", "sslmode")),
        })
    }

    /// The mode the driver is given (it negotiates; rustls checks).
    fn driver_mode(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow | SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
        }
    }

    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A parsed connection target: the driver's parameters (which may hold a password, so kept
/// as a [`Secret`]) and the TLS configuration, built once and shared by every connection.
#[derive(Clone)]
pub struct PgTarget {
    params: Secret,
    mode: SslMode,
    tls: Option<Arc<ClientConfig>>,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgTarget(sslmode={})", self.mode.as_str())
    }
}

impl PgTarget {
    /// Parses `url` (a `postgres://` URL or libpq `key=value` words) and builds its TLS
    /// configuration: `config_invalid` for an unknown `sslmode` or an `sslrootcert` file
    /// that cannot be read or holds no certificate.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let (params, mode, root) = split_tls_keys(url)?;
        let mode = mode.unwrap_or(SslMode::Prefer);
        let roots = match root.as_deref() {
            None if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) => Some(system_roots()),
            None | Some("") => None,
            Some("system") => Some(system_roots()),
            Some(path) => Some(file_roots(path)?),
        };
        let tls = match mode {
            SslMode::Disable => None,
            _ => Some(Arc::new(client_config(mode, roots)?)),
        };
        Ok(PgTarget {
            params: Secret::new(params),
            mode,
            tls,
        })
    }

    /// The `sslmode` in force.
    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    /// Opens one connection.
    pub fn connect(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            None => Client::connect(self.params.expose(), NoTls),
            Some(config) => Client::connect(self.params.expose(), RustlsConnect(config.clone())),
        }
    }
}

/// Whether a driver error is a failed TLS negotiation or handshake (a certificate refused,
/// a server without TLS under `require`), told apart from an unreachable server so the
/// error names the real problem.
pub fn is_tls_failure(e: &postgres::Error) -> bool {
    let text = e.to_string();
    text.contains("TLS") || text.contains("certificate") || text.contains("server does not support")
}

/// `url` without `sslmode` and `sslrootcert` (the driver is given its own `sslmode`), and
/// their values.
fn split_tls_keys(url: &str) -> Result<(String, Option<SslMode>, Option<String>), Error> {
    let mut mode = None;
    let mut root = None;
    let mut take = |key: &str, value: String| -> Result<bool, Error> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(&value)?),
            "sslrootcert" => root = Some(value),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let mut rest: Vec<String> = Vec::new();
    let base = if is_url {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(k, percent_decode(v))? {
                rest.push(pair.to_owned());
            }
        }
        base.to_owned()
    } else {
        for word in url.split_whitespace() {
            let (k, v) = word.split_once('=').unwrap_or((word, ""));
            if !take(k, v.trim_matches('\'').to_owned())? {
                rest.push(word.to_owned());
            }
        }
        String::new()
    };
    let driver = mode.unwrap_or(SslMode::Prefer).driver_mode();
    let params = if is_url {
        rest.push(format!("sslmode={driver}"));
        format!("{base}?{}", rest.join("&"))
    } else {
        rest.push(format!("sslmode={driver}"));
        rest.join(" ")
    };
    Ok((params, mode, root))
}

fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&crate::percent::percent_decode(s)).into_owned()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn system_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn file_roots(path: &str) -> Result<RootCertStore, Error> {
    let unreadable = |why: &'static str| {
        Error::with_detail(ErrorCode::ConfigInvalid, format!("sslrootcert: {why}"))
            .meta("key", "sslrootcert")
            .meta("path", path)
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|_| unreadable("the file cannot be read"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| unreadable("the file is not PEM"))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(unreadable("the file holds no usable certificate"));
    }
    Ok(roots)
}

fn client_config(mode: SslMode, roots: Option<RootCertStore>) -> Result<ClientConfig, Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorCode::InternalError).with_cause(e))?;
    let verifier: Arc<dyn ServerCertVerifier> = match roots {
        None => Arc::new(EncryptOnly(provider)),
        Some(roots) => {
            let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| {
                    Error::with_detail(ErrorCode::ConfigInvalid, "sslrootcert: no usable root")
                        .with_cause(e)
                })?;
            if mode == SslMode::VerifyFull {
                chain
            } else {
                Arc::new(ChainOnly(chain))
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `prefer`/`require` without roots: the connection is encrypted, the certificate is not
/// checked (the handshake signature still is).
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
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

/// `verify-ca` (and `require` with roots): the chain is checked, the name is not.
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
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The driver's TLS hook, one per target.
#[derive(Clone)]
struct RustlsConnect(Arc<ClientConfig>);

impl MakeTlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnectOne;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnectOne, Self::Error> {
        Ok(RustlsConnectOne {
            config: self.0.clone(),
            name: ServerName::try_from(domain.to_owned())?,
        })
    }
}

/// One handshake.
struct RustlsConnectOne {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnectOne {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await?;
            Ok(RustlsStream(tls))
        })
    }
}

/// An encrypted connection.
struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_keys_leave_the_url_and_the_driver_gets_its_mode() {
        let (p, m, r) =
            split_tls_keys("postgres://u:pw@db:5432/app?sslmode=verify-full&sslrootcert=%2Fca.pem&application_name=x")
                .unwrap();
        assert_eq!(
            p,
            "postgres://u:pw@db:5432/app?application_name=x&sslmode=require"
        );
        assert_eq!(m, Some(SslMode::VerifyFull));
        assert_eq!(r.as_deref(), Some("/ca.pem"));
        let (p, m, _) = split_tls_keys("host=db user=u sslmode=disable").unwrap();
        assert_eq!(p, "host=db user=u sslmode=disable");
        assert_eq!(m, Some(SslMode::Disable));
        let (p, m, _) = split_tls_keys("postgres://db/app").unwrap();
        assert_eq!(p, "postgres://db/app?sslmode=prefer");
        assert_eq!(m, None);
    }

    #[test]
    fn a_bad_mode_or_root_file_is_config_invalid_without_the_url() {
        let e = PgTarget::parse("postgres://u:hunter2@db/app?sslmode=verify").unwrap_err();
        assert_eq!(e.code(), ErrorCode::ConfigInvalid);
        assert!(!e.to_json().to_string().contains("hunter2"));
        let e =
            PgTarget::parse("postgres://db/app?sslmode=verify-full&sslrootcert=/nonexistent.pem")
                .unwrap_err();
        assert_eq!(e.code(), ErrorCode::ConfigInvalid);
        assert_eq!(e.metadata().unwrap()["key"], "sslrootcert");
    }

    #[test]
    fn percent_decoding_keeps_a_trailing_percent() {
        assert_eq!(percent_decode("a%2Fb%"), "a/b%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn debug_never_prints_the_parameters() {
        let t = PgTarget::parse("postgres://u:hunter2@db/app?sslmode=require").unwrap();
        assert_eq!(format!("{t:?}"), "PgTarget(sslmode=require)");
    }
}
