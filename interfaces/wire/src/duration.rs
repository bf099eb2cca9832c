//! Duration flags (`5s`, `250ms`, `30d`): parsed once, bounded, so no
//! timer or deadline computed from a flag can overflow or be zero.

use std::time::Duration;

/// The longest duration a timing flag accepts.
pub const MAX_FLAG_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Why a duration flag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration (try 5s, 250ms or 2m)")]
    NotADuration(String),
    #[error("the duration must be more than zero")]
    Zero,
    #[error("`{0}` is longer than the 24 h a timing flag allows")]
    TooLong(String),
}

/// Parses a positive duration of at most [`MAX_FLAG_DURATION`].
pub fn parse_flag_duration(text: &str) -> Result<Duration, DurationError> {
    let d = humantime::parse_duration(text)
        .map_err(|_| DurationError::NotADuration(text.to_owned()))?;
    if d.is_zero() {
        return Err(DurationError::Zero);
    }
    if d > MAX_FLAG_DURATION {
        return Err(DurationError::TooLong(text.to_owned()));
    }
    Ok(d)
}

/// A duration that may be off (an actor's `idle-after`): `never`, `off`
/// or zero is `None`; anything else as [`parse_flag_duration`].
pub fn parse_optional_duration(text: &str) -> Result<Option<Duration>, DurationError> {
    match text.trim() {
        "never" | "off" | "0" => Ok(None),
        other => match parse_flag_duration(other) {
            Err(DurationError::Zero) => Ok(None),
            parsed => parsed.map(Some),
        },
    }
}

/// A duration that may be off, as a flag holds it (see
/// [`parse_optional_duration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalDuration(pub Option<Duration>);

impl std::str::FromStr for OptionalDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_optional_duration(text).map(OptionalDuration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced() {
        assert_eq!(parse_flag_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_flag_duration("0s").is_err());
        assert!(parse_flag_duration("400000000000d").is_err());
        assert!(parse_flag_duration("soon").is_err());
        assert_eq!(parse_optional_duration("never"), Ok(None));
        assert_eq!(parse_optional_duration("0s"), Ok(None));
        assert_eq!(
            parse_optional_duration("2s"),
            Ok(Some(Duration::from_secs(2)))
        );
        assert!(parse_optional_duration("soon").is_err());
    }
}
