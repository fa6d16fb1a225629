//! `shakedown load`'s TLS flags (`--ca`, `--insecure`, `--cert`, `--key`): merged over the
//! scenario file's `tls:`, refused on a plain `http://` target, and a problem with one of
//! them named by the flag the user typed (one from the file keeps its `tls.cert` name and is
//! located at its line by [`LoadArgs::problem`]).

use crate::exit::InvalidInput;
use crate::load::LoadSpec;

use super::LoadArgs;

impl LoadArgs {
    /// The TLS flags given, as typed (`--ca`, `--insecure`, `--cert`, `--key`).
    pub(super) fn tls_flags(&self) -> Vec<&'static str> {
        [
            ("--ca", self.ca.is_some()),
            ("--insecure", self.insecure),
            ("--cert", self.cert.is_some()),
            ("--key", self.key.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// Put the TLS flags over `spec`'s `tls:`.
    ///
    /// # Errors
    /// [`InvalidInput`] naming the flags when the target is a plain `http://` URL: they would
    /// change nothing there, and a user who typed `--cert` believes mutual TLS is exercised.
    pub(super) fn apply_tls(&self, spec: &mut LoadSpec) -> Result<(), InvalidInput> {
        let flags = self.tls_flags();
        if flags.is_empty() {
            return Ok(());
        }
        // A target that does not parse is reported by the load driver's own validation.
        let url = spec.target.as_deref().unwrap_or_default();
        if let Ok(parsed) = crate::load::parse_http_url(url)
            && !parsed.tls
        {
            let (these, apply) = match flags.len() {
                1 => (flags[0].to_string(), "applies"),
                _ => (flags.join(", "), "apply"),
            };
            return Err(InvalidInput::new(format!(
                "{these}: the target {url} is plain HTTP; {these} {apply} to https:// targets \
                 only (leave {} out, or use https://)",
                if flags.len() == 1 { "it" } else { "them" }
            )));
        }
        let tls = spec.tls.get_or_insert_default();
        tls.ca = self.ca.clone().or(tls.ca.take());
        tls.insecure |= self.insecure;
        tls.cert = self.cert.clone().or(tls.cert.take());
        tls.key = self.key.clone().or(tls.key.take());
        Ok(())
    }

    /// The problem `message` with the TLS setting `setting` (`ca`, `cert` or `key`) of `spec`
    /// named by its flag, when the user typed it (or typed the other half of an identity
    /// whose `setting` is missing); `None` when the setting came from the scenario file.
    pub(super) fn tls_problem(
        &self,
        spec: &LoadSpec,
        setting: &str,
        message: &str,
    ) -> Option<InvalidInput> {
        let typed = |s: &str| match s {
            "ca" => self.ca.is_some(),
            "cert" => self.cert.is_some(),
            "key" => self.key.is_some(),
            _ => false,
        };
        if typed(setting) {
            return Some(InvalidInput::new(format!("--{setting}: {message}")));
        }
        let tls = spec.tls.clone().unwrap_or_default();
        let (missing, other) = match setting {
            "cert" => (tls.cert.is_none(), "key"),
            "key" => (tls.key.is_none(), "cert"),
            _ => return None,
        };
        (missing && typed(other)).then(|| {
            InvalidInput::new(format!(
                "--{setting}: needed with --{other} (both or neither: the client certificate \
                 chain and its private key)"
            ))
        })
    }
}
