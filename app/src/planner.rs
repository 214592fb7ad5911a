//! The Planner tab's inputs, as the user typed them, and their home in the
//! URL (`#/planner?members=5&zones=a%3D2%2Cb%3D2%2Cc%3D1&rtt=50`), so a plan
//! is shared as a link. Pure: parsed and printed natively in tests; the rules
//! themselves are the core's (`etcd_lens_core::plan`), called as they are.
//!
//! Every field keeps the text typed (a half-typed `a=2,b` stays in the box
//! and the plan says what is wrong with it); only fields that differ from an
//! empty form are written to the URL.

use etcd_lens_core::plan::assemble::LiveFacts;
use etcd_lens_core::plan::availability::Rates;
use etcd_lens_core::plan::domains;
use etcd_lens_core::plan::headroom::{self, HeadroomInputs, SnapshotFacts};
use etcd_lens_core::plan::rules::DEFAULT_QUOTA_BYTES;
use etcd_lens_core::plan::upgrade::{self, TrailerState};
use etcd_lens_core::plan::{Plan, PlanInput, plan};

/// One input of the form: its URL name and label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Members,
    Learners,
    Zones,
    RttMs,
    Clients,
    Rps,
    QuotaBytes,
    DiskMbPerS,
    NetworkMbPerS,
    MemberFailuresPerYear,
    MemberRepairHours,
    ZoneOutagesPerYear,
    ZoneOutageHours,
    EtcdVersion,
    UpgradeTo,
}

impl Field {
    pub const ALL: [Field; 15] = [
        Field::Members,
        Field::Learners,
        Field::Zones,
        Field::RttMs,
        Field::Clients,
        Field::Rps,
        Field::QuotaBytes,
        Field::DiskMbPerS,
        Field::NetworkMbPerS,
        Field::MemberFailuresPerYear,
        Field::MemberRepairHours,
        Field::ZoneOutagesPerYear,
        Field::ZoneOutageHours,
        Field::EtcdVersion,
        Field::UpgradeTo,
    ];

    /// The URL parameter (the CLI flag's name without `--`, where there is one).
    pub fn name(self) -> &'static str {
        match self {
            Field::Members => "members",
            Field::Learners => "learners",
            Field::Zones => "zones",
            Field::RttMs => "rtt-ms",
            Field::Clients => "clients",
            Field::Rps => "rps",
            Field::QuotaBytes => "quota-bytes",
            Field::DiskMbPerS => "disk-mb-per-s",
            Field::NetworkMbPerS => "network-mb-per-s",
            Field::MemberFailuresPerYear => "member-failures-per-year",
            Field::MemberRepairHours => "member-repair-hours",
            Field::ZoneOutagesPerYear => "zone-outages-per-year",
            Field::ZoneOutageHours => "zone-outage-hours",
            Field::EtcdVersion => "etcd-version",
            Field::UpgradeTo => "upgrade-to",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::Members => "Voting members",
            Field::Learners => "Learners",
            Field::Zones => "Members per zone",
            Field::RttMs => "Round trip between members (ms)",
            Field::Clients => "Clients",
            Field::Rps => "Requests per second",
            Field::QuotaBytes => "Quota (bytes)",
            Field::DiskMbPerS => "Disk throughput (MB/s)",
            Field::NetworkMbPerS => "Network bandwidth (MB/s)",
            Field::MemberFailuresPerYear => "Member failures per year",
            Field::MemberRepairHours => "Hours to repair a member",
            Field::ZoneOutagesPerYear => "Zone outages per year",
            Field::ZoneOutageHours => "Hours a zone outage lasts",
            Field::EtcdVersion => "Running etcd version",
            Field::UpgradeTo => "Upgrade to (minor)",
        }
    }

    /// What an empty box means, shown as its placeholder.
    pub fn placeholder(self) -> String {
        let r = Rates::default();
        let h = HeadroomInputs::default();
        match self {
            Field::Members => "sum of the zones, else 3".into(),
            Field::Learners => "0".into(),
            Field::Zones => "e.g. a=2,b=2,c=1".into(),
            Field::RttMs => "e.g. 2".into(),
            Field::Clients | Field::Rps => "e.g. 500".into(),
            Field::QuotaBytes => DEFAULT_QUOTA_BYTES.to_string(),
            Field::DiskMbPerS => (h.disk_bytes_per_second / 1e6).to_string(),
            Field::NetworkMbPerS => (h.network_bytes_per_second / 1e6).to_string(),
            Field::MemberFailuresPerYear => r.member_failures_per_year.to_string(),
            Field::MemberRepairHours => r.member_repair_hours.to_string(),
            Field::ZoneOutagesPerYear => r.zone_outages_per_year.to_string(),
            Field::ZoneOutageHours => r.zone_outage_hours.to_string(),
            Field::EtcdVersion => "e.g. 3.5.21".into(),
            Field::UpgradeTo => "e.g. 3.6".into(),
        }
    }

    fn index(self) -> usize {
        Field::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// The form: each field's text, and whether to use the open snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannerForm {
    values: [String; 15],
    /// Read size, fragmentation and history from the file open in the tab.
    pub use_snapshot: bool,
    /// Fill members, version, quorum and alarms from the Live tab's cluster.
    pub use_live: bool,
}

/// URL name of the "use the open snapshot" switch.
const USE_SNAPSHOT: &str = "snapshot";
/// URL name of the "use the live cluster" switch.
const USE_LIVE: &str = "live";

impl PlannerForm {
    pub fn get(&self, f: Field) -> &str {
        &self.values[f.index()]
    }

    pub fn with(mut self, f: Field, value: &str) -> Self {
        self.values[f.index()] = value.to_string();
        self
    }

    /// From the part of the fragment after `#/planner?` (unknown names are ignored).
    pub fn parse(query: &str) -> Self {
        let mut form = Self::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k == USE_SNAPSHOT {
                form.use_snapshot = v == "1";
            } else if k == USE_LIVE {
                form.use_live = v == "1";
            } else if let Some(f) = Field::ALL.iter().find(|f| f.name() == k) {
                form.values[f.index()] = v.into_owned();
            }
        }
        form
    }

    /// The query the URL carries: only fields that are set.
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for f in Field::ALL {
            let v = self.get(f);
            if !v.is_empty() {
                q.append_pair(f.name(), v);
            }
        }
        if self.use_snapshot {
            q.append_pair(USE_SNAPSHOT, "1");
        }
        if self.use_live {
            q.append_pair(USE_LIVE, "1");
        }
        q.finish()
    }

    /// The core's input, or what is wrong with a field (named by its label).
    pub fn input(
        &self,
        open: Option<&OpenSnapshot>,
        live: Option<&LiveFacts>,
    ) -> Result<PlanInput, String> {
        let rates = Rates::default();
        let heads = HeadroomInputs::default();
        let mut input = PlanInput {
            members: self.number(Field::Members)?,
            learners: self.number(Field::Learners)?.unwrap_or(0),
            zones: match self.get(Field::Zones).trim() {
                "" => None,
                z => Some(
                    domains::parse_zones(z)
                        .map_err(|e| format!("{}: {e}", Field::Zones.label()))?,
                ),
            },
            rtt_ms: self.number(Field::RttMs)?,
            clients: self.number(Field::Clients)?,
            requests_per_second: self.number(Field::Rps)?,
            rates: Rates {
                member_failures_per_year: self
                    .number(Field::MemberFailuresPerYear)?
                    .unwrap_or(rates.member_failures_per_year),
                member_repair_hours: self
                    .number(Field::MemberRepairHours)?
                    .unwrap_or(rates.member_repair_hours),
                zone_outages_per_year: self
                    .number(Field::ZoneOutagesPerYear)?
                    .unwrap_or(rates.zone_outages_per_year),
                zone_outage_hours: self
                    .number(Field::ZoneOutageHours)?
                    .unwrap_or(rates.zone_outage_hours),
            },
            headroom: HeadroomInputs {
                quota_bytes: self.number(Field::QuotaBytes)?.unwrap_or(heads.quota_bytes),
                disk_bytes_per_second: self
                    .number::<f64>(Field::DiskMbPerS)?
                    .map_or(heads.disk_bytes_per_second, |v| v * 1e6),
                network_bytes_per_second: self
                    .number::<f64>(Field::NetworkMbPerS)?
                    .map_or(heads.network_bytes_per_second, |v| v * 1e6),
            },
            etcd_version: match self.get(Field::EtcdVersion).trim() {
                "" => None,
                v => Some(upgrade::parse_version(v).ok_or_else(|| {
                    format!(
                        "{}: {v:?} is not a version X.Y.Z",
                        Field::EtcdVersion.label()
                    )
                })?),
            },
            upgrade_to: match self.get(Field::UpgradeTo).trim() {
                "" => None,
                v => Some(upgrade::parse_minor(v).ok_or_else(|| {
                    format!(
                        "{}: {v:?} is not a minor version X.Y",
                        Field::UpgradeTo.label()
                    )
                })?),
            },
            ..PlanInput::default()
        };
        if self.use_snapshot
            && let Some(s) = open
        {
            input.snapshot = Some(s.facts.clone());
            input.snapshot_trailer = s.trailer;
        }
        if self.use_live {
            input.live = live.cloned();
        }
        Ok(input)
    }

    /// The plan, or why there is none.
    pub fn plan(
        &self,
        open: Option<&OpenSnapshot>,
        live: Option<&LiveFacts>,
    ) -> Result<Plan, String> {
        let input = self.input(open, live)?;
        plan(&input).map_err(|e| e.to_string())
    }

    fn number<T: std::str::FromStr>(&self, f: Field) -> Result<Option<T>, String> {
        match self.get(f).trim() {
            "" => Ok(None),
            v => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{}: {v:?} is not a number", f.label())),
        }
    }
}

/// What the open file gives the planner.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenSnapshot {
    pub name: String,
    pub facts: SnapshotFacts,
    pub trailer: Option<TrailerState>,
}

/// The snapshot's facts in the core's words, for the "use the open snapshot" label.
pub fn describe(s: &OpenSnapshot) -> String {
    format!(
        "{} ({}, revision {})",
        s.name,
        etcd_lens_core::units::human_bytes(s.facts.db_size_bytes),
        s.facts.current_revision
    )
}

/// The default model's restore estimate, in words (the same text the CLI documents).
pub const RESTORE_MODEL: &str = headroom::RESTORE_MODEL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_keeps_half_typed_text() {
        let form = PlannerForm::default()
            .with(Field::Members, "5")
            .with(Field::Zones, "a=2,b=2,c=1")
            .with(Field::RttMs, "50")
            .with(Field::EtcdVersion, "3.5.2");
        let q = form.query();
        assert_eq!(
            q,
            "members=5&zones=a%3D2%2Cb%3D2%2Cc%3D1&rtt-ms=50&etcd-version=3.5.2"
        );
        assert_eq!(PlannerForm::parse(&q), form);
        let half = PlannerForm::default().with(Field::Zones, "a=2,b");
        assert_eq!(PlannerForm::parse(&half.query()), half);
        let snap = PlannerForm {
            use_snapshot: true,
            ..PlannerForm::default()
        };
        assert_eq!(snap.query(), "snapshot=1");
        assert_eq!(PlannerForm::parse("snapshot=1&bogus=3"), snap);
        assert_eq!(PlannerForm::default().query(), "");
    }

    #[test]
    fn the_form_feeds_the_cores_plan() {
        // 3 members in 2 zones does not survive a zone loss; 2/2/1 does.
        let two = PlannerForm::default().with(Field::Zones, "a=2,b=1");
        let p = two.plan(None, None).unwrap();
        assert_eq!(p.quorum.members, 3);
        assert_eq!(p.survives_any_zone_loss, Some(false));
        assert!(
            p.warnings
                .iter()
                .any(|w| w.code.as_str() == "zone-loss-loses-quorum")
        );
        let three = PlannerForm::default().with(Field::Zones, "a=2,b=2,c=1");
        let p = three.plan(None, None).unwrap();
        assert_eq!((p.quorum.members, p.quorum.majority), (5, 3));
        assert_eq!(p.survives_any_zone_loss, Some(true));
        let t = PlannerForm::default()
            .with(Field::RttMs, "50")
            .plan(None, None)
            .unwrap()
            .timing
            .unwrap();
        assert!(t.election_timeout_ms >= 500 && t.election_timeout_ms <= 50_000);
        assert!(t.election_timeout_ms >= 5 * t.heartbeat_ms);
    }

    #[test]
    fn bad_fields_are_named() {
        let e = PlannerForm::default()
            .with(Field::RttMs, "fast")
            .plan(None, None)
            .unwrap_err();
        assert_eq!(
            e,
            "Round trip between members (ms): \"fast\" is not a number"
        );
        let e = PlannerForm::default()
            .with(Field::Zones, "a=2,b")
            .plan(None, None)
            .unwrap_err();
        assert!(e.starts_with("Members per zone: zone 2 (\"b\")"), "{e}");
        let e = PlannerForm::default()
            .with(Field::Members, "4")
            .with(Field::Zones, "a=1,b=1,c=1")
            .plan(None, None)
            .unwrap_err();
        assert!(e.contains("disagrees"), "{e}");
    }

    #[test]
    fn the_snapshot_is_used_only_when_asked() {
        let facts = SnapshotFacts {
            page_size: 4096,
            db_size_bytes: 4096 * 1000,
            in_use_pages: 400,
            free_pages: 600,
            unreachable_pages: 0,
            key_revisions: 50,
            current_revision: 90,
            compacted_revision: 40,
            check_problems: 0,
            alarms: vec![],
            cluster_version: Some("3.5.0".into()),
            storage_version: None,
        };
        let open = OpenSnapshot {
            name: "s.db".into(),
            facts,
            trailer: Some(TrailerState::Verified),
        };
        assert!(
            PlannerForm::default()
                .plan(Some(&open), None)
                .unwrap()
                .snapshot
                .is_none()
        );
        let form = PlannerForm {
            use_snapshot: true,
            ..PlannerForm::default()
        };
        let h = form.plan(Some(&open), None).unwrap().snapshot.unwrap();
        assert_eq!(h.db_size_bytes, 4096 * 1000);
        assert_eq!(h.revisions_retained, 50);
        assert_eq!(h.reclaimable_bytes, 600 * 4096);
    }

    #[test]
    fn the_live_cluster_is_used_only_when_asked() {
        let live = LiveFacts {
            cluster: "prod".into(),
            voting_members: 5,
            ..LiveFacts::default()
        };
        assert_eq!(
            PlannerForm::default()
                .plan(None, Some(&live))
                .unwrap()
                .quorum
                .members,
            3
        );
        let form = PlannerForm {
            use_live: true,
            ..PlannerForm::default()
        };
        assert_eq!(form.query(), "live=1");
        assert_eq!(PlannerForm::parse("live=1"), form);
        assert_eq!(form.plan(None, Some(&live)).unwrap().quorum.members, 5);
    }
}
