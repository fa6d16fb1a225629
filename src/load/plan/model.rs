//! Validation of the model: exactly one of rate, stages, users, user stages or max rate,
//! with the fields that go with it, into a [`Model`].

use std::time::Duration;

use super::stages::{stages_schedule, user_stages};
use super::{Model, invalid};
use crate::load::LoadError;
use crate::load::schedule::Schedule;
use crate::load::spec::LoadSpec;
use crate::load::users::Users;

/// The spec's model, or the field that makes it ambiguous or invalid.
pub(super) fn model(spec: &LoadSpec) -> Result<Model, LoadError> {
    let spawn_rate = one_model(spec)?;
    if let Some(rate) = spec.rate {
        if rate.per_second <= 0.0 {
            return Err(invalid("rate", "must be > 0"));
        }
        Ok(Model::Open {
            schedule: Schedule::constant(rate.per_second, spec.duration),
            arrival: spec.arrival,
        })
    } else if let Some(stages) = &spec.stages {
        Ok(Model::Open {
            schedule: stages_schedule(&stages.0, spec.duration)?,
            arrival: spec.arrival,
        })
    } else if spec.max_rate {
        Ok(Model::Closed {
            users: Users::constant(spec.connections.unwrap_or(50) as u64, None),
            think: (Duration::ZERO, Duration::ZERO),
            requests_per_user: None,
            duration: spec.duration,
        })
    } else {
        closed(spec, spawn_rate)
    }
}

/// Check that the spec names exactly one model and only fields that go with it (connections
/// and threads > 0); the spawn rate, per second.
fn one_model(spec: &LoadSpec) -> Result<Option<f64>, LoadError> {
    let open = spec.rate.is_some() || spec.stages.is_some();
    let users = spec.users.is_some() || spec.users_stages.is_some();
    let modes = [open, users, spec.max_rate];
    match modes.iter().filter(|m| **m).count() {
        0 => {
            return Err(invalid(
                "rate",
                "one of rate, stages, users, users_stages or max_rate is required",
            ));
        }
        1 => {}
        _ => {
            return Err(invalid(
                "rate",
                "rate/stages, users and max_rate exclude each other",
            ));
        }
    }
    if spec.rate.is_some() && spec.stages.is_some() {
        return Err(invalid("stages", "give either rate or stages, not both"));
    }
    if spec.users.is_some() && spec.users_stages.is_some() {
        return Err(invalid(
            "users_stages",
            "give either users or users_stages, not both",
        ));
    }
    let spawn_rate = match spec.spawn_rate {
        Some(_) if !users => {
            return Err(invalid(
                "spawn_rate",
                "a spawn rate needs the closed model (users or users_stages)",
            ));
        }
        Some(r) if r.per_second <= 0.0 => return Err(invalid("spawn_rate", "must be > 0")),
        r => r.map(|r| r.per_second),
    };
    if open && (spec.think.is_some() || spec.requests_per_user.is_some()) {
        return Err(invalid(
            "think",
            "think and requests_per_user need the closed model (users)",
        ));
    }
    if spec.connections == Some(0) {
        return Err(invalid("connections", "must be > 0"));
    }
    if spec.threads == Some(0) {
        return Err(invalid("threads", "must be > 0"));
    }
    Ok(spawn_rate)
}

/// The closed model of `users` or `users_stages`, with think time and request limit.
fn closed(spec: &LoadSpec, spawn_rate: Option<f64>) -> Result<Model, LoadError> {
    let (users, end) = match &spec.users_stages {
        Some(stages) => user_stages(&stages.0, spec.duration, spawn_rate)?,
        None => {
            let n = spec.users.unwrap_or(0);
            if n == 0 {
                return Err(invalid("users", "must be > 0"));
            }
            (Users::constant(n, spawn_rate), spec.duration)
        }
    };
    if spec.requests_per_user == Some(0) {
        return Err(invalid("requests_per_user", "must be > 0"));
    }
    Ok(Model::Closed {
        users,
        think: spec
            .think
            .map_or((Duration::ZERO, Duration::ZERO), |t| (t.min, t.max)),
        requests_per_user: spec.requests_per_user,
        duration: end,
    })
}
