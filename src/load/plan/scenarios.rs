//! Validation of the request mix: scenario specs become templates, extractors and step sequences.

use http::{HeaderName, Method};
use regex::Regex;
use serde_json_path::JsonPath;

use super::invalid;
use crate::load::LoadError;
use crate::load::scenario::{Extractor, Kind, RequestTemplate, Scenario, Step, Template};
use crate::load::spec::{RequestSpec, ScenarioSpec};

fn request(field: &str, r: &RequestSpec) -> Result<RequestTemplate, LoadError> {
    let method = Method::from_bytes(r.method.as_bytes()).map_err(|_| {
        invalid(
            format!("{field}.method"),
            format!("invalid method {:?}", r.method),
        )
    })?;
    if !r.path.starts_with('/') {
        return Err(invalid(format!("{field}.path"), "must start with /"));
    }
    let t = |f: &str, s: &str| Template::parse(s).map_err(|m| invalid(format!("{field}.{f}"), m));
    let headers = r
        .headers
        .iter()
        .map(|(k, v)| {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|e| invalid(format!("{field}.headers.{k}"), e.to_string()))?;
            Ok((name, t(&format!("headers.{k}"), v)?))
        })
        .collect::<Result<Vec<_>, LoadError>>()?;
    let body = t("body", r.body.as_deref().unwrap_or(""))?;
    RequestTemplate::new(method, t("path", &r.path)?, headers, body)
        .map_err(|m| invalid(format!("{field}.path"), m))
}

fn templates(r: &RequestTemplate) -> impl Iterator<Item = &Template> {
    std::iter::once(&r.path)
        .chain(std::iter::once(&r.body))
        .chain(r.headers.iter().map(|(_, v)| v))
}

fn no_vars(field: &str, r: &RequestTemplate) -> Result<(), LoadError> {
    match templates(r).flat_map(|t| t.vars()).next() {
        Some(v) => Err(invalid(
            field,
            format!(
                "unknown placeholder {{{{{v}}}}} (seq, uuid, random, user, or a value extracted by an earlier step)"
            ),
        )),
        None => Ok(()),
    }
}

pub(super) fn scenario(i: usize, s: &ScenarioSpec, closed: bool) -> Result<Scenario, LoadError> {
    let f = format!("scenarios[{i}]");
    if s.weight == 0 {
        return Err(invalid(format!("{f}.weight"), "must be > 0"));
    }
    let kinds = [s.request.is_some(), s.write.is_some(), !s.steps.is_empty()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(invalid(&f, "give exactly one of request, write or steps"));
    }
    if s.read_back.is_some() != s.write.is_some() {
        return Err(invalid(
            format!("{f}.read_back"),
            "write and read_back go together",
        ));
    }
    let (kind, default_name) = if let Some(r) = &s.request {
        let t = request(&format!("{f}.request"), r)?;
        no_vars(&format!("{f}.request"), &t)?;
        (Kind::Request(t), format!("{} {}", r.method, r.path))
    } else if let (Some(w), Some(rb)) = (&s.write, &s.read_back) {
        let write = request(&format!("{f}.write"), w)?;
        let read_back = request(&format!("{f}.read_back"), rb)?;
        no_vars(&format!("{f}.write"), &write)?;
        no_vars(&format!("{f}.read_back"), &read_back)?;
        if !read_back.path.is_unique() {
            return Err(invalid(
                format!("{f}.read_back.path"),
                "must contain {{seq}} or {{uuid}} so that every write has its own key",
            ));
        }
        (
            Kind::Write {
                write: Box::new(write),
                read_back: Box::new(read_back),
            },
            format!("{} {}", w.method, w.path),
        )
    } else {
        if !closed {
            return Err(invalid(
                format!("{f}.steps"),
                "step sequences need the closed model (users)",
            ));
        }
        let mut known: Vec<&str> = Vec::new();
        let mut steps = Vec::new();
        for (j, step) in s.steps.iter().enumerate() {
            let sf = format!("{f}.steps[{j}]");
            let req = request(&format!("{sf}.request"), &step.request)?;
            if let Some(v) = templates(&req)
                .flat_map(|t| t.vars())
                .find(|v| !known.contains(v))
            {
                return Err(invalid(
                    format!("{sf}.request"),
                    format!("{{{{{v}}}}} is not extracted by an earlier step"),
                ));
            }
            let mut extract = Vec::new();
            for (name, e) in &step.extract {
                let ef = format!("{sf}.extract.{name}");
                let x = match (&e.json, &e.regex) {
                    (Some(p), None) => Extractor::Json(
                        JsonPath::parse(p)
                            .map_err(|err| invalid(&ef, format!("JSON path: {err}")))?,
                    ),
                    (None, Some(r)) => Extractor::Regex(
                        Regex::new(r).map_err(|err| invalid(&ef, format!("regex: {err}")))?,
                    ),
                    _ => return Err(invalid(ef, "give exactly one of json or regex")),
                };
                extract.push((name.clone(), x));
                known.push(name);
            }
            steps.push(Step {
                request: req,
                extract,
            });
        }
        (Kind::Steps(steps), format!("steps {i}"))
    };
    Ok(Scenario {
        name: s.name.clone().unwrap_or(default_name),
        weight: s.weight,
        kind,
    })
}
