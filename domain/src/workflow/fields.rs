//! Identity of a workflow version: its id, its name and its semantic version.

use std::cmp::Ordering;
use std::fmt;

use uuid::Uuid;

use crate::{Reason, ValidationErrors};

/// Primary key of one workflow version (UUIDv7 when the server assigns it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkflowId(Uuid);

impl WorkflowId {
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
        Uuid::parse_str(value).map(Self).map_err(|_| {
            ValidationErrors::single_because("workflow_id", Reason::WrongType, "must be a UUID")
        })
    }

    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The name that groups a workflow's versions: 1 to 255 characters of letters, digits,
/// `.`, `_` and `-`, starting with a letter or digit (it appears in URL paths).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkflowName(String);

impl WorkflowName {
    pub fn parse(value: impl Into<String>) -> Result<Self, ValidationErrors> {
        let value = value.into();
        let ok_chars = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let ok_start = value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if value.is_empty() || value.len() > 255 || !ok_chars || !ok_start {
            return Err(ValidationErrors::single(
                "workflow_name",
                "must be 1 to 255 characters of letters, digits, '.', '_' or '-', starting \
                 with a letter or digit",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkflowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A semantic version (semver 2.0), with an optional leading `v` kept for display.
/// Ordered and compared by semver precedence: `1.10.0 > 1.9.0`, `2.0.0-alpha < 2.0.0`, and
/// `v1.0.0` equals `1.0.0` (build metadata does not count either).
#[derive(Debug, Clone)]
pub struct WorkflowVersion {
    display: String,
    semver: semver::Version,
}

impl WorkflowVersion {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
        let invalid = |why: &str| {
            ValidationErrors::single_because(
                "version",
                Reason::WrongType,
                format!(
                    "must be a semantic version MAJOR.MINOR.PATCH with an optional leading 'v', \
                     e.g. 1.2.3, v1.2.3 or 2.0.0-alpha.1 ({why}; got {value:?})"
                ),
            )
        };
        if value.len() > Self::MAX_CHARS {
            return Err(invalid("too long"));
        }
        let bare = value.strip_prefix('v').unwrap_or(value);
        let semver = semver::Version::parse(bare).map_err(|e| invalid(&e.to_string()))?;
        Ok(Self {
            display: value.to_owned(),
            semver,
        })
    }

    /// As the client wrote it (`v1.2.3` stays `v1.2.3`).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The comparison key: no `v`, no build metadata. Equal keys are the same version.
    pub fn normalized(&self) -> String {
        let mut v = self.semver.clone();
        v.build = semver::BuildMetadata::EMPTY;
        v.to_string()
    }

    pub fn semver(&self) -> &semver::Version {
        &self.semver
    }
}

impl PartialEq for WorkflowVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for WorkflowVersion {}

impl PartialOrd for WorkflowVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for WorkflowVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.semver.cmp_precedence(&other.semver)
    }
}

impl fmt::Display for WorkflowVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> WorkflowVersion {
        WorkflowVersion::parse(s).unwrap()
    }

    #[test]
    fn versions_parse_with_or_without_v() {
        assert_eq!(v("v1.2.3"), v("1.2.3"));
        assert_eq!(v("v1.2.3").as_str(), "v1.2.3");
        assert_eq!(v("1.0.0+build.5").normalized(), "1.0.0");
    }

    #[test]
    fn malformed_versions_are_rejected_with_the_rule() {
        for bad in ["1.0", "vv1.0.0", "abc", "", "1.0.0.0", "01.0.0", "v"] {
            let err = WorkflowVersion::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("MAJOR.MINOR.PATCH"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn precedence_is_semver() {
        assert!(v("1.10.0") > v("1.9.0"));
        assert!(v("2.0.0-alpha") < v("2.0.0"));
        assert!(v("2.0.0-alpha") < v("2.0.0-alpha.1"));
        assert!(v("2.0.0-alpha.2") < v("2.0.0-alpha.10"));
        assert!(v("2.0.0-beta") > v("2.0.0-alpha.10"));
    }

    #[test]
    fn names_are_path_safe() {
        assert!(WorkflowName::parse("oom-kill.restart_v2").is_ok());
        for bad in ["", "-x", "a/b", "a b", "ü"] {
            assert!(WorkflowName::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn ordering_matches_numeric_triples(a in (0u64..50, 0u64..50, 0u64..50), b in (0u64..50, 0u64..50, 0u64..50)) {
            let va = v(&format!("{}.{}.{}", a.0, a.1, a.2));
            let vb = v(&format!("v{}.{}.{}", b.0, b.1, b.2));
            prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
        }
    }
}
