//! The request stream: ids and deadlines from the fleet seed, arrival times from a deterministic
//! demand curve plus jitter from the timing seed.

use crate::fleet::{derive_seed, LoadCurve, SLOT_MS};
use alloy_primitives::{keccak256, B256};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mean logical spacing of arrivals: the arrival window is `requests × this` long.
pub const MEAN_INTERARRIVAL_MS: u64 = 60;

/// Arrival jitter from the timing seed: uniform in `±` this many milliseconds.
pub const ARRIVAL_JITTER_MS: u64 = 1_000;

/// Shortest deadline window (deadline − submit).
pub const DEADLINE_MIN_MS: u64 = 8_000;

/// Longest deadline window.
pub const DEADLINE_MAX_MS: u64 = 10_000;

/// Weight of the constant part of the arrival density; the load adds up to one million more, so
/// the top of a peak sees about 3.5 times the arrival rate of a quiet moment.
pub const ARRIVAL_BASE_WEIGHT_PPM: u64 = 200_000;

/// One request of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRequest {
    /// Position in the stream (stable across timing seeds).
    pub index: usize,
    /// Request id: a function of the fleet seed and the index only.
    pub id: B256,
    /// Logical submission time (nominal arrival plus timing jitter).
    pub submit_ms: u64,
    /// Logical absolute deadline.
    pub deadline_ms: u64,
    /// Whether the request arrived at peak load.
    pub at_peak: bool,
}

/// The whole stream for one (fleet seed, timing seed) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// The fleet seed.
    pub fleet_seed: u64,
    /// The timing seed.
    pub timing_seed: u64,
    /// Requests in index order.
    pub requests: Vec<SimRequest>,
}

/// The id of request `index` under `fleet_seed`.
pub fn request_id(fleet_seed: u64, index: usize) -> B256 {
    let mut buf = Vec::with_capacity(40);
    buf.extend_from_slice(b"routing-sim/request");
    buf.extend_from_slice(&fleet_seed.to_be_bytes());
    buf.extend_from_slice(&(index as u64).to_be_bytes());
    keccak256(&buf)
}

/// Length of the arrival window for `requests` requests.
pub fn run_ms(requests: usize) -> u64 {
    (requests as u64 * MEAN_INTERARRIVAL_MS).max(SLOT_MS)
}

impl Workload {
    /// Generates `n` requests. Nominal arrival `i` sits at quantile `(i + ½) / n` of the arrival
    /// density (`ARRIVAL_BASE_WEIGHT_PPM` + load), so demand rises at the load peaks; the timing
    /// seed adds uniform jitter of ±[`ARRIVAL_JITTER_MS`]. Ids and deadline windows depend on the
    /// fleet seed only.
    pub fn generate(n: usize, fleet_seed: u64, timing_seed: u64, curve: &LoadCurve) -> Self {
        let slots = (curve.run_ms / SLOT_MS).max(1) as usize;
        let weights: Vec<u64> = (0..slots)
            .map(|s| {
                ARRIVAL_BASE_WEIGHT_PPM
                    + u64::from(curve.load_ppm(curve.start_ms + s as u64 * SLOT_MS + SLOT_MS / 2))
            })
            .collect();
        let mut cumulative = Vec::with_capacity(slots + 1);
        cumulative.push(0u64);
        for w in &weights {
            cumulative.push(cumulative.last().copied().unwrap_or(0) + w);
        }
        let total = *cumulative.last().expect("at least one slot");
        let mut deadline_rng = ChaCha8Rng::from_seed(derive_seed(
            "routing-sim/workload/deadline",
            &[&fleet_seed.to_be_bytes()],
        ));
        let mut timing_rng = ChaCha8Rng::from_seed(derive_seed(
            "routing-sim/workload/timing",
            &[&timing_seed.to_be_bytes()],
        ));
        let requests = (0..n)
            .map(|index| {
                let target = (u128::from(total) * (2 * index as u128 + 1) / (2 * n as u128)) as u64;
                // The slot whose cumulative range holds `target`.
                let s =
                    cumulative.partition_point(|&c| c <= target).saturating_sub(1).min(slots - 1);
                let within = (target - cumulative[s]) * SLOT_MS / weights[s];
                let nominal = curve.start_ms + s as u64 * SLOT_MS + within;
                let jitter = timing_rng.random_range(0..=2 * ARRIVAL_JITTER_MS);
                let submit_ms = (nominal + jitter).saturating_sub(ARRIVAL_JITTER_MS);
                let window = deadline_rng.random_range(DEADLINE_MIN_MS..=DEADLINE_MAX_MS);
                SimRequest {
                    index,
                    id: request_id(fleet_seed, index),
                    submit_ms,
                    deadline_ms: submit_ms + window,
                    at_peak: curve.is_peak(submit_ms),
                }
            })
            .collect();
        Self { fleet_seed, timing_seed, requests }
    }

    /// Request indices in arrival order: by submit time, ties by index.
    pub fn arrival_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.requests.len()).collect();
        order.sort_by_key(|&i| (self.requests[i].submit_ms, i));
        order
    }
}
