use std::io::Write;

use super::*;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
    rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap()
}

#[test]
fn a_certificate_and_its_key_make_a_server_and_a_ca() {
    let ck = self_signed();
    let cert = file(&ck.cert.pem());
    let key = file(&ck.signing_key.serialize_pem());
    let server = server_config(cert.path(), key.path(), None).unwrap();
    assert_eq!(
        server.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let options = TlsOptions {
        ca: Some(cert.path().to_path_buf()),
        ..TlsOptions::default()
    };
    let client = client_config(&options).unwrap();
    assert_eq!(client.alpn_protocols, server.alpn_protocols);
    assert!(!client.client_auth_cert_resolver.has_certs());
    // The same pair as a client identity, and as the CA a server requires clients to chain to.
    let identity = TlsOptions {
        cert: Some(cert.path().to_path_buf()),
        key: Some(key.path().to_path_buf()),
        ..options
    };
    assert!(
        client_config(&identity)
            .unwrap()
            .client_auth_cert_resolver
            .has_certs()
    );
    server_config(cert.path(), key.path(), Some(cert.path())).unwrap();
}

/// A server built from PEM files, the setting and file expected at fault, and words of the
/// reason.
type Case<'a> = (
    Result<Arc<ServerConfig>, SettingError>,
    &'a str,
    &'a Path,
    &'a str,
);

#[test]
fn bad_pem_files_name_the_file_and_the_fault() {
    let ck = self_signed();
    let cert = file(&ck.cert.pem());
    let key = file(&ck.signing_key.serialize_pem());
    let other_key = file(&rcgen::KeyPair::generate().unwrap().serialize_pem());
    let garbage = file("not pem at all\n");
    let truncated = file("-----BEGIN CERTIFICATE-----\nMIIB\n");
    let missing = Path::new("/nonexistent/shakedown.pem");
    let cases: Vec<Case<'_>> = vec![
        (
            server_config(missing, key.path(), None),
            "cert",
            missing,
            "No such file",
        ),
        (
            server_config(garbage.path(), key.path(), None),
            "cert",
            garbage.path(),
            "no PEM certificate",
        ),
        (
            server_config(truncated.path(), key.path(), None),
            "cert",
            truncated.path(),
            "not a valid PEM file",
        ),
        (
            server_config(cert.path(), cert.path(), None),
            "key",
            cert.path(),
            "no PEM private key",
        ),
        (
            server_config(key.path(), key.path(), None),
            "cert",
            key.path(),
            "no PEM certificate",
        ),
        (
            server_config(cert.path(), key.path(), Some(garbage.path())),
            "client_ca",
            garbage.path(),
            "no PEM certificate",
        ),
        (
            server_config(cert.path(), key.path(), Some(missing)),
            "client_ca",
            missing,
            "No such file",
        ),
    ];
    for (result, setting, path, why) in cases {
        let e = result.unwrap_err();
        assert_eq!(e.setting, setting, "{e}");
        let e = e.to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(e.contains(why), "{why}: {e}");
    }
    let e = server_config(cert.path(), other_key.path(), None).unwrap_err();
    assert_eq!(e.setting, "key");
    assert!(matches!(e.error, TlsError::Config(_)), "{e}");
    let e = client_config(&TlsOptions {
        ca: Some(garbage.path().to_path_buf()),
        ..TlsOptions::default()
    })
    .unwrap_err();
    assert_eq!(e.field(), "tls.ca");
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
}

#[test]
fn a_client_identity_is_both_halves_and_they_must_fit() {
    let ck = self_signed();
    let cert = file(&ck.cert.pem());
    let key = file(&ck.signing_key.serialize_pem());
    let other_key = file(&rcgen::KeyPair::generate().unwrap().serialize_pem());
    let path = |f: &tempfile::NamedTempFile| Some(f.path().to_path_buf());
    let identity = |c: Option<PathBuf>, k: Option<PathBuf>| TlsOptions {
        cert: c,
        key: k,
        ..TlsOptions::default()
    };
    let cases = [
        (
            identity(path(&cert), None),
            "tls.key",
            "needed with tls.cert",
        ),
        (
            identity(None, path(&key)),
            "tls.cert",
            "needed with tls.key",
        ),
        (
            identity(path(&cert), path(&other_key)),
            "tls.key",
            "certificate and key",
        ),
        (
            identity(path(&key), path(&key)),
            "tls.cert",
            "no PEM certificate",
        ),
        (
            identity(path(&cert), path(&cert)),
            "tls.key",
            "no PEM private key",
        ),
        (
            identity(path(&cert), Some("/nonexistent/k.pem".into())),
            "tls.key",
            "/nonexistent/k.pem: No such file",
        ),
    ];
    for (options, field, why) in cases {
        let e = client_config(&options).unwrap_err();
        assert_eq!(e.field(), field, "{e}");
        assert!(e.to_string().contains(why), "{why}: {e}");
    }
    // With `insecure` too: the identity does not depend on how the server is verified.
    let insecure = TlsOptions {
        insecure: true,
        ..identity(path(&cert), path(&key))
    };
    assert!(
        client_config(&insecure)
            .unwrap()
            .client_auth_cert_resolver
            .has_certs()
    );
}

/// An X.509 v1 certificate, made by `openssl x509 -req -signkey` without extensions, with
/// its key (tests/data/tls).
fn x509_v1() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    (dir.join("x509v1-cert.pem"), dir.join("x509v1-key.pem"))
}

/// A certificate that cannot identify a peer (X.509 v1, or DER that does not parse inside
/// good PEM) is refused at the setting holding it, as a server's and as a client's identity,
/// with its file named; its key is not blamed. As a CA, a v1 certificate is still read.
#[test]
fn an_identity_that_cannot_serve_is_blamed_on_its_certificate() {
    let (v1, v1_key) = x509_v1();
    let ck = self_signed();
    let key = file(&ck.signing_key.serialize_pem());
    let bad_der = file("-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n");
    for (cert, key) in [
        (v1.as_path(), v1_key.as_path()),
        (bad_der.path(), key.path()),
    ] {
        let e = server_config(cert, key, None).unwrap_err();
        assert_eq!(e.setting, "cert", "{e}");
        let shown = e.to_string();
        assert!(shown.starts_with(&cert.display().to_string()), "{shown}");
        assert!(shown.contains("cannot identify a TLS peer"), "{shown}");
        let e = client_config(&TlsOptions {
            cert: Some(cert.to_path_buf()),
            key: Some(key.to_path_buf()),
            ..TlsOptions::default()
        })
        .unwrap_err();
        assert_eq!(e.field(), "tls.cert", "{e}");
        assert!(e.to_string().contains("X.509 v3"), "{e}");
    }
    let v1_as_ca = TlsOptions {
        ca: Some(v1.clone()),
        ..TlsOptions::default()
    };
    client_config(&v1_as_ca).unwrap();
    assert_eq!(read_certificates(&v1).unwrap().len(), 1);
}

#[test]
fn handshake_failures_are_found_among_the_sources() {
    let tls = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
    );
    assert!(is_tls_failure(&tls));
    // Wrapped again, as hyper-rustls's connector does.
    assert!(is_tls_failure(&std::io::Error::other(tls)));
    // As h2 passes it on: the kind and the words only.
    let flattened = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "received fatal alert: CertificateRequired",
    );
    assert!(is_tls_failure(&flattened));
    let other = std::io::Error::new(std::io::ErrorKind::InvalidData, "frame too large");
    assert!(!is_tls_failure(&other));
    let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    assert!(!is_tls_failure(&reset));
    assert!(server_name("127.0.0.1").is_ok());
    assert!(server_name("localhost").is_ok());
    assert!(server_name("bad name!").is_err());
}
