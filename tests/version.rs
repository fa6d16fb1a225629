//! `shakedown --version`: the crate version and the git commit the binary was built from.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn version_names_the_crate_version_and_the_commit() {
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("--version")
        .output()
        .expect("run shakedown --version");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let prefix = format!("shakedown {} (", env!("CARGO_PKG_VERSION"));
    let commit = text
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("not `{prefix}COMMIT)`: {text:?}"));
    // A debug build does not watch HEAD (build.rs): it names the commit it was last built near.
    let commit = if cfg!(debug_assertions) {
        commit
            .strip_prefix("dev build near ")
            .unwrap_or_else(|| panic!("a debug build says `dev build near COMMIT`: {commit:?}"))
    } else {
        commit
    };
    // build.rs ran `git rev-parse --short HEAD` in this checkout: the commit is one of its own
    // (HEAD when nothing was committed since the build), or `unknown` outside git.
    match git(&["rev-parse", "--git-dir"]) {
        Some(_) => {
            assert!(
                commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()),
                "{commit:?}"
            );
            let full = git(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{commit}^{{commit}}"),
            ]);
            assert!(
                full.is_some(),
                "{commit} is not a commit of this repository"
            );
        }
        None => assert_eq!(commit, "unknown"),
    }
}
