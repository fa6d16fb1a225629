//! `--var KEY=VALUE` flags, shared by `run`, `test` and `validate`.

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
        map.insert(key.to_string(), val.to_string());
    }
    Ok(LoadOptions {
        vars: map,
        run_dir: fresh_run_dir(),
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
        for bad in ["a b=x", "a}=x", "a:-b=x", ".hidden=x"] {
            let e = options(&[bad.into()]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--var {bad:?}: the name")), "{e}");
        }
    }
}
