use std::io::Write;

use super::*;

fn parse_err(text: &str) -> String {
    match parse(Path::new("proxies.yaml"), text) {
        Ok(c) => panic!("accepted {:?}:\n{text}", c.proxies),
        Err(e) => e.to_string(),
    }
}

/// A PEM file holding `text`.
fn pem(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn a_valid_file_gives_its_proxies() {
    let ok = "- {name: db, listen: '127.0.0.1:0', upstream: '127.0.0.1:5432', toxics: [{type: latency, attributes: {latency: 5}}]}\n";
    let proxies = parse(Path::new("p.yaml"), ok).unwrap().proxies;
    assert_eq!(proxies[0].toxics[0].toxic.name, "latency_downstream");
    // JSON is read by the same parser, and `{proxies: [...]}` as /populate takes it.
    let json = r#"{"proxies": [{"name": "db", "upstream": "127.0.0.1:5432"}]}"#;
    let proxies = parse(Path::new("p.json"), json).unwrap().proxies;
    assert_eq!(proxies[0].name, "db");
}

/// Every field of a proxy and of its toxics, given a bad value, is reported at the line and
/// column where it was written, by its path as written (`[1].toxics[0].attributes.rate`);
/// a field left out, at its entry.
#[test]
fn every_field_is_reported_at_its_own_line() {
    let head = "- name: db\n  upstream: 127.0.0.1:5432\n";
    let toxic = |line: &str| format!("{head}  toxics:\n    - type: latency\n      {line}\n");
    let http_toxic = |attrs: &str| {
        format!(
            "{head}  protocol: http\n  toxics:\n    - type: http_abort\n      attributes:\n        {attrs}\n"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (
            "- name: 'my db'\n  upstream: 127.0.0.1:1\n".into(),
            "proxies.yaml:1:9: [0].name: \"my db\" contains ' '",
        ),
        (
            "- name: db\n  listen: 127.0.0.1:0\n".into(),
            "proxies.yaml:1:3: [0].upstream: missing (a required field)",
        ),
        (
            "- upstream: 127.0.0.1:1\n".into(),
            "proxies.yaml:1:3: [0].name: missing",
        ),
        (
            "- name: db\n  upstream: 5432\n".into(),
            "proxies.yaml:2:13: [0].upstream: expected a string, got 5432",
        ),
        (
            format!("{head}  listen: [1]\n"),
            "proxies.yaml:3:11: [0].listen: expected a string",
        ),
        (
            format!("{head}  enabled: yes\n"),
            "proxies.yaml:3:12: [0].enabled: expected true or false, got \"yes\"",
        ),
        (
            format!("{head}  protocol: ftp\n"),
            "proxies.yaml:3:13: [0].protocol:",
        ),
        (
            format!("{head}  header_faults: 1\n"),
            "proxies.yaml:3:18: [0].header_faults: expected true or false",
        ),
        (
            format!("{head}  protocol: http\n  http_header_timeout: 5\n"),
            "proxies.yaml:4:24: [0].http_header_timeout: expected an integer number of milliseconds in 100..",
        ),
        (
            format!("{head}  lisen: 127.0.0.1:0\n"),
            "proxies.yaml:3:10: [0].lisen: unknown field",
        ),
        (
            format!("{head}  toxics: {{}}\n"),
            "proxies.yaml:3:11: [0].toxics: expected an array",
        ),
        (
            format!("{head}  toxics:\n    - type: nope\n"),
            "proxies.yaml:4:13: [0].toxics[0].type: invalid toxic type: \"nope\"",
        ),
        (
            toxic("stream: up"),
            "proxies.yaml:5:15: [0].toxics[0].stream: stream was invalid",
        ),
        (
            toxic("toxicity: 1.5"),
            "proxies.yaml:5:17: [0].toxics[0].toxicity: must be between 0 and 1, got 1.5",
        ),
        (
            toxic("lease_ms: 0"),
            "proxies.yaml:5:17: [0].toxics[0].lease_ms: expected an integer number",
        ),
        (
            toxic("attributes: 3"),
            "proxies.yaml:5:19: [0].toxics[0].attributes: expected an object, got 3",
        ),
        (
            toxic("attributes: {latency: -1}"),
            "proxies.yaml:5:29: [0].toxics[0].attributes.latency:",
        ),
        (
            format!(
                "{head}  toxics:\n    - type: bandwidth\n      attributes:\n        rate: 0\n"
            ),
            "proxies.yaml:6:15: [0].toxics[0].attributes.rate: must be > 0",
        ),
        (
            format!("{head}  toxics:\n    - {{name: a, type: noop}}\n    - {{name: a, type: noop}}\n"),
            "proxies.yaml:5:14: [0].toxics[1].name: toxic already exists: \"a\" is the name of toxics[0] too",
        ),
        (
            http_toxic("status: 99"),
            "proxies.yaml:7:17: [0].toxics[0].attributes.status: must be a final HTTP status",
        ),
        (
            http_toxic("{status: 503, path_regex: '('}"),
            "proxies.yaml:7:35: [0].toxics[0].attributes.path_regex: does not compile",
        ),
        (
            http_toxic("{status: 503, first_n: -1}"),
            "proxies.yaml:7:32: [0].toxics[0].attributes.first_n: expected a non-negative integer",
        ),
        (
            format!("{head}- name: db\n  upstream: 127.0.0.1:1\n"),
            "proxies.yaml:3:9: [1].name: duplicate proxy name \"db\"",
        ),
        (
            "name: db\n".into(),
            "proxies.yaml:1:1: expected an array of proxies, got {",
        ),
        (
            "- 3\n".into(),
            "proxies.yaml:1:3: [0]: expected a proxy as a JSON object, got 3",
        ),
        (
            "proxies:\n  - name: db\n    upstream: 127.0.0.1:1\n    toxics: [{type: latency, toxicity: 2}]\n".into(),
            "proxies.yaml:4:40: proxies[0].toxics[0].toxicity: must be between 0 and 1",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .map(|(text, says)| (parse_err(text), says))
        .filter(|(shown, says)| !shown.starts_with(**says) || shown.contains("bad request body"))
        .map(|(shown, says)| format!("want {says:?}\n got {shown:?}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// TLS fields: a file that cannot be read or used, a key that does not fit, a missing half,
/// `upstream_*` without `upstream_tls`, each at the line of the field at fault (a missing
/// half at its entry).
#[test]
fn tls_fields_are_reported_at_their_own_line() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = pem(&ck.cert.pem());
    let key = pem(&ck.signing_key.serialize_pem());
    let other_key = pem(&rcgen::KeyPair::generate().unwrap().serialize_pem());
    let (cert, key, other_key) = (
        cert.path().display().to_string(),
        key.path().display().to_string(),
        other_key.path().display().to_string(),
    );
    let v1 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/tls/x509v1-cert.pem"
    );
    let v1_key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tls/x509v1-key.pem");
    let http = "- name: web\n  upstream: 127.0.0.1:1\n  protocol: http\n";
    let cases = [
        (
            format!("{http}  tls_cert: /nonexistent/c.pem\n  tls_key: '{key}'\n"),
            "proxies.yaml:4:13: [0].tls_cert: /nonexistent/c.pem: No such file".to_string(),
        ),
        (
            format!("{http}  tls_cert: '{cert}'\n  tls_key: '{cert}'\n"),
            format!("proxies.yaml:5:12: [0].tls_key: {cert}: no PEM private key"),
        ),
        (
            format!("{http}  tls_cert: '{cert}'\n  tls_key: '{other_key}'\n"),
            "proxies.yaml:5:12: [0].tls_key: certificate and key: the private key does not belong to the certificate".to_string(),
        ),
        (
            format!("{http}  tls_key: '{key}'\n"),
            "proxies.yaml:1:3: [0].tls_cert: needed with tls_key".to_string(),
        ),
        (
            format!("{http}  tls_cert: '{v1}'\n  tls_key: '{v1_key}'\n"),
            format!("proxies.yaml:4:13: [0].tls_cert: {v1}: its first certificate cannot identify a TLS peer"),
        ),
        (
            format!("{http}  upstream_tls: true\n  upstream_cert: '{v1}'\n  upstream_key: '{v1_key}'\n"),
            format!("proxies.yaml:5:18: [0].upstream_cert: {v1}: its first certificate cannot identify"),
        ),
        (
            format!("{http}  upstream_ca: '{key}'\n"),
            format!("proxies.yaml:4:16: [0].upstream_ca: {key}: no PEM certificate"),
        ),
        (
            format!("{http}  upstream_cert: '{cert}'\n  upstream_key: '{key}'\n"),
            "proxies.yaml:4:18: [0].upstream_cert: needs \"upstream_tls\": true".to_string(),
        ),
        (
            format!("{http}  tls_client_ca: '{cert}'\n"),
            "proxies.yaml:4:18: [0].tls_client_ca: needs tls_cert and tls_key".to_string(),
        ),
        (
            format!("{http}  upstream_tls: 1\n"),
            "proxies.yaml:4:17: [0].upstream_tls: expected true or false".to_string(),
        ),
    ];
    for (text, says) in &cases {
        let shown = parse_err(text);
        assert!(
            shown.starts_with(says),
            "want {says:?}, got:\n{shown}\nfor:\n{text}"
        );
    }
}
