//! The normalize step for this source: an auth.log line becomes an auth record carrying the
//! line's checkpoint.
use chrono::Utc;

use super::{LOG_SOURCE, Line};
use crate::{
    normalize,
    parse::{self, ClassicZone, LineError, YearInference},
    record::AuthRecord,
    source::Resume,
};

/// Turns lines into auth records. Keeps the year inference for classic timestamps
/// (`Nov 23 10:00:00`), so one normalizer serves the whole stream, in order.
#[derive(Debug, Clone)]
pub struct LineNormalizer {
    years: YearInference,
}

impl LineNormalizer {
    /// `zone`: the zone classic timestamps were written in (`ClassicZone::System` for this
    /// host's own log).
    pub fn new(zone: ClassicZone) -> Self {
        Self {
            years: YearInference::new(Utc::now(), zone),
        }
    }

    /// The auth record of `line`, which resumes after it. `Ok(None)` for lines of other
    /// programs and sshd messages that are not about authentication or sessions; `Err` for a
    /// line that is not a syslog line (worth counting, not fatal).
    pub fn record(&mut self, line: &Line) -> Result<Option<AuthRecord>, LineError> {
        // Tailing: lines are written now, so now is the latest a classic timestamp can mean.
        self.years.set_reference(Utc::now());
        let parsed = parse::parse_line(&line.bytes, &mut self.years)?;
        let resume = Resume::AuthLog(line.checkpoint.clone());
        Ok(normalize::syslog_auth(&parsed, LOG_SOURCE, Some(resume)))
    }
}
