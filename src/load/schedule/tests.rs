//! Tests of the schedule: exact slot times on constant rates, ramps and steps, and the
//! property that workers send exactly the area under the rate curve between them.

use super::*;
use rand::{RngExt, SeedableRng};

use crate::load::segment::{Lane, Segment};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn close(a: Duration, b: f64) -> bool {
    (a.as_secs_f64() - b).abs() < 1e-9
}

#[test]
fn constant_rate_places_slot_k_at_k_over_r() {
    let s = Schedule::constant(2000.0, Some(secs(10.0)));
    assert!(close(s.time_of(0.0).unwrap(), 0.0));
    assert!(close(s.time_of(1.0).unwrap(), 0.0005));
    assert!(close(s.time_of(19_999.0).unwrap(), 9.9995));
    assert_eq!(s.time_of(20_000.0), None, "t = end is outside the plan");
    assert!((s.expected_by(secs(10.0)) - 20_000.0).abs() < 1e-6);
}

#[test]
fn linear_ramp_inverts_the_integral() {
    // 0 → 100/s over 10 s: N(t) = 5 t², so slot u is at √(u/5).
    let s = Schedule::new(&[(secs(0.0), 0.0), (secs(10.0), 100.0)], None);
    for u in [1.0, 20.0, 125.0, 499.0] {
        assert!(close(s.time_of(u).unwrap(), (u / 5.0f64).sqrt()), "u={u}");
    }
    // After the ramp the last rate holds: N(10) = 500, then 100/s.
    assert!(close(s.time_of(600.0).unwrap(), 11.0));
    // Ramp down 1000 → 100 over 10 s is also exact.
    let d = Schedule::new(
        &[(secs(0.0), 1000.0), (secs(10.0), 100.0)],
        Some(secs(10.0)),
    );
    let t = d.time_of(3000.0).unwrap().as_secs_f64();
    assert!((d.expected_by(secs(t)) - 3000.0).abs() < 1e-6);
    assert!((d.expected_by(secs(10.0)) - 5500.0).abs() < 1e-6);
}

#[test]
fn steps_and_stages_from_the_cli_example() {
    // 0s:100/s,30s:1000/s,40s:100/s
    let s = Schedule::new(
        &[
            (secs(0.0), 100.0),
            (secs(30.0), 1000.0),
            (secs(40.0), 100.0),
        ],
        Some(secs(40.0)),
    );
    assert!((s.expected_by(secs(30.0)) - 16_500.0).abs() < 1e-6);
    assert!((s.expected_by(secs(40.0)) - 22_000.0).abs() < 1e-6);
    assert!(close(s.time_of(16_500.0).unwrap(), 30.0));
    assert_eq!(s.time_of(22_000.0), None);
    // A step: 10/s for 1 s, then 100/s.
    let step = Schedule::new(
        &[(secs(0.0), 10.0), (secs(1.0), 10.0), (secs(1.0), 100.0)],
        None,
    );
    assert!(close(step.time_of(9.0).unwrap(), 0.9));
    assert!(close(step.time_of(10.0).unwrap(), 1.0));
    assert!(close(step.time_of(20.0).unwrap(), 1.1));
}

#[test]
fn uniform_workers_interleave_into_one_schedule_and_never_skip() {
    let s = Schedule::constant(1000.0, Some(secs(1.0)));
    let mut all = Vec::new();
    for w in 0..3 {
        let mut slots = Slots::Uniform {
            lane: Lane {
                offset: w,
                stride: 3,
            },
            next: 0,
        };
        while let Some((k, at)) = slots.next(&s) {
            all.push((k, at));
        }
    }
    all.sort();
    assert_eq!(all.len(), 1000);
    for (i, (k, at)) in all.iter().enumerate() {
        assert_eq!(*k, i as u64);
        assert!(close(*at, i as f64 / 1000.0));
    }
}

#[test]
fn poisson_is_seeded_and_has_the_planned_mean() {
    let s = Schedule::constant(500.0, Some(secs(20.0)));
    let run = |seed| {
        let mut slots = poisson(
            Lane {
                offset: 1,
                stride: 2,
            },
            seed,
        );
        std::iter::from_fn(|| slots.next(&s).map(|(_, at)| at)).collect::<Vec<_>>()
    };
    let a = run(7);
    assert_eq!(a, run(7), "same seed, same arrivals");
    // Counting the slots due by 10 s walks the same stream.
    let mut slots = poisson(
        Lane {
            offset: 1,
            stride: 2,
        },
        7,
    );
    let by_ten = a.iter().filter(|at| **at < secs(10.0)).count() as u64;
    assert_eq!(slots.due_before(&s, secs(10.0)), by_ten);
    assert_ne!(a, run(8));
    // One of two workers: expected 5000 arrivals, sd ≈ 71; allow 5 sd.
    assert!((a.len() as f64 - 5000.0).abs() < 355.0, "{}", a.len());
    assert!(a.windows(2).all(|w| w[0] <= w[1]));
}

/// A plan cut at the cap counts no more unsent Poisson slots than it holds (`--rate 1e12
/// --duration 2s --poisson` reported `planned 1999999999255` after saying only the first
/// 10^12 were scheduled).
#[test]
fn poisson_unsent_slots_of_a_cut_plan_stay_within_the_cap() {
    let s = Schedule::constant(1e12, Some(secs(2.0)));
    assert_eq!(s.planned_by(secs(2.0)), MAX_PLANNED);
    let workers = 2;
    let due: u64 = (0..workers)
        .map(|worker| {
            let mut slots = poisson(
                Lane {
                    offset: worker,
                    stride: workers,
                },
                7,
            );
            slots.due_before(&s, secs(2.0))
        })
        .sum();
    // Each worker walks a million slots, then estimates the rest of its share of the plan.
    let spread = 1e-6 * MAX_PLANNED as f64;
    assert!(due as f64 <= MAX_PLANNED as f64 + spread, "{due}");
    assert!(due as f64 >= MAX_PLANNED as f64 - spread, "{due}");
}

#[tokio::test(start_paused = true)]
async fn offsets_become_instants_on_the_run_clock() {
    let clock = crate::clock::Clock::start();
    let s = Schedule::constant(4.0, None);
    let at = s.time_of(3.0).unwrap();
    tokio::time::sleep_until(clock.instant(at)).await;
    assert_eq!(clock.now(), Duration::from_millis(750));
}

/// Every slot of every worker of `workers` over `s`, as `(k, at)`.
fn sent(s: &Schedule, workers: u64) -> Vec<Vec<(u64, Duration)>> {
    (0..workers)
        .map(|worker| {
            let mut slots = Slots::Uniform {
                lane: Lane {
                    offset: worker,
                    stride: workers,
                },
                next: 0,
            };
            std::iter::from_fn(|| slots.next(s)).collect()
        })
        .collect()
}

#[test]
fn a_ramp_from_or_to_zero_sends_its_whole_area_with_any_thread_count() {
    // The example: 0s:0/s,4s:100/s plans 200; it sent 0, 100, 150 with 1, 2, 4 threads.
    let ramp = Schedule::new(&[(secs(0.0), 0.0), (secs(4.0), 100.0)], Some(secs(4.0)));
    for workers in [1, 2, 3, 4] {
        let all = sent(&ramp, workers);
        assert_eq!(all.iter().map(Vec::len).sum::<usize>(), 200, "{workers}");
    }
    assert_eq!(ramp.time_of(0.0), Some(Duration::ZERO));
    // Down to 0 and back up: slot 100 is at the bottom, t = 2 s.
    let vee = Schedule::new(
        &[(secs(0.0), 100.0), (secs(2.0), 0.0), (secs(4.0), 100.0)],
        Some(secs(4.0)),
    );
    assert!(close(vee.time_of(100.0).unwrap(), 2.0));
    assert_eq!(sent(&vee, 4).iter().map(Vec::len).sum::<usize>(), 200);
    // A first stretch at rate 0 sends nothing: slot 0 waits for the step at 2 s.
    let late = Schedule::new(
        &[(secs(0.0), 0.0), (secs(2.0), 0.0), (secs(2.0), 100.0)],
        Some(secs(3.0)),
    );
    assert!(close(late.time_of(0.0).unwrap(), 2.0));
    assert_eq!(sent(&late, 2).iter().map(Vec::len).sum::<usize>(), 100);
    // Ending at rate 0 after a plateau: the plan holds the area, no more.
    let tail = Schedule::new(
        &[(secs(0.0), 10.0), (secs(1.0), 0.0), (secs(3.0), 0.0)],
        Some(secs(3.0)),
    );
    assert_eq!(sent(&tail, 3).iter().map(Vec::len).sum::<usize>(), 5);
    assert_eq!(tail.planned_by(secs(3.0)), 5);
}

/// A random stage plan: 1 to 6 points, equal times (steps, zero-length stages) and
/// rate 0 (at either end, in the middle) drawn often.
fn random_plan(rng: &mut StdRng) -> (Vec<(Duration, f64)>, Duration) {
    let n = rng.random_range(1..=6);
    let mut t = 0.0;
    let mut points = Vec::new();
    for i in 0..n {
        if i > 0 && rng.random_bool(0.7) {
            t += f64::from(rng.random_range(1..=40u32)) / 10.0;
        }
        let rate = match rng.random_range(0..4) {
            0 => 0.0,
            1 => f64::from(rng.random_range(1..=1000u32)),
            2 => f64::from(rng.random_range(1..=1000u32)) / 7.0,
            _ => rng.random::<f64>() * 50.0,
        };
        points.push((secs(t), rate));
    }
    let extra = f64::from(rng.random_range(0..=20u32)) / 10.0;
    let end = secs(if t + extra > 0.0 { t + extra } else { 1.0 });
    (points, end)
}

/// The area under the rate curve up to `end`, summed piece by piece (trapezoids).
fn area(points: &[(Duration, f64)], end: Duration) -> f64 {
    let mut total = 0.0;
    for (i, &(t, r)) in points.iter().enumerate() {
        let (t, end) = (t.as_secs_f64(), end.as_secs_f64());
        match points.get(i + 1) {
            Some(&(t1, r1)) => {
                let t1 = t1.as_secs_f64();
                let stop = t1.min(end);
                if stop > t {
                    let r_stop = r + (r1 - r) * (stop - t) / (t1 - t);
                    total += (stop - t) * (r + r_stop) / 2.0;
                }
            }
            None if end > t => total += (end - t) * r,
            None => {}
        }
    }
    total
}

#[test]
fn property_slots_sent_equal_the_area_and_shares_add_up() {
    let mut rng = StdRng::seed_from_u64(0x5EED);
    for case in 0..400 {
        let (points, end) = random_plan(&mut rng);
        let workers = rng.random_range(1..=8u64);
        let s = Schedule::new(&points, Some(end));
        let a = area(&points, end);
        let want = slots_before(a);
        let all = sent(&s, workers);
        let total: u64 = all.iter().map(|w| w.len() as u64).sum();
        let why = format!("case {case}: {points:?} to {end:?}, {workers} workers, area {a}");
        assert_eq!(total, want, "{why}");
        assert_eq!(s.planned_by(end), want, "{why}");
        for (w, mine) in all.iter().enumerate() {
            let share = want / workers + u64::from((w as u64) < want % workers);
            assert_eq!(mine.len() as u64, share, "worker {w}: {why}");
            // Stopping after any number of slots: the rest due by the end is counted exactly.
            let drawn = rng.random_range(0..=share);
            let mut slots = Slots::Uniform {
                lane: Lane {
                    offset: w as u64,
                    stride: workers,
                },
                next: 0,
            };
            for _ in 0..drawn {
                slots.next(&s);
            }
            assert_eq!(
                drawn + slots.due_before(&s, end),
                share,
                "worker {w}: {why}"
            );
            assert!(mine.windows(2).all(|p| p[0].1 <= p[1].1), "{why}");
            for &(k, at) in mine {
                assert!(at <= end, "{why}");
                let n = s.expected_by(at);
                assert!(
                    (n - k as f64).abs() < 1e-6 * (k as f64).max(1.0),
                    "slot {k} at N={n}: {why}"
                );
            }
        }
    }
}

/// The Poisson slots of `lane` drawn from the plan's stream seeded with `seed`.
fn poisson(lane: Lane, seed: u64) -> Slots {
    Slots::Poisson {
        lane,
        rng: Box::new(StdRng::seed_from_u64(seed)),
        position: 0.0,
        drawn: 0,
        next: 0,
    }
}

/// Every slot of `slots` over `s`.
fn drain(s: &Schedule, mut slots: Slots) -> Vec<(u64, Duration)> {
    std::iter::from_fn(|| slots.next(s)).collect()
}

#[test]
fn property_segments_together_send_the_one_plan_each_slot_once() {
    let mut rng = StdRng::seed_from_u64(0x5E67);
    for case in 0..300 {
        let (points, end) = random_plan(&mut rng);
        let s = Schedule::new(&points, Some(end));
        let count = rng.random_range(1..=16u64);
        let poisson_seed: u64 = rng.random();
        let why = format!("case {case}: {points:?} to {end:?}, {count} segments");
        // The one plan: uniform slots 0..⌈N(end)⌉; Poisson, the one stream read by one lane.
        let whole = Lane {
            offset: 0,
            stride: 1,
        };
        let uniform_plan = drain(
            &s,
            Slots::Uniform {
                lane: whole,
                next: 0,
            },
        );
        let poisson_plan = drain(&s, poisson(whole, poisson_seed));
        assert_eq!(uniform_plan.len() as u64, s.planned_by(end), "{why}");
        let (mut uniform, mut poissons) = (Vec::new(), Vec::new());
        for index in 0..count {
            let seg = Segment { index, count };
            // Each agent with its own thread count.
            let workers = rng.random_range(1..=4u64);
            let mut mine = 0;
            for w in 0..workers {
                let lane = seg.lane(w, workers);
                let u = drain(&s, Slots::Uniform { lane, next: 0 });
                assert!(u.iter().all(|(k, _)| k % count == index), "{why}");
                mine += u.len() as u64;
                uniform.extend(u);
                let p = drain(&s, poisson(lane, poisson_seed));
                assert!(p.iter().all(|(k, _)| k % count == index), "{why}");
                poissons.extend(p);
            }
            assert_eq!(mine, seg.share(s.planned_by(end)), "segment {index}: {why}");
        }
        uniform.sort_by_key(|(k, _)| *k);
        poissons.sort_by_key(|(k, _)| *k);
        assert_eq!(uniform, uniform_plan, "uniform: {why}");
        assert_eq!(poissons, poisson_plan, "poisson: {why}");
    }
}
