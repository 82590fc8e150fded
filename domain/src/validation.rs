//! Field-level validation errors shared by every smart constructor.

use std::fmt;

/// What kind of rule a field broke: a small, fixed vocabulary for metrics and for clients
/// that branch on it, beside the message written for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The field is missing.
    Required,
    /// Not one of the values a closed set allows.
    UnknownValue,
    /// Too long, too many, too large or too small.
    OutOfRange,
    /// Not the JSON type the field has.
    WrongType,
    /// A timestamp outside the window the service accepts.
    OutsideTimeWindow,
    /// Any other rule (a format, a character that cannot be stored, a rule across fields).
    Invalid,
}

impl Reason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Required => "required",
            Reason::UnknownValue => "unknown_value",
            Reason::OutOfRange => "out_of_range",
            Reason::WrongType => "wrong_type",
            Reason::OutsideTimeWindow => "outside_time_window",
            Reason::Invalid => "invalid",
        }
    }
}

/// One rule broken by one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The wire name of the field (`event_type`, `event_data`, ...).
    pub field: String,
    pub reason: Reason,
    /// What is wrong, phrased for the client.
    pub message: String,
}

/// Every rule an input broke, so a client can fix them all in one round trip.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// One broken rule of [`Reason::Invalid`].
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::single_because(field, Reason::Invalid, message)
    }

    pub fn single_because(
        field: impl Into<String>,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        let mut errors = Self::new();
        errors.push_because(field, reason, message);
        errors
    }

    /// Records a broken rule of [`Reason::Invalid`].
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.push_because(field, Reason::Invalid, message);
    }

    pub fn push_because(
        &mut self,
        field: impl Into<String>,
        reason: Reason,
        message: impl Into<String>,
    ) {
        self.errors.push(FieldError {
            field: field.into(),
            reason,
            message: message.into(),
        });
    }

    /// Collects the error of `result` (if any) and returns its value.
    pub fn collect<T>(&mut self, result: Result<T, ValidationErrors>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(errors) => {
                self.errors.extend(errors.errors);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Text of 1 to `max` characters, none of them NUL (no stored text can hold NUL); the
    /// rule is recorded when broken, and the text handed back either way.
    pub fn required_text(&mut self, field: &str, value: String, max: usize) -> String {
        let n = value.chars().count();
        if n == 0 || n > max || value.contains('\0') {
            self.push_because(
                field,
                Reason::OutOfRange,
                format!("must be 1 to {max} characters, none of them NUL"),
            );
        }
        value
    }

    /// Optional text: empty means absent; otherwise at most `max` characters, none of them
    /// NUL (absent when the rule is broken, which is recorded).
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<String>,
        max: usize,
    ) -> Option<String> {
        let value = value.filter(|v| !v.is_empty())?;
        if value.chars().count() > max || value.contains('\0') {
            self.push_because(
                field,
                Reason::OutOfRange,
                format!("must be at most {max} characters, none of them NUL"),
            );
            return None;
        }
        Some(value)
    }

    /// `Ok(())` when nothing was collected.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}
