//! The self-signed certificate and the rustls server configuration.

use std::io;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A rustls server config (ring provider, ALPN `h2` + `http/1.1`) with a fresh
/// self-signed certificate for `names`, and the certificate's PEM.
pub(crate) fn server_config(names: Vec<String>) -> io::Result<(ServerConfig, String)> {
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let cert_pem = certified.cert.pem();
    let cert_der = certified.cert.der().clone();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((config, cert_pem))
}
