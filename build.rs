//! Build script: records the git commit the binary is built from, for `shakedown --version`.
//!
//! Sets `SHAKEDOWN_COMMIT` to `git rev-parse --short HEAD`, or `unknown` when the sources are
//! not in a git checkout (a crates.io or sdist build) or git is not installed.
//!
//! Release builds watch HEAD and so always name the commit they were built from. Debug builds do
//! not (watching HEAD rebuilt the whole package, every test binary with it, on each commit): they
//! name the commit of their build script's last run as `dev build near COMMIT`.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        println!("cargo:rustc-env=SHAKEDOWN_COMMIT=dev build near {commit}");
        return;
    }
    println!("cargo:rustc-env=SHAKEDOWN_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, and the packed refs. Only
    // files that exist are named (cargo reruns a script whose named file is missing every time).
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// The trimmed stdout of a successful `git ARGS`, or `None`.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
