//! Reproduces the seeds' routing experiment in logical time: a fleet of providers whose failures
//! cluster at load peaks, a naive timing-driven router, and the sequenced deterministic policy of
//! `routing-policy`, measured side by side under two timing seeds.
//!
//! - [`fleet`]: load curve and Gilbert–Elliott providers (fleet seed).
//! - [`workload`]: request ids, deadlines (fleet seed) and arrival times (timing seed).
//! - [`naive`]: the baseline router, a discrete-event simulation.
//! - [`sequenced`]: [`routing_policy::route`] in batches of 1,200 with [`routing_policy::Registry::next`].
//! - [`metrics`], [`experiment`], [`report`]: what is measured and how it is shown.
//!
//! No wall clock is read anywhere; the same configuration gives the same report, byte for byte.
//!
//! ```
//! let report = routing_sim::experiment::run(&routing_sim::experiment::Config {
//!     requests: 300,
//!     ..Default::default()
//! })
//! .unwrap();
//! assert!(report.runs.iter().all(|r| r.check_violations == 0));
//! ```

pub mod experiment;
pub mod fleet;
pub mod metrics;
pub mod naive;
pub mod report;
pub mod sequenced;
pub mod trace;
pub mod workload;

pub use experiment::{run, Config, Report, Router};
