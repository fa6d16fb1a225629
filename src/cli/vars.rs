//! `--var KEY=VALUE` flags, shared by `run`, `test`, `validate`, `preflight` and `gameday`. A
//! key given twice is refused.

use std::collections::BTreeMap;

use crate::exit::InvalidInput;
use crate::experiment::repeat::fresh_run_dir;
use crate::experiment::validate::LoadOptions;

/// The load options of `--var` flags, with a fresh `${run.dir}`.
pub(super) fn options(vars: &[String]) -> Result<LoadOptions, InvalidInput> {
    let mut map = BTreeMap::new();
    for v in vars {
        let (k, val) = v
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| InvalidInput::new(format!("--var {v:?}: expected KEY=VALUE")))?;
        let key = k.trim();
        // `${var.KEY}` must be able to name it: the one name rule (no `}`, `:-` or spaces).
        crate::config::name::check(key)
            .map_err(|e| InvalidInput::new(format!("--var {v:?}: the name {key:?} {e}")))?;
        // Given twice is a mistake either way round (a script's default and an override read
        // alike): neither value is taken.
        if let Some(first) = map.insert(key.to_string(), val.to_string()) {
            return Err(InvalidInput::new(format!(
                "--var {key} given twice ({key}={first} and {key}={val}): give it once"
            )));
        }
    }
    Ok(LoadOptions {
        vars: map,
        run_dir: fresh_run_dir(),
        watch: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_need_a_key_and_an_equals_sign() {
        let o = options(&["port=18080".into(), " name = a=b".into()]).unwrap();
        assert_eq!(o.vars["port"], "18080");
        assert_eq!(o.vars["name"], " a=b");
        for bad in ["port", "=18080", " =x"] {
            let e = options(&[bad.into()]).unwrap_err();
            assert_eq!(e.to_string(), format!("--var {bad:?}: expected KEY=VALUE"));
        }
        let e = options(&["port=1".into(), "port=2".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--var port given twice (port=1 and port=2): give it once"
        );
        for bad in ["a b=x", "a}=x", "a:-b=x", ".hidden=x"] {
            let e = options(&[bad.into()]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--var {bad:?}: the name")), "{e}");
        }
    }
}
