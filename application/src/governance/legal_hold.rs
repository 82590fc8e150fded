//! Use-cases: place, release and list legal holds.

use chrono::{DateTime, Utc};
use datastorage_domain::ValidationErrors;
use datastorage_domain::audit::*;
use serde_json::json;

use super::GovernanceService;
use crate::error::AuditError;
use crate::ports::{LegalHold, PlaceOutcome};

/// Most characters of a hold's reason or release reason.
const MAX_REASON: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldPlaced {
    pub hold: LegalHold,
    /// Events of the correlation stored when the hold was placed (later ones are held too).
    pub events_affected: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldReleased {
    pub correlation_id: CorrelationId,
    pub events_released: u64,
    pub released_by: String,
    pub released_at: DateTime<Utc>,
}

fn reason(field: &str, value: String) -> Result<String, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let text = errors.required_text(field, value, MAX_REASON);
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(errors)
    }
}

impl GovernanceService {
    async fn events_of(&self, correlation_id: &CorrelationId) -> Result<u64, AuditError> {
        let filter = AuditFilter {
            correlation_id: Some(correlation_id.clone()),
            ..AuditFilter::default()
        };
        let page = self
            .audit
            .repository()
            .query(&AuditQuery {
                filter,
                limit: PageLimit::parse(1)?,
                position: PagePosition::Offset(0),
                include_total: true,
            })
            .await?;
        Ok(page.total.unwrap_or(page.events.len() as u64))
    }

    /// Holds every event of the correlation, present and future.
    ///
    /// # Errors
    /// [`AuditError::Invalid`]; [`AuditError::UnknownCorrelation`] when it has no event;
    /// [`AuditError::AlreadyHeld`] when it is held already.
    pub async fn place_hold(
        &self,
        correlation_id: String,
        reason_text: String,
        actor: &str,
    ) -> Result<HoldPlaced, AuditError> {
        let correlation_id = CorrelationId::parse(correlation_id)?;
        let reason_text = reason("reason", reason_text)?;
        let events_affected = self.events_of(&correlation_id).await?;
        if events_affected == 0 {
            return Err(AuditError::UnknownCorrelation(correlation_id));
        }
        let hold = LegalHold {
            correlation_id: correlation_id.clone(),
            reason: reason_text,
            placed_by: actor.to_owned(),
            placed_at: self.clock.now(),
        };
        match self.holds.place(&hold).await? {
            PlaceOutcome::AlreadyHeld(existing) => Err(AuditError::AlreadyHeld {
                correlation_id,
                placed_by: existing.placed_by,
                placed_at: existing.placed_at,
            }),
            PlaceOutcome::Placed => {
                self.record(
                    "datastorage.audit.legal_hold.placed",
                    "legal_hold_placed",
                    actor,
                    correlation_id.as_str(),
                    hold.placed_at,
                    json!({"reason": hold.reason, "events_affected": events_affected}),
                )
                .await?;
                Ok(HoldPlaced {
                    hold,
                    events_affected,
                })
            }
        }
    }

    /// Releases the correlation's hold.
    ///
    /// # Errors
    /// [`AuditError::Invalid`]; [`AuditError::NoHold`] when it is not held.
    pub async fn release_hold(
        &self,
        correlation_id: String,
        release_reason: String,
        actor: &str,
    ) -> Result<HoldReleased, AuditError> {
        let correlation_id = CorrelationId::parse(correlation_id)?;
        let release_reason = reason("release_reason", release_reason)?;
        let at = self.clock.now();
        let released = self
            .holds
            .release(&correlation_id, actor, &release_reason, at)
            .await?
            .ok_or_else(|| AuditError::NoHold(correlation_id.clone()))?;
        let events_released = self.events_of(&correlation_id).await?;
        self.record(
            "datastorage.audit.legal_hold.released",
            "legal_hold_released",
            actor,
            correlation_id.as_str(),
            at,
            json!({
                "release_reason": release_reason,
                "events_released": events_released,
                "placed_by": released.hold.placed_by,
                "placed_at": released.hold.placed_at,
            }),
        )
        .await?;
        Ok(HoldReleased {
            correlation_id,
            events_released,
            released_by: released.released_by,
            released_at: released.released_at,
        })
    }

    /// Every active hold, oldest first.
    ///
    /// # Errors
    /// [`AuditError::Unavailable`].
    pub async fn holds(&self) -> Result<Vec<LegalHold>, AuditError> {
        Ok(self.holds.active().await?)
    }
}
