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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced() {
        assert_eq!(parse_flag_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_flag_duration("0s").is_err());
        assert!(parse_flag_duration("400000000000d").is_err());
        assert!(parse_flag_duration("soon").is_err());
    }
}
