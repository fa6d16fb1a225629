//! The editor and shell helpers of issue 15: `shakedown schema`, `completions`, `man`, each
//! generated from the one definition (serde types, clap) and checked from the built binary.

mod support;

use std::process::Command;

use support::demo::binary;

/// The subcommands this issue added; [`subcommands`] must list them.
const ADDED: &[&str] = &["schema", "completions", "man", "import"];

/// The subcommands a `--help` text lists (without `help`).
fn commands_of(help: &str) -> Vec<String> {
    help.split("Commands:\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every subcommand, as `shakedown --help` lists them (without `help`).
fn subcommands() -> Vec<String> {
    let (_, help, _) = shakedown(&["--help"]);
    let list: Vec<String> = help
        .split("Commands:\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    assert!(list.len() >= 11, "{help}");
    for added in ADDED {
        assert!(
            list.iter().any(|s| s == added),
            "{added} missing from --help"
        );
    }
    list
}

/// `shakedown ARGS`: exit code, stdout, stderr.
fn shakedown(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn schema_experiment_prints_the_committed_schema() {
    let (code, stdout, stderr) = shakedown(&["schema", "experiment"]);
    assert_eq!(code, 0, "{stderr}");
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/experiment.schema.json"
    ))
    .unwrap();
    assert_eq!(stdout, committed);
    let (code, journal, _) = shakedown(&["schema", "journal"]);
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/journal.schema.json"
    ))
    .unwrap();
    assert_eq!(journal, committed);
    let (code, _, stderr) = shakedown(&["schema", "pipeline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("experiment") && stderr.contains("journal"),
        "{stderr}"
    );
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, stderr) = shakedown(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(stderr.is_empty(), "{shell}: {stderr}");
        for sub in &subcommands() {
            // How each script names a subcommand it completes.
            let entry = match shell {
                "bash" => format!("shakedown,{sub})"),
                "zsh" => format!("'{sub}:"),
                _ => format!("-a \"{sub}\""),
            };
            assert!(
                script.contains(&entry),
                "{shell} completions lack `{entry}`"
            );
        }
    }
    let (code, _, _) = shakedown(&["completions", "tcsh"]);
    assert_eq!(code, 2);
}

#[test]
fn the_bash_script_parses_and_completes_subcommands() {
    let (_, script, _) = shakedown(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shakedown.bash");
    std::fs::write(&file, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // Ask the completion function itself what follows `shakedown va`.
    let probe = format!(
        "source {}; COMP_WORDS=(shakedown va); COMP_CWORD=1; COMP_LINE='shakedown va'; \
         COMP_POINT=${{#COMP_LINE}}; _shakedown shakedown va shakedown; echo \"${{COMPREPLY[*]}}\"",
        file.display()
    );
    let out = Command::new("bash").arg("-c").arg(probe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "validate");
}

#[test]
fn the_man_page_has_name_synopsis_and_every_subcommand() {
    let (code, page, stderr) = shakedown(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "not roff: {}",
        &page[..80.min(page.len())]
    );
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH SUBCOMMANDS",
    ] {
        assert!(page.contains(section), "no {section}");
    }
    assert!(
        page.contains("shakedown \\- shakedown: fault\\-injecting proxy"),
        "{page}"
    );
    for sub in subcommands() {
        let roff = sub.replace('-', "\\-");
        assert!(
            page.contains(&format!("shakedown\\-{roff}(1)")),
            "the man page lacks `{sub}`"
        );
    }
}

#[test]
fn man_writes_one_page_per_subcommand_and_prints_one_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let (code, _, stderr) = shakedown(&["man", "--dir", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    // One page per subcommand, and one per nested one (`shakedown-fault-add.1`).
    let mut expected: Vec<String> = subcommands()
        .iter()
        .flat_map(|s| {
            let (_, help, _) = shakedown(&[s.as_str(), "--help"]);
            let nested = commands_of(&help)
                .into_iter()
                .map(move |n| format!("{s}-{n}"));
            std::iter::once(s.clone()).chain(nested).collect::<Vec<_>>()
        })
        .map(|s| format!("shakedown-{s}.1"))
        .chain(["shakedown.1".to_string()])
        .collect();
    expected.sort();
    assert_eq!(pages, expected);
    let (code, page, _) = shakedown(&["man", "run"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH shakedown-run 1"), "{page}");
    assert!(page.contains("\\-\\-dry\\-run"), "{page}");
    let (code, _, stderr) = shakedown(&["man", "runn"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no subcommand `runn`"), "{stderr}");
}

/// Output the command cannot write is an exit code, never a silent success: a folder under a
/// file or a missing folder is invalid input (2, naming the flag); a full disk on stdout is 3;
/// a reader that closed the pipe early is not a failure (0).
#[test]
fn unwritable_outputs_are_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("man1");
    let (code, _, stderr) = shakedown(&["man", "--dir", under_file.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--dir"), "{stderr}");
    let missing = dir.path().join("missing").join("x.yaml");
    let (code, _, stderr) = shakedown(&[
        "import",
        "chaostoolkit",
        "fixtures/chaostoolkit/service-health.json",
        "-o",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("-o "), "{stderr}");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(binary())
        .arg("man")
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("writing to stdout failed"), "{stderr}");
    let mut child = Command::new(binary())
        .arg("man")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
