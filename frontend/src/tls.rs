//! TLS server configuration (rustls with the ring provider): the operator's certificate
//! and key, or a self-signed development certificate generated at start.

use std::{path::Path, sync::Arc};

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::FrontendError;

/// Builds the acceptor. `cert`: chain and key files; `None` generates a development
/// certificate for localhost, written as `dev-cert.pem` into `dev_dir` if given.
pub fn acceptor(
    cert: Option<&(std::path::PathBuf, std::path::PathBuf)>,
    dev_dir: Option<&Path>,
) -> Result<TlsAcceptor, FrontendError> {
    let (chain, key) = match cert {
        Some((chain, key)) => load(chain, key)?,
        None => generate(dev_dir)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FrontendError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| FrontendError::Tls(format!("certificate and key do not fit: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

type Pair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn load(chain: &Path, key: &Path) -> Result<Pair, FrontendError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(chain)
        .map_err(|e| FrontendError::Tls(format!("reading {}: {e}", chain.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| FrontendError::Tls(format!("parsing {}: {e}", chain.display())))?;
    if certs.is_empty() {
        return Err(FrontendError::Tls(format!(
            "no certificate in {}",
            chain.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| FrontendError::Tls(format!("reading key {}: {e}", key.display())))?;
    Ok((certs, key))
}

fn generate(dev_dir: Option<&Path>) -> Result<Pair, FrontendError> {
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| FrontendError::Tls(format!("generating a development certificate: {e}")))?;
    let mut written = None;
    if let Some(dir) = dev_dir {
        let path = dir.join("dev-cert.pem");
        if std::fs::write(&path, ck.cert.pem()).is_ok() {
            written = Some(path);
        }
    }
    tracing::warn!(
        cert = ?written,
        "no TLS certificate configured: using a self-signed development certificate for localhost (not for production)"
    );
    let key = PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der());
    Ok((vec![ck.cert.der().clone()], key.into()))
}
