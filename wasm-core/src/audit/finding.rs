//! One finding, and what it may say: the etcd key and the object it holds, the
//! provider and key it is stored with, and [`Details`] — a Secret's type and
//! data key names, a credential's masked form, a page — never a value.
//!
//! The rule families build findings with the constructors here
//! ([`Finding::object`], [`Finding::unkeyed`], [`Finding::snapshot`], then
//! `with_…`), so the fields a rule does not set stay empty in one place.

use serde::Serialize;

use super::credentials::CredentialHit;
use super::encryption::KeyId;
use super::rule::{Rule, Severity};
use crate::bolt::PageId;
use crate::k8s::{DecodedObject, KeyInfo, Provider};

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("rule", self.rule.id())?;
        m.serialize_entry("severity", &self.severity)?;
        m.serialize_entry("key", &self.key)?;
        m.serialize_entry("resource", &self.resource)?;
        m.serialize_entry("namespace", &self.namespace)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("revision", &self.revision)?;
        m.serialize_entry("provider", &self.provider)?;
        m.serialize_entry("key_name", &self.key_name)?;
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("details", &self.details)?;
        m.end()
    }
}

/// One finding. The JSON export has exactly the ten fields; `details`
/// carries what the page shows besides (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// The etcd key (lossy UTF-8); `None` for snapshot-wide findings and raw page hits.
    pub key: Option<String>,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The revision the finding is about (the value's mod revision).
    pub revision: Option<i64>,
    /// The encryption provider (`aescbc`, `kms:v2`, …; `identity` for plaintext).
    pub provider: Option<String>,
    /// The key name (or KMS plugin name, with ` keyID …` for KMS v2).
    pub key_name: Option<String>,
    pub message: String,
    pub details: Details,
}

/// Extra facts of a finding, by rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_value: Option<String>,
}

impl Finding {
    /// A finding about the snapshot as a whole: no key, no object.
    pub(super) fn snapshot(rule: Rule, message: String) -> Self {
        Self {
            rule,
            severity: rule.severity(),
            key: None,
            resource: None,
            namespace: None,
            name: None,
            revision: None,
            provider: None,
            key_name: None,
            message,
            details: Details::default(),
        }
    }

    /// A finding about one etcd key, named as the object its path (and value) say it is.
    pub(super) fn object(
        rule: Rule,
        key: &[u8],
        info: &KeyInfo,
        revision: Option<i64>,
        message: String,
    ) -> Self {
        Self {
            key: Some(String::from_utf8_lossy(key).into_owned()),
            resource: Some(info.qualified_resource()),
            namespace: info.namespace.clone(),
            name: info.name.clone(),
            revision,
            ..Self::snapshot(rule, message)
        }
    }

    /// A finding about bytes of `resource` whose key is not known (a raw page hit).
    pub(super) fn unkeyed(rule: Rule, resource: &str, message: String) -> Self {
        Self {
            resource: Some(resource.to_string()),
            ..Self::snapshot(rule, message)
        }
    }

    /// Stored with `provider` ([`Provider::Identity`] for plaintext).
    pub(super) fn with_provider(mut self, provider: &Provider) -> Self {
        self.provider = Some(provider.as_str().to_string());
        self
    }

    /// Encrypted under `key`: its provider and key name.
    pub(super) fn with_key(mut self, key: &KeyId) -> Self {
        self.provider = Some(key.provider.clone());
        self.key_name = Some(key.key_name_with_id());
        self
    }

    pub(super) fn with_details(mut self, details: Details) -> Self {
        self.details = details;
        self
    }
}

impl Details {
    /// A Secret's type and data key names.
    pub(super) fn secret(facts: SecretFacts) -> Self {
        Self {
            secret_type: facts.secret_type,
            data_keys: facts.data_keys,
            ..Self::default()
        }
    }

    /// Where a credential is, which pattern it matched, and its masked form.
    pub(super) fn credential(hit: CredentialHit) -> Self {
        Self {
            field_path: Some(hit.field_path),
            pattern: Some(hit.pattern.to_string()),
            masked_value: Some(hit.masked),
            ..Self::default()
        }
    }

    /// The revisions the finding is about.
    pub(super) fn at_revisions(mut self, revisions: Vec<i64>) -> Self {
        self.revisions = revisions;
        self
    }

    /// The page the bytes were found in.
    pub(super) fn on_page(mut self, page: PageId) -> Self {
        self.page = Some(page.0);
        self
    }
}

/// What a finding may tell of a decoded Secret: its `type` and data key names, never the values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SecretFacts {
    pub secret_type: Option<String>,
    /// Sorted.
    pub data_keys: Vec<String>,
}

impl SecretFacts {
    pub(super) fn of(obj: &DecodedObject) -> Self {
        let secret_type = obj
            .object
            .get("type")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(String::from);
        let mut data_keys: Vec<String> = obj
            .object
            .get("data")
            .and_then(|d| d.as_object())
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        data_keys.sort();
        Self {
            secret_type,
            data_keys,
        }
    }

    /// The `type`, `Opaque` when the Secret names none (as the API server defaults it).
    pub(super) fn type_or_opaque(&self) -> String {
        self.secret_type.clone().unwrap_or_else(|| "Opaque".into())
    }

    /// `type kubernetes.io/tls, data keys tls.crt, tls.key`, for a message.
    pub(super) fn describe(&self) -> String {
        let keys = if self.data_keys.is_empty() {
            "no data keys".to_string()
        } else {
            format!("data keys {}", self.data_keys.join(", "))
        };
        format!("type {}, {keys}", self.type_or_opaque())
    }
}

/// `namespace/name` (or `name`, or `?`) of the object a key holds, for a message.
pub(super) fn who(info: &KeyInfo) -> String {
    match (&info.namespace, &info.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => "?".into(),
    }
}

/// The deterministic order of findings.
pub fn sort_findings(f: &mut [Finding]) {
    f.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(&b.rule))
            .then_with(|| a.key.cmp(&b.key))
            .then(a.revision.cmp(&b.revision))
            .then(a.details.page.cmp(&b.details.page))
            .then_with(|| a.details.field_path.cmp(&b.details.field_path))
            .then_with(|| a.details.pattern.cmp(&b.details.pattern))
    });
}
