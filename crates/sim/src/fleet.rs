//! The simulated provider fleet: a deterministic load curve over logical time and, per provider,
//! a two-state Gilbert–Elliott chain whose Good→Bad probability rises with the load, so failures
//! cluster at load peaks.
//!
//! Everything is integer arithmetic (parts per million) over ChaCha streams seeded from the fleet
//! seed, so a fleet is the same on every machine. Nothing here depends on the timing seed or on
//! the router: both routers face exactly the same world.

use alloy_primitives::{keccak256, Address, B256};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use routing_primitives::{OutcomeClass, ProviderEntry};
use serde::Serialize;

/// One million: probability 1 in parts per million.
pub const PPM: u32 = 1_000_000;

/// Length of one Gilbert–Elliott time slot in logical milliseconds.
pub const SLOT_MS: u64 = 100;

/// The model class every simulated provider and request belongs to.
pub const MODEL_CLASS: u32 = 1;

/// Logical time before the first nominal arrival (room for negative arrival jitter).
pub const RUN_START_MS: u64 = 2_000;

/// Logical time simulated after the last nominal arrival (deadlines plus the last attempts).
pub const RUN_TAIL_MS: u64 = 60_000;

/// Load at or above which a moment counts as "peak load".
pub const PEAK_LOAD_PPM: u32 = 500_000;

/// Load above which providers start to congest: the load-driven part of the Good→Bad
/// probability grows with the square of `(load − knee) / (1 − knee)`.
pub const CONGESTION_KNEE_PPM: u32 = 550_000;

/// Health of a provider during one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Health {
    /// Serving normally.
    Good,
    /// Congested: slow and failing often.
    Bad,
}

/// The static description of one provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderProfile {
    /// Human-readable name.
    pub name: &'static str,
    /// Tier (0 best; 2 is the fallback tier).
    pub tier: u8,
    /// Failure probability per attempt in the Good state.
    pub fail_good_ppm: u32,
    /// Failure probability per attempt in the Bad state.
    pub fail_bad_ppm: u32,
    /// Good→Bad probability per slot at zero load.
    pub gb_base_ppm: u32,
    /// Extra Good→Bad probability per slot at full load, scaled by the square of the load above
    /// [`CONGESTION_KNEE_PPM`] (nothing off-peak, a lot at the top of a peak).
    pub gb_load_ppm: u32,
    /// Bad→Good probability per slot.
    pub bg_ppm: u32,
    /// Median-ish latency of a successful answer in the Good state (uniform ×0.7..1.3).
    pub latency_good_ms: u32,
    /// Median-ish latency of a successful answer in the Bad state (uniform ×0.7..1.5).
    pub latency_bad_ms: u32,
    /// Attempt timeout: a slower answer is a [`OutcomeClass::Timeout`] after this long.
    pub timeout_ms: u32,
}

/// The fleet: four tier-0 providers (one of them, `t0-a`, the seeds' "92 % reliability"
/// provider), three tier-1 providers and two cheap, very reliable fallback providers in tier 2.
pub fn default_profiles() -> Vec<ProviderProfile> {
    // A primary provider of `tier`; tier 0 times out after 3 s, tier 1 after 2.5 s.
    let primary =
        |tier: u8, name, fail_good_ppm, fail_bad_ppm, gb_base_ppm, gb_load_ppm, bg_ppm, lg, lb| {
            ProviderProfile {
                name,
                tier,
                fail_good_ppm,
                fail_bad_ppm,
                gb_base_ppm,
                gb_load_ppm,
                bg_ppm,
                latency_good_ms: lg,
                latency_bad_ms: lb,
                timeout_ms: if tier == 0 { 3_000 } else { 2_500 },
            }
        };
    let t2 = |name, lg| ProviderProfile {
        name,
        tier: 2,
        fail_good_ppm: 3_000,
        fail_bad_ppm: 40_000,
        gb_base_ppm: 200,
        gb_load_ppm: 2_000,
        bg_ppm: 200_000,
        latency_good_ms: lg,
        latency_bad_ms: lg + 300,
        timeout_ms: 4_000,
    };
    vec![
        primary(0, "t0-a", 10_000, 850_000, 80, 60_000, 25_000, 1_100, 2_600),
        primary(0, "t0-b", 15_000, 850_000, 200, 264_000, 20_000, 1_000, 2_500),
        primary(0, "t0-c", 20_000, 850_000, 200, 264_000, 18_000, 1_200, 2_700),
        primary(0, "t0-d", 12_000, 800_000, 150, 216_000, 22_000, 950, 2_400),
        primary(1, "t1-a", 12_000, 800_000, 150, 180_000, 25_000, 800, 1_900),
        primary(1, "t1-b", 10_000, 750_000, 150, 168_000, 25_000, 850, 2_000),
        primary(1, "t1-c", 15_000, 800_000, 200, 192_000, 22_000, 780, 1_900),
        t2("t2-a", 600),
        t2("t2-b", 700),
    ]
}

/// Index in [`default_profiles`] of the seeds' "92 % reliability" provider.
pub const FLAKY_PROVIDER: usize = 0;

/// One load peak: a biweight bump `height · (1 − x²)²` for `|x| < 1`, `x = (t − center) / half`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Peak {
    /// Logical time of the top of the peak.
    pub center_ms: u64,
    /// Half width of the bump.
    pub half_width_ms: u64,
    /// Extra load at the top.
    pub height_ppm: u32,
}

/// Deterministic demand over logical time: a base load plus a few peaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadCurve {
    /// Logical time of the first nominal arrival.
    pub start_ms: u64,
    /// Length of the arrival window.
    pub run_ms: u64,
    /// Load outside the peaks.
    pub base_ppm: u32,
    /// The peaks.
    pub peaks: Vec<Peak>,
}

impl LoadCurve {
    /// The curve for an arrival window of `run_ms`: base load 15 %, three peaks at 18 %, 50 % and
    /// 80 % of the run, each 10 % of the run wide at its foot.
    pub fn for_run(run_ms: u64) -> Self {
        let start_ms = RUN_START_MS;
        let peak = |frac_permille: u64, height_ppm| Peak {
            center_ms: start_ms + run_ms * frac_permille / 1_000,
            half_width_ms: (run_ms * 50 / 1_000).max(1),
            height_ppm,
        };
        Self {
            start_ms,
            run_ms,
            base_ppm: 150_000,
            peaks: vec![peak(180, 800_000), peak(500, 850_000), peak(800, 780_000)],
        }
    }

    /// Load at logical time `t_ms`, in parts per million (at most one million).
    pub fn load_ppm(&self, t_ms: u64) -> u32 {
        let mut load = u64::from(self.base_ppm);
        for p in &self.peaks {
            let d = u128::from(t_ms.abs_diff(p.center_ms));
            let w = u128::from(p.half_width_ms);
            if d < w {
                let q = w * w - d * d;
                load += (u128::from(p.height_ppm) * q * q / (w * w * w * w)) as u64;
            }
        }
        load.min(u64::from(PPM)) as u32
    }

    /// Whether `t_ms` is at peak load.
    pub fn is_peak(&self, t_ms: u64) -> bool {
        self.load_ppm(t_ms) >= PEAK_LOAD_PPM
    }

    /// Logical end of the simulated horizon.
    pub fn horizon_ms(&self) -> u64 {
        self.start_ms + self.run_ms + RUN_TAIL_MS
    }
}

/// What one attempt at one provider gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    /// How it ends.
    pub outcome: OutcomeClass,
    /// How long it takes (logical).
    pub latency_ms: u32,
    /// The provider's health when the attempt started.
    pub health: Health,
}

/// A fleet instance: profiles, addresses and every provider's health per slot.
#[derive(Clone, Debug)]
pub struct Fleet {
    seed: u64,
    profiles: Vec<ProviderProfile>,
    addresses: Vec<Address>,
    curve: LoadCurve,
    health: Vec<Vec<Health>>,
    /// Per provider and slot: the first slot at or after it in the Bad state (`u32::MAX`: none).
    next_bad: Vec<Vec<u32>>,
}

/// Expands labelled parts into a 32-byte ChaCha seed.
pub(crate) fn derive_seed(label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(label.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    buf.extend_from_slice(label.as_bytes());
    for p in parts {
        buf.extend_from_slice(p);
    }
    keccak256(&buf).0
}

impl Fleet {
    /// The default fleet for `seed` over `curve`.
    pub fn new(seed: u64, curve: LoadCurve) -> Self {
        Self::with_profiles(seed, curve, default_profiles())
    }

    /// A fleet with the given provider profiles.
    pub fn with_profiles(seed: u64, curve: LoadCurve, profiles: Vec<ProviderProfile>) -> Self {
        let slots = (curve.horizon_ms() / SLOT_MS + 1) as usize;
        // Congestion pressure per slot in ppm: ((load − knee) / (1 − knee))², clamped at zero.
        let pressure: Vec<u128> = (0..slots)
            .map(|s| {
                let load = curve.load_ppm(s as u64 * SLOT_MS + SLOT_MS / 2);
                let over = u128::from(load.saturating_sub(CONGESTION_KNEE_PPM));
                let span = u128::from(PPM - CONGESTION_KNEE_PPM);
                over * over * u128::from(PPM) / (span * span)
            })
            .collect();
        let mut health = Vec::with_capacity(profiles.len());
        let mut next_bad = Vec::with_capacity(profiles.len());
        for (i, p) in profiles.iter().enumerate() {
            let mut rng = ChaCha8Rng::from_seed(derive_seed(
                "routing-sim/fleet/health",
                &[&seed.to_be_bytes(), &(i as u64).to_be_bytes()],
            ));
            let mut state = Health::Good;
            let mut h = Vec::with_capacity(slots);
            for &pressure in &pressure {
                let u = rng.random_range(0..PPM);
                state = match state {
                    Health::Good => {
                        let gb = u128::from(p.gb_base_ppm)
                            + u128::from(p.gb_load_ppm) * pressure / u128::from(PPM);
                        if u128::from(u) < gb {
                            Health::Bad
                        } else {
                            Health::Good
                        }
                    }
                    Health::Bad => {
                        if u < p.bg_ppm {
                            Health::Good
                        } else {
                            Health::Bad
                        }
                    }
                };
                h.push(state);
            }
            let mut nb = vec![u32::MAX; slots];
            let mut next = u32::MAX;
            for s in (0..slots).rev() {
                if h[s] == Health::Bad {
                    next = s as u32;
                }
                nb[s] = next;
            }
            health.push(h);
            next_bad.push(nb);
        }
        let addresses = profiles
            .iter()
            .enumerate()
            .map(|(i, p)| Address::with_last_byte(0x10 * (p.tier + 1) + i as u8))
            .collect();
        Self { seed, profiles, addresses, curve, health, next_bad }
    }

    /// The fleet seed.
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    /// The load curve.
    pub const fn curve(&self) -> &LoadCurve {
        &self.curve
    }

    /// Provider profiles, by index.
    pub fn profiles(&self) -> &[ProviderProfile] {
        &self.profiles
    }

    /// Provider addresses, by index.
    pub fn addresses(&self) -> &[Address] {
        &self.addresses
    }

    /// Index of the provider with `address`.
    pub fn index_of(&self, address: &Address) -> Option<usize> {
        self.addresses.iter().position(|a| a == address)
    }

    /// Number of providers.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether the fleet has no provider.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    fn slot(&self, p: usize, t_ms: u64) -> usize {
        ((t_ms / SLOT_MS) as usize).min(self.health[p].len() - 1)
    }

    /// Health of provider `p` at logical time `t_ms`.
    pub fn health(&self, p: usize, t_ms: u64) -> Health {
        self.health[p][self.slot(p, t_ms)]
    }

    /// Health of provider `p` in every slot of the horizon.
    pub fn health_slots(&self, p: usize) -> &[Health] {
        &self.health[p]
    }

    /// The first slot boundary strictly after `t_ms` at which provider `p` is Bad.
    pub fn first_bad_after(&self, p: usize, t_ms: u64) -> Option<u64> {
        let s = self.slot(p, t_ms) + 1;
        let nb = *self.next_bad[p].get(s)?;
        (nb != u32::MAX).then_some(u64::from(nb) * SLOT_MS)
    }

    /// The attempt number `k` (counting earlier attempts of the same request at the same
    /// provider) of request `request_id` at provider `p`, starting at `start_ms`.
    ///
    /// The request's own draws come from a ChaCha stream keyed by (fleet seed, request, provider,
    /// k), so the same request meets the same luck at the same provider under every timing seed
    /// and router; what timing changes is the provider's health when the attempt starts. The
    /// failure draw is shared between the states, so a request that fails in Good also fails in
    /// Bad.
    pub fn attempt(&self, p: usize, request_id: &B256, k: u32, start_ms: u64) -> Draw {
        let prof = &self.profiles[p];
        let health = self.health(p, start_ms);
        let mut rng = ChaCha8Rng::from_seed(derive_seed(
            "routing-sim/fleet/attempt",
            &[
                &self.seed.to_be_bytes(),
                request_id.as_slice(),
                &(p as u64).to_be_bytes(),
                &k.to_be_bytes(),
            ],
        ));
        let u_fail = rng.random_range(0..PPM);
        let u_class = rng.random_range(0..PPM);
        let u_lat = u64::from(rng.random_range(0..PPM));
        let (fail_ppm, classes) = match health {
            Health::Good => (prof.fail_good_ppm, GOOD_FAILURES),
            Health::Bad => (prof.fail_bad_ppm, BAD_FAILURES),
        };
        let success_latency = |h: Health| -> u32 {
            let (base, lo, span) = match h {
                Health::Good => (u64::from(prof.latency_good_ms), 700_000, 600_000),
                Health::Bad => (u64::from(prof.latency_bad_ms), 700_000, 800_000),
            };
            (base * (lo + span * u_lat / u64::from(PPM)) / u64::from(PPM)) as u32
        };
        let range = |lo: u64, hi: u64| (lo + (hi - lo) * u_lat / u64::from(PPM)) as u32;
        let (outcome, latency_ms) = if u_fail >= fail_ppm {
            (OutcomeClass::Success, success_latency(health))
        } else {
            let mut acc = 0;
            let class = classes
                .iter()
                .find(|(_, share)| {
                    acc += share;
                    u_class < acc
                })
                .map_or(OutcomeClass::ProviderError, |(c, _)| *c);
            let latency = match class {
                OutcomeClass::Timeout => prof.timeout_ms,
                OutcomeClass::Overloaded => range(40, 200),
                OutcomeClass::ProviderError => range(150, 800),
                OutcomeClass::RejectedTerminal => range(30, 100),
                _ => success_latency(health),
            };
            (class, latency)
        };
        if latency_ms > prof.timeout_ms {
            return Draw { outcome: OutcomeClass::Timeout, latency_ms: prof.timeout_ms, health };
        }
        Draw { outcome, latency_ms, health }
    }

    /// Registry entries for the fleet, every provider at `reliability_ppm`.
    pub fn registry_entries(&self, reliability_ppm: u32) -> Vec<ProviderEntry> {
        self.profiles
            .iter()
            .zip(&self.addresses)
            .map(|(p, a)| ProviderEntry {
                provider: *a,
                model_class: MODEL_CLASS,
                tier: p.tier,
                reliability_ppm,
                cooldown_until_ms: 0,
            })
            .collect()
    }

    /// Time-averaged behaviour of provider `p` over the arrival window: its expected reliability
    /// (success probability of an attempt started at a uniformly random moment), and how its
    /// expected failures split between peak and off-peak time.
    pub fn intrinsic_stats(&self, p: usize) -> IntrinsicStats {
        let prof = &self.profiles[p];
        let first = (self.curve.start_ms / SLOT_MS) as usize;
        let last = ((self.curve.start_ms + self.curve.run_ms) / SLOT_MS) as usize;
        let (mut slots, mut peak_slots, mut fail, mut peak_fail, mut bad) =
            (0u64, 0u64, 0u64, 0u64, 0u64);
        for s in first..last.min(self.health[p].len()) {
            let f = match self.health[p][s] {
                Health::Good => u64::from(prof.fail_good_ppm),
                Health::Bad => {
                    bad += 1;
                    u64::from(prof.fail_bad_ppm)
                }
            };
            slots += 1;
            fail += f;
            if self.curve.is_peak(s as u64 * SLOT_MS + SLOT_MS / 2) {
                peak_slots += 1;
                peak_fail += f;
            }
        }
        let off_slots = slots - peak_slots;
        let div = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        IntrinsicStats {
            reliability: 1.0 - div(fail, slots * u64::from(PPM)),
            bad_time_share: div(bad, slots),
            peak_time_share: div(peak_slots, slots),
            peak_failure_share: div(peak_fail, fail),
            peak_failure_rate: div(peak_fail, peak_slots * u64::from(PPM)),
            off_peak_failure_rate: div(fail - peak_fail, off_slots * u64::from(PPM)),
        }
    }
}

/// Failure-class mix in the Good state (parts per million of failures): mostly provider errors
/// and timeouts, a noticeable share of validation failures, rare terminal rejections.
const GOOD_FAILURES: &[(OutcomeClass, u32)] = &[
    (OutcomeClass::ProviderError, 420_000),
    (OutcomeClass::Timeout, 250_000),
    (OutcomeClass::Overloaded, 150_000),
    (OutcomeClass::ValidationFailed, 160_000),
    (OutcomeClass::RejectedTerminal, 20_000),
];

/// Failure-class mix in the Bad state: congestion shows as overload and timeouts.
const BAD_FAILURES: &[(OutcomeClass, u32)] = &[
    (OutcomeClass::Overloaded, 350_000),
    (OutcomeClass::Timeout, 450_000),
    (OutcomeClass::ProviderError, 150_000),
    (OutcomeClass::ValidationFailed, 45_000),
    (OutcomeClass::RejectedTerminal, 5_000),
];

/// Expected behaviour of one provider over the arrival window (see [`Fleet::intrinsic_stats`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntrinsicStats {
    /// Expected success probability of an attempt at a uniformly random moment.
    pub reliability: f64,
    /// Share of time in the Bad state.
    pub bad_time_share: f64,
    /// Share of time at peak load.
    pub peak_time_share: f64,
    /// Share of the expected failures that fall at peak load.
    pub peak_failure_share: f64,
    /// Expected failure rate at peak load.
    pub peak_failure_rate: f64,
    /// Expected failure rate off peak.
    pub off_peak_failure_rate: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_curve_peaks_where_it_says() {
        let c = LoadCurve::for_run(600_000);
        assert_eq!(c.load_ppm(0), c.base_ppm);
        for p in &c.peaks {
            assert_eq!(c.load_ppm(p.center_ms), (c.base_ppm + p.height_ppm).min(PPM));
            assert!(c.is_peak(p.center_ms));
            assert!(!c.is_peak(p.center_ms + p.half_width_ms));
        }
    }

    #[test]
    fn attempts_are_keyed_by_request_provider_and_ordinal() {
        let f = Fleet::new(7, LoadCurve::for_run(60_000));
        let id = B256::repeat_byte(1);
        assert_eq!(f.attempt(0, &id, 0, 5_000), f.attempt(0, &id, 0, 5_000));
        let draws: Vec<Draw> = (0..50).map(|k| f.attempt(0, &id, k, 5_000)).collect();
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
        for d in draws {
            assert!(d.latency_ms <= f.profiles()[0].timeout_ms);
        }
    }

    #[test]
    fn first_bad_after_is_a_later_bad_slot() {
        let f = Fleet::new(3, LoadCurve::for_run(600_000));
        for t in (0..600_000).step_by(7_001) {
            if let Some(b) = f.first_bad_after(1, t) {
                assert!(b > t);
                assert_eq!(f.health(1, b), Health::Bad);
                assert!((t / SLOT_MS + 1..b / SLOT_MS)
                    .all(|s| f.health(1, s * SLOT_MS) == Health::Good));
            }
        }
    }
}
