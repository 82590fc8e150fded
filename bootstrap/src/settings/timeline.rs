//! Settings of the remediation timeline's verdict.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct TimelineSettings {
    /// How long each lifecycle phase may take to begin after the phase before it before the
    /// timeline calls it late, as `phase=duration` pairs (`completion=2h,execution=45m`;
    /// `off` disables a phase's check). Phases not named keep their defaults: processing 5m,
    /// analysis 15m, approval, workflow, notification, effectiveness and completion 1h,
    /// execution 30m.
    #[arg(
        id = "timeline_late_after",
        value_name = "TIMELINE_LATE_AFTER",
        long = "timeline-late-after",
        env = "DS_TIMELINE__LATE_AFTER",
        default_value = ""
    )]
    pub late_after: String,
}
