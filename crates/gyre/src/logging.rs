//! Logging set up the way Centrifugo users read it: human-readable lines on stdout when it is a
//! terminal, otherwise JSON lines on stderr with zerolog's field names (`level`, `time`,
//! `message`, then the event's fields), or JSON appended to `log.file`.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Parses Centrifugo's level names. `None` = logging off; unknown names fall back to info (the
/// caller warns, as Centrifugo does).
pub(crate) fn parse_level(level: &str) -> Result<Option<Level>, ()> {
    match level.to_ascii_lowercase().as_str() {
        "none" => Ok(None),
        "trace" => Ok(Some(Level::TRACE)),
        "debug" => Ok(Some(Level::DEBUG)),
        "info" | "" => Ok(Some(Level::INFO)),
        "warn" | "warning" => Ok(Some(Level::WARN)),
        "error" | "fatal" => Ok(Some(Level::ERROR)),
        _ => Err(()),
    }
}

/// Installs the global subscriber. Returns a warning to log once logging works (unknown level).
pub(crate) fn init(level: &str, file: &str) -> anyhow::Result<Option<String>> {
    let (level, warning) = match parse_level(level) {
        Ok(l) => (l, None),
        Err(()) => (
            Some(Level::INFO),
            Some(format!("unknown log level \"{level}\", using info")),
        ),
    };
    let Some(level) = level else {
        return Ok(warning);
    };
    let filter = tracing_subscriber::filter::LevelFilter::from_level(level);
    let builder = tracing_subscriber::fmt().with_max_level(filter);
    if !file.is_empty() {
        let f = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
        builder
            .event_format(JsonFormat)
            .with_writer(std::sync::Mutex::new(f))
            .try_init()
    } else if std::io::stdout().is_terminal() {
        builder.with_target(false).with_writer(std::io::stdout).try_init()
    } else {
        builder
            .event_format(JsonFormat)
            .with_writer(std::io::stderr)
            .try_init()
    }
    .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))?;
    Ok(warning)
}

/// JSON lines in zerolog's shape.
struct JsonFormat;

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = FieldCollector::default();
        event.record(&mut fields);
        // Built by hand to keep zerolog's key order (level, time, message, fields).
        let mut line = String::with_capacity(128);
        line.push_str("{\"level\":\"");
        line.push_str(level_name(*event.metadata().level()));
        line.push_str("\",\"time\":\"");
        line.push_str(&rfc3339_now());
        line.push_str("\",\"message\":");
        line.push_str(&Value::from(fields.message.unwrap_or_default()).to_string());
        for (k, v) in fields.fields {
            line.push(',');
            line.push_str(&Value::from(k).to_string());
            line.push(':');
            line.push_str(&v.to_string());
        }
        line.push('}');
        writeln!(writer, "{line}")
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

#[derive(Default)]
struct FieldCollector {
    message: Option<String>,
    fields: Vec<(String, Value)>,
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

impl FieldCollector {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.fields.push((field.name().to_string(), value));
        }
    }
}

/// Current UTC time as RFC 3339 with second precision (zerolog's default time format).
fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs as i64)
}

fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm) to avoid a date crate for one timestamp.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut s = String::with_capacity(20);
    let _ = write!(
        s,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(parse_level("none"), Ok(None));
        assert_eq!(parse_level("DEBUG"), Ok(Some(Level::DEBUG)));
        assert_eq!(parse_level("fatal"), Ok(Some(Level::ERROR)));
        assert!(parse_level("loud").is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_819_259), "2026-11-27T22:40:59Z");
    }
}
