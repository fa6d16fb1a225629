//! `shakedown --version`: the crate version and the git commit the binary was built from.

use std::process::Command;

#[test]
fn version_names_the_crate_version_and_the_commit() {
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("--version")
        .output()
        .expect("run shakedown --version");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    // The commit the sources are at: build.rs reads the same (`unknown` outside git).
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    assert_eq!(
        text,
        format!("shakedown {} ({head})\n", env!("CARGO_PKG_VERSION"))
    );
}
