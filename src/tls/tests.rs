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
    let server = server_config(cert.path(), key.path()).unwrap();
    assert_eq!(
        server.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    let options = TlsOptions {
        ca: Some(cert.path().to_path_buf()),
        insecure: false,
    };
    let client = client_config(&options).unwrap();
    assert_eq!(client.alpn_protocols, server.alpn_protocols);
}

/// A server built from PEM files, the file expected at fault, and words of the reason.
type Case<'a> = (Result<Arc<ServerConfig>, TlsError>, &'a Path, &'a str);

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
        (server_config(missing, key.path()), missing, "No such file"),
        (
            server_config(garbage.path(), key.path()),
            garbage.path(),
            "no PEM certificate",
        ),
        (
            server_config(truncated.path(), key.path()),
            truncated.path(),
            "not a valid PEM file",
        ),
        (
            server_config(cert.path(), cert.path()),
            cert.path(),
            "no PEM private key",
        ),
        (
            server_config(key.path(), key.path()),
            key.path(),
            "no PEM certificate",
        ),
    ];
    for (result, path, why) in cases {
        let e = result.unwrap_err().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(e.contains(why), "{why}: {e}");
    }
    let e = server_config(cert.path(), other_key.path()).unwrap_err();
    assert!(matches!(e, TlsError::Config(_)), "{e}");
    let e = client_config(&TlsOptions {
        ca: Some(garbage.path().to_path_buf()),
        insecure: false,
    })
    .unwrap_err();
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
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
    let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    assert!(!is_tls_failure(&reset));
    assert!(server_name("127.0.0.1").is_ok());
    assert!(server_name("localhost").is_ok());
    assert!(server_name("bad name!").is_err());
}
