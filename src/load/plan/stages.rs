//! Validation of stage lists: rate stages into a [`Schedule`], user stages into [`Users`].

use std::time::Duration;

use super::{count_at_most, duration_at_most, invalid};
use crate::load::LoadError;
use crate::load::schedule::Schedule;
use crate::load::spec::{MAX_CONNECTIONS, MAX_DURATION};
use crate::load::users::Users;

pub(super) fn user_stages(
    stages: &[crate::load::users::UserStage],
    duration: Option<Duration>,
    spawn_rate: Option<f64>,
) -> Result<(Users, Option<Duration>), LoadError> {
    let first = stages
        .first()
        .ok_or_else(|| invalid("users_stages", "at least one stage"))?;
    if first.at != Duration::ZERO {
        return Err(invalid("users_stages", "the first stage must be at 0s"));
    }
    for (i, s) in stages.iter().enumerate() {
        duration_at_most(&format!("users_stages[{i}].at"), s.at, MAX_DURATION)?;
        count_at_most(
            &format!("users_stages[{i}].users"),
            s.users,
            MAX_CONNECTIONS,
        )?;
    }
    for (i, w) in stages.windows(2).enumerate() {
        if w[1].at < w[0].at {
            return Err(invalid(
                format!("users_stages[{}]", i + 1),
                format!(
                    "out of order: {} comes after {}",
                    humantime::format_duration(w[1].at),
                    humantime::format_duration(w[0].at)
                ),
            ));
        }
    }
    if stages.iter().all(|s| s.users == 0) {
        return Err(invalid("users_stages", "every stage has 0 users"));
    }
    let last = stages.last().map_or(Duration::ZERO, |s| s.at);
    let end = duration.or((stages.len() > 1).then_some(last));
    if end == Some(Duration::ZERO) {
        return Err(invalid(
            "users_stages",
            "the stages last no time (add a later stage or a duration)",
        ));
    }
    let points: Vec<_> = stages.iter().map(|s| (s.at, s.users)).collect();
    Ok((Users::new(&points, spawn_rate), end))
}

pub(super) fn stages_schedule(
    stages: &[crate::load::spec::Stage],
    duration: Option<Duration>,
) -> Result<Schedule, LoadError> {
    let first = stages
        .first()
        .ok_or_else(|| invalid("stages", "at least one stage"))?;
    if first.at != Duration::ZERO {
        return Err(invalid("stages", "the first stage must be at 0s"));
    }
    for (i, s) in stages.iter().enumerate() {
        duration_at_most(&format!("stages[{i}].at"), s.at, MAX_DURATION)?;
    }
    for (i, w) in stages.windows(2).enumerate() {
        if w[1].at < w[0].at {
            return Err(invalid(
                format!("stages[{}]", i + 1),
                format!(
                    "out of order: {} comes after {}",
                    humantime::format_duration(w[1].at),
                    humantime::format_duration(w[0].at)
                ),
            ));
        }
    }
    if stages.iter().all(|s| s.rate.per_second == 0.0) {
        return Err(invalid("stages", "every stage has rate 0"));
    }
    let last = stages.last().map_or(Duration::ZERO, |s| s.at);
    let end = match duration {
        Some(d) => Some(d),
        None if stages.len() > 1 => Some(last),
        None => None,
    };
    if end == Some(Duration::ZERO) {
        return Err(invalid(
            "stages",
            "the stages last no time (add a later stage or a duration)",
        ));
    }
    let points: Vec<_> = stages.iter().map(|s| (s.at, s.rate.per_second)).collect();
    Ok(Schedule::new(&points, end))
}
