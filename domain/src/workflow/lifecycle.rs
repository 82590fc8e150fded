//! Workflow lifecycle: which status changes are legal.

use std::fmt;

use crate::{Reason, ValidationErrors};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleStatus {
    /// Found by search.
    Active,
    /// Temporarily out of search (who, why and when are recorded); can be enabled again.
    Disabled,
    /// Still usable, but a newer approach exists; out of default search.
    Deprecated,
    /// Kept for history only. Terminal.
    Archived,
}

/// A status change the lifecycle forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a workflow cannot go from {from} to {to}{}", if *.from == LifecycleStatus::Archived { " (archived is terminal)" } else { "" })]
pub struct TransitionError {
    pub from: LifecycleStatus,
    pub to: LifecycleStatus,
}

impl LifecycleStatus {
    pub const fn as_str(&self) -> &'static str {
        match self {
            LifecycleStatus::Active => "active",
            LifecycleStatus::Disabled => "disabled",
            LifecycleStatus::Deprecated => "deprecated",
            LifecycleStatus::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ValidationErrors> {
        match value {
            "active" => Ok(LifecycleStatus::Active),
            "disabled" => Ok(LifecycleStatus::Disabled),
            "deprecated" => Ok(LifecycleStatus::Deprecated),
            "archived" => Ok(LifecycleStatus::Archived),
            other => Err(ValidationErrors::single_because(
                "status",
                Reason::UnknownValue,
                format!(
                    "unknown value {other:?}; expected one of: active, disabled, deprecated, archived"
                ),
            )),
        }
    }

    pub const fn is_terminal(&self) -> bool {
        matches!(self, LifecycleStatus::Archived)
    }

    /// The lifecycle as a function. Staying in the same status is allowed (a no-op), except
    /// that nothing leaves `archived`.
    pub fn transition(self, to: LifecycleStatus) -> Result<LifecycleStatus, TransitionError> {
        use LifecycleStatus::*;
        let legal = match (self, to) {
            (Archived, Archived) => true,
            (Archived, _) => false,
            (from, to) if from == to => true,
            (Active | Disabled | Deprecated, _) => true,
        };
        if legal {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for LifecycleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::LifecycleStatus::*;

    #[test]
    fn archived_is_terminal_and_everything_else_moves_freely() {
        for from in [Active, Disabled, Deprecated] {
            for to in [Active, Disabled, Deprecated, Archived] {
                assert_eq!(from.transition(to), Ok(to), "{from} -> {to}");
            }
        }
        for to in [Active, Disabled, Deprecated] {
            assert!(Archived.transition(to).is_err());
        }
        assert!(Archived.is_terminal() && !Active.is_terminal());
        assert!(
            Archived
                .transition(Active)
                .unwrap_err()
                .to_string()
                .contains("terminal")
        );
    }
}
