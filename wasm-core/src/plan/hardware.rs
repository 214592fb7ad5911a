//! Hardware tier from etcd's hardware guide ("Hardware recommendations",
//! <https://etcd.io/docs/v3.6/op-guide/hardware/>, section "Example hardware
//! configurations"), and its disk rules.
//!
//! The guide sizes by clients served, requests per second and data stored:
//! small < 100 clients, < 200 requests/s, ≤ 100 MB; medium < 500, < 1 000,
//! ≤ 500 MB; large < 1 500, < 10 000, ≤ 1 GB; xLarge beyond. A load falls in
//! the smallest tier whose every given bound it meets (an unknown quantity
//! does not count). The guide writes MB and GB: read here as 10^6 and 10^9
//! bytes. Its machines are AWS m4 and GCE n1 examples "totally dedicated to
//! etcd"; both are listed, the AWS one as the headline figures.
//!
//! Disk rules beside the tiers: 50 sequential IOPS at least, 500 for heavily
//! loaded clusters (hardware guide, "Disks"); WAL fsync p99 under 10 ms and
//! backend commit p99 under 25 ms ([`super::rules`]).

use serde::Serialize;

use super::rules;

pub const SOURCE: &str =
    "etcd hardware guide (Hardware recommendations: Example hardware configurations, Disks)";

/// A tier of the guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Small,
    Medium,
    Large,
    Xlarge,
}

impl Tier {
    /// The name as in the JSON: `small`, `medium`, `large`, `xlarge`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Small => "small",
            Tier::Medium => "medium",
            Tier::Large => "large",
            Tier::Xlarge => "xlarge",
        }
    }
}

/// One example machine of the guide's table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Machine {
    pub provider: &'static str,
    pub instance_type: &'static str,
    pub vcpus: u32,
    pub memory_gb: f64,
    pub max_concurrent_iops: u32,
    pub disk_bandwidth_mb_per_s: f64,
}

/// A tier's bounds (exclusive for clients and requests, inclusive for data,
/// as the guide words them) and its example machines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TierSpec {
    pub tier: Tier,
    /// `None`: no upper bound (xLarge).
    pub clients_below: Option<u64>,
    pub requests_per_second_below: Option<u64>,
    pub data_bytes_at_most: Option<u64>,
    pub example_workload: &'static str,
    pub aws: Machine,
    pub gce: Machine,
}

const MB: u64 = 1_000_000;

/// The guide's four tables.
pub const TIERS: [TierSpec; 4] = [
    TierSpec {
        tier: Tier::Small,
        clients_below: Some(100),
        requests_per_second_below: Some(200),
        data_bytes_at_most: Some(100 * MB),
        example_workload: "a 50-node Kubernetes cluster",
        aws: Machine {
            provider: "AWS",
            instance_type: "m4.large",
            vcpus: 2,
            memory_gb: 8.0,
            max_concurrent_iops: 3600,
            disk_bandwidth_mb_per_s: 56.25,
        },
        gce: Machine {
            provider: "GCE",
            instance_type: "n1-standard-2 + 50GB PD SSD",
            vcpus: 2,
            memory_gb: 7.5,
            max_concurrent_iops: 1500,
            disk_bandwidth_mb_per_s: 25.0,
        },
    },
    TierSpec {
        tier: Tier::Medium,
        clients_below: Some(500),
        requests_per_second_below: Some(1000),
        data_bytes_at_most: Some(500 * MB),
        example_workload: "a 250-node Kubernetes cluster",
        aws: Machine {
            provider: "AWS",
            instance_type: "m4.xlarge",
            vcpus: 4,
            memory_gb: 16.0,
            max_concurrent_iops: 6000,
            disk_bandwidth_mb_per_s: 93.75,
        },
        gce: Machine {
            provider: "GCE",
            instance_type: "n1-standard-4 + 150GB PD SSD",
            vcpus: 4,
            memory_gb: 15.0,
            max_concurrent_iops: 4500,
            disk_bandwidth_mb_per_s: 75.0,
        },
    },
    TierSpec {
        tier: Tier::Large,
        clients_below: Some(1500),
        requests_per_second_below: Some(10_000),
        data_bytes_at_most: Some(1000 * MB),
        example_workload: "a 1,000-node Kubernetes cluster",
        aws: Machine {
            provider: "AWS",
            instance_type: "m4.2xlarge",
            vcpus: 8,
            memory_gb: 32.0,
            max_concurrent_iops: 8000,
            disk_bandwidth_mb_per_s: 125.0,
        },
        gce: Machine {
            provider: "GCE",
            instance_type: "n1-standard-8 + 250GB PD SSD",
            vcpus: 8,
            memory_gb: 30.0,
            max_concurrent_iops: 7500,
            disk_bandwidth_mb_per_s: 125.0,
        },
    },
    TierSpec {
        tier: Tier::Xlarge,
        clients_below: None,
        requests_per_second_below: None,
        data_bytes_at_most: None,
        example_workload: "a 3,000-node Kubernetes cluster",
        aws: Machine {
            provider: "AWS",
            instance_type: "m4.4xlarge",
            vcpus: 16,
            memory_gb: 64.0,
            max_concurrent_iops: 16_000,
            disk_bandwidth_mb_per_s: 250.0,
        },
        gce: Machine {
            provider: "GCE",
            instance_type: "n1-standard-16 + 500GB PD SSD",
            vcpus: 16,
            memory_gb: 60.0,
            max_concurrent_iops: 15_000,
            disk_bandwidth_mb_per_s: 250.0,
        },
    },
];

/// What the cluster serves; any part may be unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Load {
    pub clients: Option<u64>,
    pub requests_per_second: Option<u64>,
    pub data_bytes: Option<u64>,
}

/// The tier and what it asks of each member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hardware {
    pub tier: Tier,
    /// Which inputs decided it (`clients`, `requests_per_second`, `data_bytes`).
    pub based_on: Vec<&'static str>,
    pub load: Load,
    pub vcpus: u32,
    pub memory_gb: f64,
    pub max_concurrent_iops: u32,
    pub disk_bandwidth_mb_per_s: f64,
    pub example_workload: &'static str,
    pub machines: [Machine; 2],
    pub sequential_iops_min: u32,
    pub sequential_iops_heavy_load: u32,
    pub wal_fsync_p99_max_ms: f64,
    pub backend_commit_p99_max_ms: f64,
    pub source: &'static str,
}

fn fits(spec: &TierSpec, load: &Load) -> bool {
    let below = |v: Option<u64>, bound: Option<u64>| match (v, bound) {
        (Some(v), Some(b)) => v < b,
        _ => true,
    };
    let at_most = |v: Option<u64>, bound: Option<u64>| match (v, bound) {
        (Some(v), Some(b)) => v <= b,
        _ => true,
    };
    below(load.clients, spec.clients_below)
        && below(load.requests_per_second, spec.requests_per_second_below)
        && at_most(load.data_bytes, spec.data_bytes_at_most)
}

/// The tier for a load; `None` when nothing about the load is known.
pub fn tier_for(load: &Load) -> Option<Hardware> {
    let based_on: Vec<&'static str> = [
        ("clients", load.clients.is_some()),
        ("requests_per_second", load.requests_per_second.is_some()),
        ("data_bytes", load.data_bytes.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, known)| known.then_some(n))
    .collect();
    if based_on.is_empty() {
        return None;
    }
    // xLarge has no bounds, so some tier always fits.
    let spec = TIERS.iter().find(|s| fits(s, load)).unwrap_or(&TIERS[3]);
    Some(Hardware {
        tier: spec.tier,
        based_on,
        load: *load,
        vcpus: spec.aws.vcpus,
        memory_gb: spec.aws.memory_gb,
        max_concurrent_iops: spec.aws.max_concurrent_iops,
        disk_bandwidth_mb_per_s: spec.aws.disk_bandwidth_mb_per_s,
        example_workload: spec.example_workload,
        machines: [spec.aws, spec.gce],
        sequential_iops_min: 50,
        sequential_iops_heavy_load: 500,
        wal_fsync_p99_max_ms: rules::WAL_FSYNC_P99_MAX_MS,
        backend_commit_p99_max_ms: rules::BACKEND_COMMIT_P99_MAX_MS,
        source: SOURCE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(clients: Option<u64>, rps: Option<u64>, data: Option<u64>) -> Option<Tier> {
        tier_for(&Load {
            clients,
            requests_per_second: rps,
            data_bytes: data,
        })
        .map(|h| h.tier)
    }

    /// The guide's bounds, each side of each edge.
    #[test]
    fn the_guides_tiers() {
        assert_eq!(tier(None, None, None), None);
        assert_eq!(tier(Some(99), Some(199), Some(100 * MB)), Some(Tier::Small));
        assert_eq!(tier(Some(100), None, None), Some(Tier::Medium));
        assert_eq!(tier(None, Some(200), None), Some(Tier::Medium));
        assert_eq!(tier(None, None, Some(100 * MB + 1)), Some(Tier::Medium));
        assert_eq!(
            tier(Some(499), Some(999), Some(500 * MB)),
            Some(Tier::Medium)
        );
        assert_eq!(tier(Some(500), None, None), Some(Tier::Large));
        assert_eq!(
            tier(Some(1499), Some(9999), Some(1000 * MB)),
            Some(Tier::Large)
        );
        assert_eq!(tier(Some(1500), None, None), Some(Tier::Xlarge));
        assert_eq!(tier(None, Some(10_000), None), Some(Tier::Xlarge));
        assert_eq!(tier(None, None, Some(1000 * MB + 1)), Some(Tier::Xlarge));
        // The largest of the three decides.
        assert_eq!(tier(Some(10), Some(5000), Some(MB)), Some(Tier::Large));
    }

    #[test]
    fn machines_are_the_guides() {
        let h = tier_for(&Load {
            clients: Some(50),
            ..Load::default()
        })
        .unwrap();
        assert_eq!(
            (h.vcpus, h.memory_gb, h.max_concurrent_iops),
            (2, 8.0, 3600)
        );
        assert_eq!(h.disk_bandwidth_mb_per_s, 56.25);
        assert_eq!(h.machines[1].memory_gb, 7.5);
        assert_eq!(h.based_on, ["clients"]);
        assert_eq!(serde_json::to_value(h.tier).unwrap(), h.tier.name());
        let x = TIERS[3];
        assert_eq!(
            (x.aws.vcpus, x.aws.memory_gb, x.aws.max_concurrent_iops),
            (16, 64.0, 16_000)
        );
        assert_eq!(
            (h.wal_fsync_p99_max_ms, h.backend_commit_p99_max_ms),
            (10.0, 25.0)
        );
    }
}
